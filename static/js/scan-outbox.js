// The outbox as the station sees it: the queue of scans (scan-queue.js keeps and sends them),
// what the banner says for each answer, and the "N scans waiting" bar. It remembers the scans
// this page applied (for the undo command) and the waiting ones the server refused when they
// were finally sent (for the recent list).
//
// outboxEvents tells the recent list to redraw ("change"), that the server took a scan
// ("applied"), that it asks a question about one ("ask", detail {item, error}: the scan is
// answered in scan-ask.js, never dropped) and, once the scans that waited through a network
// drop are all sent, what each did ("delivered", detail: [{item, outcome}]), so that this module
// needs nothing from the list, the question or the summary.

import { sendScan } from './scan-api.js';
import { signal } from './scan-feedback.js';
import { ScanQueue } from './scan-queue.js';
import { remember } from './scan-made.js';
import { offerNewBin, show, showApplied, showError } from './scan-result.js';
import { $, cfg, plural } from './scan-station.js';

// How long after being queued a scan still counts as "just scanned" (full feedback).
const LIVE_MS = 8000;

export const outboxEvents = new EventTarget();
export const myScans = []; // scan ids this page applied, newest last (for the undo command)
export const failedReplays = []; // waiting scans refused when finally sent, or cancelled
const shownQueued = new Set();
const waiting = $('scan-waiting');
let afterDrop = null; // while scans wait through a network drop: what each did once sent
let cannotSave = false; // the last try reached the server, whose database could not save it

function announce(name, detail) {
  outboxEvents.dispatchEvent(new CustomEvent(name, { detail }));
}

/** A question answered "no": the scan is listed as not booked. */
export function cancelled(item) {
  failedReplays.unshift({ item, message: 'cancelled by you, nothing booked' });
  announce('change');
}

// The queue is empty again after a drop: say what every scan that waited did.
function afterDropDone() {
  if (afterDrop === null || queue.length > 0 || queue.state !== 'idle') return;
  const done = afterDrop;
  afterDrop = null;
  if (done.length) announce('delivered', done);
}

export const queue = new ScanQueue({
  key: `kanban.scanQueue.v1:${cfg.user}`,
  send: sendScan,
  onResult: queueResult,
  onChange: () => {
    updateWaiting();
    announce('change');
    afterDropDone();
  },
});
if (queue.length > 0) afterDrop = []; // scans left waiting from before this page opened

function isLive(item) {
  return Date.now() - item.queued_at < LIVE_MS;
}

function queueResult(item, outcome) {
  const live = isLive(item);
  if (afterDrop !== null && (outcome.kind === 'ok' || outcome.kind === 'rejected')) {
    afterDrop.push({ item, outcome });
  }
  if (outcome.kind === 'ok') {
    const data = outcome.data;
    myScans.push(data.scan_id);
    remember(data.scan_id, data.scanned_at || item.scanned_at);
    showApplied(item, data, live);
    if (live) signal(data.flipped ? 'flip' : 'ok');
    announce('applied');
  } else if (outcome.kind === 'rejected') {
    // A refused quantity is never put back in the field: the next scan is automatic again.
    const err = (outcome.data && outcome.data.error) || {};
    if (cfg.confirmable.includes(err.code) && !item.confirm) {
      announce('ask', { item, error: err });
      return;
    }
    if (!live) failedReplays.unshift({ item, message: err.message || `Error ${outcome.status}` });
    showError(err.code, err.message || `The server answered ${outcome.status}.`, item.code);
    offerNewBin(err.create_url);
    announce('change');
  } else if (outcome.kind === 'offline' || outcome.kind === 'auth') {
    if (afterDrop === null) afterDrop = [];
    cannotSave = Boolean(outcome.cannotSave);
    updateWaiting();
    const items = queue.items();
    const newest = items[items.length - 1];
    if (newest && isLive(newest) && !shownQueued.has(newest.scan_id)) {
      shownQueued.add(newest.scan_id);
      const why = outcome.kind === 'auth'
        ? 'Your session has ended: log in again to send them.'
        : cannotSave
          ? 'The server cannot save right now; they are sent as soon as it can.'
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
    const why = cannotSave ? 'the server cannot save right now' : 'the server cannot be reached';
    text.textContent = `${plural(n, 'scan')} waiting: not sent yet, ${why}.`;
  }
}
