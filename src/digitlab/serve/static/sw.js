// Service worker: keeps the app shell, the on-device runtime and the model, so the page opens and recognises offline.
// Paths are relative to this file, so the same worker serves `digitlab serve` (at /) and a static copy of the app
// (digitlab export --web) hosted under any folder. The lab's other API calls always go to the network.
const CACHE = 'digitlab-shell-v6';
const RUNTIME = 'digitlab-ort-1.31.1'; // the vendored onnxruntime-web: immutable, kept until its version changes
const SHELL = [
  './', 'manifest.webmanifest', 'static/style.css', 'static/app.js',
  'static/js/answer.js', 'static/js/api.js', 'static/js/charts.js', 'static/js/dom.js', 'static/js/draw.js',
  'static/js/form.js', 'static/js/generate.js', 'static/js/i18n.js', 'static/js/inside.js', 'static/js/models.js', 'static/js/recognise.js', 'static/js/runs.js',
  'static/js/searches.js', 'static/js/state.js', 'static/js/studies.js', 'static/js/train.js', 'static/vendor/uPlot.iife.min.js', 'static/vendor/uPlot.min.css',
  'static/icons/icon-192.png', 'static/icons/icon-512.png',
  ...['checks', 'components', 'context', 'device', 'lighting', 'numeric', 'picture', 'predictor', 'preprocess', 'reader',
    'reasons', 'rejection', 'resample', 'runtime', 'segment', 'surface', 'verdict'].map((m) => `static/js/ondevice/${m}.js`),
];
const BASE = new URL('./', self.location).href;
const MODEL = ['api/models/current/model.json', 'api/models/current/model.onnx', 'model/model.json', 'model/model.onnx'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE && k !== RUNTIME).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

/** Network first (a new version or model shows at once), the cached copy when offline. */
function networkFirst(request, cacheName) {
  return fetch(request)
    .then((response) => {
      if (response.ok) {
        const copy = response.clone();
        caches.open(cacheName).then((cache) => cache.put(request, copy));
      }
      return response;
    })
    .catch(() => caches.match(request, { ignoreSearch: true }).then((hit) => hit || Response.error()));
}

/** Cache first: the runtime's files never change under one version (the wasm binary is 14 MB: fetched once). */
function cacheFirst(request) {
  return caches.open(RUNTIME).then((cache) => cache.match(request).then((hit) => hit || fetch(request).then((response) => {
    if (response.ok) cache.put(request, response.clone());
    return response;
  })));
}

/** How this worker answers a request for `url` (null: not at all, the network does). */
function route(url) {
  if (!url.startsWith(BASE)) return null;
  const path = url.slice(BASE.length).split(/[?#]/)[0];
  if (path.startsWith('static/vendor/ort/')) return cacheFirst;
  if (path === '' || path.startsWith('static/') || path === 'manifest.webmanifest' || MODEL.includes(path)) {
    return (request) => networkFirst(request, CACHE);
  }
  return null;
}

self.addEventListener('fetch', (event) => {
  const how = event.request.method === 'GET' && route(event.request.url);
  if (how) event.respondWith(how(event.request));
});

// The page loaded the runtime and model before this worker controlled it (its first visit): keep them now.
self.addEventListener('message', (event) => {
  const urls = (event.data?.keep || []).filter((u) => typeof u === 'string' && route(u));
  event.waitUntil(Promise.all(urls.map((u) => caches.match(u).then((hit) => hit || route(u)(new Request(u))))));
});
