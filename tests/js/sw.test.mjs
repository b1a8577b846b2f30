// The service worker precaches every module the page can load (else the app breaks offline), and only files that exist
// (else its install fails and nothing is kept).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';

const STATIC = new URL('../../src/digitlab/serve/static/', import.meta.url);
const sw = readFileSync(new URL('sw.js', STATIC), 'utf8');

/** The SHELL list as the worker builds it: literal paths plus the ondevice module names. */
function shell() {
  const list = sw.slice(sw.indexOf('const SHELL'), sw.indexOf('];', sw.indexOf('const SHELL')));
  const paths = [...list.matchAll(/'((?:static\/|manifest)[^']*)'/g)].map((m) => m[1]);
  const device = list.slice(list.indexOf('...['));
  return [...paths, ...[...device.matchAll(/'([a-z]+)'/g)].map((m) => `static/js/ondevice/${m[1]}.js`)];
}

test('every script module of the page is precached, and every precached file exists', () => {
  const cached = new Set(shell());
  const modules = [
    ...readdirSync(new URL('js/', STATIC)).filter((f) => f.endsWith('.js')).map((f) => `static/js/${f}`),
    ...readdirSync(new URL('js/ondevice/', STATIC)).map((f) => `static/js/ondevice/${f}`),
  ];
  assert.deepEqual(modules.filter((m) => !cached.has(m)), [], 'modules missing from the service worker');
  // the page's 'static/x' is the package's static/x; the manifest sits in static/ too (served at the root)
  const missing = [...cached].filter((p) => !existsSync(new URL(p.replace(/^static\//, ''), STATIC)));
  assert.deepEqual(missing, [], 'precached files that do not exist');
});

test('the runtime is not precached: it is fetched when first needed, then kept', () => {
  assert.ok(!shell().some((p) => p.includes('vendor/ort')));
  assert.match(sw, /static\/vendor\/ort\//);
});
