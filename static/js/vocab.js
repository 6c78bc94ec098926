// The product's words for states, statuses, kinds, modes, sources and roles, as the server
// defines them (kanban/domain/statuses.py, kanban/domain/cards.py). templates/base.html
// writes them into every page as a JSON data block (#kanban-vocab, see kanban/web/vocab.py);
// this module reads it once. Compare with CardState.ORDERED, never with a string of your own.
//
// Each export maps the member's name to its value, as in Python: CardState.STOCKED.

const block = document.getElementById('kanban-vocab');
if (!block) throw new Error('vocab.js: the page has no #kanban-vocab block (templates/base.html)');
const words = JSON.parse(block.textContent);

function members(key) {
  if (!words[key]) throw new Error(`vocab.js: the vocabulary has no ${key}`);
  return Object.freeze({ ...words[key] });
}

export const CardState = members('card_states');
export const RequestStatus = members('request_statuses');
export const LineStatus = members('line_statuses');
export const MovementKind = members('movement_kinds');
export const Mode = members('modes');
export const Source = members('sources');
export const EventKind = members('event_kinds');
export const Role = members('roles');
export const SentVia = members('sent_via');

/** Every card state, for membership tests (order carries no meaning). */
export const CARD_STATES = Object.freeze(Object.values(CardState));
/** Every scan mode, for membership tests (order carries no meaning). */
export const MODES = Object.freeze(Object.values(Mode));
