// The browser's RGBA -> grey (grayFromRGBA) on raw arrays, for tests/test_js_parity.py.
// Usage: node tests/js/parity_rgba.mjs <folder>: reads index.json ([{file, width, height}]) and each file's RGBA
// bytes, writes <file>.gray (float32, row-major) beside it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { grayFromRGBA } from '../../src/digitlab/serve/static/js/ondevice/preprocess.js';

const [folder] = process.argv.slice(2);
for (const { file, width, height } of JSON.parse(readFileSync(join(folder, 'index.json'), 'utf8'))) {
  const gray = grayFromRGBA(new Uint8ClampedArray(readFileSync(join(folder, file))), width, height);
  writeFileSync(join(folder, `${file}.gray`), new Uint8Array(gray.data.buffer));
}
