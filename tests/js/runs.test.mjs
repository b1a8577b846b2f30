// The Runs table as rendered from /api/runs (fake DOM, fake fetch): key parameters, figures, missing values, order.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { installDom } from './fake_dom.mjs';

const RUNS = [
  {
    name: 'fast', status: 'completed', model: 'fast', generation: 'gen1', best_val_acc: 0.9912, test_acc: 0.9921, train_seconds: 75.2,
    created_at: '2026-12-01T09:00:00', key_params: 'sgd lr=0.1 bs=64 ep=1', // as the server writes it (records.key_params)
  },
  {
    name: 'cnn-2', status: 'failed', model: 'cnn', generation: null, best_val_acc: null, test_acc: null, train_seconds: null,
    created_at: '2026-12-02T14:05:10.123456', key_params: 'adamw lr=0.0005 bs=128 ep=8',
  },
];
let rows;

before(async () => {
  const { createElement, body } = installDom();
  const table = createElement('table');
  table.setAttribute('id', 'runs-table');
  table.append(createElement('thead'), createElement('tbody'));
  const count = createElement('p');
  count.setAttribute('id', 'runs-count');
  body.append(table, count);
  globalThis.fetch = async (path) => {
    assert.equal(path, '/api/runs');
    return { ok: true, headers: { get: () => 'application/json' }, json: async () => RUNS };
  };
  const { refreshRuns } = await import('../../src/digitlab/serve/static/js/runs.js');
  await refreshRuns();
  rows = document.querySelectorAll('#runs-table tbody tr');
});

const cell = (row, key) => row.querySelector(`.c-${key}`).textContent;

test('one row per run, newest first', () => {
  assert.deepEqual(rows.map((r) => r.getAttribute('data-run')), ['cnn-2', 'fast']);
  assert.equal(document.querySelector('#runs-count').textContent, '2 of 2 runs');
});

test('the key-parameter cell names optimiser, learning rate, batch size and epochs', () => {
  assert.equal(cell(rows[0], 'params'), 'adamw lr=0.0005 bs=128 ep=8');
  assert.equal(cell(rows[1], 'params'), 'sgd lr=0.1 bs=64 ep=1');
});

test('figures are formatted: accuracy in percent, time in minutes, start time without T and fractions', () => {
  const [, done] = rows;
  assert.equal(cell(done, 'best_val_acc'), '99.12 %');
  assert.equal(cell(done, 'test_acc'), '99.21 %');
  assert.equal(cell(done, 'train_seconds'), '1 m 15 s');
  assert.equal(cell(done, 'generation'), 'gen1');
  assert.equal(cell(rows[0], 'created_at'), '2026-12-02 14:05:10');
  assert.equal(cell(done, 'status'), 'completed');
});

test('a failed run with no figures shows empty cells, not "null" or an error', () => {
  const [failed] = rows;
  for (const key of ['best_val_acc', 'test_acc', 'train_seconds', 'generation']) assert.equal(cell(failed, key), '', key);
  assert.equal(cell(failed, 'status'), 'failed');
});
