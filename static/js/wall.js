// Wall mode: the board on a TV. Live cards, counts, a clock, a live/stale
// indicator, and pages of zones that turn by themselves when the cards do not
// fit on the screen.

import { CardSet } from './card-set.js';
import { LiveFeed, showStatus } from './live.js';
import { CARD_STATES, EventKind } from './vocab.js';

const root = document.getElementById('wall');

function px(value) {
  const n = parseFloat(value);
  return Number.isFinite(n) ? n : 0;
}

/**
 * Split the shown zones into pages that fit the body's height, filling each
 * page: a zone that does not fit in what is left of a page continues on the
 * next one, its heading repeated and marked "part 2/3". A zone does not start
 * with a lone row at the foot of a page when more of it follows.
 * Returns [[{section, cards, part, parts}], ...].
 */
function paginate(body) {
  for (const el of body.querySelectorAll('.off-page')) el.classList.remove('off-page');
  for (const el of body.querySelectorAll('[data-zone-part]')) el.textContent = '';
  const avail = body.clientHeight;
  const gap = px(getComputedStyle(body).rowGap);
  const pages = [];
  let page = [];
  let used = 0;
  const newPage = () => {
    if (page.length) pages.push(page);
    page = [];
    used = 0;
  };
  const sections = [...body.querySelectorAll('[data-zone-section]')].filter((s) => !s.hidden);
  for (const section of sections) {
    const cards = [...section.querySelectorAll('.card')].filter((c) => !c.hidden);
    if (!cards.length) continue;
    const rowGap = px(getComputedStyle(section.querySelector('.cards')).rowGap);
    const box = section.getBoundingClientRect();
    const rows = [];
    let top = null;
    for (const card of cards) {
      const rect = card.getBoundingClientRect();
      if (top === null || Math.abs(rect.top - top) > 1) {
        rows.push({ cards: [], height: rect.height, top: rect.top });
        top = rect.top;
      }
      const row = rows[rows.length - 1];
      row.cards.push(card);
      row.height = Math.max(row.height, rect.height);
    }
    const head = rows[0].top - box.top;
    const last = rows[rows.length - 1];
    const tail = box.bottom - (last.top + last.height);
    // Height of a part holding rows [from, to).
    const partHeight = (from, to) => {
      let h = head + tail + (to - from - 1) * rowGap;
      for (let r = from; r < to; r += 1) h += rows[r].height;
      return h;
    };
    const chunks = [];
    let r = 0;
    while (r < rows.length) {
      const room = avail - used - (page.length ? gap : 0);
      let to = r;
      while (to < rows.length && partHeight(r, to + 1) <= room) to += 1;
      const lone = to === r + 1 && to < rows.length; // one row here, the rest overleaf
      if (page.length && (to === r || lone)) {
        newPage();
        continue;
      }
      if (to === r) to = r + 1; // a row taller than a whole page still gets shown
      const chunk = { section, cards: rows.slice(r, to).flatMap((row) => row.cards) };
      used += (page.length ? gap : 0) + partHeight(r, to);
      page.push(chunk);
      chunks.push(chunk);
      r = to;
      if (r < rows.length) newPage();
    }
    chunks.forEach((chunk, n) => {
      chunk.part = n + 1;
      chunk.parts = chunks.length;
    });
  }
  newPage();
  return pages;
}

function showPage(body, page) {
  const onPage = new Set();
  const sections = new Map();
  for (const chunk of page) {
    sections.set(chunk.section, chunk);
    for (const card of chunk.cards) onPage.add(card);
  }
  for (const section of body.querySelectorAll('[data-zone-section]')) {
    const chunk = sections.get(section);
    section.classList.toggle('off-page', !chunk);
    if (!chunk) continue;
    section.querySelector('[data-zone-part]').textContent =
      chunk.parts > 1 ? `part ${chunk.part}/${chunk.parts}` : '';
    for (const card of section.querySelectorAll('.card')) {
      card.classList.toggle('off-page', !onPage.has(card));
    }
  }
}

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
    info.textContent = paged ? `Page ${index + 1}/${pages.length}` : 'All zones';
    zonesOut.textContent = pages[index].map((c) => c.section.dataset.zoneSection).join(' · ');
    if (paged) {
      timer.classList.remove('running');
      void timer.offsetWidth; // restart the page timer bar
      timer.style.animationDuration = `${rotateMs}ms`;
      timer.classList.add('running');
    }
  };

  const layout = () => {
    const height = body.clientHeight;
    pages = paginate(body);
    render();
    // Showing "Page 1/3" and the timer can change the footer's height: measure again.
    if (body.clientHeight !== height) {
      pages = paginate(body);
      render();
    }
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
    filter: {
      zone: args.get('zone') || '',
      supplier: args.get('supplier') || '',
      state: CARD_STATES.includes(state) ? state : '',
      q: (args.get('q') || '').trim(),
    },
    onChange: (_card, _what, layoutChanged) => {
      if (layoutChanged) relayoutSoon();
    },
  });

  layout();
  schedule();
  window.addEventListener('resize', relayoutSoon);

  // Clock: hours and minutes large, seconds and the date smaller.
  const clock = root.querySelector('[data-clock]');
  const [hmEl, secEl, dayEl] = ['clock-hm', 'clock-s', 'clock-day'].map((cls) => {
    const span = document.createElement('span');
    span.className = cls;
    return span;
  });
  clock.append(hmEl, secEl, dayEl);
  const tick = () => {
    const now = new Date();
    clock.setAttribute('datetime', now.toISOString());
    hmEl.textContent = now.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
    secEl.textContent = `:${String(now.getSeconds()).padStart(2, '0')}`;
    dayEl.textContent = now.toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short' });
  };
  tick();
  setInterval(tick, 1000);

  // Full screen needs a click; the button hides itself once full screen.
  const fs = root.querySelector('[data-fullscreen]');
  if (!document.documentElement.requestFullscreen) fs.hidden = true;
  fs.addEventListener('click', () => {
    document.documentElement.requestFullscreen().catch(() => {});
  });
  document.addEventListener('fullscreenchange', () => {
    fs.hidden = Boolean(document.fullscreenElement);
    relayoutSoon();
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
