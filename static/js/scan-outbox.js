// The outbox as the station sees it: the queue of scans (scan-queue.js keeps and sends them),
// what the banner says for each answer, and the "N scans waiting" bar. It remembers the scans
// this page applied (for the undo command) and the waiting ones the server refused when they
// were finally sent (for the recent list).
//
// outboxEvents tells the recent list to redraw ("change") and that the server took a scan
// ("applied"), so that this module needs nothing from the list.

import { sendScan } from './scan-api.js';
import { signal } from './scan-feedback.js';
import { ScanQueue } from './scan-queue.js';
import { offerNewBin, show, showApplied, showError } from './scan-result.js';
import { $, cfg, plural, qtyInput, setQty } from './scan-station.js';

// How long after being queued a scan still counts as "just scanned" (full feedback).
const LIVE_MS = 8000;

export const outboxEvents = new EventTarget();
export const myScans = []; // scan ids this page applied, newest last (for the undo command)
export const failedReplays = []; // waiting scans the server refused when they were finally sent
const shownQueued = new Set();
const waiting = $('scan-waiting');

function announce(name) {
  outboxEvents.dispatchEvent(new Event(name));
}

export const queue = new ScanQueue({
  key: `kanban.scanQueue.v1:${cfg.user}`,
  send: sendScan,
  onResult: queueResult,
  onChange: () => {
    updateWaiting();
    announce('change');
  },
});

function isLive(item) {
  return Date.now() - item.queued_at < LIVE_MS;
}

function queueResult(item, outcome) {
  const live = isLive(item);
  if (outcome.kind === 'ok') {
    const data = outcome.data;
    myScans.push(data.scan_id);
    showApplied(item, data, live);
    if (live) signal(data.flipped ? 'flip' : 'ok');
    announce('applied');
  } else if (outcome.kind === 'rejected') {
    const err = (outcome.data && outcome.data.error) || {};
    if (!live) failedReplays.unshift({ item, message: err.message || `Error ${outcome.status}` });
    showError(err.code, err.message || `The server answered ${outcome.status}.`, item.code);
    offerNewBin(err.create_url);
    if (live && item.quantity !== undefined && qtyInput.value === '') setQty(item.quantity);
    announce('change');
  } else if (outcome.kind === 'offline' || outcome.kind === 'auth') {
    const items = queue.items();
    const newest = items[items.length - 1];
    if (newest && isLive(newest) && !shownQueued.has(newest.scan_id)) {
      shownQueued.add(newest.scan_id);
      const why = outcome.kind === 'auth'
        ? 'Your session has ended: log in again to send them.'
        : 'The server cannot be reached; they are sent as soon as it is back.';
      show('queued', {
        icon: '◷',
        word: 'Saved on this device',
        bin: newest.code,
        detail: `${plural(items.length, 'scan')} waiting. ${why}`,
      });
      signal('queued');
    }
  }
}

export function updateWaiting() {
  const n = queue.length;
  const state = queue.state;
  const visible = n > 0 && (state === 'offline' || state === 'auth' || (state === 'sending' && n > 1));
  waiting.hidden = !visible;
  waiting.dataset.count = String(n);
  if (!visible) return;
  const text = $('scan-waiting-text');
  if (state === 'auth') {
    text.textContent = `${plural(n, 'scan')} waiting: log in again (reload this page) to send them.`;
  } else if (state === 'sending') {
    text.textContent = `Sending ${plural(n, 'waiting scan')}…`;
  } else {
    text.textContent = `${plural(n, 'scan')} waiting: not sent yet, the server cannot be reached.`;
  }
}
