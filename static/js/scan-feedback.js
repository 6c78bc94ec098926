// Sound and vibration after each scan (docs/manual/spec.md §3.4): a short high beep for a good scan,
// two rising tones when the card flipped, a low double buzz for an error, three alternating
// tones for a question that needs an answer (confirm or cancel).
// Web Audio needs a user gesture first: unlock() is called on keys and taps.

const TONES = {
  ok: [[1046, 0.09]],
  flip: [[1046, 0.09], [0, 0.04], [1568, 0.14]],
  error: [[196, 0.22], [0, 0.07], [196, 0.3]],
  queued: [[784, 0.08], [0, 0.05], [784, 0.08]],
  command: [[1318, 0.05]],
  ask: [[880, 0.12], [0, 0.06], [660, 0.12], [0, 0.06], [880, 0.12]],
};
const VIBRATIONS = {
  ok: [60],
  flip: [60, 60, 120],
  error: [250, 100, 250],
  queued: [40, 60, 40],
  command: [30],
  ask: [120, 80, 120, 80, 120],
};

let audio = null;
let muted = false;

export function setMuted(value) {
  muted = Boolean(value);
}

// Made at load (a context starts "suspended" until a gesture): creating it inside the first
// key event would hold that key up, and the keys after it, for tens of milliseconds.
export function prepare() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx || audio) return;
  try {
    audio = new Ctx();
  } catch {
    audio = null;
  }
}

export function unlock() {
  if (audio && audio.state === 'suspended') audio.resume().catch(() => {});
}

function beep(kind) {
  if (muted || !audio || audio.state !== 'running') return;
  let t = audio.currentTime + 0.01;
  for (const [freq, dur] of TONES[kind] || TONES.ok) {
    if (freq > 0) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = kind === 'error' ? 'square' : 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.25, t + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + dur);
      osc.connect(gain).connect(audio.destination);
      osc.start(t);
      osc.stop(t + dur + 0.02);
    }
    t += dur;
  }
}

function vibrate(kind) {
  if (typeof navigator.vibrate !== 'function') return;
  try {
    navigator.vibrate(VIBRATIONS[kind] || VIBRATIONS.ok);
  } catch {
    // Some browsers refuse vibration without a recent gesture: the banner still shows.
  }
}

export function signal(kind) {
  beep(kind);
  vibrate(kind);
}
