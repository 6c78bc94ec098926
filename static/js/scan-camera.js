// Live camera scanning (docs/manual/spec.md §3.3, docs/manual/decoding.md). Needs a secure context (HTTPS,
// or localhost). The frames are read on the phone wherever possible, so that the camera keeps
// scanning when the network drops (the scans queue in the outbox): by the browser's own
// BarcodeDetector, else by zxing-cpp as WebAssembly (scan-reader.js). The server stays the
// last fallback: a browser with neither sends a few small grey frames a second to
// POST /api/decode?live=1, and while the phone reads nothing, a frame now and then goes
// there too when the server can be reached (its pipeline also deskews and sharpens).
//
// While aiming, the code found is outlined over the video (scan-overlay.js), and a code that
// is not a bin says so at once (scan-lookup.js asks the server) instead of becoming a scan.
// A code counts once two frames agree on it (one blurred frame can be misread). A label
// stays in view for many frames: a code is reported once, and again only after it has been
// out of sight for HOLD_MS (point the camera away and back to scan it again).

import { Outline, Overlay } from './scan-overlay.js';
import { Found, lookUp } from './scan-lookup.js';
import { Reader, bestReader, drawFrame } from './scan-reader.js';

const PHONE_INTERVAL_MS = 120;
const SERVER_INTERVAL_MS = 300; // at most ~3 frames a second, one in flight at a time
const OFFLINE_INTERVAL_MS = 1500;
const HOLD_MS = 1500;
const CONFIRM_MS = 1000; // a code counts once two frames within this time agree
const SERVER_HELP_MS = 600; // a frame the phone could not read goes to the server this often
const SERVER_AWAY_MS = 10000; // not after the server could not be reached, for this long

export function cameraSupported() {
  return Boolean(window.isSecureContext && navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

export class LiveCamera {
  // urls: {decode, resolve, reader: {module, wasm}}; onCode(text) gets each new code that is
  // a bin, a command, or could not be checked (offline); isCommand(text) tells commands.
  constructor({ video, box, status, overlay, urls, csrfToken, onCode, isCommand }) {
    this.video = video;
    this.box = box;
    this.status = status;
    this.overlay = new Overlay(overlay, box);
    this.urls = urls;
    this.csrfToken = csrfToken;
    this.onCode = onCode;
    this.isCommand = isCommand;
    this.canvas = document.createElement('canvas');
    this.stream = null;
    this.reader = undefined; // chosen on the first start, kept after
    this.timer = null;
    this.running = false;
    this.lastText = null;
    this.lastSeen = 0;
    this.candidate = null;
    this.candidateAt = 0;
    this.kinds = new Map(); // what each code read was found to be, for its outline
    this.serverTried = -Infinity;
    this.serverAway = -Infinity;
    this.lastKind = Outline.NONE;
    this.lastLabel = '';
    this.frames = 0;
  }

  say(text) {
    this.status.textContent = text;
  }

  async start() {
    if (this.running) return;
    this.box.hidden = false;
    this.say('Opening the camera…');
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
    } catch (err) {
      this.box.hidden = true;
      throw err;
    }
    this.video.srcObject = this.stream;
    await this.video.play().catch(() => {});
    if (this.reader === undefined) {
      this.say('Preparing the barcode reader…');
      this.reader = await bestReader(this.urls.reader);
    }
    this.box.dataset.reader = this.reader ? this.reader.kind : Reader.SERVER;
    this.running = true;
    this.say(this.reader ? 'Point the camera at a label.' : 'Point the camera at a label (reading on the server).');
    this.schedule(0);
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.video.srcObject = null;
    this.overlay.clear();
    this.box.hidden = true;
  }

  schedule(ms) {
    clearTimeout(this.timer);
    if (this.running) this.timer = setTimeout(() => this.tick(), ms);
  }

  async tick() {
    if (!this.running) return;
    let next = this.reader ? PHONE_INTERVAL_MS : SERVER_INTERVAL_MS;
    try {
      let codes = this.reader ? await this.reader.read(this.video) : await this.readOnServer();
      if (!codes.length && this.reader && this.serverMayHelp()) {
        // The phone reads whole frames; the server also finds, turns and sharpens a code in
        // them. While nothing is read and the server answers, it gets a frame now and then.
        this.serverTried = performance.now();
        codes = await this.readOnServer().catch(() => {
          this.serverAway = performance.now();
          return [];
        });
      }
      this.frames += 1;
      this.box.dataset.frames = String(this.frames);
      await this.seen(codes);
    } catch (err) {
      if (err && err.offline) {
        this.say('Cannot reach the server to read the frames; retrying…');
        next = OFFLINE_INTERVAL_MS;
      }
    }
    this.schedule(next);
  }

  serverMayHelp() {
    const now = performance.now();
    return navigator.onLine !== false && now - this.serverTried >= SERVER_HELP_MS
      && now - this.serverAway >= SERVER_AWAY_MS;
  }

  async readOnServer() {
    const frame = drawFrame(this.video, this.canvas);
    if (!frame) return [];
    // Grey: a barcode needs no colour, and grey frames compress to a third.
    const img = frame.ctx.getImageData(0, 0, frame.width, frame.height);
    const px = img.data;
    for (let i = 0; i < px.length; i += 4) {
      const y = (px[i] * 77 + px[i + 1] * 150 + px[i + 2] * 29) >> 8;
      px[i] = y;
      px[i + 1] = y;
      px[i + 2] = y;
    }
    frame.ctx.putImageData(img, 0, 0);
    const blob = await new Promise((resolve) => this.canvas.toBlob(resolve, 'image/jpeg', 0.9));
    const form = new FormData();
    form.append('image', blob, 'frame.jpg');
    let resp;
    try {
      resp = await fetch(`${this.urls.decode}?live=1`, {
        method: 'POST',
        body: form,
        headers: { 'X-CSRFToken': this.csrfToken },
        credentials: 'same-origin',
      });
    } catch {
      throw { offline: true };
    }
    if (resp.status >= 502 && resp.status <= 504) throw { offline: true };
    if (!resp.ok) return [];
    const data = await resp.json().catch(() => null);
    const codes = data && Array.isArray(data.codes) ? data.codes : [];
    // The server says what it read, not where: no outline on this last-resort path.
    return codes.filter((c) => c.text).map((c) => ({ text: c.text, points: [] }));
  }

  async seen(codes) {
    const now = performance.now();
    const texts = codes.map((c) => c.text);
    if (this.lastText !== null) {
      if (texts.includes(this.lastText)) this.lastSeen = now; // still in view: not a new scan
      else if (now - this.lastSeen >= HOLD_MS) this.lastText = null;
    }
    const held = codes.find((c) => c.text === this.lastText);
    if (held) this.overlay.draw(this.video, held.points, this.lastKind, this.lastLabel);
    const fresh = codes.find((c) => c.text !== this.lastText);
    if (!fresh) return;
    if (this.candidate !== fresh.text || now - this.candidateAt > CONFIRM_MS) {
      // One frame is not enough: a blurred code a pixel a module wide can be misread.
      this.candidate = fresh.text;
      this.candidateAt = now;
      const known = this.kinds.get(fresh.text); // seen a moment ago: same colour
      this.overlay.draw(this.video, fresh.points, known ? known.kind : Outline.CHECKING, known ? known.label : '');
      return;
    }
    this.candidate = null;
    this.lastText = fresh.text;
    this.lastSeen = now;
    await this.report(fresh);
  }

  async report(code) {
    const { text } = code;
    this.mark(code, Outline.CHECKING, text);
    if (this.isCommand(text)) {
      this.mark(code, Outline.BIN, text);
      this.onCode(text);
      return;
    }
    const answer = await lookUp(this.urls.resolve, text);
    if (answer.found === Found.NOT_BIN) {
      this.mark(code, Outline.NOT_BIN, 'Not a bin');
      this.say(`Not a bin label: ${text.slice(0, 40)}${text.length > 40 ? '…' : ''}. ${answer.message}`.trim());
      this.box.dataset.notBin = text;
      return;
    }
    if (answer.found === Found.BIN) {
      this.mark(code, Outline.BIN, answer.bin);
      this.say(`Read ${answer.bin}.`);
    } else {
      // Offline: it cannot be checked now; it is queued, and the server's answer tells.
      this.mark(code, Outline.CHECKING, text);
      this.say(`Read ${text} (not checked: the server cannot be reached).`);
    }
    this.onCode(text);
  }

  mark(code, kind, label) {
    this.lastKind = kind;
    this.lastLabel = label;
    if (kind !== Outline.CHECKING) this.kinds.set(code.text, { kind, label });
    this.overlay.draw(this.video, code.points, kind, label);
  }
}
