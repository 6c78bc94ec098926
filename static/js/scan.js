// The scan station (docs/manual/spec.md §3): keyboard-wedge scanners, the camera, photos, command
// barcodes and the offline outbox. Business rules stay on the server: this page sends what
// was scanned to POST /api/scans and shows the answer. The command barcodes, the words for
// modes and card states and the limits come from the server in data-config.
//
// This module owns the page's wiring (its fields, buttons and timers) and its start. The
// parts, each in its own module:
//   scan-station.js   config, fields, mode and quantity, shared helpers
//   scan-api.js       the calls to the server
//   scan-result.js    the result banner
//   scan-outbox.js    the scans waiting to be sent and the "waiting" bar
//   scan-recent.js    the recent list
//   scan-input.js     what a scanned text or command barcode does, undo
//   scan-ask.js       the question before an unusual quantity or an over-receipt is booked
//   scan-sent.js      what the scans that waited through a network drop did
//   scan-made.js      when each scan was made, for the recent list
//   scan-capture.js   photo of a label and live camera
//   scan-offline.js   the copy kept for a reload without network
//   scan-keys.js, scan-queue.js, scan-camera.js, scan-feedback.js: the scanner's keys, the
//   outbox's storage, the camera's frames, sound and vibration.

import { ask, setUpQuestions } from './scan-ask.js';
import { setUpCapture } from './scan-capture.js';
import { prepare, setMuted, unlock } from './scan-feedback.js';
import { handleText, undoScan } from './scan-input.js';
import { attachWedge } from './scan-keys.js';
import { keepPageOffline } from './scan-offline.js';
import { outboxEvents, queue, updateWaiting } from './scan-outbox.js';
import { recentList, refreshRecent, refreshRecentSoon, renderRecent } from './scan-recent.js';
import { setUpSent, showSent } from './scan-sent.js';
import {
  $, app, armQtyField, cfg, input, qtyInput, refocus, setMode, setQty, station, stationInput,
  stepQty, store, updateQtyNow,
} from './scan-station.js';
import { Source } from './vocab.js';

const RECENT_REFRESH_MS = 20000;

// The recent list follows the outbox; the server's questions and the summary after a
// network drop come from it too.
outboxEvents.addEventListener('change', () => renderRecent());
outboxEvents.addEventListener('applied', () => refreshRecentSoon());
outboxEvents.addEventListener('ask', (e) => {
  ask(e.detail.item, e.detail.error);
  renderRecent();
});
outboxEvents.addEventListener('delivered', (e) => showSent(e.detail, cfg.confirmable));
setUpQuestions();
setUpSent();

recentList.addEventListener('click', (e) => {
  const button = e.target.closest('button.r-undo');
  if (!button) return;
  button.disabled = true;
  undoScan(button.dataset.scanId);
});

setUpCapture();

attachWedge({
  input,
  onScan: handleText,
  maxLength: cfg.max_length,
  burstGapMs: cfg.burst_gap_ms,
  burstEndMs: cfg.burst_end_ms,
  burstMin: cfg.burst_min,
});

$('scan-form').addEventListener('submit', (e) => {
  // The Go button (and Enter where keydown did not catch it, e.g. phone keyboards).
  e.preventDefault();
  const text = input.value;
  input.value = '';
  if (text.trim()) handleText(text, Source.FORM);
  refocus();
});

for (const b of app.querySelectorAll('button.mode')) {
  b.addEventListener('click', () => {
    setMode(b.dataset.mode);
    refocus();
  });
}
$('qty-minus').addEventListener('click', () => stepQty(-1));
$('qty-plus').addEventListener('click', () => stepQty(1));
$('qty-auto').addEventListener('click', () => {
  setQty(null);
  refocus();
});
armQtyField();
qtyInput.addEventListener('input', updateQtyNow);
qtyInput.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') {
    e.preventDefault();
    refocus();
  }
});

stationInput.value = (store('kanban.station') || '').slice(0, cfg.station_max);
stationInput.addEventListener('change', () => {
  stationInput.value = station();
  store('kanban.station', stationInput.value);
  refreshRecent();
});

const soundInput = $('scan-sound');
soundInput.checked = store('kanban.sound') !== 'off';
setMuted(!soundInput.checked);
soundInput.addEventListener('change', () => {
  store('kanban.sound', soundInput.checked ? 'on' : 'off');
  setMuted(!soundInput.checked);
});

$('scan-send-now').addEventListener('click', () => {
  queue.retryDelay = 1000;
  queue.flush();
});

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') {
    $('photo-choices').hidden = true;
    input.focus();
  }
});
// Web Audio may only start after a gesture: the first key or tap unlocks it.
prepare();
document.addEventListener('keydown', unlock, { capture: true });
document.addEventListener('pointerdown', unlock, { capture: true });

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') {
    queue.flush();
    refreshRecent();
  }
});
setInterval(() => {
  if (document.visibilityState === 'visible') refreshRecent();
}, RECENT_REFRESH_MS);

keepPageOffline();

updateQtyNow();
updateWaiting();
refreshRecent();
queue.flush();
refocus();
app.dataset.ready = 'true';
