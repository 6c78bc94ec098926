"""Server-side barcode decoding for uploaded photos and camera frames (docs/manual/spec.md §3.3).

This is the entry point for decoding; callers import from here. The work is done in:

* :mod:`~kanban.barcodes.decode_results`: :class:`DecodedCode`, :class:`DecodeError` and
  the EAN/UPC check digits (:func:`normalise_gtin`);
* :mod:`~kanban.barcodes.decode_images`: the upload's bounds (:data:`MAX_UPLOAD_BYTES`,
  :data:`MAX_PIXELS`, checked from the header before any pixel is decoded) and its loading
  to a reduced, upright grey image;
* :mod:`~kanban.barcodes.decode_preprocess`: the image variants of the retries (deblurring
  and binarisation among them);
* :mod:`~kanban.barcodes.decode_locate`: localisation and deskew of 1D codes (numpy);
* :mod:`~kanban.barcodes.decode_zxing` and :mod:`~kanban.barcodes.decode_zbar`: the two
  engines. **zxing-cpp** (a wheel, no system library) is tried first: it reads far more
  real photos than ZBar and is the only one of the two that reads DataMatrix. **pyzbar**
  (needs the ``libzbar0`` system library) is the second opinion; when the library is
  missing everything still works on zxing-cpp alone and :func:`engines_status` says so;
* :mod:`~kanban.barcodes.decode_pipeline`: the attempts, cheapest first, within a time
  budget of CPU time (docs/manual/decoding.md); :func:`decode_image_inline` runs them in the
  calling process (it is what the worker runs and what the benchmark measures);
* :mod:`~kanban.barcodes.decode_pool`: ZBar can abort the whole process on hostile input
  and any C decoder can spin on a crafted image, so :func:`decode_bytes` runs the pipeline
  in a small process pool with a time bound.

Texts are the codes' content as a hand-held scanner would type it (control characters such as
GS kept, no "(01)" GS1 decoration). EAN/UPC results must carry a valid check digit and come
out in one canonical form whichever engine or library version read them (see
:func:`normalise_gtin`): a UPC-A is its 13-digit EAN form with the leading ``0``, reported
as format ``"UPCA"``.
"""

from __future__ import annotations

from kanban.barcodes.decode_images import MAX_PIXELS, MAX_UPLOAD_BYTES
from kanban.barcodes.decode_pipeline import decode_image_inline, engines_status
from kanban.barcodes.decode_pool import decode_bytes, shutdown
from kanban.barcodes.decode_results import DecodedCode, DecodeError, normalise_gtin
from kanban.barcodes.decode_zbar import zbar_available

__all__ = [
    "MAX_PIXELS",
    "MAX_UPLOAD_BYTES",
    "DecodeError",
    "DecodedCode",
    "decode_bytes",
    "decode_image_inline",
    "engines_status",
    "normalise_gtin",
    "shutdown",
    "zbar_available",
]
