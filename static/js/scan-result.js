// The result banner (#scan-result): what the last scan, command or undo did, in words and
// icons, with the bin's stock and card state; an error says that nothing was changed. Also
// the short notice under it (a repeated code that was ignored).

import { signal } from './scan-feedback.js';
import { $, clock, modeLook, stateLook } from './scan-station.js';
import { Mode } from './vocab.js';

const result = $('scan-result');
const notice = $('scan-notice');

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

// outcome: ok | error | queued | command | undo | busy | ask
export function show(outcome, fields) {
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

export function binFields(bin) {
  const look = stateLook(bin.state);
  const flags = [];
  if (bin.flags && bin.flags.stockout) {
    flags.push(bin.flags.count_needed ? '⚠ Stockout — count needed' : '⚠ Stockout');
  }
  if (bin.flags && bin.flags.overdue) flags.push('◷ Overdue');
  return {
    bin: bin.code,
    item: bin.item ? `${bin.item.name} · ${bin.item.sku}` : '',
    stock: `On hand ${bin.on_hand} · card ${bin.card_quantity}`,
    state: [`${look.icon} ${look.word}`, ...flags].join(' · '),
    stateClass: bin.state,
  };
}

export function showApplied(item, data, live) {
  const look = modeLook(data.mode);
  const qty = data.mode === Mode.COUNT ? `: ${data.quantity}` : ` ${data.quantity}`;
  const details = [];
  if (data.replayed) details.push('Already recorded earlier: nothing was counted twice.');
  if (item.confirm) details.push('Confirmed by you.');
  if (!live) details.push(`Scanned at ${clock(item.scanned_at || new Date(item.queued_at))} while offline; sent now.`);
  if (live && item.quantity !== undefined) details.push(`Quantity ${item.quantity} was for this scan only: the next scan is automatic.`);
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
  nothing_to_answer: 'No question open',
  offline: 'Server not reachable',
  session: 'Log in again',
};

export function showError(code, message, scanned) {
  show('error', {
    icon: '✖',
    word: ERROR_TITLES[code] || 'Not recorded',
    bin: scanned ? `Scanned: ${scanned}` : '',
    detail: `${message || 'Something went wrong.'} Nothing was changed.`,
  });
  signal('error');
}

let noticeTimer = null;

export function showNotice(text) {
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    notice.hidden = true;
  }, 4000);
}

// A supervisor who scans a code that is no bin yet may create it: the server sends the
// new-bin form's address (with the code it would have) only to supervisors.
export function offerNewBin(url) {
  if (typeof url !== 'string' || !url.startsWith('/bins/new?')) return;
  const link = parts.create.querySelector('a');
  link.href = url;
  link.textContent = `✚ Create bin ${new URL(url, window.location.href).searchParams.get('code')}`;
  parts.create.hidden = false;
}
