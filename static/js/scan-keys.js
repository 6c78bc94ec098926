// Keyboard-wedge scanners (docs/manual/spec.md §3.2): USB and Bluetooth scanners "type" the code very
// fast and end it with Enter or Tab.
//
// * In the scan field, Enter or Tab sends what was typed. Whether a person or a scanner
//   typed it is told from the gaps between the keys (source FORM or USB).
// * Anywhere else on the page, a burst of fast keys ended by Enter/Tab is still a scan: it is
//   caught here, the Enter does not press the focused button, and a field the burst typed
//   into gets its old value back.
//
// "Fast" is judged on the median gap between the keys, so that one late key (the page was
// busy for a moment) neither hides a scan nor cuts it in two. No person types three keys with
// a median gap under burstGapMs; the closing Enter/Tab may come up to burstEndMs after.

import { Source } from './vocab.js';

const PAUSE_MS = 400; // a longer pause starts a new burst

function isEditable(el) {
  if (!el || el === document.body) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = (el.type || 'text').toLowerCase();
  return !['button', 'submit', 'reset', 'checkbox', 'radio', 'file', 'image', 'range', 'color'].includes(type);
}

function isCharKey(e) {
  return e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey;
}

function median(values) {
  if (!values.length) return Infinity;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

// Key times of one burst: was it typed at scanner speed?
class Burst {
  constructor() {
    this.reset();
  }

  reset() {
    this.times = [];
    this.text = '';
  }

  add(key, time, maxLength) {
    if (this.text.length <= maxLength) this.text += key;
    this.times.push(time);
  }

  get last() {
    return this.times.length ? this.times[this.times.length - 1] : -Infinity;
  }

  isScanner(now, { burstGapMs, burstEndMs, burstMin }) {
    if (this.times.length < burstMin || now - this.last > burstEndMs) return false;
    const gaps = this.times.slice(1).map((t, i) => t - this.times[i]);
    return median(gaps) <= burstGapMs;
  }
}

export function attachWedge({ input, onScan, maxLength, burstGapMs, burstEndMs, burstMin }) {
  const limits = { burstGapMs, burstEndMs, burstMin };
  const typed = new Burst(); // what goes into the scan field

  input.addEventListener('keydown', (e) => {
    const now = e.timeStamp || performance.now();
    if (isCharKey(e)) {
      if (input.value === '' || now - typed.last > PAUSE_MS) typed.reset();
      typed.add(e.key, now, maxLength);
      return;
    }
    const tab = e.key === 'Tab' && !e.shiftKey;
    if (e.key !== 'Enter' && !tab) return;
    const text = input.value;
    if (tab && text.trim() === '') return; // an empty field lets Tab move on
    e.preventDefault();
    input.value = '';
    const source = typed.isScanner(now, limits) ? Source.USB : Source.FORM;
    typed.reset();
    if (text.trim() !== '') onScan(text, source);
  });

  // Bursts while the focus is elsewhere.
  const burst = new Burst();
  let target = null;
  let targetValue = null;

  document.addEventListener(
    'keydown',
    (e) => {
      if (e.target === input) {
        burst.reset();
        return;
      }
      const now = e.timeStamp || performance.now();
      if (isCharKey(e)) {
        if (now - burst.last > PAUSE_MS) {
          burst.reset();
          target = e.target;
          targetValue = isEditable(target) && 'value' in target ? target.value : null;
        }
        burst.add(e.key, now, maxLength);
        return;
      }
      if (e.key === 'Shift' || e.key === 'CapsLock') return; // scanners press Shift for capitals
      const end = e.key === 'Enter' || e.key === 'Tab';
      if (end && burst.isScanner(now, limits)) {
        e.preventDefault();
        e.stopPropagation();
        const text = burst.text;
        burst.reset();
        if (target && targetValue !== null && target.value !== targetValue) {
          target.value = targetValue; // the burst was a scan, not typing into that field
        }
        onScan(text, Source.USB);
        return;
      }
      burst.reset();
    },
    true,
  );
}
