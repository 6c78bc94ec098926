// The recent list (#scan-recent): the scans still waiting in the outbox, those waiting for
// an answer to a question, those refused on a late replay or cancelled, then this station's
// last scans and the user's own as the server knows them (GET /scan/recent, ?station=NAME).
// Each shows when it was made (scan-made.js), a card that flipped, and the station when it
// is not this one. The server says which may be undone; scan.js wires the Undo buttons.

import { getRecent } from './scan-api.js';
import { openQuestions } from './scan-ask.js';
import { madeAt } from './scan-made.js';
import { failedReplays, queue } from './scan-outbox.js';
import { $, clock, el, modeLook, station, stateLook } from './scan-station.js';

export const recentList = $('scan-recent');
let recentCache = [];
let recentTimer = null;
let shownKey = '';

/** The newest recent scan the server lets this user undo, or null. */
export function undoableScan() {
  const mine = recentCache.find((s) => s.undoable);
  return mine ? mine.scan_id : null;
}

export async function refreshRecent() {
  const where = station();
  $('station-label').textContent = where ? `${where} and yours` : 'your scans';
  try {
    const { resp, data } = await getRecent(where);
    if (resp.ok && data && Array.isArray(data.scans)) recentCache = data.scans;
  } catch {
    // Offline: keep showing what we had.
  }
  renderRecent();
}

export function refreshRecentSoon() {
  clearTimeout(recentTimer);
  recentTimer = setTimeout(refreshRecent, 250);
}

function recentRow(kind, cells, button) {
  const li = el('li', `recent-item recent-${kind}`);
  for (const [cls, text] of cells) if (text) li.append(el('span', cls, text));
  if (button) li.append(button);
  return li;
}

function made(item) {
  return clock(item.scanned_at || new Date(item.queued_at));
}

function waitingRow(kind, item, after) {
  const look = modeLook(item.mode);
  const qty = item.quantity === undefined ? '' : ` ${item.quantity}`;
  return recentRow(kind, [
    ['r-time', made(item)],
    ['r-what', `${look.icon} ${look.word}${qty}`],
    ['r-bin', item.code],
    ['r-after', after],
  ]);
}

export function renderRecent() {
  const rows = [];
  for (const item of queue.items().reverse()) rows.push(waitingRow('waiting', item, '◷ waiting to be sent'));
  for (const item of openQuestions()) rows.push(waitingRow('asking', item, '? not booked yet: confirm or cancel'));
  for (const f of failedReplays.slice(0, 5)) rows.push(waitingRow('failed', f.item, `✖ not recorded: ${f.message}`));
  const here = station();
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
    const elsewhere = s.station && s.station !== here ? ` at ${s.station}` : '';
    rows.push(recentRow(s.undone ? 'undone' : 'done', [
      ['r-time', clock(madeAt(s.scan_id, s.at))],
      ['r-what', `${look.icon} ${look.word} ${s.quantity}`],
      ['r-bin', s.bin],
      ['r-after', `→ ${s.on_hand_after} on hand · ${st.icon} ${st.word}`],
      ['r-flip', s.flipped ? `⚑ card flipped to ${st.word}` : ''],
      ['r-who', `${s.mine ? 'you' : s.actor}${elsewhere}`],
      ['r-undone', s.undone ? '↩ undone' : ''],
    ], button));
  }
  // The list refreshes every few seconds; replacing rows that did not change would swap an
  // Undo button for a new one between a finger's press and release, and the tap would be
  // lost. So the rows are replaced only when what they show changed (or a button waits).
  const key = rows.map((row) => row.outerHTML).join('');
  if (key === shownKey && !recentList.querySelector('button.r-undo:disabled')) return;
  shownKey = key;
  recentList.replaceChildren(...rows);
  $('recent-empty').hidden = rows.length > 0;
}
