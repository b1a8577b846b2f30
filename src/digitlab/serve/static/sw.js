// Service worker: keeps the app shell so the page opens offline; the API always goes to the network.
const CACHE = 'digitlab-shell-v2';
const SHELL = [
  '/', '/manifest.webmanifest', '/static/style.css', '/static/app.js',
  '/static/js/answer.js', '/static/js/api.js', '/static/js/charts.js', '/static/js/dom.js', '/static/js/draw.js',
  '/static/js/form.js', '/static/js/i18n.js', '/static/js/models.js', '/static/js/recognise.js', '/static/js/runs.js',
  '/static/js/state.js', '/static/js/studies.js', '/static/js/train.js', '/static/vendor/uPlot.iife.min.js', '/static/vendor/uPlot.min.css',
  '/static/icons/icon-192.png', '/static/icons/icon-512.png',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// Shell files: network first (so a new version shows at once), the cached copy when offline.
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  const shell = event.request.method === 'GET' && url.origin === location.origin
    && (url.pathname === '/' || url.pathname.startsWith('/static/') || url.pathname === '/manifest.webmanifest');
  if (!shell) return;
  event.respondWith(fetch(event.request)
    .then((response) => {
      if (response.ok) {
        const copy = response.clone();
        caches.open(CACHE).then((cache) => cache.put(event.request, copy));
      }
      return response;
    })
    .catch(() => caches.match(event.request, { ignoreSearch: true })));
});
