// The scan station's state: the server's config (data-config on #scan-app), the page's
// fields, the mode and the quantity of the next scan, the station name, and the small helpers
// the other scan modules share. The command barcodes, the words for modes and card states
// and the limits all come from the server; nothing here decides a business rule.
//
// Everything shown that came from a scan or the server is set with textContent.

import { timeOfDay, zoneName } from './clock.js';
import { MODES, Mode } from './vocab.js';

export const app = document.getElementById('scan-app');
export const cfg = JSON.parse(app.dataset.config);
export const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
export const $ = (id) => document.getElementById(id);

export const input = $('scan-code');
export const qtyInput = $('scan-qty');
export const stationInput = $('scan-station');
const touch = window.matchMedia && window.matchMedia('(pointer: coarse)').matches;

let mode = Mode.PULL;

// ------------------------------------------------------------------ small helpers

export function store(key, value) {
  try {
    if (value === undefined) return window.localStorage.getItem(key);
    window.localStorage.setItem(key, value);
  } catch {
    // Private mode or storage disabled: settings last for this page only.
  }
  return null;
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** "14:08:05 CET": a time of day on the site's clock, the zone named (clock.js). */
export function clock(value) {
  const time = timeOfDay(value, { seconds: true });
  return time && `${time} ${zoneName(value)}`;
}

export function station() {
  return stationInput.value.trim().slice(0, cfg.station_max);
}

export function refocus() {
  if (!touch) input.focus();
}

export function modeLook(m) {
  return cfg.modes[m] || { word: m, done: m, icon: '' };
}

export function stateLook(s) {
  return cfg.states[s] || { word: s, icon: '' };
}

// ------------------------------------------------------------------ mode and quantity

export function currentMode() {
  return mode;
}

export function setMode(next) {
  if (!cfg.modes[next] || !MODES.includes(next)) return;
  mode = next;
  app.dataset.mode = next;
  for (const b of app.querySelectorAll('button.mode')) {
    b.setAttribute('aria-pressed', b.dataset.mode === next ? 'true' : 'false');
  }
  const look = modeLook(next);
  $('scan-mode-word').textContent = `${look.icon} ${look.word}`;
}

// Any script's decimal digits as ASCII: "１２" (full width) or "١٢" (Arabic-Indic) is 12, as
// a keyboard of that script types it. Unicode keeps each script's digits 0-9 in one run of
// ten code points, so a digit's value is its place in its run.
function asciiDigits(text) {
  return text.replace(/\p{Nd}/gu, (d) => {
    let code = d.codePointAt(0);
    let place = 0;
    while (/\p{Nd}/u.test(String.fromCodePoint(code - 1)) && place < 9) {
      code -= 1;
      place += 1;
    }
    return String(place);
  });
}

/** The lowest quantity a scan in mode ``m`` takes (the server's rule: 0 for a count). */
export function lowestQty(m = mode) {
  return cfg.quantity_rules[m].low;
}

/** The quantity field read for the next scan: {ok, value} (value null: automatic) and, when
 *  refused, the text that was refused. */
export function readQty() {
  const raw = qtyInput.value.trim();
  if (raw === '') return { ok: true, value: null };
  const digits = asciiDigits(raw.normalize('NFKC'));
  const n = /^[0-9]{1,9}$/.test(digits) ? Number(digits) : NaN;
  if (!Number.isInteger(n) || n < lowestQty() || n > cfg.max_quantity) {
    return { ok: false, value: null, refused: raw };
  }
  return { ok: true, value: n };
}

/** What every quantity refusal says: the server's words for the mode. */
export function qtyRange(m = mode) {
  return cfg.quantity_rules[m].says;
}

// What the next scan takes, under the scan field: "automatic", or a typed quantity marked as
// being for the next scan only (#scan-app[data-qty] = auto | set colours it).
export function updateQtyNow() {
  const q = readQty();
  const set = q.value !== null || !q.ok;
  app.dataset.qty = set ? 'set' : 'auto';
  $('scan-qty-now').textContent = set
    ? `· quantity ${q.ok ? q.value : '?'} for the next scan only, then automatic`
    : '· quantity: automatic';
}

// A tap or click into the quantity field selects what it holds, and the first key replaces
// it: typing 50 into a field holding 12 gives 50, never 1502, wherever the caret landed.
export function armQtyField() {
  let fresh = false;
  qtyInput.addEventListener('focus', () => {
    fresh = true;
    qtyInput.select();
  });
  qtyInput.addEventListener('click', () => {
    if (fresh) qtyInput.select(); // the click placed the caret after focus selected all
  });
  qtyInput.addEventListener('beforeinput', (e) => {
    if (!fresh) return;
    fresh = false;
    if (e.inputType.startsWith('insert')) qtyInput.value = '';
  });
  qtyInput.addEventListener('blur', () => {
    fresh = false;
  });
}

export function setQty(value) {
  qtyInput.value = value === null ? '' : String(value);
  updateQtyNow();
}

export function stepQty(delta) {
  const q = readQty();
  const base = q.value === null ? (delta > 0 ? 0 : 1) : q.value;
  setQty(Math.max(lowestQty(), Math.min(cfg.max_quantity, base + delta)));
}
