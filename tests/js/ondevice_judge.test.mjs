// Unit tests of the on-device second half (issue 12): float16 decoding, quantiles, p-values with their exponential
// lower tail, Python's number formatting, the reason table, and the verdict's branches on hand-made marks.
// The whole chain is compared with Python on real pictures by tests/test_js_parity_judge.py.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { inContext, median } from '../../src/digitlab/serve/static/js/ondevice/context.js';
import { CODE, TEMPLATES, fixed, formatValue, pyRound, reason, reasonDict, reasonText } from '../../src/digitlab/serve/static/js/ondevice/reasons.js';
import { combine, countAtMost, decodeTensor, halfToFloat, logP, quantile } from '../../src/digitlab/serve/static/js/ondevice/rejection.js';
import { reduceF } from '../../src/digitlab/serve/static/js/ondevice/surface.js';
import { percentile32, roundHalfEven } from '../../src/digitlab/serve/static/js/ondevice/numeric.js';
import { KIND, decide, setApart } from '../../src/digitlab/serve/static/js/ondevice/verdict.js';

const PY = readFileSync(new URL('../../src/digitlab/recognize/reasons.py', import.meta.url), 'utf8');

test('float16 bits decode exactly: normal, subnormal, largest, infinite, signed', () => {
  assert.equal(halfToFloat(0x3c00), 1);
  assert.equal(halfToFloat(0xc000), -2);
  assert.equal(halfToFloat(0x7bff), 65504);
  assert.equal(halfToFloat(0x0400), 2 ** -14);
  assert.equal(halfToFloat(0x0001), 2 ** -24);
  assert.equal(halfToFloat(0x3555), 1365 / 4096);
  assert.equal(halfToFloat(0x7c00), Infinity);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
});

test('a float16 tensor of the metadata decodes to its values in its shape', () => {
  const bytes = [0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0x01, 0x00]; // 1, -2, 0.5, 2^-24, little-endian
  const t = decodeTensor({ dtype: 'float16', shape: [2, 2], base64: btoa(String.fromCharCode(...bytes)) });
  assert.deepEqual(t.shape, [2, 2]);
  assert.deepEqual([...t.data], [1, -2, 0.5, 2 ** -24]);
  const f = new Float32Array([0.1, -3]);
  const t32 = decodeTensor({ dtype: 'float32', shape: [2], base64: btoa(String.fromCharCode(...new Uint8Array(f.buffer))) });
  assert.deepEqual([...t32.data], [...f]);
  assert.throws(() => decodeTensor({ dtype: 'int8', shape: [1], base64: 'AA==' }), /dtype/);
});

test('quantile interpolates linearly between sorted neighbours, as torch.quantile and numpy do', () => {
  assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
  assert.equal(quantile([4, 1, 3, 2], 0), 1);
  assert.equal(quantile([4, 1, 3, 2], 1), 4);
  assert.equal(quantile([0, 10], 0.75), 7.5); // the upper-end form of the lerp
  assert.equal(quantile([0, 10, 20], 0.1), 2);
  assert.equal(quantile([5], 0.3), 5);
});

test('searchsorted(right=True): reference scores <= s, ties counted', () => {
  const ref = new Float32Array([1, 2, 2, 3]);
  assert.deepEqual([0.5, 1, 2, 2.5, 3, 9].map((s) => countAtMost(ref, s)), [0, 1, 3, 3, 4, 4]);
});

test('log p: ranks inside the reference, an exponential tail below it, continuous order', () => {
  const ref = Float32Array.from({ length: 20 }, (_, i) => i); // spread of the lower tail: ref[2] - ref[0] = 2
  const lp = logP(ref, new Float32Array([0, 9.5, 19, 100, -4, -1e-3]));
  assert.equal(lp[0], Math.fround(Math.log(2 / 21)));
  assert.equal(lp[1], Math.fround(Math.log(11 / 21)));
  assert.equal(lp[2], 0);
  assert.equal(lp[3], 0);
  const floor = Math.fround(Math.log(Math.fround(1 / 21)));
  assert.equal(lp[4], Math.fround(floor - 2)); // 4 below the lowest score = two spreads
  assert.ok(lp[5] < floor && lp[5] > floor - 1e-3); // just below: just under the lowest p-value
  assert.ok(lp[4] < lp[5] && lp[5] < lp[0]);
});

test('the spread of the tail is never below 1e-6 (a reference with a flat lower tenth)', () => {
  const ref = new Float32Array(20).fill(1);
  const s = Math.fround(1 - 2e-6);
  const floor = Math.fround(Math.log(Math.fround(1 / 21)));
  assert.equal(logP(ref, new Float32Array([s]))[0], Math.fround(floor - Math.fround(Math.fround(1 - s) / Math.fround(1e-6))));
});

test('the combined score is the float32 mean of the detectors\' log p-values', () => {
  const ref = Float32Array.from({ length: 9 }, (_, i) => i);
  const combined = combine({ a: ref, b: ref }, { a: new Float32Array([8, 0]), b: new Float32Array([3, 0]) });
  assert.equal(combined[0], Math.fround(Math.fround(0 + Math.fround(Math.log(5 / 10))) / 2));
  assert.equal(combined[1], Math.fround(Math.log(2 / 10)));
});

test('numbers format as Python formats them: ties to even on the exact binary value, percentages', () => {
  // expected strings from CPython: format(v, spec)
  const cases = [[0.125, '.2f', '0.12'], [0.375, '.2f', '0.38'], [2.5, '.0f', '2'], [3.5, '.0f', '4'], [-0.125, '.2f', '-0.12'],
    [0.755, '.0%', '76%'], [0.125, '.0%', '12%'], [0.005, '.0%', '0%'], [0.885, '.0%', '88%'], [2.25, '.1f', '2.2'],
    [2.35, '.1f', '2.4'], [-4.4649999, '.2f', '-4.46'], [0.03125, '.4f', '0.0312'], [7, '', '7']];
  for (const [v, spec, want] of cases) assert.equal(formatValue(v, spec), want, `${v} ${spec}`);
  assert.equal(fixed(1.005, 2), '1.00');
  assert.deepEqual([pyRound(0.03125, 4), pyRound(-4.18214431, 4), pyRound(0.00005, 4), pyRound(2.675, 2)], [0.0312, -4.1821, 0.0001, 2.67]);
  assert.deepEqual([0.5, 1.5, 2.5, 3].map(roundHalfEven), [0, 2, 2, 3]);
});

test('the reason table is reasons.py\'s: every code and English template', () => {
  const codes = Object.fromEntries([...PY.matchAll(/^ {4}([A-Z_]+) = "([a-z_]+)"$/gm)].map((m) => [m[1], m[2]]));
  const templates = Object.fromEntries([...PY.matchAll(/^ {4}Code\.([A-Z_]+): "(.*)",$/gm)].map((m) => [codes[m[1]], m[2]]));
  assert.ok(Object.keys(codes).length >= 14, 'the scan of reasons.py is broken');
  assert.deepEqual({ ...CODE }, codes);
  assert.deepEqual({ ...TEMPLATES }, templates);
});

test('a reason reads and serialises as Reason.text and Reason.to_dict do', () => {
  assert.equal(reasonText(reason(CODE.SOLID_BLOB, { fill: 0.885, threshold: 0.75 }, 2)), 'mark 3: a solid blob of ink (88% of its box), not pen strokes');
  assert.deepEqual(reasonDict(CODE.SCENE, { plain: 0.81254, threshold: 0.88 }), { code: 'scene', plain: 0.8125, threshold: 0.88 });
  assert.deepEqual(reasonDict(CODE.MOSTLY_REFUSED, { refused: 2, marks: 3, threshold: 0.5 }, 1), { code: 'mostly_refused', refused: 2, marks: 3, threshold: 0.5, mark: 1 });
});

test('numpy\'s float32 percentile: interpolated in float32', () => {
  assert.equal(percentile32([0, 1, 2, 3, 4], 50), 2);
  assert.equal(percentile32([0, 1], 5), Math.fround(Math.fround(0.05)));
  assert.equal(percentile32([1, 0], 95), Math.fround(1 - Math.fround(1 * Math.fround(1 - 0.95))));
});

test('Pillow\'s reduce of a float image: box means, partial cells at the right and bottom edges', () => {
  const img = { data: Float32Array.from({ length: 5 * 3 }, (_, i) => i), width: 5, height: 3 };
  const r = reduceF(img, 2);
  assert.deepEqual([r.width, r.height], [3, 2]);
  assert.deepEqual([...r.data], [3, 5, 6.5, 10.5, 12.5, 14]); // (0+1+5+6)/4, ..., the corner 14 alone
});

const mark = (x0, label, reasonOrNull = null, line = 0, h = 20) => ({ box: [x0, 10, x0 + 10, 10 + h], line, label, reason: reasonOrNull });
const ev = (marks, extra = {}) => ({ marks: marks.length, refused: marks.filter((m) => m.reason).length, plain: null, height_ratio: null, lines: 1, widest_gap: null, ...extra });

test('the verdict: digits, partly with marked reasons, not digits when most are refused or nothing was found', () => {
  const unlike = reason(CODE.UNLIKE_DIGITS, { score: -9, threshold: -4 });
  const two = [mark(0, '4'), mark(20, '2')];
  assert.deepEqual([decide(two, ev(two)).kind, decide(two, ev(two)).text], [KIND.DIGITS, '42']);
  const partly = [mark(0, '4'), mark(20, 'not a digit', unlike)];
  const v = decide(partly, ev(partly));
  assert.deepEqual([v.kind, v.text, v.refused, v.reasons[0].mark], [KIND.PARTLY, '4?', [1], 1]);
  const most = [mark(0, '4'), mark(20, 'x', unlike), mark(40, 'x', unlike)];
  assert.deepEqual(decide(most, ev(most)).reasons.map((r) => r.code), [CODE.MOSTLY_REFUSED]);
  assert.deepEqual(decide([], ev([])).reasons.map((r) => r.code), [CODE.NO_INK]);
  const scattered = decide(two, ev(two, { widest_gap: 5, plain: 0.5 }));
  assert.deepEqual([scattered.kind, scattered.text, scattered.reasons.map((r) => r.code)], [KIND.NOT_DIGITS, '', [CODE.SCENE, CODE.SCATTERED]]);
});

test('set apart: a mark from edge to edge of the picture, and one far taller than the others', () => {
  const gray = { data: new Float32Array(200 * 100).fill(1), width: 200, height: 100 };
  const marks = [mark(10, '1'), mark(40, '2'), mark(70, '3', null, 0, 75), { box: [120, 0, 130, 100], line: 0, label: '1', reason: null }];
  const out = setApart(marks, gray, true);
  assert.deepEqual(out.map((m) => m.reason?.code ?? null), [null, null, CODE.TOO_TALL, CODE.EDGE_TO_EDGE]);
});

test('context: a refused mark among two accepted digits of its height is accepted, not one far shorter or alone', () => {
  const boxes = [mark(0, '1'), mark(20, '2'), mark(40, '?'), mark(60, '?', null, 0, 5), mark(0, '?', null, 1)];
  const why = { code: CODE.UNLIKE_DIGITS };
  const answers = [{ accepted: true }, { accepted: true }, { accepted: false, why, score: -5 }, { accepted: false, why, score: -5 }, { accepted: false, why, score: -5 }];
  assert.deepEqual(inContext(boxes, answers, -6), [2]);
  assert.deepEqual(inContext(boxes, answers, -4), []); // scored under the looser threshold
  assert.equal(median([3, 1, 2, 10]), 2.5);
});
