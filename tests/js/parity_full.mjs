// The whole on-device recogniser with the real model, for tests/test_js_parity_full.py: every picture of the parity
// set (parity_set.py's folder: index.json and raw float32 greys) read by predictor.js, the model run by the vendored
// onnxruntime-web (runtime.js's session: one thread, the wasm build, as in the browser).
// Usage: node tests/js/parity_full.mjs <set folder> <model folder with model.json and model.onnx> <out.json>
// Writes {session_ms, pictures: [{name, ms, model_ms, answer}]}: answer is Answer.to_dict()-shaped without the 28x28
// images; ms is the whole picture (first half, model, second half), model_ms the model call alone.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { createPredictor } from '../../src/digitlab/serve/static/js/ondevice/predictor.js';
import { session } from '../../src/digitlab/serve/static/js/ondevice/runtime.js';

const [folder, modelDir, outPath] = process.argv.slice(2);
if (!folder || !modelDir || !outPath) throw new Error('usage: node parity_full.mjs <set folder> <model folder> <out.json>');

const meta = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8'));
const t0 = performance.now();
const session_ = await session(new Uint8Array(readFileSync(join(modelDir, 'model.onnx'))));
const sessionMs = performance.now() - t0;

let modelMs = 0; // the model's share of the current picture
const run = async (images, n) => {
  const start = performance.now();
  const out = await session_(images, n);
  modelMs += performance.now() - start;
  return out;
};
const predictor = createPredictor({ meta, run });

const pictures = [];
for (const item of JSON.parse(readFileSync(join(folder, 'index.json'), 'utf8'))) {
  const bytes = readFileSync(join(folder, item.file));
  const gray = { data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), width: item.width, height: item.height };
  modelMs = 0;
  const start = performance.now();
  const answer = await predictor.predictGray(gray, { source: item.name });
  const ms = performance.now() - start;
  answer.digits = answer.digits.map((d) => ({ ...d, image: null }));
  pictures.push({ name: item.name, ms, model_ms: modelMs, answer });
}
writeFileSync(outPath, JSON.stringify({ session_ms: sessionMs, pictures }));
