// Service worker of the scan page (registered by scan-offline.js, scope /scan).
//
// A phone on the shop floor loses the network often, and a browser may reload a tab that was
// in the background. Without this worker a reload while offline shows the browser's error
// page: the scans already waiting are kept (localStorage) but no more can be made. The worker
// keeps the last copy of the scan page and of the files it uses, and serves that copy only
// when the server cannot be reached (network first). It never touches API calls: the page's
// own outbox queues scans and replays them, each with its scan id, once the server is back.
// The files kept include the live camera's WebAssembly reader (static/vendor/zxing_wasm,
// the .js modules and the .wasm): scan-offline.js puts them in the cache on the first visit,
// even before the camera is used, so that the camera reads labels offline too.
//
// The cache's name is set once, on the server (SCAN_CACHE in kanban/web/scan.py), and comes
// here in this worker's own URL (/scan-sw.js?cache=NAME). scan-offline.js gets the same name
// from the page (it fills the cache on the first visit) and login.js from the login page (it
// empties the cache when someone logs in, so that one user's page is never shown to another).
// Registered without a name (an older page), the worker keeps nothing.

const CACHE = new URL(self.location.href).searchParams.get('cache');
const PAGE = '/scan';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

// The key a response is kept under, or null when the request is not ours to keep.
function cacheKey(request) {
  if (request.method !== 'GET') return null;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return null;
  if (request.mode === 'navigate') return url.pathname === PAGE ? PAGE : null;
  return url.pathname.startsWith('/static/') ? url.pathname : null;
}

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  let response;
  try {
    response = await fetch(request);
  } catch (err) {
    const kept = await cache.match(key);
    if (kept) return kept;
    throw err;
  }
  if (response.ok && response.type === 'basic') {
    await cache.put(key, response.clone());
  } else if (response.status >= 500) {
    // A proxy in front of a stopped server answers 502: that is "not reachable" too.
    const kept = await cache.match(key);
    if (kept) return kept;
  }
  return response;
}

self.addEventListener('fetch', (event) => {
  const key = CACHE ? cacheKey(event.request) : null;
  if (key) event.respondWith(networkFirst(event.request, key));
});
