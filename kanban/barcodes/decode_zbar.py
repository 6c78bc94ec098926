"""The ZBar engine: the one module that imports ``pyzbar``.

ZBar is the second opinion after zxing-cpp. pyzbar needs the ``libzbar0`` system library;
when it is missing everything still works on zxing-cpp alone, :func:`zbar_available` is
false and :func:`zbar_unavailable_reason` says why.
"""

from __future__ import annotations

import logging
from ctypes import c_char_p, c_void_p, cast, string_at

from PIL import Image

from kanban.barcodes.decode_results import DecodedCode, bytes_to_text

# Optional dependency: importing pyzbar loads libzbar0 through ctypes, and a machine without
# that system library must still run (on zxing-cpp alone). So the import is guarded here, at
# module level, and a failure is recorded instead of raised.
_load_error: Exception | None
try:
    from pyzbar import pyzbar
    from pyzbar import wrapper as zbar_wrapper
except Exception as exc:  # ImportError, OSError from ctypes, ...
    pyzbar = None
    zbar_wrapper = None
    _load_error = exc
else:
    _load_error = None

__all__ = ["read_zbar", "zbar_available", "zbar_unavailable_reason"]

log = logging.getLogger(__name__)

# ZBar's symbol type numbers (zbar.h) -> zxing-cpp's names, so results from both engines
# compare equal. Unknown types keep ZBar's name.
_ZBAR_FORMATS = {
    "EAN8": "EAN8",
    "UPCE": "UPCE",
    "ISBN10": "ISBN",
    "UPCA": "UPCA",
    "EAN13": "EAN13",
    "ISBN13": "EAN13",
    "COMPOSITE": "Composite",
    "I25": "ITF",
    "DATABAR": "DataBar",
    "DATABAR_EXP": "DataBarExp",
    "CODABAR": "Codabar",
    "CODE39": "Code39",
    "PDF417": "PDF417",
    "QRCODE": "QRCode",
    "SQCODE": "SQCode",
    "CODE93": "Code93",
    "CODE128": "Code128",
}


def _failure(exc: Exception) -> str:
    """A few words on why pyzbar could not be loaded."""
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("pyzbar"):
        return "pyzbar not installed"
    # pyzbar raises ImportError("Unable to find zbar shared library"); ctypes an OSError.
    if "zbar" in str(exc).lower() or isinstance(exc, OSError):
        return "libzbar0 missing"
    return f"{type(exc).__name__}: {exc}"


_UNAVAILABLE = "" if _load_error is None else _failure(_load_error)
if _load_error is not None:
    log.warning("pyzbar unavailable: %s", _load_error)


def zbar_available() -> bool:
    """True when pyzbar and the ``libzbar0`` system library can be loaded."""
    return pyzbar is not None


def zbar_unavailable_reason() -> str:
    """Why pyzbar could not be loaded (``"libzbar0 missing"``...), ``""`` when it was."""
    return _UNAVAILABLE


def read_zbar(img: Image.Image) -> list[DecodedCode]:
    """Scan with ZBar through pyzbar's ctypes bindings; ``[]`` when ZBar is unavailable.

    ``pyzbar.decode`` 0.1.9 raises ``ValueError`` when libzbar 0.23 reports an unknown
    orientation (-1) for a symbol, losing every result of the image, so this walks the
    symbols itself and reads only type and data.
    """
    if pyzbar is None:
        return []
    zw = zbar_wrapper
    grey = img if img.mode == "L" else img.convert("L")
    width, height = grey.size
    pixels = grey.tobytes()  # must outlive the scan: ZBar reads it in place
    raw: list[tuple[int, bytes]] = []
    with pyzbar._image_scanner() as scanner, pyzbar._image() as zimg:
        # ZBar's Interleaved 2 of 5 reader takes the bars of a damaged or turned code of
        # another kind for a short ITF number: a wrong scan is worse than none. zxing-cpp,
        # tried first, still reads ITF (with its quiet zones and length checks).
        zw.zbar_image_scanner_set_config(scanner, zw.ZBarSymbol.I25, zw.ZBarConfig.CFG_ENABLE, 0)
        zw.zbar_image_set_format(zimg, pyzbar._FOURCC["L800"])
        zw.zbar_image_set_size(zimg, width, height)
        zw.zbar_image_set_data(zimg, cast(c_char_p(pixels), c_void_p), len(pixels), None)
        if zw.zbar_scan_image(scanner, zimg) < 0:
            return []
        for symbol in pyzbar._symbols_for_image(zimg):
            data = string_at(
                zw.zbar_symbol_get_data(symbol), zw.zbar_symbol_get_data_length(symbol)
            )
            raw.append((symbol.contents.type, data))
    out = []
    for type_no, data in raw:
        try:
            name = zw.ZBarSymbol(type_no).name
        except ValueError:
            name = f"ZBar{type_no}"
        if data:
            out.append(DecodedCode(bytes_to_text(data), _ZBAR_FORMATS.get(name, name), "pyzbar"))
    return out
