// The live change feed for the board and the wall screen.
//
// Server-sent events from GET /api/events/stream carry every event with its id;
// EventSource reconnects by itself and resumes with Last-Event-ID. When the
// stream cannot be used (no EventSource, a refused or failing stream), the
// feed polls GET /api/events?after=N instead and retries the stream later.
// Events are applied once each, in id order, so a screen that was away
// catches up on everything it missed. When what it missed is no longer in the
// feed (pruned after KANBAN_EVENT_RETENTION_DAYS, or too much to replay), the
// server says "reset" (an SSE event, or reset: true when polling) and the page
// reloads in full.
//
// Status, for the "live" indicator:
//   live       the stream is open and the server spoke within staleAfter
//   polling    the stream is unavailable but polling works
//   connecting just started, or reconnecting for less than downGrace
//   stale      no word from the server for staleAfter, or down for downGrace:
//              what is on screen may be out of date since `since`.
//
// Some of what a page shows changes with the date alone (a delivery becomes
// overdue), with no event to say so. The page tells the feed when that happens
// (refreshAt); the feed then reloads the page, once the server answers for it,
// so a wall screen that runs for weeks stays right and an offline one keeps
// showing what it has rather than an error page.

const POLL_MS = 1000;
const STREAM_RETRY_MS = 30000;
const REFRESH_SPREAD_MS = 60000; // screens reload within a minute of each other, not at once
const REFRESH_RETRY_MS = 60000;

export class LiveFeed {
  constructor({
    lastId = 0,
    onEvent,
    onStatus = () => {},
    onReset = () => window.location.reload(),
    staleAfter = 15000,
    downGrace = 3000,
    streamUrl = '/api/events/stream',
    pollUrl = '/api/events',
    refreshAt = 0,
  }) {
    Object.assign(this, { lastId, onEvent, onStatus, onReset, staleAfter, downGrace, streamUrl, pollUrl });
    this.refreshAt = refreshAt ? refreshAt + Math.random() * REFRESH_SPREAD_MS : 0;
    this.refreshing = false;
    this.es = null;
    this.polling = false;
    this.pollTimer = null;
    this.lastContact = Date.now();
    this.downSince = Date.now(); // not connected yet
    this.nextStreamTry = 0;
    this.mode = null;
  }

  start() {
    this.openStream();
    this.watchdog = setInterval(() => this.check(), 1000);
    this.report();
  }

  openStream() {
    if (!('EventSource' in window)) {
      this.startPolling();
      return;
    }
    const es = new EventSource(`${this.streamUrl}?after=${this.lastId}`);
    this.es = es;
    es.onopen = () => {
      if (this.es !== es) return;
      this.connected();
      this.stopPolling();
    };
    es.onmessage = (e) => {
      if (this.es !== es) return;
      this.connected();
      this.handle(JSON.parse(e.data));
    };
    es.addEventListener('heartbeat', () => {
      if (this.es === es) this.connected();
    });
    es.addEventListener('reset', () => this.onReset());
    es.addEventListener('denied', () => this.revoked());
    es.onerror = () => {
      if (this.es !== es) return;
      if (this.downSince === null) this.downSince = Date.now();
      if (es.readyState === EventSource.CLOSED) {
        // Refused for good (e.g. 503 when the server is full): poll, retry later.
        this.es = null;
        this.nextStreamTry = Date.now() + STREAM_RETRY_MS;
        this.startPolling();
      }
      this.report();
    };
  }

  // The server refused this page's principal for good (a revoked or expired token, a
  // session logged out): stop asking, and say so instead of looking like a network fault.
  revoked() {
    if (this.mode === 'revoked') return;
    this.mode = 'revoked';
    if (this.es) this.es.close();
    this.es = null;
    this.stopPolling();
    clearInterval(this.watchdog);
    this.refreshAt = 0;
    this.onStatus({ mode: 'revoked', since: null });
  }

  handle(event) {
    if (!event || typeof event.id !== 'number' || event.id <= this.lastId) return;
    this.lastId = event.id;
    try {
      this.onEvent(event);
    } catch (err) {
      console.error('live feed: cannot apply event', event, err);
    }
  }

  connected() {
    this.lastContact = Date.now();
    this.downSince = null;
    this.report();
  }

  check() {
    const now = Date.now();
    if (this.es && this.es.readyState === EventSource.OPEN && now - this.lastContact > this.staleAfter) {
      // Open but silent (a half-open connection, a buffering proxy): start over.
      this.es.close();
      this.es = null;
      if (this.downSince === null) this.downSince = now;
      this.openStream();
    } else if (!this.es && now >= this.nextStreamTry) {
      this.openStream();
    }
    if (this.refreshAt && now >= this.refreshAt && !this.refreshing) this.refresh();
    this.report();
  }

  async refresh() {
    this.refreshing = true;
    try {
      const resp = await fetch(window.location.href, {
        method: 'HEAD',
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'manual', // a page that sends this one to the login form is a refusal
      });
      if (resp.type === 'opaqueredirect' || resp.status === 401 || resp.status === 403) {
        this.revoked();
        return;
      }
      if (resp.ok) {
        this.onReset();
        return;
      }
    } catch (err) {
      // Offline: keep the page as it is and try again later.
    }
    this.refreshAt = Date.now() + REFRESH_RETRY_MS;
    this.refreshing = false;
  }

  startPolling() {
    if (this.polling) return;
    this.polling = true;
    this.poll();
  }

  stopPolling() {
    this.polling = false;
    clearTimeout(this.pollTimer);
  }

  async poll() {
    if (!this.polling) return;
    let more = false;
    try {
      const resp = await fetch(`${this.pollUrl}?after=${this.lastId}`, {
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
        cache: 'no-store',
      });
      if (resp.status === 401 || resp.status === 403) {
        this.revoked();
        return;
      }
      if (resp.ok) {
        const body = await resp.json();
        if (body.reset) {
          // What this page missed was pruned from the feed: only a reload shows it.
          this.stopPolling();
          this.onReset();
          return;
        }
        this.lastContact = Date.now();
        if (!this.es || this.es.readyState !== EventSource.OPEN) this.downSince = null;
        for (const event of body.events) this.handle(event);
        more = body.events.length >= 500;
      }
    } catch (err) {
      // Offline: keep trying; the indicator turns stale.
    }
    this.report();
    if (this.polling) this.pollTimer = setTimeout(() => this.poll(), more ? 0 : POLL_MS);
  }

  status() {
    const now = Date.now();
    const silent = now - this.lastContact > this.staleAfter;
    const down = this.downSince !== null && now - this.downSince > this.downGrace;
    if (silent || down) return { mode: 'stale', since: new Date(this.lastContact) };
    if (this.es && this.es.readyState === EventSource.OPEN && this.downSince === null) {
      return { mode: 'live', since: null };
    }
    if (this.polling && this.downSince === null) return { mode: 'polling', since: null };
    return { mode: 'connecting', since: null };
  }

  report() {
    if (this.mode === 'revoked') return;
    const st = this.status();
    const key = `${st.mode}:${st.since ? st.since.getTime() : ''}`;
    if (key === this.mode) return;
    this.mode = key;
    this.onStatus(st);
  }
}
