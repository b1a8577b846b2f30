// Every UI string exists in English and Chinese with the same {placeholders}, and every key the app uses exists.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';

import { DICTIONARIES, t } from '../../src/digitlab/serve/static/js/i18n.js';

const STATIC = new URL('../../src/digitlab/serve/static/', import.meta.url);
const { en, zh } = DICTIONARIES;
const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('English and Chinese have the same keys', () => {
  assert.deepEqual(Object.keys(zh).filter((k) => !(k in en)), [], 'keys only in Chinese');
  assert.deepEqual(Object.keys(en).filter((k) => !(k in zh)), [], 'keys only in English');
});

test('each string has the same placeholders in both languages, and no empty text', () => {
  for (const [key, text] of Object.entries(en)) {
    assert.deepEqual(placeholders(zh[key]), placeholders(text), `placeholders of ${key}`);
    assert.ok(text.trim() && zh[key].trim(), `empty text for ${key}`);
  }
});

test('every literal key used by the scripts and the page is in both dictionaries', () => {
  const js = new URL('js/', STATIC);
  const device = new URL('ondevice/', js);
  const files = [...readdirSync(js).filter((f) => f.endsWith('.js')).map((f) => new URL(f, js)), ...readdirSync(device).map((f) => new URL(f, device))];
  const sources = [...files, new URL('app.js', STATIC)].map((u) => readFileSync(u, 'utf8'));
  const page = readFileSync(new URL('index.html', STATIC), 'utf8');
  const used = new Set([
    ...sources.flatMap((s) => [...s.matchAll(/\bt\('([^']+)'/g)].map((m) => m[1])),
    ...[...page.matchAll(/data-i18n(?:-placeholder|-aria-label)?="([^"]+)"/g)].map((m) => m[1]),
  ]);
  assert.ok(used.size > 50, `found only ${used.size} keys: the scan is broken`);
  for (const key of used) assert.ok(key in en && key in zh, `${key} is used but missing`);
});

test('t fills placeholders and falls back to the key', () => {
  assert.equal(t('runs.count', { n: 3, total: 10 }), '3 of 10 runs');
  assert.equal(t('runs.count', { n: 3 }), '3 of {total} runs'); // a missing value stays visible
  assert.equal(t('no.such.key'), 'no.such.key');
});
