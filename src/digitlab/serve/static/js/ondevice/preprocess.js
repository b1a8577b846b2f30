// Turn a grey picture into labelled ink and MNIST-style 28x28 digits, in the browser: a port of
// recognize/preprocess.py (and the array half of recognize/image_io.py) with the same constants and steps.
//
// 1. grayFromRGBA / unitGray: scale to [0, 1], colour -> 601 luma, alpha flattened onto a paper-like backdrop.
// 2. big pictures are box-averaged so the longer side is <= WORK_SIDE.
// 3.-4. polarity and uneven lighting (lighting.js).
// 5. Otsu threshold (never below 4 noise sigmas), ruled lines and specks removed, 8-connected components.
// 6. a digit's ink is cropped, fitted into 20x20 and placed in 28x28 by its centre of mass, as MNIST was made.
//
// A grey image is {data: Float32Array, width, height}, row-major, in [0, 1], 0 = black. Float32 steps are
// rounded as numpy rounds them (numeric.js) so thresholds fall on the same pixels as in Python.

import { labelComponents } from './components.js';
import { flattenLighting, isDarkInk, MIN_CONTRAST, NOISE_SIGMAS, subsample } from './lighting.js';
import { f, median32, percentile32, roundHalfEven, sum32, sum64 } from './numeric.js';
import { reduce, resize } from './resample.js';

export const MNIST_SIDE = 28; // px: output field
export const FIT_SIDE = 20; // px: the digit's longer side inside the field, as in MNIST
export const WORK_SIDE = 640; // px: longer side of the working copy of big pictures
export const RULE_FILL = 0.5; // a ruled line inks >= half of its row ...
export const RULE_SPAN = 0.9; // ... and runs across >= 90 % of the picture's width
export const SPECK_AREA = 5e-4; // components under this fraction of the page are specks
const LUMA = [0.299, 0.587, 0.114].map(f); // ITU-R BT.601 weights for (R, G, B), as Pillow's "L"

// ------------------------------------------------------------------ input
/** RGBA bytes (a canvas's ImageData) -> grey in [0, 1]: 601 luma, transparency flattened as image_io does. */
export function grayFromRGBA(data, width, height) {
  const n = width * height;
  if (!n || data.length !== 4 * n) throw new Error(`RGBA data of ${data.length} bytes does not hold ${width}x${height} pixels.`);
  let hi = 0;
  for (let i = 0; i < data.length; i++) hi = Math.max(hi, data[i]);
  const scale = (v) => (hi <= 1 ? v : f(v / 255)); // scale_to_unit: one scale for colour and alpha
  const gray = new Float32Array(n);
  const alpha = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const [r, g, b] = [scale(data[4 * i]), scale(data[4 * i + 1]), scale(data[4 * i + 2])];
    gray[i] = f(f(f(LUMA[0] * r) + f(LUMA[1] * g)) + f(LUMA[2] * b));
    alpha[i] = scale(data[4 * i + 3]);
  }
  return { data: flattenAlpha(gray, alpha), width, height };
}

/**
 * Grey composited with alpha over a backdrop that looks like paper: a mostly transparent picture is ink on a
 * clear sheet (white behind dark ink, black behind light ink); else the holes take the paper's median grey.
 */
export function flattenAlpha(gray, alpha) {
  const opaque = [];
  for (let i = 0; i < gray.length; i++) if (alpha[i] > 0.5) opaque.push(gray[i]);
  if (opaque.length === gray.length) return gray;
  let backdrop = 1; // nothing visible: a white (blank) page
  if (opaque.length && opaque.length < 0.5 * gray.length) backdrop = median32(opaque) < 0.5 ? 1 : 0;
  else if (opaque.length) backdrop = median32(opaque);
  return gray.map((g, i) => f(f(g * alpha[i]) + f(backdrop * f(1 - alpha[i]))));
}

/** A grey image checked and scaled to [0, 1] as scale_to_unit does (8- or 16-bit levels, else stretched). */
export function unitGray(img) {
  const { data, width, height } = img;
  if (!(width > 0 && height > 0) || data.length !== width * height) throw new Error(`A ${width}x${height} picture holds no pixels.`);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) {
    if (!Number.isFinite(v)) throw new Error('The picture contains NaN or infinite values.');
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (lo >= 0 && hi <= 1) return { data: Float32Array.from(data), width, height }; // a copy: never the caller's array
  if (lo >= 0 && hi <= 65535) return { data: data.map((v) => f(v / (hi <= 255 ? 255 : 65535))), width, height };
  const span = hi - lo;
  return { data: Float32Array.from(data, (v) => (span ? Math.min(Math.max((v - lo) / span, 0), 1) : 0)), width, height };
}

/** Box-average by an integer factor so the longer side is <= WORK_SIDE; returns [image, factor]. */
function downscale(unit) {
  const factor = Math.ceil(Math.max(unit.width, unit.height) / WORK_SIDE);
  return factor <= 1 ? [unit, 1] : [reduce(unit, factor), factor];
}

// -------------------------------------------------------------- threshold
/** Otsu's threshold of a sample (256 bins); a constant sample returns its value. */
export function otsu(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (hi - lo < 1e-9) return lo;
  const hist = new Float64Array(256);
  const step = f(256 / (hi - lo));
  for (const v of values) hist[Math.min(Math.trunc(f(f(v - lo) * step)), 255)]++;
  let w0 = 0;
  let m0 = 0;
  const total = values.length;
  let mTotal = 0;
  for (let i = 0; i < 256; i++) mTotal += hist[i] * i;
  let best = -Infinity;
  let k = 0;
  for (let i = 0; i < 256; i++) {
    w0 += hist[i];
    m0 += hist[i] * i;
    const w1 = total - w0;
    if (w1 <= 0) continue;
    const between = (mTotal * w0 - m0 * total) ** 2 / (w0 * w1);
    if (between > best) [best, k] = [between, i]; // NaN (w0 = 0) never wins, as nanargmax skips it
  }
  return lo + ((k + 1) * (hi - lo)) / 256;
}

/** Ink map -> {mask: Uint8Array, grey: Float32Array in [0, 1] with paper at 0}. */
function threshold(ink) {
  const { data } = ink;
  const n = data.length;
  const mask = new Uint8Array(n);
  const grey = new Float32Array(n);
  const sample = n > 4096 ? subsample(ink) : data;
  const paper = median32(sample);
  const sigma = 1.4826 * median32(sample.map((s) => Math.abs(s - paper)));
  const floor = paper + Math.max(NOISE_SIGMAS * sigma, MIN_CONTRAST);
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, data[i]);
  if (max <= floor) return { mask, grey };
  const above = sample.filter((s) => s > paper);
  const t = Math.max(above.length ? otsu(above) : floor, floor);
  const t32 = f(t); // numpy compares float32 ink with the threshold cast to float32
  let count = 0;
  for (let i = 0; i < n; i++) count += mask[i] = data[i] >= t32 ? 1 : 0; // >=: in a black-and-white picture every ink pixel equals t
  if (!count) return { mask, grey };
  const inked = new Float32Array(count);
  for (let i = 0, j = 0; i < n; i++) if (mask[i]) inked[j++] = data[i];
  const lo = Math.min(paper + 2 * sigma, (paper + t) / 2); // faint edge pixels keep some grey
  const hi = Math.max(percentile32(inked, 75), t); // stroke centres saturate, like MNIST
  const [lo32, span] = [f(lo), f(Math.max(hi - lo, 1e-6))];
  for (let i = 0; i < n; i++) grey[i] = Math.min(Math.max(f(data[i] - lo32) / span, 0), 1);
  return { mask, grey };
}

/**
 * Erase thin ruled lines (horizontal and vertical) in place, keeping strokes that cross them.
 *
 * A rule row is at least RULE_FILL inked (a faint line breaks up in noise) and its ink runs from edge to edge
 * (>= RULE_SPAN of the width), which a digit's bar does not, e.g. the bar of an MNIST 7 spans at most 20 of 28.
 */
function removeRules(mask, width, height) {
  const views = [
    { h: height, w: width, rs: width, cs: 1 }, // rows: pixel (r, c) at r * rs + c * cs
    { h: width, w: height, rs: 1, cs: width }, // columns (the transpose)
  ];
  for (const m of views) {
    if (m.w < 8 || m.h < 3) continue;
    const rule = new Uint8Array(m.h);
    for (let r = 0; r < m.h; r++) {
      let count = 0;
      let first = -1;
      let last = -1;
      for (let c = 0, i = r * m.rs; c < m.w; c++, i += m.cs) {
        if (!mask[i]) continue;
        count++;
        if (first < 0) first = c;
        last = c;
      }
      const extent = first < 0 ? m.w : last + 1 - first; // numpy's argmax of an empty row is 0: extent w
      rule[r] = count >= RULE_FILL * m.w && extent >= RULE_SPAN * m.w ? 1 : 0;
    }
    for (let r0 = 0; r0 < m.h; r0++) {
      if (!rule[r0] || (r0 > 0 && rule[r0 - 1])) continue;
      let r1 = r0;
      while (r1 < m.h && rule[r1]) r1++;
      if (r1 - r0 > Math.max(3, 0.012 * m.h)) continue; // too thick for a ruled line: a stroke
      eraseBand(mask, m, Math.max(r0 - 1, 0), Math.min(r1 + 1, m.h)); // +-1 row: the line's faint edges
    }
  }
}

/**
 * Clear rows r0:r1 of view m except where a stroke continues above or below the band (within the band's
 * height). Python's np.convolve fails when that window is longer than the row (a strip under ~2x the band
 * wide): here the window is clipped to the row.
 */
function eraseBand(mask, m, r0, r1) {
  const half = r1 - r0;
  const ends = new Uint8Array(m.w);
  for (let c = 0; c < m.w; c++) {
    ends[c] = (r0 > 0 && mask[(r0 - 1) * m.rs + c * m.cs]) || (r1 < m.h && mask[r1 * m.rs + c * m.cs]) ? 1 : 0;
  }
  for (let c = 0; c < m.w; c++) {
    let crossing = false;
    for (let j = Math.max(c - half, 0); j <= Math.min(c + half, m.w - 1) && !crossing; j++) crossing = ends[j] === 1;
    if (!crossing) for (let r = r0; r < r1; r++) mask[r * m.rs + c * m.cs] = 0;
  }
}

// ------------------------------------------------------------- components
/** Remove components too small to be strokes; renumber the rest 1..k in their order. */
function dropSpecks({ labels, areas, boxes }) {
  let maxArea = 0;
  for (const a of areas) maxArea = Math.max(maxArea, a);
  const minArea = Math.max(3, SPECK_AREA * labels.length, 0.02 * maxArea);
  const lut = new Int32Array(areas.length);
  const kept = [0];
  for (let i = 1; i < areas.length; i++) if (areas[i] >= minArea) lut[i] = kept.push(i) - 1;
  return {
    labels: labels.map((l) => lut[l]),
    areas: Int32Array.from(kept, (i) => areas[i]),
    boxes: Int32Array.from(kept.flatMap((i) => [...boxes.subarray(4 * i, 4 * i + 4)])),
  };
}

/**
 * Steps 1-5: a grey picture -> the labelled ink at working size, the fields of Python's InkPage:
 * {ink, labels, areas (n + 1), boxes (4 * (n + 1), x0, y0, x1, y1 exclusive, working pixels), scale, shape [H, W], inverted}.
 */
export function inkPage(gray) {
  const unit = unitGray(gray);
  const [work, scale] = downscale(unit);
  const inverted = isDarkInk(work);
  const light = inverted ? { ...work, data: work.data.map((v) => 1 - v) } : work;
  const ink = flattenLighting(light);
  const { mask, grey } = threshold(ink);
  removeRules(mask, ink.width, ink.height);
  const { labels, areas, boxes } = dropSpecks(labelComponents(mask, ink.width, ink.height));
  const size = { width: ink.width, height: ink.height };
  return { ink: { data: grey, ...size }, labels: { data: labels, ...size }, areas, boxes, scale, shape: [unit.height, unit.width], inverted };
}

/** Working-pixel box -> input-pixel box [x0, y0, x1, y1], clipped to the picture. */
export function inputBox(page, box) {
  const [h, w] = page.shape;
  const [x0, y0, x1, y1] = box.map((v) => v * page.scale);
  return [x0, y0, Math.min(x1, w), Math.min(y1, h)];
}

// --------------------------------------------------------------- the digit
/** Box [x0, y0, x1, y1] (exclusive, working pixels) around the given components. */
export function unionBox(page, ids) {
  const b = page.boxes;
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  for (const i of ids) {
    box[0] = Math.min(box[0], b[4 * i]);
    box[1] = Math.min(box[1], b[4 * i + 1]);
    box[2] = Math.max(box[2], b[4 * i + 2]);
    box[3] = Math.max(box[3], b[4 * i + 3]);
  }
  return box;
}

/**
 * Grey ink of the given components only, cropped; plus their box (working pixels): {crop, box}.
 * The component mask is dilated by one pixel so the anti-aliased edge of each stroke (below the threshold)
 * keeps its grey, while other digits' ink in the same rectangle is left out.
 */
export function digitCrop(page, ids) {
  const box = unionBox(page, ids);
  const { width: W, height: H } = page.labels;
  const [x0, y0, x1, y1] = [Math.max(box[0] - 1, 0), Math.max(box[1] - 1, 0), Math.min(box[2] + 1, W), Math.min(box[3] + 1, H)];
  const mine = new Uint8Array(page.areas.length);
  for (const i of ids) mine[i] = 1;
  const [w, h] = [x1 - x0, y1 - y0];
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let grown = false;
      for (let dy = -1; dy <= 1 && !grown; dy++) {
        for (let dx = -1; dx <= 1 && !grown; dx++) {
          const [yy, xx] = [y + dy, x + dx];
          grown = yy >= 0 && yy < h && xx >= 0 && xx < w && mine[page.labels.data[(y0 + yy) * W + x0 + xx]] === 1;
        }
      }
      if (grown) data[y * w + x] = page.ink.data[(y0 + y) * W + x0 + x];
    }
  }
  return { crop: { data, width: w, height: h }, box };
}

/** Grey ink crop (paper 0) -> 28x28 Float32Array: fit in 20x20, centre of mass at (14, 14). */
export function renderMnist(crop) {
  const out = new Float32Array(MNIST_SIDE * MNIST_SIDE);
  const { data, width } = crop;
  const box = [Infinity, Infinity, -1, -1];
  data.forEach((v, i) => {
    if (v <= 0) return;
    const [x, y] = [i % width, Math.floor(i / width)];
    [box[0], box[1], box[2], box[3]] = [Math.min(box[0], x), Math.min(box[1], y), Math.max(box[2], x), Math.max(box[3], y)];
  });
  if (box[2] < 0) return out;
  const [w, h] = [box[2] + 1 - box[0], box[3] + 1 - box[1]];
  const trimmed = new Float32Array(w * h);
  for (let y = 0; y < h; y++) trimmed.set(data.subarray((box[1] + y) * width + box[0], (box[1] + y) * width + box[0] + w), y * w);
  const s = FIT_SIDE / Math.max(h, w);
  const [pw, ph] = [Math.max(1, roundHalfEven(w * s)), Math.max(1, roundHalfEven(h * s))];
  const resized = resize({ data: trimmed, width: w, height: h }, pw, ph, s < 1 ? 'box' : 'lanczos'); // area-average down, sharp up
  let peak = 0;
  const patch = resized.data.map((v) => Math.min(Math.max(v, 0), 1));
  for (const v of patch) peak = Math.max(peak, v);
  if (peak <= 0) return out;
  patch.forEach((v, i) => (patch[i] = v / peak)); // thin strokes averaged to grey come back to full ink
  const mass = sum32(patch);
  const rows = Float64Array.from({ length: ph }, (_, y) => sum32(patch, y * pw, pw) * y);
  const cols = new Float32Array(pw); // numpy sums down the columns one row after the other
  for (let y = 0; y < ph; y++) for (let x = 0; x < pw; x++) cols[x] += patch[y * pw + x];
  const cy = sum64(rows) / mass;
  const cx = sum64(Float64Array.from(cols, (c, x) => c * x)) / mass;
  const oy = Math.min(Math.max(roundHalfEven(MNIST_SIDE / 2 - cy), 0), MNIST_SIDE - ph);
  const ox = Math.min(Math.max(roundHalfEven(MNIST_SIDE / 2 - cx), 0), MNIST_SIDE - pw);
  for (let y = 0; y < ph; y++) out.set(patch.subarray(y * pw, (y + 1) * pw), (oy + y) * MNIST_SIDE + ox);
  return out;
}

/**
 * Mean stroke width in pixels of a 28x28 image: ink area over half the outline length.
 * A stroke of length L and width w has area L*w and outline ~2L; the outline is the total variation of the
 * grey image, so grey edges count.
 */
export function strokeWidth(image) {
  const n = MNIST_SIDE;
  const down = new Float32Array((n - 1) * n);
  const across = new Float32Array(n * (n - 1));
  for (let y = 0; y < n - 1; y++) for (let x = 0; x < n; x++) down[y * n + x] = Math.abs(image[(y + 1) * n + x] - image[y * n + x]);
  for (let y = 0; y < n; y++) for (let x = 0; x < n - 1; x++) across[y * (n - 1) + x] = Math.abs(image[y * n + x + 1] - image[y * n + x]);
  const area = sum32(image);
  const outline = f(sum32(down) + sum32(across));
  return outline > 0 ? (2 * area) / outline : 0;
}
