// Live camera scanning (docs/spec.md §3.3). Needs a secure context (HTTPS, or localhost).
// With the browser's own BarcodeDetector the frames are read on the phone; otherwise a few
// small grey frames a second go to POST /api/decode?live=1 and the server reads them.
//
// A label stays in view for many frames: a code is reported once, and again only after it
// has been out of sight for HOLD_MS (point the camera away and back to scan it again).

const DETECTOR_INTERVAL_MS = 150;
const SERVER_INTERVAL_MS = 300; // at most ~3 frames a second, one in flight at a time
const OFFLINE_INTERVAL_MS = 1500;
const FRAME_MAX_SIDE = 640;
const HOLD_MS = 1500;
const DETECTOR_FORMATS = [
  'code_128', 'code_39', 'code_93', 'ean_13', 'ean_8', 'upc_a', 'upc_e', 'itf', 'codabar',
  'qr_code', 'data_matrix',
];

export function cameraSupported() {
  return Boolean(window.isSecureContext && navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

export class LiveCamera {
  constructor({ video, box, status, decodeUrl, csrfToken, onCode }) {
    this.video = video;
    this.box = box;
    this.status = status;
    this.decodeUrl = decodeUrl;
    this.csrfToken = csrfToken;
    this.onCode = onCode;
    this.canvas = document.createElement('canvas');
    this.stream = null;
    this.detector = null;
    this.timer = null;
    this.running = false;
    this.lastText = null;
    this.lastSeen = 0;
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
    this.detector = await this.makeDetector();
    this.running = true;
    this.say(this.detector ? 'Point the camera at a label.' : 'Point the camera at a label (reading on the server).');
    this.schedule(0);
  }

  async makeDetector() {
    if (!('BarcodeDetector' in window)) return null;
    try {
      const supported = await window.BarcodeDetector.getSupportedFormats();
      const formats = DETECTOR_FORMATS.filter((f) => supported.includes(f));
      return formats.length ? new window.BarcodeDetector({ formats }) : null;
    } catch {
      return null;
    }
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.video.srcObject = null;
    this.box.hidden = true;
  }

  schedule(ms) {
    clearTimeout(this.timer);
    if (this.running) this.timer = setTimeout(() => this.tick(), ms);
  }

  async tick() {
    if (!this.running) return;
    let next = this.detector ? DETECTOR_INTERVAL_MS : SERVER_INTERVAL_MS;
    try {
      const texts = this.detector ? await this.detectHere() : await this.detectOnServer();
      this.frames += 1;
      this.box.dataset.frames = String(this.frames);
      this.seen(texts);
    } catch (err) {
      if (err && err.offline) {
        this.say('Cannot reach the server to read the frames; retrying…');
        next = OFFLINE_INTERVAL_MS;
      }
    }
    this.schedule(next);
  }

  async detectHere() {
    if (this.video.readyState < 2) return [];
    const found = await this.detector.detect(this.video);
    return found.map((c) => c.rawValue).filter(Boolean);
  }

  grabFrame() {
    const w = this.video.videoWidth;
    const h = this.video.videoHeight;
    if (!w || !h) return null;
    const scale = Math.min(1, FRAME_MAX_SIDE / Math.max(w, h));
    const cw = Math.round(w * scale);
    const ch = Math.round(h * scale);
    this.canvas.width = cw;
    this.canvas.height = ch;
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(this.video, 0, 0, cw, ch);
    // Grey: a barcode needs no colour, and grey frames compress to a third.
    const img = ctx.getImageData(0, 0, cw, ch);
    const px = img.data;
    for (let i = 0; i < px.length; i += 4) {
      const y = (px[i] * 77 + px[i + 1] * 150 + px[i + 2] * 29) >> 8;
      px[i] = y;
      px[i + 1] = y;
      px[i + 2] = y;
    }
    ctx.putImageData(img, 0, 0);
    return new Promise((resolve) => this.canvas.toBlob(resolve, 'image/jpeg', 0.9));
  }

  async detectOnServer() {
    const blob = await this.grabFrame();
    if (!blob) return [];
    const form = new FormData();
    form.append('image', blob, 'frame.jpg');
    let resp;
    try {
      resp = await fetch(`${this.decodeUrl}?live=1`, {
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
    return data && Array.isArray(data.codes) ? data.codes.map((c) => c.text).filter(Boolean) : [];
  }

  seen(texts) {
    const now = performance.now();
    if (this.lastText !== null) {
      if (texts.includes(this.lastText)) this.lastSeen = now; // still in view: not a new scan
      else if (now - this.lastSeen >= HOLD_MS) this.lastText = null;
    }
    const fresh = texts.find((t) => t !== this.lastText);
    if (!fresh) return;
    this.lastText = fresh;
    this.lastSeen = now;
    this.onCode(fresh);
  }
}
