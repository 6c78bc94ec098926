// The scan station (docs/spec.md §3): keyboard-wedge scanners, the camera, photos, command
// barcodes and the offline outbox. Business rules stay on the server: this page sends what
// was scanned to POST /api/scans and shows the answer. The command barcodes, the words for
// modes and card states and the limits come from the server in data-config.
//
// Everything shown that came from a scan or the server is set with textContent.

import { attachWedge } from './scan-keys.js';
import { ScanQueue, newScanId } from './scan-queue.js';
import { LiveCamera, cameraSupported } from './scan-camera.js';
import { prepare, setMuted, signal, unlock } from './scan-feedback.js';

const app = document.getElementById('scan-app');
const cfg = JSON.parse(app.dataset.config);
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
const $ = (id) => document.getElementById(id);

const input = $('scan-code');
const form = $('scan-form');
const qtyInput = $('scan-qty');
const stationInput = $('scan-station');
const soundInput = $('scan-sound');
const result = $('scan-result');
const waiting = $('scan-waiting');
const notice = $('scan-notice');
const recentList = $('scan-recent');
const touch = window.matchMedia && window.matchMedia('(pointer: coarse)').matches;

// How long after being queued a scan still counts as "just scanned" (full feedback).
const LIVE_MS = 8000;
const REQUEST_TIMEOUT_MS = 10000;
const RECENT_REFRESH_MS = 20000;

let mode = 'pull';
let lastText = null;
let lastTime = -Infinity;
let recentCache = [];
const myScans = []; // scan ids this page applied, newest last (for the undo command)
const failedReplays = []; // waiting scans the server refused when they were finally sent
const shownQueued = new Set();

// ------------------------------------------------------------------ small helpers

function store(key, value) {
  try {
    if (value === undefined) return window.localStorage.getItem(key);
    window.localStorage.setItem(key, value);
  } catch {
    // Private mode or storage disabled: settings last for this page only.
  }
  return null;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function clock(value) {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function station() {
  return stationInput.value.trim().slice(0, cfg.station_max);
}

function refocus() {
  if (!touch) input.focus();
}

function modeLook(m) {
  return cfg.modes[m] || { word: m, done: m, icon: '' };
}

function stateLook(s) {
  return cfg.states[s] || { word: s, icon: '' };
}

// ------------------------------------------------------------------ the result banner

const parts = {
  icon: result.querySelector('.result-icon'),
  word: result.querySelector('.result-word'),
  bin: result.querySelector('.result-bin'),
  item: result.querySelector('.result-item'),
  stock: result.querySelector('.result-stock'),
  state: result.querySelector('.result-state'),
  why: result.querySelector('.result-why'),
  detail: result.querySelector('.result-detail'),
  create: result.querySelector('.result-create'),
};

// outcome: ok | error | queued | command | undo | busy
function show(outcome, fields) {
  result.dataset.outcome = outcome;
  result.className = `result result-${outcome}`;
  parts.icon.textContent = fields.icon || '';
  parts.word.textContent = fields.word || '';
  for (const name of ['bin', 'item', 'stock', 'state', 'why', 'detail']) {
    const value = fields[name];
    parts[name].textContent = value || '';
    parts[name].hidden = !value;
  }
  parts.create.hidden = true;
  parts.state.className = 'result-state';
  if (fields.stateClass) parts.state.classList.add(`state-${fields.stateClass}`);
  // Restart the flash animation even when two results in a row look alike.
  void result.offsetWidth;
  result.classList.add('flash');
}

function binFields(bin) {
  const look = stateLook(bin.state);
  const flags = [];
  if (bin.flags && bin.flags.stockout) flags.push('⚠ Stockout — count needed');
  else if (bin.flags && bin.flags.count_needed) flags.push('⚠ Count needed');
  if (bin.flags && bin.flags.overdue) flags.push('◷ Overdue');
  return {
    bin: bin.code,
    item: bin.item ? `${bin.item.name} · ${bin.item.sku}` : '',
    stock: `On hand ${bin.on_hand} · card ${bin.card_quantity}`,
    state: [`${look.icon} ${look.word}`, ...flags].join(' · '),
    stateClass: bin.state,
  };
}

function showApplied(item, data, live) {
  const look = modeLook(data.mode);
  const qty = data.mode === 'count' ? `: ${data.quantity}` : ` ${data.quantity}`;
  const details = [];
  if (data.replayed) details.push('Already recorded earlier: nothing was counted twice.');
  if (!live) details.push(`Scanned at ${clock(new Date(item.queued_at))} while offline; sent now.`);
  if (data.request) details.push(`On supplier request #${data.request.id} (${data.request.status}).`);
  const fields = binFields(data.bin);
  const stateWord = stateLook(data.bin.state).word;
  show('ok', {
    icon: '✔',
    word: `${look.done}${qty}`,
    ...fields,
    why: data.flipped ? `Card flipped to ${stateWord}: ${data.bin.reason}` : '',
    detail: details.join(' '),
  });
}

const ERROR_TITLES = {
  unknown_code: 'Unknown code',
  unknown_command: 'Unknown command',
  ambiguous_code: 'Several bins match',
  inactive_bin: 'Bin not active',
  quantity_required: 'Quantity needed',
  invalid_quantity: 'Wrong quantity',
  code_too_long: 'Code too long',
  invalid_code: 'Not a code',
  no_code: 'No barcode found',
  offline: 'Server not reachable',
  session: 'Log in again',
};

function showError(code, message, scanned) {
  show('error', {
    icon: '✖',
    word: ERROR_TITLES[code] || 'Not recorded',
    bin: scanned ? `Scanned: ${scanned}` : '',
    detail: `${message || 'Something went wrong.'} Nothing was changed.`,
  });
  signal('error');
}

// ------------------------------------------------------------------ mode and quantity

function setMode(next) {
  if (!cfg.modes[next] || next === 'undo') return;
  mode = next;
  app.dataset.mode = next;
  for (const b of app.querySelectorAll('button.mode')) {
    b.setAttribute('aria-pressed', b.dataset.mode === next ? 'true' : 'false');
  }
  const look = modeLook(next);
  $('scan-mode-word').textContent = `${look.icon} ${look.word}`;
}

function readQty() {
  const raw = qtyInput.value.trim();
  if (raw === '') return { ok: !qtyInput.validity.badInput, value: null };
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > cfg.max_quantity) return { ok: false, value: null };
  return { ok: true, value: n };
}

function updateQtyNow() {
  const q = readQty();
  $('scan-qty-now').textContent = q.value === null ? '· quantity: automatic' : `· quantity: ${q.value}`;
}

function setQty(value) {
  qtyInput.value = value === null ? '' : String(value);
  updateQtyNow();
}

function stepQty(delta) {
  const q = readQty();
  const base = q.value === null ? (delta > 0 ? 0 : 1) : q.value;
  setQty(Math.max(mode === 'count' ? 0 : 1, Math.min(cfg.max_quantity, base + delta)));
}

// ------------------------------------------------------------------ talking to the server

async function request(url, options) {
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
  if (resp.status >= 500) return { kind: 'offline', data, status: resp.status };
  const code = data && data.error ? data.error.code : '';
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

async function sendScan(item) {
  const body = { code: item.code, mode: item.mode, scan_id: item.scan_id, source: item.source };
  if (item.quantity !== undefined && item.quantity !== null) body.quantity = item.quantity;
  if (item.station) body.station = item.station;
  try {
    const { resp, data } = await postJson(cfg.urls.scans, body);
    return classify(resp, data);
  } catch {
    return { kind: 'offline', data: null, status: 0 };
  }
}

// ------------------------------------------------------------------ the outbox

const queue = new ScanQueue({
  key: `kanban.scanQueue.v1:${cfg.user}`,
  send: sendScan,
  onResult: queueResult,
  onChange: () => {
    updateWaiting();
    renderRecent();
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
    refreshRecentSoon();
  } else if (outcome.kind === 'rejected') {
    const err = (outcome.data && outcome.data.error) || {};
    if (!live) failedReplays.unshift({ item, message: err.message || `Error ${outcome.status}` });
    showError(err.code, err.message || `The server answered ${outcome.status}.`, item.code);
    offerNewBin(err.create_url);
    if (live && item.quantity !== undefined && qtyInput.value === '') setQty(item.quantity);
    renderRecent();
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

// A supervisor who scans a code that is no bin yet may create it: the server sends the
// new-bin form's address (with the code it would have) only to supervisors.
function offerNewBin(url) {
  if (typeof url !== 'string' || !url.startsWith('/bins/new?')) return;
  const link = parts.create.querySelector('a');
  link.href = url;
  link.textContent = `✚ Create bin ${new URL(url, window.location.href).searchParams.get('code')}`;
  parts.create.hidden = false;
}

function updateWaiting() {
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

// ------------------------------------------------------------------ scans and commands

function submitScan(text, source) {
  const q = readQty();
  if (!q.ok) {
    showError('invalid_quantity', `The quantity must be a whole number from 0 to ${cfg.max_quantity}.`, text);
    return;
  }
  const item = { scan_id: newScanId(), code: text, mode, source, queued_at: Date.now() };
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
  if (cmd.action === 'mode') setMode(cmd.value);
  if (cmd.action === 'quantity') setQty(cmd.value);
  const q = readQty();
  const next = `${modeLook(mode).word}, quantity ${q.value === null ? 'automatic' : q.value}`;
  show('command', { icon: '⚙', word: cmd.label, detail: `Next scan: ${next}.` });
  signal('command');
}

function showNotice(text) {
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(showNotice.timer);
  showNotice.timer = setTimeout(() => {
    notice.hidden = true;
  }, 4000);
}

function handleText(raw, source) {
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

async function undoScan(scanId) {
  let answer;
  try {
    answer = await postJson(`${cfg.urls.scans}/${encodeURIComponent(scanId)}/undo`, {});
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
  let id = myScans[myScans.length - 1];
  if (!id) {
    const mine = recentCache.find((s) => s.undoable);
    id = mine ? mine.scan_id : null;
  }
  if (!id) {
    showError('nothing_to_undo', 'There is no recent scan of yours to undo.');
    return;
  }
  undoScan(id);
}

// ------------------------------------------------------------------ recent scans

let recentTimer = null;

async function refreshRecent() {
  const where = station();
  $('station-label').textContent = where || 'your scans on this device';
  try {
    const { resp, data } = await request(`${cfg.urls.recent}?station=${encodeURIComponent(where)}`, {
      headers: { Accept: 'application/json' },
    });
    if (resp.ok && data && Array.isArray(data.scans)) recentCache = data.scans;
  } catch {
    // Offline: keep showing what we had.
  }
  renderRecent();
}

function refreshRecentSoon() {
  clearTimeout(recentTimer);
  recentTimer = setTimeout(refreshRecent, 250);
}

function recentRow(kind, cells, button) {
  const li = el('li', `recent-item recent-${kind}`);
  for (const [cls, text] of cells) if (text) li.append(el('span', cls, text));
  if (button) li.append(button);
  return li;
}

function renderRecent() {
  const rows = [];
  for (const item of queue.items().reverse()) {
    const look = modeLook(item.mode);
    const qty = item.quantity === undefined ? '' : ` ${item.quantity}`;
    rows.push(recentRow('waiting', [
      ['r-time', clock(new Date(item.queued_at))],
      ['r-what', `${look.icon} ${look.word}${qty}`],
      ['r-bin', item.code],
      ['r-after', '◷ waiting to be sent'],
    ]));
  }
  for (const f of failedReplays.slice(0, 5)) {
    rows.push(recentRow('failed', [
      ['r-time', clock(new Date(f.item.queued_at))],
      ['r-what', `${modeLook(f.item.mode).icon} ${modeLook(f.item.mode).word}`],
      ['r-bin', f.item.code],
      ['r-after', `✖ not recorded: ${f.message}`],
    ]));
  }
  for (const s of recentCache) {
    const look = modeLook(s.mode);
    const st = stateLook(s.state_after);
    let button = null;
    if (s.undoable) {
      button = el('button', 'btn btn-small r-undo', 'Undo');
      button.type = 'button';
      button.dataset.scanId = s.scan_id;
      button.setAttribute('aria-label', `Undo ${look.word} ${s.quantity} of ${s.bin}`);
    }
    rows.push(recentRow(s.undone ? 'undone' : 'done', [
      ['r-time', clock(s.at)],
      ['r-what', `${look.icon} ${look.word} ${s.quantity}`],
      ['r-bin', s.bin],
      ['r-after', `→ ${s.on_hand_after} on hand · ${st.icon} ${st.word}`],
      ['r-who', s.mine ? 'you' : s.actor],
      ['r-undone', s.undone ? '↩ undone' : ''],
    ], button));
  }
  recentList.replaceChildren(...rows);
  $('recent-empty').hidden = rows.length > 0;
}

recentList.addEventListener('click', (e) => {
  const button = e.target.closest('button.r-undo');
  if (!button) return;
  button.disabled = true;
  undoScan(button.dataset.scanId);
});

// ------------------------------------------------------------------ photo and camera

async function decodePhoto(file) {
  if (file.size > cfg.max_upload) {
    showError('image_too_large', 'The photo is too large to upload.');
    return;
  }
  show('busy', { icon: '…', word: 'Reading the photo', detail: 'Looking for a barcode.' });
  const body = new FormData();
  body.append('image', file, file.name || 'photo.jpg');
  let answer;
  try {
    answer = await request(cfg.urls.decode, { method: 'POST', body, headers: { 'X-CSRFToken': csrfToken } });
  } catch {
    showError('offline', 'Cannot reach the server: a photo can only be read online. Try again when the connection is back.');
    return;
  }
  const { resp, data } = answer;
  if (!resp.ok) {
    const err = (data && data.error) || {};
    showError(err.code, err.message || `The server answered ${resp.status}.`);
    return;
  }
  const codes = (data && data.codes) || [];
  if (codes.length === 0) {
    showError('no_code', 'No barcode found in the photo. Hold the phone closer, with the label flat and well lit.');
    return;
  }
  const texts = [...new Set(codes.map((c) => c.text))];
  if (texts.length === 1) {
    handleText(texts[0], 'photo');
    return;
  }
  const list = $('photo-choice-list');
  list.replaceChildren(...texts.slice(0, 8).map((t) => {
    const b = el('button', 'btn choice', t);
    b.type = 'button';
    b.dataset.text = t;
    return b;
  }));
  $('photo-choices').hidden = false;
  show('command', { icon: '?', word: 'Several codes', detail: 'Choose the one to scan below.' });
}

$('photo-choice-list').addEventListener('click', (e) => {
  const b = e.target.closest('button.choice');
  if (!b) return;
  $('photo-choices').hidden = true;
  handleText(b.dataset.text, 'photo');
});

const photo = $('scan-photo');
photo.addEventListener('change', () => {
  const file = photo.files && photo.files[0];
  photo.value = '';
  if (file) decodePhoto(file);
});

const camera = new LiveCamera({
  video: $('camera-video'),
  box: $('camera'),
  status: $('camera-status'),
  decodeUrl: cfg.urls.decode,
  csrfToken,
  onCode: (text) => handleText(text, 'camera'),
});

if (cameraSupported()) {
  $('camera-start').hidden = false;
} else {
  const note = $('camera-note');
  note.hidden = false;
  note.textContent = window.isSecureContext
    ? 'This browser gives no camera access: use “Photo of a label”.'
    : 'Live camera needs HTTPS (see the README): on plain HTTP, use “Photo of a label”.';
}

$('camera-start').addEventListener('click', async () => {
  try {
    await camera.start();
    $('camera-start').hidden = true;
  } catch (err) {
    showError('camera', `The camera could not be opened (${(err && err.name) || 'error'}). Use “Photo of a label” instead.`);
  }
});

$('camera-stop').addEventListener('click', () => {
  camera.stop();
  $('camera-start').hidden = false;
  refocus();
});

// ------------------------------------------------------------------ wiring

attachWedge({
  input,
  onScan: handleText,
  maxLength: cfg.max_length,
  burstGapMs: cfg.burst_gap_ms,
  burstEndMs: cfg.burst_end_ms,
  burstMin: cfg.burst_min,
});

form.addEventListener('submit', (e) => {
  // The Go button (and Enter where keydown did not catch it, e.g. phone keyboards).
  e.preventDefault();
  const text = input.value;
  input.value = '';
  if (text.trim()) handleText(text, 'form');
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

// Keep this page and its files for a reload without network (static/js/scan-sw.js). The
// worker refreshes its copy on every visit; this fills it on the first one, whose files
// loaded before the worker was there to see them.
async function keepForOffline() {
  const cache = await caches.open('kanban-scan-v1');
  const files = performance
    .getEntriesByType('resource')
    .map((entry) => new URL(entry.name))
    .filter((url) => url.origin === window.location.origin && url.pathname.startsWith('/static/'))
    .map((url) => url.pathname);
  for (const path of new Set([cfg.urls.page, ...files])) {
    if (!(await cache.match(path))) await cache.add(path);
  }
  app.dataset.offline = 'ready';
}
if ('serviceWorker' in navigator && window.isSecureContext) {
  navigator.serviceWorker
    .register(cfg.urls.worker, { scope: cfg.urls.page })
    .then(() => navigator.serviceWorker.ready)
    .then(keepForOffline)
    .catch(() => {}); // no offline copy: everything else works the same
}

updateQtyNow();
updateWaiting();
refreshRecent();
queue.flush();
refocus();
app.dataset.ready = 'true';
