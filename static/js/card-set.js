// The cards of one page (the board or the wall screen): where each card goes, applying a
// changed bin to its card, the filter, and the counts per state, per group and in all.
// What one card shows is cards.js.

import { ageText, fillCard, matches, mergeKnown, needsAction } from './cards.js';
import { CARD_STATES } from './vocab.js';

/**
 * The cards of one page (board or wall) and how to keep them up to date.
 *
 * root: the element holding sections ([data-zone-section] or [data-column]),
 * the #card-template and #zone-template; view: "zones" or "columns". actionFirst: the
 * cards that need action sit in the [data-action-section] (the wall's ?sort=action).
 */
export class CardSet {
  constructor(root, { view = 'zones', filter = {}, onChange = () => {}, actionFirst = false } = {}) {
    this.root = root;
    this.view = view;
    this.actionFirst = actionFirst;
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

  inActionSection(card) {
    return this.actionFirst && this.view === 'zones' && needsAction(card);
  }

  sortKey(card) {
    const zone = card.dataset.zone;
    return this.view === 'columns' || this.inActionSection(card)
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
    const sections = [...this.root.querySelectorAll('[data-zone-section]:not([data-action-section])')];
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
    if (this.inActionSection(card)) return this.root.querySelector('[data-action-section] .cards');
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
    const wasUrgent = !added && this.inActionSection(card);
    const flipped = !added && card.dataset.state !== bin.state;
    let moved = added || flipped || card.dataset.zone !== bin.zone;
    const wasHidden = card.hidden;
    fillCard(card, mergeKnown(added ? null : card, bin));
    moved = moved || wasUrgent !== this.inActionSection(card);
    if (moved) this.place(card);
    card.hidden = !matches(card, this.filter);
    card.classList.remove('just-changed');
    void card.offsetWidth; // restart the highlight animation
    card.classList.add('just-changed');
    this.scheduleRecount();
    const result = added ? 'added' : 'changed';
    this.onChange(card, result, moved || wasHidden !== card.hidden, flipped || added);
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
    const counts = Object.fromEntries([...CARD_STATES, 'stockout', 'overdue'].map((k) => [k, 0]));
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
