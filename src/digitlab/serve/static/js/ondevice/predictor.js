// Recognition on the device: picture -> marks (preprocess, segment, checks) -> one batched model call -> the
// reader's rejection, context and verdict. The model runs wherever `run` says (onnxruntime-web in the browser).
import { inputReasons } from './checks.js';
import { inkPage } from './preprocess.js';
import { createReader } from './reader.js';
import { findDigits } from './segment.js';

/**
 * A predictor for an exported model: `meta` is its digitlab metadata (export.py), `run(images, n)` resolves to
 * {logits: Float32Array (n*C), features: Float32Array (n*D)} for n MNIST-form 28x28 images (Float32Array n*784).
 * `reader` may be given (one made from `meta` already: its rejector takes a fifth of a second to build).
 */
export function createPredictor({ meta, run, reader = createReader(meta) }) {

  /** Answer.to_dict() for one grey picture {data, width, height} ([0, 1], 0 = black); boxes in its pixels
   * unless `toInput` maps them to the file's. */
  async function predictGray(gray, { source = '<picture>', toInput } = {}) {
    const t0 = performance.now();
    const page = inkPage(gray);
    const boxes = findDigits(page);
    let outputs = null;
    if (boxes.length) {
      const images = new Float32Array(boxes.length * 784);
      boxes.forEach((b, i) => images.set(b.image, i * 784));
      outputs = await run(images, boxes.length); // all marks of a picture in one call
    }
    const read = reader.read(gray, page, boxes, inputReasons(boxes), outputs);
    return reader.answerDict(read, source, performance.now() - t0, toInput);
  }

  return { reader, predictGray };
}
