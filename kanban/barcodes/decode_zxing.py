"""The zxing-cpp engine: the one module that imports ``zxingcpp``.

zxing-cpp (a wheel, no system library) is the first engine tried: it reads far more real
photos than ZBar and is the only one of the two that reads DataMatrix.
"""

from __future__ import annotations

import zxingcpp
from PIL import Image

from kanban.barcodes.decode_results import DecodedCode, bytes_to_text

__all__ = ["read_zxing"]

# zxing-cpp 3 reports family members under their own names; the product only needs to know
# it is Code 39.
_ZXING_FORMAT_ALIASES = {"Code39Ext": "Code39", "Code39Std": "Code39"}


def read_zxing(
    img: Image.Image, *, global_histogram: bool = False, thorough: bool = True
) -> list[DecodedCode]:
    """Every code zxing-cpp finds in ``img``.

    ``global_histogram`` swaps zxing-cpp's default local binarizer for its global histogram
    one, a second chance for images where the local one turns noise into bars.
    ``thorough=False`` skips zxing-cpp's own downscaled and inverted passes: for a large
    image whose reduced copy was read already, where they would cost most of the time.
    """
    # TextMode.Plain gives the code's content as a hand-held scanner would type it; the
    # default (HRI) rewrites control characters as "<SOH>" and GS1 data as "(01)...".
    binarizer = (
        zxingcpp.Binarizer.GlobalHistogram if global_histogram else zxingcpp.Binarizer.LocalAverage
    )
    found = zxingcpp.read_barcodes(
        img,
        text_mode=zxingcpp.TextMode.Plain,
        binarizer=binarizer,
        try_downscale=thorough,
        try_invert=thorough,
    )
    out = []
    for bc in found:
        text = bc.text
        if not text and bc.bytes:
            # Content in an unknown character set (an ECI zxing-cpp cannot transcode) comes
            # back with empty text: keep the bytes, losslessly, rather than lose the code.
            text = bytes_to_text(bc.bytes)
        if text:
            name = bc.format.name
            out.append(DecodedCode(text, _ZXING_FORMAT_ALIASES.get(name, name), "zxing-cpp"))
    return out
