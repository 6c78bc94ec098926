"""Image variants for the decode retries: each one rescues a kind of photo the engines miss.

All take and return a grey (mode ``L``) image and leave their input unchanged.
"""

from __future__ import annotations

from PIL import Image, ImageFilter, ImageOps

__all__ = ["blur", "otsu", "rotate", "sharpen", "stretch", "upscale"]


def stretch(grey: Image.Image) -> Image.Image:
    """Contrast stretch ignoring the 2 % extremes: lifts faded print and dim photos."""
    return ImageOps.autocontrast(grey, cutoff=2)


def otsu(grey: Image.Image) -> Image.Image:
    """Global threshold at Otsu's level: for speckled, low-contrast images where the engines'
    local binarizers turn noise into bars."""
    hist = grey.histogram()
    total = sum(hist)
    sum_all = sum(i * h for i, h in enumerate(hist))
    weight_b = 0
    sum_b = 0.0
    best, level = -1.0, 128
    for i, count in enumerate(hist):
        weight_b += count
        if weight_b == 0:
            continue
        weight_f = total - weight_b
        if weight_f == 0:
            break
        sum_b += i * count
        mean_b = sum_b / weight_b
        mean_f = (sum_all - sum_b) / weight_f
        between = weight_b * weight_f * (mean_b - mean_f) ** 2
        if between > best:
            best, level = between, i
    return grey.point(lambda v: 255 if v > level else 0)


def rotate(grey: Image.Image, angle: float) -> Image.Image:
    """Rotated by ``angle`` degrees, the corners filled with white."""
    return grey.rotate(angle, Image.Resampling.BILINEAR, expand=True, fillcolor=255)


def upscale(grey: Image.Image, factor: float) -> Image.Image:
    """Enlarged by ``factor`` (bicubic): low-resolution codes read better interpolated."""
    size = (round(grey.width * factor), round(grey.height * factor))
    return grey.resize(size, Image.Resampling.BICUBIC)


def sharpen(grey: Image.Image) -> Image.Image:
    """Unsharp mask: crisper bar edges in soft, slightly out-of-focus photos."""
    return grey.filter(ImageFilter.UnsharpMask(radius=2, percent=150))


def blur(grey: Image.Image) -> Image.Image:
    """Slight Gaussian blur: smooths JPEG blocking and moire from screens and halftone print."""
    return grey.filter(ImageFilter.GaussianBlur(1))
