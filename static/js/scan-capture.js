// Codes from pictures: a photo of a label, read by the server (POST /api/decode), with a
// choice when it holds several codes, and the live camera's buttons (scan-camera.js reads
// the frames). A code found either way goes on as if it had been typed (scan-input.js).

import { postPhoto } from './scan-api.js';
import { LiveCamera, cameraSupported } from './scan-camera.js';
import { handleText } from './scan-input.js';
import { show, showError } from './scan-result.js';
import { $, cfg, csrfToken, el, refocus } from './scan-station.js';
import { Source } from './vocab.js';

async function decodePhoto(file) {
  if (file.size > cfg.max_upload) {
    showError('image_too_large', 'The photo is too large to upload.');
    return;
  }
  show('busy', { icon: '…', word: 'Reading the photo', detail: 'Looking for a barcode.' });
  let answer;
  try {
    answer = await postPhoto(file);
  } catch {
    showError('offline', 'Cannot reach the server: a photo can only be read online. Try again when the connection is back.');
    return;
  }
  const { resp, data } = answer;
  if (!resp.ok) {
    const err = (data && data.error) || {};
    showError(err.code, err.message || `The server answered ${resp.status}.`);
    return;
  }
  const codes = (data && data.codes) || [];
  if (codes.length === 0) {
    showError('no_code', 'No barcode found in the photo. Hold the phone closer, with the label flat and well lit.');
    return;
  }
  const texts = [...new Set(codes.map((c) => c.text))];
  if (texts.length === 1) {
    handleText(texts[0], Source.PHOTO);
    return;
  }
  const list = $('photo-choice-list');
  list.replaceChildren(...texts.slice(0, 8).map((t) => {
    const b = el('button', 'btn choice', t);
    b.type = 'button';
    b.dataset.text = t;
    return b;
  }));
  $('photo-choices').hidden = false;
  show('command', { icon: '?', word: 'Several codes', detail: 'Choose the one to scan below.' });
}

/** Wire the photo input, the choice list and the camera's buttons. */
export function setUpCapture() {
  $('photo-choice-list').addEventListener('click', (e) => {
    const b = e.target.closest('button.choice');
    if (!b) return;
    $('photo-choices').hidden = true;
    handleText(b.dataset.text, Source.PHOTO);
  });

  const photo = $('scan-photo');
  photo.addEventListener('change', () => {
    const file = photo.files && photo.files[0];
    photo.value = '';
    if (file) decodePhoto(file);
  });

  const prefix = cfg.command_prefix.toUpperCase();
  const camera = new LiveCamera({
    video: $('camera-video'),
    box: $('camera'),
    status: $('camera-status'),
    overlay: $('camera-overlay'),
    urls: { decode: cfg.urls.decode, resolve: cfg.urls.resolve, reader: cfg.urls.reader },
    csrfToken,
    onCode: (text) => handleText(text, Source.CAMERA),
    isCommand: (text) => text.toUpperCase().startsWith(prefix),
  });

  if (cameraSupported()) {
    $('camera-start').hidden = false;
  } else {
    const note = $('camera-note');
    note.hidden = false;
    note.textContent = window.isSecureContext
      ? 'This browser gives no camera access: use “Photo of a label”.'
      : 'Live camera needs HTTPS (see the manual, Floor staff): on plain HTTP, use “Photo of a label”.';
  }

  $('camera-start').addEventListener('click', async () => {
    try {
      await camera.start();
      $('camera-start').hidden = true;
    } catch (err) {
      showError('camera', `The camera could not be opened (${(err && err.name) || 'error'}). Use “Photo of a label” instead.`);
    }
  });

  $('camera-stop').addEventListener('click', () => {
    camera.stop();
    $('camera-start').hidden = false;
    refocus();
  });
}
