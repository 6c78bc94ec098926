// The scan page's question (#scan-ask): the server refused a scan until it is confirmed (an
// unusual quantity, more than the order still owes: the codes in cfg.confirmable). The scan
// waits here, kept in localStorage so a reload does not lose it, until it is answered:
// Confirm sends it again, same scan id, with confirm: true; Cancel drops it (nothing is
// booked, and the recent list says so). Answered by tapping the buttons, or with a USB
// scanner alone by scanning the command barcodes *KB:CONFIRM and *KB:CANCEL.
//
// A question does not stop the station: later scans go on, and the question stays up (the
// oldest first) until it is answered. A scan sent from the offline queue that comes back
// with a question is asked here the same way: never booked without it, never lost.

import { signal } from './scan-feedback.js';
import { cancelled, queue } from './scan-outbox.js';
import { show, showError } from './scan-result.js';
import { $, cfg, modeLook, plural } from './scan-station.js';

const KEY = `kanban.scanAsk.v1:${cfg.user}`;
const panel = $('scan-ask');
const parts = {
  title: $('scan-ask-title'),
  message: $('scan-ask-message'),
  more: $('scan-ask-more'),
  confirm: $('ask-confirm'),
  cancel: $('ask-cancel'),
};

function load() {
  try {
    const parsed = JSON.parse(window.localStorage.getItem(KEY) || '[]');
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

let questions = load();

function save() {
  try {
    window.localStorage.setItem(KEY, JSON.stringify(questions));
  } catch {
    // Storage full or disabled: the question stays for this page.
  }
}

/** What the scan would do, in words: "Pull 99 · bin A-1". */
function doing(item, details) {
  const look = modeLook(item.mode);
  const qty = (details && details.quantity) || item.quantity;
  const bin = (details && details.bin) || item.code;
  return `${look.word}${qty === undefined ? '' : ` ${qty}`} · bin ${bin}`;
}

function render() {
  const first = questions[0];
  panel.hidden = !first;
  panel.dataset.count = String(questions.length);
  if (!first) return;
  const look = modeLook(first.item.mode);
  const qty = first.error.details ? first.error.details.quantity : first.item.quantity;
  parts.title.textContent = `Book this? ${doing(first.item, first.error.details)}`;
  parts.message.textContent = first.error.message || '';
  parts.confirm.textContent = `✔ Yes, ${look.word.toLowerCase()} ${qty}`;
  parts.cancel.textContent = '✖ No, cancel';
  const waiting = questions.length - 1;
  parts.more.hidden = waiting === 0;
  parts.more.textContent = waiting ? `${plural(waiting, 'more question')} after this one.` : '';
}

/** The server asked about this scan: keep it and put the question up. */
export function ask(item, error) {
  if (questions.some((q) => q.item.scan_id === item.scan_id)) return;
  questions.push({ item, error: { code: error.code, message: error.message, details: error.details } });
  save();
  render();
  show('ask', {
    icon: '?',
    word: 'Confirm or cancel',
    bin: doing(item, error.details),
    detail: 'Not booked yet: answer the question (scan ✔ Confirm or ✖ Cancel, or tap).',
  });
  signal('ask');
  panel.scrollIntoView({ block: 'nearest' });
}

/** Answer the oldest question: yes books the scan (confirmed), no drops it. */
export function answer(yes) {
  const first = questions.shift();
  if (!first) {
    showError('nothing_to_answer', 'There is no question to answer.');
    return;
  }
  save();
  render();
  const { item } = first;
  if (yes) {
    queue.add({ ...item, confirm: true, queued_at: Date.now() });
    queue.flush();
    return;
  }
  cancelled(item);
  show('command', {
    icon: '✖',
    word: 'Cancelled',
    bin: doing(item, first.error.details),
    detail: 'Nothing was booked. Scan the label again to book a usual quantity.',
  });
  signal('command');
}

/** Scans waiting for an answer, oldest first (for the recent list). */
export function openQuestions() {
  return questions.map((q) => q.item);
}

/** Wire the buttons and show a question left from before a reload. */
export function setUpQuestions() {
  parts.confirm.addEventListener('click', () => answer(true));
  parts.cancel.addEventListener('click', () => answer(false));
  window.addEventListener('storage', (e) => {
    if (e.key === KEY) {
      questions = load();
      render();
    }
  });
  render();
}
