// The on-device port of the ensemble's "disagreement" detector (recognize/rejection/disagreement.py): agreeing members
// score 0 (no mutual information), disagreeing ones lower; the members' probabilities end the features.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DETECTORS, disagreement } from '../../src/digitlab/serve/static/js/ondevice/rejection.js';

/** A view of n images whose features are 4 numbers then M members' C probabilities (each row of `rows`). */
function view(rows, C) {
  const n = rows.length;
  const D = 4 + rows[0].length;
  const features = new Float32Array(n * D);
  rows.forEach((r, i) => features.set([0.5, 1, 0, 2, ...r], i * D));
  return { n, C, D, features, logits: new Float32Array(n * C) };
}

const oneHot = (k, C) => Array.from({ length: C }, (_, c) => (c === k ? 0.91 : 0.01));

test('agreeing members score 0 and above disagreeing ones; the detector is registered', () => {
  const C = 10;
  const agree = [3, 3, 3].flatMap((k) => oneHot(k, C));
  const disagree = [3, 5, 8].flatMap((k) => oneHot(k, C));
  const state = { weights: { shape: [3], data: Float32Array.from([1 / 3, 1 / 3, 1 / 3]) } };
  const s = disagreement(view([agree, disagree], C), state);
  assert.ok(Math.abs(s[0]) < 1e-6, `agreeing members: ${s[0]}`);
  assert.ok(s[1] < s[0] - 0.5, `disagreeing members: ${s[1]}`);
  assert.equal(DETECTORS.disagreement, disagreement);
});
