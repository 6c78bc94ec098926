// The outbox of scans (docs/manual/spec.md §3.5). Every scan is written here first, then sent. When the
// server cannot be reached it stays, survives a reload (localStorage), and is sent again, in
// order, with the same scan id: the server applies a scan id once, so a scan whose answer
// was lost is not counted twice when it is sent again.

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 5000;

function memoryStore() {
  const data = new Map();
  return {
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
  };
}

function pickStore() {
  try {
    const probe = '__kanban_probe__';
    window.localStorage.setItem(probe, '1');
    window.localStorage.removeItem(probe);
    return { store: window.localStorage, persistent: true };
  } catch {
    return { store: memoryStore(), persistent: false };
  }
}

// A scan id: a random UUID. crypto.randomUUID exists only in secure contexts, and phones
// on plain HTTP still need one, so it falls back to getRandomValues (available everywhere).
export function newScanId() {
  if (window.crypto && typeof window.crypto.randomUUID === 'function') {
    return window.crypto.randomUUID();
  }
  const b = window.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class ScanQueue {
  // send(item) resolves to {kind: 'ok'|'rejected'|'offline'|'auth', data, status}.
  // onResult(item, outcome) is called for every answer; onChange() when the queue changes.
  constructor({ key, send, onResult, onChange }) {
    this.key = key;
    this.send = send;
    this.onResult = onResult;
    this.onChange = onChange;
    const picked = pickStore();
    this.store = picked.store;
    this.persistent = picked.persistent;
    this.flushing = false;
    this.again = false;
    this.state = 'idle'; // 'idle' | 'sending' | 'offline' | 'auth'
    this.retryTimer = null;
    this.retryDelay = RETRY_FIRST_MS;
    window.addEventListener('storage', (e) => {
      if (e.key === this.key) this.onChange();
    });
    window.addEventListener('online', () => this.flush());
  }

  items() {
    try {
      const parsed = JSON.parse(this.store.getItem(this.key) || '[]');
      return Array.isArray(parsed) ? parsed : [];
    } catch {
      return [];
    }
  }

  save(items) {
    try {
      this.store.setItem(this.key, JSON.stringify(items));
    } catch {
      // Storage full: keep going in memory rather than lose the scan.
      if (this.persistent) {
        this.store = memoryStore();
        this.persistent = false;
        this.store.setItem(this.key, JSON.stringify(items));
      }
    }
    this.onChange();
  }

  get length() {
    return this.items().length;
  }

  add(item) {
    const items = this.items();
    items.push(item);
    this.save(items);
  }

  remove(scanId) {
    const items = this.items();
    const kept = items.filter((i) => i.scan_id !== scanId);
    if (kept.length !== items.length) this.save(kept);
    return kept.length !== items.length;
  }

  // Take back the newest waiting scan (the undo command while offline).
  popNewest() {
    const items = this.items();
    const last = items.pop();
    if (last) this.save(items);
    return last || null;
  }

  scheduleRetry() {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.flush(), this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
  }

  // Send waiting scans one at a time, oldest first; stop at the first one that cannot be
  // delivered (it stays at the head, so the order is kept).
  async flush() {
    if (this.flushing) {
      this.again = true;
      return;
    }
    this.flushing = true;
    clearTimeout(this.retryTimer);
    try {
      do {
        this.again = false;
        for (;;) {
          const head = this.items()[0];
          if (!head) {
            this.state = 'idle';
            this.retryDelay = RETRY_FIRST_MS;
            break;
          }
          this.state = 'sending';
          const outcome = await this.send(head);
          if (outcome.kind === 'offline' || outcome.kind === 'auth') {
            this.state = outcome.kind;
            this.onChange();
            this.onResult(head, outcome);
            if (outcome.kind === 'offline') this.scheduleRetry();
            return;
          }
          this.remove(head.scan_id);
          this.retryDelay = RETRY_FIRST_MS;
          this.onResult(head, outcome);
        }
      } while (this.again);
    } finally {
      this.flushing = false;
      this.onChange();
    }
  }
}
