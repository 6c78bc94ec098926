// The login page: forget the scan page kept for offline use (static/js/scan-sw.js), so that
// the next user never sees the previous user's page. Waiting scans are not touched: they live
// in localStorage, under their user's name, and are sent when that user is back. The cache's
// name comes from the server (data-scan-cache, SCAN_CACHE in kanban/web/scan.py).
const holder = document.querySelector('[data-scan-cache]');
if (holder && 'caches' in window) caches.delete(holder.dataset.scanCache).catch(() => {});
