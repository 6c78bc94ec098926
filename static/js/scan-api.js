// The scan page's calls to the server: a scan (POST /api/scans), an undo, a photo to read
// (POST /api/decode) and the recent list (GET /scan/recent), each with a timeout. A scan's
// answer is sorted into ok, rejected, offline (also: cannot save right now) or auth for the outbox; what to show is up to
// the caller. Failed connections reject (the callers catch them), except sendScan's.

import { cfg, csrfToken } from './scan-station.js';

const REQUEST_TIMEOUT_MS = 10000;

export async function request(url, options) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), REQUEST_TIMEOUT_MS);
  try {
    const resp = await fetch(url, { credentials: 'same-origin', signal: ctl.signal, ...options });
    const data = await resp.json().catch(() => null);
    return { resp, data };
  } finally {
    clearTimeout(timer);
  }
}

function classify(resp, data) {
  if (resp.ok) return { kind: 'ok', data, status: resp.status };
  const code = data && data.error ? data.error.code : '';
  // The server is there but its database cannot save right now (503): the scan waits here
  // like one made offline, and is sent again with the same scan id once the server answers.
  if (code === 'database_unavailable') return { kind: 'offline', data, status: resp.status, cannotSave: true };
  if (resp.status >= 500) return { kind: 'offline', data, status: resp.status };
  if (resp.status === 401 || code === 'csrf_failed') return { kind: 'auth', data, status: resp.status };
  return { kind: 'rejected', data, status: resp.status };
}

function postJson(url, body) {
  return request(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken },
    body: JSON.stringify(body),
  });
}

/** Send one outbox item; resolves to {kind: 'ok'|'rejected'|'offline'|'auth', data, status}. */
export async function sendScan(item) {
  const body = { code: item.code, mode: item.mode, scan_id: item.scan_id, source: item.source };
  if (item.quantity !== undefined && item.quantity !== null) body.quantity = item.quantity;
  if (item.station) body.station = item.station;
  if (item.scanned_at) body.scanned_at = item.scanned_at;
  if (item.confirm) body.confirm = true; // the operator answered the question: book it
  try {
    const { resp, data } = await postJson(cfg.urls.scans, body);
    return classify(resp, data);
  } catch {
    return { kind: 'offline', data: null, status: 0 };
  }
}

export function postUndo(scanId) {
  return postJson(`${cfg.urls.scans}/${encodeURIComponent(scanId)}/undo`, {});
}

export function postPhoto(file) {
  const body = new FormData();
  body.append('image', file, file.name || 'photo.jpg');
  return request(cfg.urls.decode, { method: 'POST', body, headers: { 'X-CSRFToken': csrfToken } });
}

export function getRecent(where) {
  return request(`${cfg.urls.recent}?station=${encodeURIComponent(where)}`, {
    headers: { Accept: 'application/json' },
  });
}
