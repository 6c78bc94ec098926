// What a scanned or typed text does, whichever way it came (scanner, field, camera, photo).
// A code too long is refused and the same code again within the debounce time is ignored;
// a command barcode sets the mode or the quantity, undoes the last scan, or answers the
// page's question (confirm, cancel: scan-ask.js); anything else is a scan, put in the outbox
// with the mode, the quantity, the station and the time it was made, then sent. A typed
// quantity is for that one scan: the field goes back to automatic at once.
// Undo takes back a scan still waiting, or else asks the server to undo the newest one.

import { postUndo } from './scan-api.js';
import { answer } from './scan-ask.js';
import { signal } from './scan-feedback.js';
import { myScans, queue } from './scan-outbox.js';
import { newScanId } from './scan-queue.js';
import { refreshRecent, undoableScan } from './scan-recent.js';
import { binFields, show, showError, showNotice } from './scan-result.js';
import {
  cfg, currentMode, modeLook, qtyRange, readQty, setMode, setQty, station, stateLook,
} from './scan-station.js';

let lastText = null;
let lastTime = -Infinity;

// ------------------------------------------------------------------ scans and commands

function submitScan(text, source) {
  const q = readQty();
  if (!q.ok) {
    // Refused and cleared, so that the next scan starts clean: scan the label again, with a
    // new quantity typed first if automatic is not what you meant.
    setQty(null);
    lastText = null; // the label scanned again at once is this scan's retry, not a double read
    showError(
      'invalid_quantity',
      `${qtyRange()} "${q.refused.slice(0, 20)}" was cleared: scan the label again.`,
      text,
    );
    return;
  }
  const now = Date.now();
  const item = {
    scan_id: newScanId(),
    code: text,
    mode: currentMode(),
    source,
    queued_at: now,
    scanned_at: new Date(now).toISOString(),
  };
  if (q.value !== null) item.quantity = q.value;
  const where = station();
  if (where) item.station = where;
  setQty(null); // a quantity is for one scan
  queue.add(item);
  queue.flush();
}

function runCommand(key) {
  const cmd = cfg.commands[key];
  if (!cmd) {
    showError('unknown_command', 'This command barcode is not known here.', key);
    return;
  }
  if (cmd.action === 'undo') {
    undoLast();
    return;
  }
  if (cmd.action === 'confirm' || cmd.action === 'cancel') {
    answer(cmd.action === 'confirm');
    return;
  }
  if (cmd.action === 'mode') setMode(cmd.value);
  if (cmd.action === 'quantity') setQty(cmd.value);
  const q = readQty();
  const next = `${modeLook(currentMode()).word}, quantity ${q.value === null ? 'automatic' : q.value}`;
  show('command', { icon: '⚙', word: cmd.label, detail: `Next scan: ${next}.` });
  signal('command');
}

export function handleText(raw, source) {
  const text = String(raw).replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  if (!text) return;
  if (text.length > cfg.max_length) {
    showError('code_too_long', `A code has at most ${cfg.max_length} characters.`, `${text.slice(0, 40)}…`);
    return;
  }
  const now = performance.now();
  if (text === lastText && now - lastTime < cfg.debounce_ms) {
    lastTime = now;
    showNotice(`Same code again within ${cfg.debounce_ms / 1000} s: ignored.`);
    return;
  }
  lastText = text;
  lastTime = now;
  const key = text.toUpperCase();
  if (key.startsWith(cfg.command_prefix.toUpperCase())) {
    runCommand(key);
    return;
  }
  submitScan(text, source);
}

// ------------------------------------------------------------------ undo

export async function undoScan(scanId) {
  let answer;
  try {
    answer = await postUndo(scanId);
  } catch {
    showError('offline', 'Cannot reach the server: the scan was not undone. Try again when it is back.');
    return;
  }
  const { resp, data } = answer;
  if (!resp.ok) {
    const err = (data && data.error) || {};
    showError(err.code, err.message || `The server answered ${resp.status}.`);
    return;
  }
  const i = myScans.indexOf(scanId);
  if (i >= 0) myScans.splice(i, 1);
  show('undo', {
    icon: '↩',
    word: modeLook('undo').done,
    ...binFields(data.bin),
    why: data.flipped ? `Card back to ${stateLook(data.bin.state).word}: ${data.bin.reason}` : '',
    detail: data.replayed ? 'It had already been undone.' : '',
  });
  signal('command');
  refreshRecent();
}

function undoLast() {
  const queued = queue.popNewest();
  if (queued) {
    show('undo', { icon: '↩', word: 'Taken back', bin: queued.code, detail: 'This waiting scan will not be sent.' });
    signal('command');
    return;
  }
  const id = myScans[myScans.length - 1] || undoableScan();
  if (!id) {
    showError('nothing_to_undo', 'There is no recent scan of yours to undo.');
    return;
  }
  undoScan(id);
}
