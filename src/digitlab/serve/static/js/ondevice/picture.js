// Pictures in the browser -> grey levels for the on-device predictor, as the server reads them (image_io.py):
// upright (EXIF orientation), reduced by the smallest integer factor that brings the longer side to <= DECODE_SIDE,
// refused over the byte and pixel limits. The browser decodes; the rest of the pipeline is the ported Python.
import { grayFromRGBA } from './preprocess.js';

export const DECODE_SIDE = 1280; // px: as preprocess.DECODE_SIDE (twice the working side)
export const MAX_PIXELS = 40_000_000; // per picture, as image_io.MAX_PIXELS
export const MAX_BYTES = 10 * 1024 * 1024; // per picture, as the server's upload limit

export class PictureError extends Error {
  constructor(key, values = {}) {
    super(key);
    this.key = key; // i18n key of the sentence
    this.values = values;
  }
}

/** RGBA pixels of an image source drawn at (w, h). */
function pixels(source, w, h) {
  const canvas = typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(w, h) : Object.assign(document.createElement('canvas'), { width: w, height: h });
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, w, h);
  return ctx.getImageData(0, 0, w, h).data;
}

/** A file or blob -> {gray, size: [W, H]} (grey in the reduced picture's pixels, size of the full upright picture). */
export async function fileGray(file) {
  if (file.size > MAX_BYTES) throw new PictureError('device.tooLarge', { mb: (file.size / 1048576).toFixed(1) });
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    throw new PictureError('device.notPicture');
  }
  const { width: W, height: H } = bitmap;
  if (W * H > MAX_PIXELS) {
    bitmap.close();
    throw new PictureError('device.tooManyPixels', { pixels: (W * H).toLocaleString() });
  }
  const factor = Math.max(1, Math.ceil(Math.max(W, H) / DECODE_SIDE));
  const w = Math.max(1, Math.floor(W / factor)), h = Math.max(1, Math.floor(H / factor));
  let small = bitmap;
  if (factor > 1) small = await createImageBitmap(bitmap, { resizeWidth: w, resizeHeight: h, resizeQuality: 'medium' });
  const gray = grayFromRGBA(pixels(small, w, h), w, h);
  if (small !== bitmap) small.close();
  bitmap.close();
  return { gray, size: [W, H] };
}

/** A canvas (the drawing pad) -> {gray, size}: its pixels as they are, no encoding. */
export function canvasGray(canvas) {
  const { width: w, height: h } = canvas;
  const data = canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, w, h).data;
  return { gray: grayFromRGBA(data, w, h), size: [w, h] };
}

/** A box in the reduced picture's pixels -> the full picture's pixels (Picture.to_input). */
export function toInput(box, gray, size) {
  const [W, H] = size, sx = W / gray.width, sy = H / gray.height;
  return [Math.round(box[0] * sx), Math.round(box[1] * sy), Math.round(box[2] * sx), Math.round(box[3] * sy)];
}
