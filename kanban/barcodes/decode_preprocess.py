"""Image variants for the decode retries: each one rescues a kind of photo the engines miss.

All take and return a grey (mode ``L``) image and leave their input unchanged.
"""

from __future__ import annotations

from PIL import Image, ImageChops, ImageFilter, ImageOps

__all__ = ["binarise", "blur", "deblur", "otsu", "rotate", "sharpen", "stretch", "upscale"]


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


def deblur(grey: Image.Image, module_px: float) -> Image.Image:
    """A strong unsharp mask about one module wide: restores the bar edges of a defocused or
    motion-blurred code (blur of up to about two thirds of a module) well enough to read."""
    radius = max(1.0, module_px)
    return grey.filter(ImageFilter.UnsharpMask(radius=radius, percent=250, threshold=0))


def binarise(grey: Image.Image, module_px: float) -> Image.Image:
    """Black and white against the local mean over a few modules: evens out a glare spot, a
    shadow or light falling off across the code, which a global threshold cannot."""
    mean = grey.filter(ImageFilter.BoxBlur(max(2.0, 4 * module_px)))
    # (pixel - local mean) + 128, clipped: above 124 is paper.
    diff = ImageChops.subtract(grey, mean, scale=1.0, offset=128)
    return diff.point(lambda v: 255 if v > 124 else 0)
