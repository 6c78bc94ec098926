// The live feed's status shown on a page: the .live indicator (live, polling, stale since
// when, revoked) and, once access is revoked, a banner that says so in words.

import { timeOfDay, zoneName } from './clock.js';

/** Show a feed status in a .live element (templates/board/_cards.html live_indicator). */
export const REVOKED_TEXT = "This screen's access was revoked; ask a supervisor for a new link.";

export function showStatus(el, st) {
  if (!el) return;
  const text = el.querySelector('.live-text');
  el.dataset.live = st.mode;
  if (st.mode === 'revoked') {
    text.textContent = 'Access revoked';
    if (!document.getElementById('access-revoked')) {
      const banner = document.createElement('p');
      banner.id = 'access-revoked';
      banner.className = 'access-revoked';
      banner.setAttribute('role', 'alert');
      banner.textContent = `⛔ ${REVOKED_TEXT}`;
      document.body.prepend(banner);
    }
  } else if (st.mode === 'stale') {
    text.textContent = `Stale since ${timeOfDay(st.since, { seconds: true })} ${zoneName(st.since)}`;
  } else {
    text.textContent = { live: 'Live', polling: 'Live (polling)', connecting: 'Connecting…' }[st.mode];
  }
}
