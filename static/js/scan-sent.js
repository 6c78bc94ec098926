// What the scans that waited through a network drop did, once they were all sent
// (#scan-sent): one line per scan, in the order they were made, with the time it was made,
// the bin's new on hand and state, a card that flipped and why, a scan the server refused,
// and a scan that needs an answer first (the question, scan-ask.js). It stays until closed
// or until the next drop's scans are sent.

import { madeAt } from './scan-made.js';
import { $, clock, el, modeLook, plural, stateLook } from './scan-station.js';
import { Mode } from './vocab.js';

const panel = $('scan-sent');
const list = $('scan-sent-list');

function what(item, data) {
  const look = modeLook(data ? data.mode : item.mode);
  const qty = data ? data.quantity : item.quantity;
  const sep = data && data.mode === Mode.COUNT ? ': ' : ' ';
  return `${look.icon} ${data ? look.done : look.word}${qty === undefined ? '' : `${sep}${qty}`}`;
}

function line(item, outcome, confirmable) {
  const li = el('li', 'sent-item');
  const data = outcome.kind === 'ok' ? outcome.data : null;
  const when = data ? madeAt(data.scan_id, item.scanned_at) : item.scanned_at;
  li.append(el('span', 'r-time', clock(when || item.queued_at)));
  li.append(el('span', 'r-what', what(item, data)));
  li.append(el('span', 'r-bin', data ? data.bin.code : item.code));
  if (data) {
    const st = stateLook(data.bin.state);
    li.dataset.result = data.flipped ? 'flipped' : 'ok';
    li.append(el('span', 'r-after', `→ ${data.bin.on_hand} on hand · ${st.icon} ${st.word}`));
    if (data.flipped) li.append(el('span', 'r-flip', `⚑ Card flipped to ${st.word}: ${data.bin.reason}`));
    if (data.replayed) li.append(el('span', 'r-note', 'already recorded earlier, counted once'));
    return li;
  }
  const err = (outcome.data && outcome.data.error) || {};
  const asked = confirmable.includes(err.code) && !item.confirm;
  li.dataset.result = asked ? 'ask' : 'refused';
  li.append(el('span', 'r-after', asked
    ? `? Not booked yet: answer the question. ${err.message || ''}`
    : `✖ Not recorded: ${err.message || `error ${outcome.status}`}`));
  return li;
}

/** Show what each sent scan did: done = [{item, outcome}], confirmable = the question codes. */
export function showSent(done, confirmable) {
  const flips = done.filter((d) => d.outcome.kind === 'ok' && d.outcome.data.flipped).length;
  const refused = done.filter((d) => d.outcome.kind !== 'ok').length;
  const summary = [`${plural(done.length, 'waiting scan')} sent now that the server is back`];
  if (flips) summary.push(`${plural(flips, 'card')} flipped`);
  if (refused) summary.push(`${refused} not booked`);
  $('scan-sent-title').textContent = `${summary.join(' · ')}.`;
  list.replaceChildren(...done.map((d) => line(d.item, d.outcome, confirmable)));
  panel.dataset.count = String(done.length);
  panel.hidden = false;
}

export function setUpSent() {
  $('scan-sent-close').addEventListener('click', () => {
    panel.hidden = true;
  });
}
