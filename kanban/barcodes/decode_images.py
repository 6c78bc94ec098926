"""Bounding and loading an uploaded image for decoding.

The upload is bounded in bytes, then in pixels from its header, before any pixel is
decoded; only then is it decoded to a reduced grey image (JPEG DCT scaling through
``Image.draft``), turned upright from its EXIF orientation and flattened onto white.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from kanban.barcodes.decode_results import DecodeError

__all__ = ["MAX_PIXELS", "MAX_UPLOAD_BYTES", "check_payload", "load_grey", "open_checked"]

#: Largest upload accepted, in bytes (a 48 MP phone JPEG is about 10-14 MB).
MAX_UPLOAD_BYTES = 15 * 1024 * 1024
#: Largest image accepted, in pixels. A 48 MP photo (8000 x 6000) passes; a decompression
#: bomb (a few KB of PNG claiming 20000 x 20000) is refused from its header alone.
MAX_PIXELS = 50_000_000

# Formats Pillow may open. An allow-list keeps exotic parsers (EPS would run Ghostscript,
# and PSD, PCX, ... are rarely-exercised C code) away from untrusted uploads. The JPEG opener
# also returns MPO files, which many phones write for a plain photo.
_ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")


def check_payload(data: bytes) -> None:
    """Refuse an empty upload or one above :data:`MAX_UPLOAD_BYTES`."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise DecodeError(
            "image_too_large",
            f"The image is {len(data) / 1048576:.1f} MB; the largest accepted is "
            f"{MAX_UPLOAD_BYTES // 1048576} MB.",
            413,
        )
    if not data:
        raise DecodeError("not_an_image", "The upload is empty: no image was received.", 400)


def open_checked(data: bytes) -> Image.Image:
    """Open lazily (header only) and enforce the pixel bound before any pixel is decoded."""
    try:
        img = Image.open(io.BytesIO(data), formats=_ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (twice Image.MAX_IMAGE_PIXELS) fires inside open().
        raise DecodeError(
            "too_many_pixels",
            f"The image has too many pixels; the largest accepted is {MAX_PIXELS:,} pixels.",
            413,
        ) from exc
    except UnidentifiedImageError as exc:
        raise DecodeError(
            "not_an_image",
            "The upload is not an image this server can read (JPEG, PNG, WebP, GIF, BMP or TIFF).",
            415,
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DecodeError(
            "not_an_image", "The image is damaged or incomplete and cannot be read.", 400
        ) from exc
    width, height = img.size
    if width <= 0 or height <= 0:
        raise DecodeError("not_an_image", "The image has no pixels.", 400)
    if width * height > MAX_PIXELS:
        raise DecodeError(
            "too_many_pixels",
            f"The image is {width} x {height} pixels ({width * height / 1e6:.0f} MP); the "
            f"largest accepted is {MAX_PIXELS / 1e6:.0f} MP.",
            413,
        )
    return img


def _to_grey(img: Image.Image) -> Image.Image:
    """Grey, with transparency flattened onto white and 16-bit samples scaled down."""
    mode = img.mode
    if mode == "L":
        return img
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # A transparent background usually has black RGB underneath: without flattening,
        # black bars on "transparent" would become black on black.
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    if mode.startswith("I;16"):
        # convert("L") would clip 16-bit samples to white instead of scaling them.
        return img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    return img.convert("L")


def load_grey(img: Image.Image, longest: int) -> Image.Image:
    """Decode ``img`` (freshly opened) to grey, upright, with its longest side near ``longest``.

    JPEGs are asked for a reduced grey image: libjpeg then decodes at 1/2, 1/4 or 1/8 scale
    straight from the DCT coefficients, several times faster than decoding 12 MP and
    shrinking them. Only the first frame of animations is used.
    """
    width, height = img.size
    if img.format in ("JPEG", "MPO") and max(width, height) > longest:
        scale = longest / max(width, height)
        img.draft("L", (max(1, int(width * scale)), max(1, int(height * scale))))
    try:
        img.load()
        # EXIF orientation: phones store the sensor's pixels and a "rotate me" tag.
        upright = ImageOps.exif_transpose(img) or img
        grey = _to_grey(upright)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise DecodeError(
            "not_an_image", "The image is damaged or incomplete and cannot be read.", 400
        ) from exc
    return _fit(grey, longest)


def _fit(grey: Image.Image, longest: int) -> Image.Image:
    side = max(grey.size)
    if side <= longest:
        return grey
    factor = side // longest
    if factor >= 2:
        # reduce() is a fast box filter by an integer factor; the resize below finishes off.
        grey = grey.reduce(factor)
    if max(grey.size) > longest:
        scale = longest / max(grey.size)
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return grey
