// The number formatters of the web app (dom.js): percentages and durations, missing values shown empty.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { pct, secs } from '../../src/digitlab/serve/static/js/dom.js';

test('pct shows a fraction as a percentage with two decimals by default', () => {
  assert.equal(pct(0.9876), '98.76 %');
  assert.equal(pct(1), '100.00 %');
  assert.equal(pct(0), '0.00 %');
  assert.equal(pct(0.5, 0), '50 %');
});

test('pct of a missing or non-numeric figure is empty', () => {
  for (const value of [null, undefined, '', NaN, Infinity, '0.5', {}]) assert.equal(pct(value), '', String(value));
});

test('secs shows tenths below a minute, then minutes and two-digit seconds', () => {
  assert.equal(secs(0), '0.0 s');
  assert.equal(secs(12.34), '12.3 s');
  assert.equal(secs(59.9), '59.9 s');
  assert.equal(secs(60), '1 m 00 s');
  assert.equal(secs(65.4), '1 m 05 s');
  assert.equal(secs(3599), '59 m 59 s');
  assert.equal(secs(3600), '60 m 00 s');
});

test('secs rounds once, so seconds never read 60', () => {
  assert.equal(secs(59.94), '59.9 s');
  assert.equal(secs(59.96), '1 m 00 s');
  assert.equal(secs(119.6), '2 m 00 s');
  assert.equal(secs(3599.7), '60 m 00 s');
});

test('secs of a missing or non-numeric figure is empty (a failed run has null times)', () => {
  for (const value of [null, undefined, '', NaN, '12', []]) assert.equal(secs(value), '', String(value));
});
