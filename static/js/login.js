// The login page: forget the scan page kept for offline use (static/js/scan-sw.js), so that
// the next user never sees the previous user's page. Waiting scans are not touched: they live
// in localStorage, under their user's name, and are sent when that user is back.
if ('caches' in window) caches.delete('kanban-scan-v1').catch(() => {});
