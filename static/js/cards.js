// One card of the board and the wall screen: its markup, its age and level, the filter.
//
// The server renders every card with the macro in templates/board/_cards.html;
// this module fills the same markup from a bin dict (the data of a bin.changed
// event, the same form as GET /api/bins) so that only the card that changed is
// touched. Text goes in with textContent, never as HTML. The set of cards on a
// page (placing, counting) is card-set.js.

import { cardReason, localText } from './clock.js';
import { CARD_STATES, CardState } from './vocab.js';

export const WORDS = {
  [CardState.STOCKED]: 'Stocked',
  [CardState.REPLENISH]: 'Replenish',
  [CardState.ORDERED]: 'Ordered',
};

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
  const word = document.createElement('span');
  word.className = 'badge-word';
  word.textContent = text;
  span.append(svgIcon(base, iconName), word);
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
  for (const s of CARD_STATES) card.classList.toggle(`state-${s}`, s === bin.state);
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
  age.title = `In this state since ${localText(bin.state_since)}`;
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
  setText(card, '.reason', cardReason(bin));
}

/** A card someone must act on: to replenish, out of stock or overdue
 * (as kanban.domain.cards.needs_action). */
export function needsAction(card) {
  return card.dataset.state === CardState.REPLENISH
    || Boolean(card.querySelector('.badge-stockout, .badge-overdue'));
}

/** What the board knows about a card that the event may not say.
 *
 * A bin.changed event is written when stock or state changes; the "overdue"
 * flag depends on the date, which the writer does not look up. A card that was
 * overdue stays overdue while it is still ordered. */
export function mergeKnown(card, bin) {
  if (!card || bin.state !== CardState.ORDERED || bin.flags.overdue) return bin;
  if (card.dataset.state === CardState.ORDERED && card.querySelector('.badge-overdue')) {
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
