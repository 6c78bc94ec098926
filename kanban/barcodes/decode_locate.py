"""Localisation and deskew: where a 1D barcode lies in a photo, at what angle, and a crop of
it turned upright at a size the engines read well.

The engines scan 1D codes along rows (and, rotated, columns): a label turned by more than
about 15-20 degrees, or one so small in a 12 MP photo that the reduced image blurs its bars,
is missed. A barcode is easy to find without reading it: a patch of strong edges that all
run the same way. Per block of pixels, the structure tensor (sums of gx², gy² and gx·gy)
gives the edge energy, how consistent the edge direction is (coherence) and that direction.
Neighbouring blocks that are strong, coherent and agree on the direction form a candidate;
its direction gives the deskew angle and its extent the crop. Text, noise and smooth shading
are weak or incoherent and drop out.

:func:`find_regions` works on the small working image (a few milliseconds); :func:`crop`
cuts a candidate out of whichever image has enough pixels for it (the working image, or a
larger decode of the upload for a code far from the camera), rotated so that the bars stand
upright and scaled so that a module is about :data:`TARGET_MODULE_PX` pixels wide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = ["TARGET_MODULE_PX", "Region", "crop", "find_regions"]

#: Block side, in pixels of the image searched.
_BLOCK = 8
#: Mean squared gradient per pixel (grey levels²) below which a block is flat.
_MIN_ENERGY = 250.0
#: Coherence (0 = edges every way, 1 = all one way) a block needs to count as barcode.
_MIN_COHERENCE = 0.55
#: Neighbouring blocks join a region when their directions differ by less than this.
_JOIN_DEGREES = 18.0
#: Least ratio of a region's length across the bars to its height along them.
_MIN_ASPECT = 0.5
#: Regions smaller than this many blocks are not worth a try.
_MIN_BLOCKS = 3
#: Modules across a typical 1D code (Code 128 bin codes: 90-150, EAN-13: 95): used to guess
#: the module width from a region's length.
_TYPICAL_MODULES = 110
#: The module width, in pixels, that crops are scaled to.
TARGET_MODULE_PX = 3.0


@dataclass(frozen=True)
class Region:
    """A candidate 1D barcode in the searched image.

    ``angle`` is the direction across the bars (the gradient), in degrees; ``length`` the
    extent across the bars and ``height`` along them, in pixels of the searched image.
    """

    cx: float
    cy: float
    angle: float
    length: float
    height: float
    score: float

    def scaled(self, factor: float) -> Region:
        """The same region in an image ``factor`` times as large."""
        return Region(
            self.cx * factor,
            self.cy * factor,
            self.angle,
            self.length * factor,
            self.height * factor,
            self.score,
        )

    @property
    def module_guess(self) -> float:
        """The module width this region's length suggests, in pixels of the searched image."""
        return self.length / _TYPICAL_MODULES


def _tensor(grey: Image.Image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per block: sums of gx², gy² and gx·gy (centred differences), smoothed over 3×3 blocks."""
    a = np.asarray(grey, dtype=np.float32)
    gx = a[1:-1, 2:] - a[1:-1, :-2]
    gy = a[2:, 1:-1] - a[:-2, 1:-1]
    h, w = gx.shape
    hb, wb = h // _BLOCK, w // _BLOCK
    if hb < 3 or wb < 3:
        empty = np.zeros((0, 0), np.float32)
        return empty, empty, empty

    def blocks(v: np.ndarray) -> np.ndarray:
        s = v[: hb * _BLOCK, : wb * _BLOCK].reshape(hb, _BLOCK, wb, _BLOCK).sum(axis=(1, 3))
        # 3×3 block neighbourhood: a block straddling a code's edge still sees the code.
        p = np.pad(s, 1, mode="edge")
        out = np.zeros_like(s)
        for i in range(3):
            for j in range(3):
                out += p[i : i + hb, j : j + wb]
        return out / 9.0

    return blocks(gx * gx), blocks(gy * gy), blocks(gx * gy)


def _components(ok: np.ndarray, theta: np.ndarray) -> list[list[tuple[int, int]]]:
    """Groups of neighbouring candidate blocks whose directions agree (8-neighbourhood)."""
    seen = np.zeros_like(ok)
    groups = []
    join = math.radians(_JOIN_DEGREES)
    hb, wb = ok.shape
    for y0, x0 in zip(*np.nonzero(ok), strict=True):
        if seen[y0, x0]:
            continue
        seen[y0, x0] = True
        stack, group = [(int(y0), int(x0))], []
        while stack:
            y, x = stack.pop()
            group.append((y, x))
            for ny in (y - 1, y, y + 1):
                for nx in (x - 1, x, x + 1):
                    if 0 <= ny < hb and 0 <= nx < wb and ok[ny, nx] and not seen[ny, nx]:
                        diff = abs(theta[ny, nx] - theta[y, x]) % math.pi
                        if min(diff, math.pi - diff) < join:
                            seen[ny, nx] = True
                            stack.append((ny, nx))
        if len(group) >= _MIN_BLOCKS:
            groups.append(group)
    return groups


def find_regions(grey: Image.Image, limit: int = 3) -> list[Region]:
    """The likeliest 1D barcodes in ``grey`` (mode ``L``), best first, at most ``limit``."""
    jxx, jyy, jxy = _tensor(grey)
    if jxx.size == 0:
        return []
    energy = jxx + jyy
    area = float(_BLOCK * _BLOCK)
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / np.maximum(energy, 1e-6)
    theta = 0.5 * np.arctan2(2 * jxy, jxx - jyy)
    ok = (energy > _MIN_ENERGY * area) & (coherence > _MIN_COHERENCE)
    regions = [_region(g, jxx, jyy, jxy, coherence) for g in _components(ok, theta)]
    # A single straight edge (a label's border, a bin's rim, a shelf) is strong and coherent
    # too, but thin across its direction: a 1D code is a run of many edges, at least about
    # half as long across as its bars are high.
    regions = [r for r in regions if r.length >= _MIN_ASPECT * r.height]
    regions.sort(key=lambda r: -r.score)
    return regions[:limit]


def _region(
    group: list[tuple[int, int]],
    jxx: np.ndarray,
    jyy: np.ndarray,
    jxy: np.ndarray,
    coherence: np.ndarray,
) -> Region:
    ys = np.array([g[0] for g in group], dtype=np.float32)
    xs = np.array([g[1] for g in group], dtype=np.float32)
    idx = (ys.astype(int), xs.astype(int))
    # The group's direction from its summed tensor (averaging angles would wrap badly).
    theta = 0.5 * math.atan2(2 * float(jxy[idx].sum()), float(jxx[idx].sum() - jyy[idx].sum()))
    nx, ny = math.cos(theta), math.sin(theta)
    px = (xs + 0.5) * _BLOCK + 1  # block centres in pixels (+1: the gradient's border)
    py = (ys + 0.5) * _BLOCK + 1
    across = px * nx + py * ny
    along = -px * ny + py * nx
    length = float(across.max() - across.min()) + _BLOCK
    height = float(along.max() - along.min()) + _BLOCK
    mid_a = float(across.max() + across.min()) / 2
    mid_b = float(along.max() + along.min()) / 2
    cx, cy = mid_a * nx - mid_b * ny, mid_a * ny + mid_b * nx
    score = len(group) * float(coherence[idx].mean())
    return Region(cx, cy, math.degrees(theta), length, height, score)


def crop(source: Image.Image, region: Region, module_px: float | None = None) -> Image.Image:
    """``region`` (in ``source``'s pixels) cut out, bars upright, with a quiet margin.

    Scaled so that a module is about :data:`TARGET_MODULE_PX` pixels wide (never enlarged
    more than 3 times); ``module_px`` overrides the guess from the region's length.
    """
    module = module_px or region.module_guess
    scale = min(3.0, max(0.25, TARGET_MODULE_PX / max(module, 1e-3)))
    # Generous margins: the region's blocks stop where the bars' edges thin out, and the
    # engines need the quiet zones on both sides.
    half_len = region.length * 0.5 + max(12 * module, region.length * 0.15)
    half_h = max(region.height * 0.5 + 4 * module, region.length * 0.08)
    out_w = max(8, int(2 * half_len * scale))
    out_h = max(8, int(2 * half_h * scale))
    t = math.radians(region.angle)
    cos, sin = math.cos(t), math.sin(t)
    # Output (u, v) -> source (x, y): u runs across the bars, v along them.
    a, b = cos / scale, -sin / scale
    d, e = sin / scale, cos / scale
    c = region.cx - a * out_w / 2 - b * out_h / 2
    f = region.cy - d * out_w / 2 - e * out_h / 2
    return source.transform(
        (out_w, out_h),
        Image.Transform.AFFINE,
        (a, b, c, d, e, f),
        Image.Resampling.BICUBIC,
        fillcolor=255,
    )
