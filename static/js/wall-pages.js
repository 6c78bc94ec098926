// The wall's pages: which cards fit on the screen at once, measured in the browser.
//
// paginate() splits the shown sections (the zones, and with ?sort=action the "Needs
// action" group first) into pages that fill the body's height; showPage() shows one of
// them. wall.js decides the card size (full, or dense when the full cards need more than
// one page), turns the pages and brings up the page of a card that changed state.

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
export function paginate(body) {
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

export function showPage(body, page) {
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

/** The index of the page that shows this card, or -1. */
export function pageOf(pages, card) {
  return pages.findIndex((page) => page.some((chunk) => chunk.cards.includes(card)));
}

/** The names of the groups on a page, for the footer. */
export function pageTitle(page) {
  return page.map((chunk) => chunk.section.querySelector('.zone-name-title')?.textContent || '').join(' · ');
}
