// The outline over the live view (docs/manual/decoding.md, "Feedback while aiming"): the code the
// camera found, drawn where it is in the picture, in the colour of what it is: a bin (green),
// not a bin (red), or still being looked up (yellow). The overlay is a canvas the size of the
// video's own pixels, laid over the video with the same object-fit, so the corners a reader
// gives in video pixels land on the code as the user sees it.

export const Outline = Object.freeze({ NONE: '', CHECKING: 'checking', BIN: 'bin', NOT_BIN: 'not-bin' });

const COLOURS = { checking: '#f5c400', bin: '#1db954', 'not-bin': '#e5322d' };
const CLEAR_AFTER_MS = 700;

export class Overlay {
  constructor(canvas, box) {
    this.canvas = canvas;
    // #camera: data-outline says what the outline shows now, data-last-outline what it
    // showed last (styles, tests).
    this.box = box;
    this.timer = null;
  }

  /** Outline `points` (video pixels) as `kind`; the outline fades when no longer refreshed. */
  draw(video, points, kind, label) {
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (!w || !h || !points || points.length < 2) return;
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    const ctx = this.canvas.getContext('2d');
    ctx.clearRect(0, 0, w, h);
    const colour = COLOURS[kind] || COLOURS.checking;
    ctx.lineWidth = Math.max(3, Math.round(Math.max(w, h) / 160));
    ctx.strokeStyle = colour;
    ctx.fillStyle = `${colour}33`;
    ctx.beginPath();
    points.forEach((p, i) => (i ? ctx.lineTo(p.x, p.y) : ctx.moveTo(p.x, p.y)));
    ctx.closePath();
    ctx.fill();
    ctx.stroke();
    if (label) {
      const size = Math.max(14, Math.round(h / 22));
      const top = Math.min(...points.map((p) => p.y));
      const left = Math.min(...points.map((p) => p.x));
      ctx.font = `bold ${size}px sans-serif`;
      const width = ctx.measureText(label).width + size;
      const y = Math.max(0, top - size * 1.6);
      ctx.fillStyle = colour;
      ctx.fillRect(left, y, width, size * 1.4);
      ctx.fillStyle = '#fff';
      ctx.fillText(label, left + size / 2, y + size * 1.05);
    }
    this.box.dataset.outline = kind;
    this.box.dataset.lastOutline = kind;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.clear(), CLEAR_AFTER_MS);
  }

  clear() {
    clearTimeout(this.timer);
    const ctx = this.canvas.getContext('2d');
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.box.dataset.outline = Outline.NONE;
  }
}
