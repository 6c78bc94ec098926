// Cards of the board and the wall screen.
//
// The server renders every card with the macro in templates/board/_cards.html;
// this module fills the same markup from a bin dict (the data of a
// "bin.changed" event, the same form as GET /api/bins) so that only the card
// that changed is touched. Text goes in with textContent, never as HTML.

export const STATES = ['stocked', 'replenish', 'ordered'];
export const WORDS = { stocked: 'Stocked', replenish: 'Replenish', ordered: 'Ordered' };

/** "just now", "12 min", "3 h 5 min", "2 d 4 h" (as kanban.services.board.age_text). */
export function ageText(sinceIso, now = Date.now()) {
  const minutes = Math.max(0, Math.floor((now - Date.parse(sinceIso)) / 60000));
  if (!Number.isFinite(minutes)) return '';
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const mins = minutes % 60;
  if (hours < 24) return mins ? `${hours} h ${mins} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  const hrs = hours % 24;
  return hrs ? `${days} d ${hrs} h` : `${days} d`;
}

/** The on-hand bar's scale (as kanban.services.board.level). */
export function level(onHand, cardQuantity) {
  const max = Math.max(2 * cardQuantity, 1);
  const low = Math.max(cardQuantity - 0.5, 0);
  return { max, low, high: low, value: Math.min(Math.max(onHand, 0), max) };
}

function setText(root, selector, text) {
  const node = root.querySelector(selector);
  if (node && node.textContent !== String(text)) node.textContent = String(text);
}

function iconBase(card) {
  const use = card.querySelector('use');
  return use ? use.getAttribute('href').split('#')[0] : '';
}

function svgIcon(base, name) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const use = document.createElementNS(ns, 'use');
  use.setAttribute('href', `${base}#${name}`);
  svg.append(use);
  return svg;
}

function badge(base, cls, iconName, text, more = '') {
  const span = document.createElement('span');
  span.className = `badge ${cls}`;
  span.append(svgIcon(base, iconName), text);
  if (more) {
    const extra = document.createElement('span');
    extra.className = 'badge-more';
    extra.textContent = more;
    span.append(extra);
  }
  return span;
}

/** Write a bin dict into a card element (the markup of the bin_card macro). */
export function fillCard(card, bin) {
  const base = iconBase(card);
  for (const s of STATES) card.classList.toggle(`state-${s}`, s === bin.state);
  card.dataset.bin = bin.code;
  card.dataset.state = bin.state;
  card.dataset.zone = bin.zone;
  card.dataset.supplier = bin.supplier;
  if (card.tagName === 'A') {
    // Codes may hold "/" (the route is /bins/<path:code>): swap everything after /bins/.
    const href = card.getAttribute('href');
    const at = href.lastIndexOf('/bins/');
    card.setAttribute('href', `${href.slice(0, at + 6)}${bin.code.split('/').map(encodeURIComponent).join('/')}`);
  }
  card.querySelector('.state-tag use').setAttribute('href', `${base}#state-${bin.state}`);
  setText(card, '.state-word', WORDS[bin.state] || bin.state);
  const age = card.querySelector('time.age');
  age.setAttribute('datetime', bin.state_since);
  age.title = `In this state since ${bin.state_since.slice(0, 16).replace('T', ' ')} UTC`;
  setText(card, '.age-text', ageText(bin.state_since));
  setText(card, '.code', bin.code);
  setText(card, '.sku', bin.item.sku);
  setText(card, '.name', bin.item.name);
  const lv = level(bin.on_hand, bin.card_quantity);
  const meter = card.querySelector('meter');
  for (const [attr, value] of Object.entries(lv)) meter.setAttribute(attr, value);
  meter.setAttribute('optimum', lv.max);
  meter.textContent = `${bin.on_hand} on hand, card ${bin.card_quantity}`;
  setText(card, '.on-hand', bin.on_hand);
  setText(card, '.card-qty', bin.card_quantity);
  setText(card, '.supplier', bin.supplier);
  setText(card, '.zone-name', bin.zone);
  const flags = card.querySelector('.flags');
  const badges = [];
  if (bin.flags.stockout) {
    badges.push(badge(base, 'badge-stockout', 'alert', 'Stockout',
      bin.flags.count_needed ? ' · count needed' : ''));
  }
  if (bin.flags.overdue) badges.push(badge(base, 'badge-overdue', 'late', 'Overdue'));
  flags.replaceChildren(...badges);
  setText(card, '.reason', bin.reason);
}

/** What the board knows about a card that the event may not say.
 *
 * A bin.changed event is written when stock or state changes; the "overdue"
 * flag depends on the date, which the writer does not look up. A card that was
 * overdue stays overdue while it is still ordered. */
export function mergeKnown(card, bin) {
  if (!card || bin.state !== 'ordered' || bin.flags.overdue) return bin;
  if (card.dataset.state === 'ordered' && card.querySelector('.badge-overdue')) {
    return { ...bin, flags: { ...bin.flags, overdue: true } };
  }
  return bin;
}

/** The text the search box looks in (as kanban.services.board.search_text). */
export function searchText(card) {
  const part = (sel) => (card.querySelector(sel)?.textContent || '');
  return [part('.code'), part('.sku'), part('.name'), card.dataset.supplier, card.dataset.zone]
    .join(' ').toLowerCase();
}

/** Does a card pass the filter {zone, supplier, state, q}? (as BoardFilter.matches) */
export function matches(card, filter) {
  if (filter.zone && card.dataset.zone !== filter.zone) return false;
  if (filter.supplier && card.dataset.supplier !== filter.supplier) return false;
  if (filter.state && card.dataset.state !== filter.state) return false;
  const words = (filter.q || '').toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return true;
  const text = searchText(card);
  return words.every((w) => text.includes(w));
}

/**
 * The cards of one page (board or wall) and how to keep them up to date.
 *
 * root: the element holding sections ([data-zone-section] or [data-column]),
 * the #card-template and #zone-template; view: "zones" or "columns".
 */
export class CardSet {
  constructor(root, { view = 'zones', filter = {}, onChange = () => {} } = {}) {
    this.root = root;
    this.view = view;
    this.filter = filter;
    this.onChange = onChange;
    this.zones = JSON.parse(root.dataset.zones || '[]');
  }

  cards() {
    return this.root.querySelectorAll('.card[data-bin]');
  }

  find(code) {
    return this.root.querySelector(`.card[data-bin="${CSS.escape(code)}"]`);
  }

  zoneIndex(zone) {
    const i = this.zones.indexOf(zone);
    return i === -1 ? this.zones.length : i;
  }

  sortKey(card) {
    const zone = card.dataset.zone;
    return this.view === 'columns'
      ? [this.zoneIndex(zone), zone, card.dataset.bin]
      : [card.dataset.bin];
  }

  before(a, b) {
    const ka = this.sortKey(a);
    const kb = this.sortKey(b);
    for (let i = 0; i < ka.length; i += 1) {
      if (ka[i] < kb[i]) return true;
      if (ka[i] > kb[i]) return false;
    }
    return false;
  }

  zoneSection(zone) {
    for (const s of this.root.querySelectorAll('[data-zone-section]')) {
      if (s.dataset.zoneSection === zone) return s;
    }
    const tpl = this.root.querySelector('#zone-template');
    if (!tpl) return null;
    const section = tpl.content.firstElementChild.cloneNode(true);
    section.dataset.zoneSection = zone;
    section.querySelector('.zone-name-title').textContent = zone;
    if (!this.zones.includes(zone)) this.zones.push(zone);
    const sections = [...this.root.querySelectorAll('[data-zone-section]')];
    const next = sections.find((s) => this.zoneIndex(s.dataset.zoneSection) > this.zoneIndex(zone));
    const parent = sections[0]?.parentElement || this.root.querySelector('[data-zones-root], [data-pages-root]');
    if (next) next.before(section);
    else if (sections.length) sections[sections.length - 1].after(section);
    else parent.prepend(section);
    return section;
  }

  container(card) {
    if (this.view === 'columns') {
      return this.root.querySelector(`[data-column="${card.dataset.state}"] .cards`);
    }
    return this.zoneSection(card.dataset.zone)?.querySelector('.cards');
  }

  place(card) {
    const box = this.container(card);
    if (!box) return;
    for (const other of box.children) {
      if (other !== card && this.before(card, other)) {
        if (other.previousElementSibling !== card) other.before(card);
        return;
      }
    }
    if (box.lastElementChild !== card) box.append(card);
  }

  /** Apply one bin dict; returns what happened ("changed", "added", "removed", null). */
  patch(bin) {
    let card = this.find(bin.code);
    if (bin.active === false) {
      if (!card) return null;
      card.remove();
      this.scheduleRecount();
      return 'removed';
    }
    const added = !card;
    if (added) {
      const tpl = this.root.querySelector('#card-template');
      if (!tpl) return null;
      card = tpl.content.firstElementChild.cloneNode(true);
    }
    const moved = added || card.dataset.state !== bin.state || card.dataset.zone !== bin.zone;
    const wasHidden = card.hidden;
    fillCard(card, mergeKnown(added ? null : card, bin));
    if (moved) this.place(card);
    card.hidden = !matches(card, this.filter);
    card.classList.remove('just-changed');
    void card.offsetWidth; // restart the highlight animation
    card.classList.add('just-changed');
    this.scheduleRecount();
    const result = added ? 'added' : 'changed';
    this.onChange(card, result, moved || wasHidden !== card.hidden);
    return result;
  }

  applyFilter(filter) {
    this.filter = filter;
    for (const card of this.cards()) {
      const hide = !matches(card, filter);
      if (card.hidden !== hide) card.hidden = hide;
    }
    this.recount();
  }

  /** Recount once after a burst of patches (catching up can bring hundreds). */
  scheduleRecount() {
    if (this.recountTimer) return;
    this.recountTimer = setTimeout(() => {
      this.recountTimer = null;
      this.recount();
    }, 30);
  }

  recount() {
    const counts = { stocked: 0, replenish: 0, ordered: 0, stockout: 0, overdue: 0 };
    let shown = 0;
    let total = 0;
    for (const card of this.cards()) {
      total += 1;
      if (card.hidden) continue;
      shown += 1;
      counts[card.dataset.state] += 1;
      if (card.querySelector('.badge-stockout')) counts.stockout += 1;
      if (card.querySelector('.badge-overdue')) counts.overdue += 1;
    }
    for (const el of document.querySelectorAll('[data-count]')) {
      const n = counts[el.dataset.count] ?? 0;
      const out = el.querySelector('.count-n');
      if (out.textContent !== String(n)) out.textContent = String(n);
      if (el.classList.contains('count-flag')) el.hidden = n === 0;
    }
    for (const group of this.root.querySelectorAll('[data-zone-section], [data-column]')) {
      const n = group.querySelectorAll('.card:not([hidden])').length;
      const out = group.querySelector('[data-group-n]');
      if (out) out.textContent = String(n);
      if (group.dataset.zoneSection !== undefined) group.hidden = n === 0;
    }
    const shownN = this.root.querySelector('[data-shown-n]');
    if (shownN) shownN.textContent = String(shown);
    const totalN = this.root.querySelector('[data-total-n]');
    if (totalN) totalN.textContent = String(total);
    const empty = this.root.querySelector('[data-empty]');
    if (empty) empty.hidden = shown > 0;
  }

  refreshAges() {
    const now = Date.now();
    for (const time of this.root.querySelectorAll('.card time.age')) {
      const text = ageText(time.getAttribute('datetime'), now);
      const out = time.querySelector('.age-text');
      if (out && out.textContent !== text) out.textContent = text;
    }
  }
}
