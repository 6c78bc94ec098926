// The live camera's readers (docs/manual/spec.md §3.3, docs/manual/decoding.md): where the browser has
// BarcodeDetector it reads the frames; otherwise zxing-cpp compiled to WebAssembly does, on
// the phone (static/vendor/zxing_wasm, served by this app, kept by the service worker for
// offline use); only where neither can run do frames go to the server (scan-camera.js).
//
// Each reader takes a video element and answers [{text, points}], points being the code's
// four corners in the video's own pixels (for the outline drawn over the live view).

export const Reader = Object.freeze({ NATIVE: 'native', WASM: 'wasm', SERVER: 'server' });

const DETECTOR_FORMATS = [
  'code_128', 'code_39', 'code_93', 'ean_13', 'ean_8', 'upc_a', 'upc_e', 'itf', 'codabar',
  'qr_code', 'data_matrix',
];
const WASM_FORMATS = [
  'Code128', 'Code39', 'Code93', 'EAN13', 'EAN8', 'UPCA', 'UPCE', 'ITF', 'Codabar',
  'QRCode', 'DataMatrix',
];
// Frames sent to the server are small; the phone reads its own at the video's resolution
// (a label a third of the frame wide then has about two pixels a module, not one).
const FRAME_MAX_SIDE = 640;
const PHONE_MAX_SIDE = 1280;
// zxing-cpp reads a 1D code turned by up to about 15 degrees, and tries 90 degrees by itself:
// frames turned by these angles in turn cover every angle, the first three already.
const TURNS = [0, 30, -30, 15, -15, 45];

/** The browser's own BarcodeDetector, or null when it has none (or none for our formats). */
async function nativeReader() {
  if (!('BarcodeDetector' in window)) return null;
  try {
    const supported = await window.BarcodeDetector.getSupportedFormats();
    const formats = DETECTOR_FORMATS.filter((f) => supported.includes(f));
    if (!formats.length) return null;
    const detector = new window.BarcodeDetector({ formats });
    return {
      kind: Reader.NATIVE,
      async read(video) {
        if (video.readyState < 2) return [];
        const found = await detector.detect(video);
        return found.filter((c) => c.rawValue).map((c) => ({ text: c.rawValue, points: c.cornerPoints || [] }));
      },
    };
  } catch {
    return null;
  }
}

/** A frame of the video on a canvas, at most `maxSide` pixels, turned by `turn` degrees. */
export function drawFrame(video, canvas, turn = 0, maxSide = FRAME_MAX_SIDE) {
  const w = video.videoWidth;
  const h = video.videoHeight;
  if (!w || !h) return null;
  const scale = Math.min(1, maxSide / Math.max(w, h));
  const cw = Math.round(w * scale);
  const ch = Math.round(h * scale);
  canvas.width = cw;
  canvas.height = ch;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.save();
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, cw, ch);
  ctx.translate(cw / 2, ch / 2);
  ctx.rotate((turn * Math.PI) / 180);
  ctx.drawImage(video, -cw / 2, -ch / 2, cw, ch);
  ctx.restore();
  // From a point of this frame back to the video's pixels.
  const rad = (-turn * Math.PI) / 180;
  const toVideo = (p) => {
    const x = p.x - cw / 2;
    const y = p.y - ch / 2;
    return {
      x: (x * Math.cos(rad) - y * Math.sin(rad) + cw / 2) / scale,
      y: (x * Math.sin(rad) + y * Math.cos(rad) + ch / 2) / scale,
    };
  };
  return { ctx, width: cw, height: ch, toVideo };
}

/** zxing-cpp as WebAssembly, loaded from this server (never a CDN); null where it cannot run. */
async function wasmReader(urls) {
  if (typeof WebAssembly !== 'object' || !urls || !urls.module) return null;
  let zxing;
  try {
    zxing = await import(urls.module);
    await zxing.prepareZXingModule({
      overrides: { locateFile: (path, prefix) => (path.endsWith('.wasm') ? urls.wasm : prefix + path) },
      fireImmediately: true,
    });
  } catch {
    return null; // no WebAssembly here, or the files could not be had: the server reads
  }
  const canvas = document.createElement('canvas');
  let tick = 0;
  return {
    kind: Reader.WASM,
    async read(video) {
      const turn = TURNS[tick % TURNS.length];
      tick += 1;
      const frame = drawFrame(video, canvas, turn, PHONE_MAX_SIDE);
      if (!frame) return [];
      const image = frame.ctx.getImageData(0, 0, frame.width, frame.height);
      const found = await zxing.readBarcodes(image, {
        formats: WASM_FORMATS,
        tryHarder: true,
        tryRotate: true,
        textMode: 'Plain',
        maxNumberOfSymbols: 4,
      });
      return found
        .filter((r) => r.isValid && r.text)
        .map((r) => {
          const p = r.position;
          const corners = [p.topLeft, p.topRight, p.bottomRight, p.bottomLeft];
          return { text: r.text, points: corners.map(frame.toVideo) };
        });
    },
  };
}

/** The best reader this browser has: native, then WebAssembly; null means the server's. */
export async function bestReader(urls) {
  return (await nativeReader()) || (await wasmReader(urls));
}
