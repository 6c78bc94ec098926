// The recent list (#scan-recent): the scans still waiting in the outbox, those the server
// refused on a late replay, then this station's last scans as the server knows them
// (GET /scan/recent, ?station=NAME; without a name, the user's own). The server says which
// of them may be undone; the Undo buttons' clicks are wired by scan.js.

import { getRecent } from './scan-api.js';
import { failedReplays, queue } from './scan-outbox.js';
import { $, clock, el, modeLook, station, stateLook } from './scan-station.js';

export const recentList = $('scan-recent');
let recentCache = [];
let recentTimer = null;

/** The newest recent scan the server lets this user undo, or null. */
export function undoableScan() {
  const mine = recentCache.find((s) => s.undoable);
  return mine ? mine.scan_id : null;
}

export async function refreshRecent() {
  const where = station();
  $('station-label').textContent = where || 'your scans on this device';
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

export function renderRecent() {
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
