// The JavaScript half of test_js_parity_judge.py's verdict cases: judge each picture's marks with verdict.js
// (<i>.json: marks and page fields; <i>.gray float32; <i>.ink uint8 = labels > 0) and write verdicts.json, one
// Verdict.to_dict()-shaped verdict each. Usage: node tests/js/parity_verdict.mjs FOLDER COUNT
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { judge, verdictDict } from '../../src/digitlab/serve/static/js/ondevice/verdict.js';

const [folder, count] = process.argv.slice(2);

/** A little-endian binary file as a typed array of `Type`. */
function raw(path, Type) {
  const bytes = readFileSync(path);
  return new Type(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

const verdicts = [];
for (let i = 0; i < Number(count); i++) {
  const c = JSON.parse(readFileSync(join(folder, `${i}.json`), 'utf8'));
  const gray = { data: raw(join(folder, `${i}.gray`), Float32Array), width: c.gray[1], height: c.gray[0] };
  const labels = { data: Int32Array.from(raw(join(folder, `${i}.ink`), Uint8Array)), width: c.page.labels[1], height: c.page.labels[0] };
  const page = { labels, scale: c.page.scale, shape: c.page.shape, inverted: c.page.inverted };
  const marks = c.marks.map((m) => ({ ...m, reason: m.reason && { ...m.reason, mark: null } }));
  verdicts.push(verdictDict(judge(gray, page, marks)));
}
writeFileSync(join(folder, 'verdicts.json'), JSON.stringify(verdicts));
