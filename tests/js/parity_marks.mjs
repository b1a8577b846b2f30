// The browser's first half of recognition (picture -> marks) on the parity set, for tests/test_js_parity.py.
// Usage: node tests/js/parity_marks.mjs <folder with index.json and .bin pictures> <out.json>
// Writes per picture: the page (inverted, component count, working size), each mark (box, line, stats, its
// 28x28 image) and the input checks' reason codes, plus the milliseconds the pipeline took.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { inputReasons } from '../../src/digitlab/serve/static/js/ondevice/checks.js';
import { inkPage } from '../../src/digitlab/serve/static/js/ondevice/preprocess.js';
import { findDigits } from '../../src/digitlab/serve/static/js/ondevice/segment.js';

const [folder, outPath] = process.argv.slice(2);
if (!folder || !outPath) throw new Error('usage: node parity_marks.mjs <folder> <out.json>');

const results = [];
for (const item of JSON.parse(readFileSync(join(folder, 'index.json'), 'utf8'))) {
  const bytes = readFileSync(join(folder, item.file));
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const t0 = performance.now();
  const page = inkPage({ data, width: item.width, height: item.height });
  const marks = findDigits(page);
  const reasons = inputReasons(marks);
  const ms = performance.now() - t0;
  results.push({
    name: item.name,
    ms,
    inverted: page.inverted,
    n_components: page.areas.length - 1,
    work: [page.ink.height, page.ink.width],
    marks: marks.map((m) => ({ ...m, image: Array.from(m.image) })),
    reasons: reasons.map((r) => (r ? r.code : null)),
  });
}
writeFileSync(outPath, JSON.stringify(results));
