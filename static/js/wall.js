// Wall mode: the board on a TV. Live cards, counts, the site's clock, a live/stale
// indicator, and as many cards on a page as stay readable at 5 m: full cards when they all
// fit, dense cards (state, code, on hand / card) when they do not, and pages that turn by
// themselves when even the dense cards do not fit (wall-pages.js). A card that changes
// state brings its page up at once.

import { CardSet } from './card-set.js';
import { timeOfDay, weekdayOf, zoneName } from './clock.js';
import { showStatus } from './live-status.js';
import { LiveFeed } from './live.js';
import { pageOf, pageTitle, paginate, showPage } from './wall-pages.js';
import { CARD_STATES, EventKind } from './vocab.js';

const root = document.getElementById('wall');
//: How long a card that changed state keeps its outline (it flashes first).
const FLIPPED_MS = 60000;

if (root) {
  document.documentElement.classList.add('js');
  const body = root.querySelector('[data-pages-root]');
  const info = root.querySelector('[data-page-info]');
  const zonesOut = root.querySelector('[data-page-zones]');
  const timer = root.querySelector('[data-page-timer]');
  const rotateMs = Math.max(5, Number(root.dataset.rotate || 15)) * 1000;
  let pages = [];
  let index = 0;
  let turnTimer = null;
  let jumpTo = null; // a card whose page must come up at the next layout

  const render = () => {
    if (!pages.length) {
      info.textContent = '';
      zonesOut.textContent = '';
      root.classList.remove('paged');
      return;
    }
    index %= pages.length;
    showPage(body, pages[index]);
    const paged = pages.length > 1;
    root.classList.toggle('paged', paged);
    info.textContent = paged ? `Page ${index + 1}/${pages.length}` : '';
    zonesOut.textContent = paged ? pageTitle(pages[index]) : '';
    if (paged) {
      timer.classList.remove('running');
      void timer.offsetWidth; // restart the page timer bar
      timer.style.animationDuration = `${rotateMs}ms`;
      timer.classList.add('running');
    }
  };

  // Full cards if they all fit on one page, else dense cards (as many a page as fit).
  // Dense is measured first: full cards can only fit where dense ones need one page.
  const fit = () => {
    root.classList.add('dense');
    const dense = paginate(body);
    if (dense.length !== 1) return dense;
    root.classList.remove('dense');
    const full = paginate(body);
    if (full.length === 1) return full;
    root.classList.add('dense');
    return paginate(body);
  };

  const schedule = () => {
    clearInterval(turnTimer);
    turnTimer = setInterval(() => {
      if (pages.length > 1) {
        index = (index + 1) % pages.length;
        layout(); // re-measure each turn: cards may have come and gone
      }
    }, rotateMs);
  };

  const layout = () => {
    // Measured without the footer first: only a wall that needs pages shows "Page 1/3" and
    // the timer, and measures again in the room that leaves.
    root.classList.remove('paged');
    pages = fit();
    if (pages.length > 1) {
      root.classList.add('paged');
      pages = fit();
    }
    if (jumpTo) {
      const at = pageOf(pages, jumpTo);
      jumpTo = null;
      if (at !== -1 && at !== index % pages.length) {
        index = at;
        schedule(); // the page with the change stays a full turn
      }
    }
    render();
  };

  let relayoutTimer = null;
  const relayoutSoon = () => {
    clearTimeout(relayoutTimer);
    relayoutTimer = setTimeout(layout, 80);
  };

  // The server applied the screen's filter (query string); live patches keep to it.
  const args = new URL(window.location.href).searchParams;
  const state = args.get('state') || '';
  const cards = new CardSet(root, {
    view: 'zones',
    actionFirst: root.dataset.actionFirst !== undefined,
    filter: {
      zone: args.get('zone') || '',
      supplier: args.get('supplier') || '',
      state: CARD_STATES.includes(state) ? state : '',
      q: (args.get('q') || '').trim(),
    },
    onChange: (card, _what, layoutChanged, flipped) => {
      if (flipped && !card.hidden) {
        jumpTo = card;
        card.classList.add('flipped');
        clearTimeout(card.flippedTimer);
        card.flippedTimer = setTimeout(() => card.classList.remove('flipped'), FLIPPED_MS);
      }
      if (layoutChanged || flipped) relayoutSoon();
    },
  });


  // The site's clock, whatever the TV's own zone: hours and minutes large, seconds, the
  // zone and the date smaller.
  const clock = root.querySelector('[data-clock]');
  const [hmEl, secEl, zoneEl, dayEl] = ['clock-hm', 'clock-s', 'clock-zone', 'clock-day'].map((cls) => {
    const span = document.createElement('span');
    span.className = cls;
    return span;
  });
  clock.append(hmEl, secEl, zoneEl, dayEl);
  const tick = () => {
    const now = new Date();
    clock.setAttribute('datetime', now.toISOString());
    const hms = timeOfDay(now, { seconds: true });
    hmEl.textContent = hms.slice(0, 5);
    secEl.textContent = hms.slice(5);
    zoneEl.textContent = zoneName(now);
    dayEl.textContent = weekdayOf(now);
  };
  tick();
  setInterval(tick, 1000);

  // Measure once the header is filled in (the clock), and again whenever the body's size
  // changes (a resize, full screen, a header that wraps).
  layout();
  schedule();
  let lastHeight = body.clientHeight;
  new ResizeObserver(() => {
    if (body.clientHeight !== lastHeight) {
      lastHeight = body.clientHeight;
      relayoutSoon();
    }
  }).observe(body);

  // Full screen needs a click; the button hides itself once full screen.
  const fs = root.querySelector('[data-fullscreen]');
  if (!document.documentElement.requestFullscreen) fs.hidden = true;
  fs.addEventListener('click', () => {
    document.documentElement.requestFullscreen().catch(() => {});
  });
  document.addEventListener('fullscreenchange', () => {
    fs.hidden = Boolean(document.fullscreenElement);
  });

  const indicator = root.querySelector('.live');
  const feed = new LiveFeed({
    lastId: Number(root.dataset.lastEventId || 0),
    refreshAt: Date.parse(root.dataset.refreshAt) || 0,
    staleAfter: Number(root.dataset.staleAfter || 15) * 1000,
    onEvent: (event) => {
      if (event.kind === EventKind.BIN_CHANGED && event.data && event.data.code) cards.patch(event.data);
    },
    onStatus: (st) => {
      showStatus(indicator, st);
      root.classList.toggle('is-stale', st.mode === 'stale');
    },
  });
  feed.start();
  setInterval(() => cards.refreshAges(), 30000);
}
