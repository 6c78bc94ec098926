// When each scan was made: the time on this device when it was scanned (scanned_at, sent
// with the scan and given back by the server in UTC), kept here by scan id for the recent
// list. The ledger keeps the time the server booked a scan, which for a scan that waited
// through a network drop is later; this device remembers its own scans' times (the last
// 200, in localStorage, so they survive a reload). Scans made on other devices show the
// server's time.

import { cfg } from './scan-station.js';

const KEY = `kanban.scanMade.v1:${cfg.user}`;
const KEEP = 200;

function load() {
  try {
    const parsed = JSON.parse(window.localStorage.getItem(KEY) || '{}');
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

let made = load();

/** Remember when the scan with this id was made (an ISO time). */
export function remember(scanId, when) {
  if (!scanId || !when) return;
  made = load(); // another tab may have added its own
  made[scanId] = when;
  const ids = Object.keys(made);
  if (ids.length > KEEP) {
    ids.sort((a, b) => (made[a] < made[b] ? -1 : 1));
    for (const id of ids.slice(0, ids.length - KEEP)) delete made[id];
  }
  try {
    window.localStorage.setItem(KEY, JSON.stringify(made));
  } catch {
    // Storage full or disabled: the times last for this page.
  }
}

/** When the scan was made, as this device saw it, or the fallback (the server's time). */
export function madeAt(scanId, fallback) {
  return made[scanId] || fallback;
}
