// The site's clock (KANBAN_TIMEZONE): every time a page shows is on this clock, with the
// zone named, as the server writes it (kanban/domain/clock.py): "2026-03-02 14:08 CET".
//
// templates/base.html writes the zone's IANA name and its abbreviations by UTC offset into
// every page (#kanban-clock, kanban/web/clock.py); Intl.DateTimeFormat does the rest, so
// the screen's own time zone setting never matters.

const block = document.getElementById('kanban-clock');
const site = block ? JSON.parse(block.textContent) : { zone: 'UTC', abbreviations: { 0: 'UTC' } };

/** The site's time zone, an IANA name ("Europe/Berlin"). */
export const ZONE = site.zone;

const formats = new Map();

function format(options) {
  const key = JSON.stringify(options);
  if (!formats.has(key)) {
    formats.set(key, new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, hourCycle: 'h23', ...options }));
  }
  return formats.get(key);
}

function parts(date, options) {
  const out = {};
  for (const p of format(options).formatToParts(date)) out[p.type] = p.value;
  return out;
}

function toDate(value) {
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Minutes the site's clock is ahead of UTC at this moment. */
export function offsetMinutes(date) {
  const p = parts(date, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60000);
}

/** The zone's abbreviation at this moment ("CET", "CDT"), as the server names it. */
export function zoneName(value) {
  const date = toDate(value);
  if (!date) return '';
  const minutes = offsetMinutes(date);
  const known = site.abbreviations[String(minutes)];
  if (known) return known;
  const sign = minutes < 0 ? '-' : '+';
  const h = String(Math.floor(Math.abs(minutes) / 60)).padStart(2, '0');
  const m = Math.abs(minutes) % 60;
  return `UTC${sign}${h}${m ? String(m).padStart(2, '0') : ''}`;
}

/** "14:08" or "14:08:05" on the site's clock. */
export function timeOfDay(value, { seconds = false } = {}) {
  const date = toDate(value);
  if (!date) return '';
  const p = parts(date, seconds
    ? { hour: '2-digit', minute: '2-digit', second: '2-digit' }
    : { hour: '2-digit', minute: '2-digit' });
  return seconds ? `${p.hour}:${p.minute}:${p.second}` : `${p.hour}:${p.minute}`;
}

/** "2026-03-02" on the site's clock. */
export function dayOf(value) {
  const date = toDate(value);
  if (!date) return '';
  const p = parts(date, { year: 'numeric', month: '2-digit', day: '2-digit' });
  return `${p.year}-${p.month}-${p.day}`;
}

/** "Mon 2 Mar" on the site's clock (the wall's date). */
export function weekdayOf(value) {
  const date = toDate(value);
  if (!date) return '';
  return format({ weekday: 'short', day: 'numeric', month: 'short' }).format(date);
}

/** "2026-03-02 14:08 CET": a timestamp as people read it (kanban/domain/clock.py local_text). */
export function localText(value, { seconds = false } = {}) {
  const date = toDate(value);
  if (!date) return '';
  return `${dayOf(date)} ${timeOfDay(date, { seconds })} ${zoneName(date)}`;
}

/** A bin's reason line with its "since" on the site's clock (kanban/web/clock.py card_reason). */
export function cardReason(bin) {
  const since = toDate(bin.state_since);
  if (!since || !bin.reason) return bin.reason || '';
  const utc = `since ${since.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return bin.reason.replace(utc, `since ${localText(since)}`);
}
