// The copy of the scan page kept for a reload without network: registers the service worker
// (static/js/scan-sw.js, scope /scan) and fills its cache (named by the server: cfg.cache,
// also in cfg.urls.worker) on the first visit. The worker
// refreshes its copy on every later visit; the first visit's files loaded before the worker
// was there to see them. Sets data-offline="ready" on #scan-app once the copy is complete.

import { app, cfg } from './scan-station.js';

async function keepForOffline() {
  const cache = await caches.open(cfg.cache);
  const files = performance
    .getEntriesByType('resource')
    .map((entry) => new URL(entry.name))
    .filter((url) => url.origin === window.location.origin && url.pathname.startsWith('/static/'))
    .map((url) => url.pathname);
  // The live camera's WebAssembly reader too, loaded only when the camera starts: without
  // it, a phone that is offline could not read a label.
  for (const path of new Set([cfg.urls.page, ...files, ...(cfg.urls.offline || [])])) {
    if (!(await cache.match(path))) await cache.add(path);
  }
  app.dataset.offline = 'ready';
}

/** Register the worker where it may run (HTTPS or localhost); without it all else works the same. */
export function keepPageOffline() {
  if ('serviceWorker' in navigator && window.isSecureContext) {
    navigator.serviceWorker
      .register(cfg.urls.worker, { scope: cfg.urls.page })
      .then(() => navigator.serviceWorker.ready)
      .then(keepForOffline)
      .catch(() => {}); // no offline copy: everything else works the same
  }
}
