// The JavaScript half of tests/test_js_parity_judge.py: from Python's pages, boxes, input reasons and model outputs
// (a folder of <i>.json, <i>.gray float32, <i>.ink uint8 and meta.json), read every picture with the on-device
// reader (rejection, context, verdict, text); then read the whole picture with the on-device predictor (its first
// half finds the marks again; the model's outputs are Python's, given when it finds as many marks as Python did).
// Writes results.json: per picture {judge, whole}, each Answer.to_dict()-shaped ({error} when the marks differ).
// Usage: node tests/js/parity_judge.mjs FOLDER COUNT
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { createPredictor } from '../../src/digitlab/serve/static/js/ondevice/predictor.js';
import { createReader } from '../../src/digitlab/serve/static/js/ondevice/reader.js';

const [folder, count] = process.argv.slice(2);
const meta = JSON.parse(readFileSync(join(folder, 'meta.json'), 'utf8'));
const reader = createReader(meta);

/** A little-endian binary file as a typed array of `Type`. */
function raw(path, Type) {
  const bytes = readFileSync(path);
  return new Type(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** base64 float32 -> Float32Array. */
function floats(text) {
  const bytes = Buffer.from(text, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

const results = [];
for (let i = 0; i < Number(count); i++) {
  const c = JSON.parse(readFileSync(join(folder, `${i}.json`), 'utf8'));
  const gray = { data: raw(join(folder, `${i}.gray`), Float32Array), width: c.gray[1], height: c.gray[0] };
  const ink = raw(join(folder, `${i}.ink`), Uint8Array);
  const labels = { data: Int32Array.from(ink), width: c.page.labels[1], height: c.page.labels[0] }; // only labels > 0 is read
  const page = { labels, scale: c.page.scale, shape: c.page.shape, inverted: c.page.inverted };
  const outputs = c.logits === null ? null : { logits: floats(c.logits), features: floats(c.features) };
  const t0 = performance.now();
  const read = reader.read(gray, page, c.boxes, c.reasons, outputs);
  const judge = reader.answerDict(read, c.name, performance.now() - t0);
  const run = async (images, n) => {
    if (n !== c.boxes.length) throw new Error(`${n} marks found, Python found ${c.boxes.length}`);
    return outputs;
  };
  const whole = await createPredictor({ meta, run, reader }).predictGray(gray, { source: c.name }).catch((err) => ({ error: err.message }));
  results.push({ judge, whole });
}
writeFileSync(join(folder, 'results.json'), JSON.stringify(results));
