"""A seeded set of floor photos of our own bin labels (issue #18, docs/manual/decoding.md).

Every scene is one bin label, rendered by :mod:`kanban.barcodes.labels` for one of the label
presets, stuck on a bin face and photographed. A scene is drawn twice: as the 12-megapixel
photo a phone's camera app writes (4000 × 3000 JPEG) and as the 640 × 480 frame the live
camera sends (the same scene, shrunk, grey, JPEG quality 90 as ``scan-camera.js`` sends it).

Conditions (:data:`RANGES` states each range; ``describe_ranges`` prints them):

* distance: the label spans a sixth to two thirds of the frame's width;
* perspective: the label plane turned by up to 35 degrees away from the camera (seen through
  a phone-like lens, 65 degree horizontal field of view), and any in-plane rotation;
* blur: defocus (Gaussian) and motion blur (a straight streak in any direction), sized in
  modules of the barcode as it appears in the photo;
* light: uneven light (a gradient down to a third of the brightness) and a glare spot;
* JPEG quality 60 to 95 and sensor noise (a live frame's pixels average the sensor's: its
  noise is 0.4 of the photo's);
* bin face: the label on a curved bin face (a cylinder) and on a coloured one;
* wear: creases and partial dirt on the label.

Each condition is varied on its own (the others at a mild baseline: label a third of the
width, square on, up to 3 degrees of rotation, sharp, even light, JPEG 90, faint noise, a
grey flat face, a clean label) and in combination (``combined``: each condition present
with probability :data:`COMBINED_SHARE`, at a level drawn from its whole range). The set is a pure
function of its seed; files are written once into a cache folder and reused.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import random
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kanban.barcodes.labels import (  # noqa: E402
    PRESETS,
    LabelData,
    barcode_geometry,
    render_png,
)

__all__ = ["CONDITIONS", "RANGES", "Scene", "describe_ranges", "photo_set", "render"]

#: Bump when the drawing changes, so that cached files are drawn again.
GENERATOR_VERSION = 3
PHOTO_SIZE = (4000, 3000)
LIVE_SIZE = (640, 480)
LIVE_QUALITY = 90
#: Bump when the live frames' drawing changes (their files are named by it).
LIVE_VERSION = 3
#: The live frame's noise as a share of the photo's (see :func:`encode_live`).
LIVE_NOISE_SHARE = 0.4
#: Horizontal field of view of the simulated phone lens (a 26 mm-equivalent main camera).
FOV_DEG = 65.0

#: In a combined scene each condition is present with this probability (five of the eight
#: on average), each at a level drawn from its whole range.
COMBINED_SHARE = 0.6

CONDITIONS = (
    "distance",
    "perspective",
    "rotation",
    "blur",
    "light",
    "jpeg_noise",
    "bin_face",
    "wear",
)

RANGES = {
    "distance": "label width 1/6 to 2/3 of the frame width",
    "perspective": "label plane turned 0-35 degrees (about a random axis in the plane)",
    "rotation": "in-plane rotation 0-360 degrees",
    "blur": "defocus: Gaussian sigma 0-0.7 module; motion: streak 0-1.6 modules, any direction",
    "light": "light falling to 35-100 % across the frame; glare spot 10-40 % of the label "
    "width lifting up to 70 % of the way to white",
    "jpeg_noise": "JPEG quality 60-95; sensor noise sigma 2-12 grey levels (live frames: "
    "0.4 of it, as their pixels average the sensor's; JPEG 90)",
    "bin_face": "bin face curved (cylinder radius 0.6-3 label widths) and coloured "
    "(blue, red, yellow, green, black, grey)",
    "wear": "1-3 creases; 1-6 dirt smudges at 20-55 % opacity",
}

_FACES = {
    "blue": (38, 82, 160),
    "red": (170, 40, 36),
    "yellow": (222, 180, 30),
    "green": (40, 120, 60),
    "black": (35, 35, 38),
    "grey": (120, 122, 125),
}
_ITEMS = ("Hex bolt M8 zinc", "Cable tie 200 mm", "Washer M6", "Nitrile gloves L", "Fuse 5 A")


@dataclass(frozen=True)
class Scene:
    """Everything that decides one photo; ``condition`` names what was varied."""

    index: int
    condition: str
    preset: str
    code: str
    share: float = 1 / 3  # label width / frame width
    tilt: float = 0.0  # degrees the label plane is turned away from the camera
    tilt_axis: float = 0.0  # direction of the turning axis in the label plane, degrees
    roll: float = 0.0  # in-plane rotation, degrees
    defocus: float = 0.0  # Gaussian sigma, in modules
    motion: float = 0.0  # streak length, in modules
    motion_angle: float = 0.0
    light_low: float = 1.0  # darkest brightness of the light gradient
    light_angle: float = 0.0
    glare: float = 0.0  # how far the glare spot lifts towards white (0: none)
    glare_size: float = 0.2  # glare diameter / label width
    glare_at: tuple[float, float] = (0.5, 0.5)  # in the label, 0..1
    quality: int = 90
    noise: float = 2.0
    curve: float = 0.0  # cylinder radius in label widths (0: flat)
    face: str = "grey"
    creases: int = 0
    dirt: int = 0
    dirt_opacity: float = 0.0
    offset: tuple[float, float] = (0.0, 0.0)  # label centre from the frame centre, in frames
    seed: int = 0

    def key(self) -> str:
        """A file name that changes whenever anything about the scene changes."""
        blob = json.dumps([GENERATOR_VERSION, asdict(self)], sort_keys=True, default=str)
        digest = hashlib.sha1(blob.encode(), usedforsecurity=False).hexdigest()[:10]
        return f"{self.index:04d}-{self.condition}-{digest}"

    @property
    def pixels_per_module(self) -> float:
        """Module width in pixels of the 12 MP photo, square on."""
        preset = PRESETS[self.preset]
        geom = barcode_geometry(self.code, self.preset, preset.dpi)
        label_px = self.share * PHOTO_SIZE[0]
        return label_px * geom.module_dots / (preset.label_width_mm * preset.dpi / 25.4)


def _bin_code(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    shape = rng.randrange(4)
    if shape == 0:
        return f"{rng.choice(letters)}-{rng.randrange(1, 40):02d}-{rng.randrange(1, 12):02d}"
    if shape == 1:
        return f"{rng.choice(letters)}{rng.randrange(1, 99)}-{rng.randrange(1, 9)}"
    if shape == 2:
        return f"{rng.choice(letters)}{rng.choice(letters)}.{rng.randrange(1, 999):03d}"
    return f"R{rng.randrange(1, 20)}/{rng.choice(letters)}{rng.randrange(1, 30)}"


def _vary(base: Scene, condition: str, rng: random.Random) -> Scene:
    """``base`` with one condition drawn from its full range."""
    if condition == "distance":
        return replace(base, share=rng.uniform(1 / 6, 2 / 3))
    if condition == "perspective":
        return replace(base, tilt=rng.uniform(0, 35), tilt_axis=rng.uniform(0, 180))
    if condition == "rotation":
        return replace(base, roll=rng.uniform(0, 360))
    if condition == "blur":
        return replace(
            base,
            defocus=rng.uniform(0, 0.7),
            motion=rng.uniform(0, 1.6),
            motion_angle=rng.uniform(0, 180),
        )
    if condition == "light":
        return replace(
            base,
            light_low=rng.uniform(0.35, 1.0),
            light_angle=rng.uniform(0, 360),
            glare=rng.uniform(0.2, 0.7),
            glare_size=rng.uniform(0.1, 0.4),
            glare_at=(rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)),
        )
    if condition == "jpeg_noise":
        return replace(base, quality=rng.randrange(60, 96), noise=rng.uniform(2, 12))
    if condition == "bin_face":
        curve = rng.uniform(0.6, 3.0) if rng.random() < 0.7 else 0.0
        return replace(base, curve=curve, face=rng.choice(list(_FACES)))
    if condition == "wear":
        return replace(
            base,
            creases=rng.randrange(1, 4),
            dirt=rng.randrange(1, 7),
            dirt_opacity=rng.uniform(0.2, 0.55),
        )
    raise ValueError(condition)


def photo_set(seed: int = 18, per_condition: int = 25, combined: int = 120) -> list[Scene]:
    """The scenes: ``per_condition`` for each condition alone, then ``combined`` with all.

    Presets take turns, so every preset appears under every condition.
    """
    rng = random.Random(seed)
    presets = sorted(PRESETS)
    scenes: list[Scene] = []

    def base(condition: str) -> Scene:
        i = len(scenes)
        return Scene(
            index=i,
            condition=condition,
            preset=presets[i % len(presets)],
            code=_bin_code(rng),
            roll=rng.uniform(-3, 3),
            offset=(rng.uniform(-0.12, 0.12), rng.uniform(-0.12, 0.12)),
            seed=rng.randrange(1 << 30),
        )

    for condition in CONDITIONS:
        for _ in range(per_condition):
            scenes.append(_vary(base(condition), condition, rng))
    for _ in range(combined):
        scene = base("combined")
        for condition in CONDITIONS:
            if rng.random() < COMBINED_SHARE:
                scene = _vary(scene, condition, rng)
        scenes.append(replace(scene, condition="combined"))
    return scenes


def describe_ranges() -> list[str]:
    """One line per condition: its name and range."""
    return [f"{name}: {RANGES[name]}" for name in CONDITIONS]


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------


def _label(scene: Scene, width_px: float) -> np.ndarray:
    """The label as grey floats (paper ~0.93, ink ~0.1), at least ``width_px`` wide."""
    preset = PRESETS[scene.preset]
    natural = preset.label_width_mm * preset.dpi / 25.4
    # Up to twice the printer's dots per label pixel: the lens softens the edges anyway,
    # and a label drawn at 1200 dpi would make the set slow to draw.
    dpi = int(min(1200, max(preset.dpi, math.ceil(preset.dpi * width_px / natural / 2))))
    item = _ITEMS[scene.index % len(_ITEMS)]
    data = LabelData(scene.code, item, f"SKU-{scene.index}", "Aisle B", 5, 20, "Acme")
    img = Image.open(io.BytesIO(render_png(data, preset=scene.preset, dpi=dpi))).convert("L")
    rng = random.Random(scene.seed)
    paper, ink = rng.uniform(0.86, 0.97), rng.uniform(0.05, 0.18)
    return paper - (paper - ink) * (1.0 - np.asarray(img, dtype=np.float32) / 255.0)


def _wear(scene: Scene, lab: np.ndarray) -> np.ndarray:
    rng = random.Random(scene.seed + 1)
    h, w = lab.shape
    shade = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(shade)
    for _ in range(scene.dirt):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(0.02, 0.09) * w, rng.uniform(0.02, 0.09) * w
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=int(255 * scene.dirt_opacity))
    dirt = np.asarray(shade.filter(ImageFilter.GaussianBlur(w * 0.01)), np.float32) / 255
    lab = lab * (1 - dirt) + 0.35 * dirt
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(scene.creases):
        angle = math.radians(rng.uniform(0, 180))
        nx, ny = math.cos(angle), math.sin(angle)
        dist = (xx - rng.uniform(0, w)) * nx + (yy - rng.uniform(0, h)) * ny
        width = w * rng.uniform(0.004, 0.012)
        # A fold: a shadow on one side of the line, a highlight on the other.
        fold = np.exp(-((dist / width) ** 2))
        lab = lab * (1 - 0.3 * fold * (dist < 0)) + 0.25 * fold * (dist >= 0) * (1 - lab)
    return lab


def _curve(scene: Scene, lab: np.ndarray) -> np.ndarray:
    """The label wrapped round a cylinder (axis along the label's height), seen square on."""
    h, w = lab.shape
    radius = scene.curve * w
    half = w / 2
    span = radius * math.sin(min(half / radius, math.pi / 2 - 0.05))
    out_w = max(2, int(2 * span))
    x = np.linspace(-span, span, out_w, dtype=np.float32)
    u = radius * np.arcsin(np.clip(x / radius, -1, 1)) + half
    u = np.clip(u, 0, w - 1.001)
    i0 = u.astype(np.int32)
    frac = u - i0
    out = lab[:, i0] * (1 - frac) + lab[:, i0 + 1] * frac
    return out * (0.75 + 0.25 * np.cos(np.arcsin(np.clip(x / radius, -1, 1))))


def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 8 coefficients mapping ``dst`` points to ``src`` points (Pillow's PERSPECTIVE)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return np.linalg.solve(np.array(rows, float), np.array(rhs, float))


def _corners(scene: Scene, lab_w: int, lab_h: int, frame: tuple[int, int]) -> np.ndarray:
    """Where the label's corners land in the frame: a pinhole camera looking at the label."""
    fw, fh = frame
    focal = fw / 2 / math.tan(math.radians(FOV_DEG / 2))
    half_w, half_h = 1.0, lab_h / lab_w
    pts = np.array(
        [[-half_w, -half_h, 0], [half_w, -half_h, 0], [half_w, half_h, 0], [-half_w, half_h, 0]]
    )
    roll = math.radians(scene.roll)
    rz = np.array(
        [[math.cos(roll), -math.sin(roll), 0], [math.sin(roll), math.cos(roll), 0], [0, 0, 1]]
    )
    axis = math.radians(scene.tilt_axis)
    k = np.array([math.cos(axis), math.sin(axis), 0.0])
    t = math.radians(scene.tilt)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    tilt = np.eye(3) + math.sin(t) * kx + (1 - math.cos(t)) * kx @ kx
    pts = pts @ rz.T @ tilt.T
    # Distance so that the label, square on, spans `share` of the frame width.
    distance = focal * 2 / (scene.share * fw)
    cx = fw / 2 + scene.offset[0] * fw
    cy = fh / 2 + scene.offset[1] * fh
    z = pts[:, 2] + distance
    return np.stack([cx + focal * pts[:, 0] / z, cy + focal * pts[:, 1] / z], axis=1)


def _background(scene: Scene, frame: tuple[int, int]) -> Image.Image:
    rng = random.Random(scene.seed + 2)
    colour = _FACES[scene.face]
    small = Image.effect_noise((max(8, frame[0] // 40), max(6, frame[1] // 40)), 18)
    texture = small.resize(frame, Image.Resampling.BICUBIC)
    base = Image.new("RGB", frame, colour)
    grain = Image.merge("RGB", [texture] * 3)
    img = Image.blend(base, grain, 0.12)
    # The bin's rim: a darker band somewhere above or below the label.
    draw = ImageDraw.Draw(img)
    y = int(frame[1] * rng.choice([rng.uniform(0.02, 0.15), rng.uniform(0.85, 0.98)]))
    dark = tuple(int(c * 0.55) for c in colour)
    draw.rectangle((0, y, frame[0], y + frame[1] // 30), fill=dark)
    return img


def _motion_blur(region: Image.Image, length: float, angle: float) -> Image.Image:
    """A straight streak ``length`` pixels long at ``angle`` degrees: the region turned so
    that the streak runs along the rows, a running mean along them, turned back."""
    turned = region.rotate(angle, Image.Resampling.BILINEAR, expand=True)
    arr = np.asarray(turned, dtype=np.float32).reshape(turned.height, turned.width, -1)
    r = max(1, int(round(length / 2)))
    padded = np.pad(arr, ((0, 0), (r + 1, r), (0, 0)), mode="edge")
    c = np.cumsum(padded, axis=1)
    arr = (c[:, 2 * r + 1 :] - c[:, : -2 * r - 1]) / (2 * r + 1)
    back = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), region.mode).rotate(
        -angle, Image.Resampling.BILINEAR, expand=True
    )
    left = (back.width - region.width) // 2
    top = (back.height - region.height) // 2
    return back.crop((left, top, left + region.width, top + region.height))


def _warp_label(
    scene: Scene, frame: tuple[int, int]
) -> tuple[Image.Image, Image.Image, np.ndarray]:
    """The label turned and projected: (grey image, mask, corners in the frame), where the
    images cover the corners' bounding box, whose top-left corner is ``corners.min(0)``."""
    lab = _label(scene, scene.share * frame[0])
    if scene.creases or scene.dirt:
        lab = _wear(scene, lab)
    if scene.curve:
        lab = _curve(scene, lab)
    lab_h, lab_w = lab.shape
    dst = _corners(scene, lab_w, lab_h, frame)
    origin = np.floor(dst.min(axis=0)) - 4
    box = tuple(int(v) for v in np.ceil(dst.max(axis=0)) + 4 - origin)
    src = np.array([[0, 0], [lab_w, 0], [lab_w, lab_h], [0, lab_h]], float)
    lab_img = Image.fromarray(np.clip(lab * 255, 0, 255).astype(np.uint8))
    # Shrinking a big label in one step would alias its bars: bring it near its final size.
    shrink = max(1, int(lab_w / max(1.0, float(np.linalg.norm(dst[1] - dst[0]))) / 1.5))
    if shrink > 1:
        lab_img = lab_img.reduce(shrink)
    coeffs = tuple(_homography(src / shrink, dst - origin))
    # One transform for the label and its outline (the alpha band), bilinear: the label is
    # already near its final size.
    with_alpha = Image.merge("LA", [lab_img, Image.new("L", lab_img.size, 255)])
    warped = with_alpha.transform(
        box, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
    )
    grey, mask = warped.split()
    return grey, mask, dst


def _optics(scene: Scene, label: Image.Image, mask: Image.Image, module: float) -> Image.Image:
    """Motion blur, then defocus, of the projected label (grey and outline together, as
    premultiplied alpha, so that the label's edge bleeds into the bin face as it would)."""
    grey = np.asarray(label, dtype=np.float32)
    alpha = np.asarray(mask, dtype=np.float32) / 255
    pre = np.stack([grey * alpha, alpha * 255], axis=2).astype(np.uint8)
    img = Image.fromarray(pre, "LA")
    if scene.motion * module >= 1:
        img = _motion_blur(img, scene.motion * module, scene.motion_angle)
    if scene.defocus * module >= 0.3:
        img = img.filter(ImageFilter.GaussianBlur(scene.defocus * module))
    return img


def render(scene: Scene, frame: tuple[int, int] = PHOTO_SIZE) -> Image.Image:
    """The scene as an RGB image of ``frame`` pixels, before noise and JPEG."""
    warped, mask, dst = _warp_label(scene, frame)
    module = scene.pixels_per_module * frame[0] / PHOTO_SIZE[0]
    m = int(3 * module * max(scene.defocus, scene.motion) + 4)
    x0, y0 = (int(v) for v in np.floor(dst.min(axis=0)) - 4 - m)
    # Room round the label for the blur to spread into.
    padded = Image.new("L", (warped.width + 2 * m, warped.height + 2 * m), 0)
    padded_mask = padded.copy()
    padded.paste(warped, (m, m))
    padded_mask.paste(mask, (m, m))
    blurred = _optics(scene, padded, padded_mask, module)
    if scene.glare > 0:
        blurred = _glare(scene, blurred, dst - [x0, y0])
    img = _background(scene, frame)
    pre, alpha = blurred.split()
    # Premultiplied: grey = pre / alpha where the label covers the pixel.
    a = np.asarray(alpha, dtype=np.float32)
    grey = np.asarray(pre, dtype=np.float32) * 255 / np.maximum(a, 1)
    grey_img = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))
    img.paste(Image.merge("RGB", [grey_img] * 3), (x0, y0), alpha)
    return _light(scene, img)


def _light(scene: Scene, img: Image.Image) -> Image.Image:
    """Uneven light: brightness falling from 100 % to ``light_low`` across the frame."""
    if scene.light_low >= 0.999:
        return img
    small = (64, 48)
    yy, xx = np.mgrid[0 : small[1], 0 : small[0]].astype(np.float32)
    a = math.radians(scene.light_angle)
    ramp = (xx / small[0] - 0.5) * math.cos(a) + (yy / small[1] - 0.5) * math.sin(a)
    ramp = (ramp - ramp.min()) / max(1e-6, float(ramp.max() - ramp.min()))
    gain = (scene.light_low + (1 - scene.light_low) * ramp) * 255
    gain_img = Image.fromarray(gain.astype(np.uint8)).resize(img.size, Image.Resampling.BILINEAR)
    return ImageChops.multiply(img, Image.merge("RGB", [gain_img] * 3))


def _glare(scene: Scene, label: Image.Image, dst: np.ndarray) -> Image.Image:
    """A bright spot on the label, lifting it ``glare`` of the way to white at its centre
    (``label`` is premultiplied grey and alpha; ``dst`` its corners in its own pixels)."""
    gx, gy = scene.glare_at
    top = dst[0] + (dst[1] - dst[0]) * gx
    bottom = dst[3] + (dst[2] - dst[3]) * gx
    cx, cy = top + (bottom - top) * gy
    radius = max(1.0, scene.glare_size * float(np.linalg.norm(dst[1] - dst[0])) / 2)
    arr = np.asarray(label, dtype=np.float32)
    py, px = np.mgrid[0 : arr.shape[0], 0 : arr.shape[1]].astype(np.float32)
    spot = scene.glare * np.exp(-(((px - cx) ** 2 + (py - cy) ** 2) / radius**2) * 1.5)
    pre, alpha = arr[:, :, 0], arr[:, :, 1]
    arr[:, :, 0] = pre + (alpha - pre) * spot
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "LA")


def _noisy(img: Image.Image, sigma: float, seed: int) -> Image.Image:
    """Sensor noise: Gaussian, ``sigma`` grey levels, the same on the three channels."""
    rng = np.random.default_rng(seed)
    tile = np.clip(rng.normal(128, sigma, (509, 509)), 0, 255).astype(np.uint8)  # odd: no grid
    reps = (img.height // 509 + 1, img.width // 509 + 1)
    noise = Image.fromarray(np.tile(tile, reps)[: img.height, : img.width])
    if img.mode == "RGB":
        noise = Image.merge("RGB", [noise] * 3)
    return ImageChops.add(img, noise, scale=1.0, offset=-128)


def encode_photo(scene: Scene) -> bytes:
    """The 12 MP photo: the scene, sensor noise, JPEG at the scene's quality."""
    photo = _noisy(render(scene), scene.noise, scene.seed)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=scene.quality)
    return out.getvalue()


def encode_live(scene: Scene) -> bytes:
    """The live frame: the same scene through the same lens at 640 × 480, grey, JPEG 90.

    Each of its pixels averages a block of about 6 × 6 of the sensor's, so its noise is a
    fraction of the photo's: :data:`LIVE_NOISE_SHARE` of it (binning would give a sixth).
    """
    # Drawn three times as large and shrunk by averaging, as a sensor's pixels are binned:
    # drawn at 640 px directly, the bars would alias.
    big = (LIVE_SIZE[0] * 3, LIVE_SIZE[1] * 3)
    frame = render(scene, big).convert("L").reduce(3)
    frame = _noisy(frame, scene.noise * LIVE_NOISE_SHARE, scene.seed + 7)
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=LIVE_QUALITY)
    return out.getvalue()


def cached(scenes: list[Scene], folder: Path) -> Iterator[tuple[Scene, Path, Path]]:
    """Each scene with its photo and live frame, drawn into ``folder`` the first time."""
    folder.mkdir(parents=True, exist_ok=True)
    for scene in scenes:
        photo = folder / f"{scene.key()}.jpg"
        live = folder / f"{scene.key()}-live{LIVE_VERSION}.jpg"
        if not photo.exists():
            photo.write_bytes(encode_photo(scene))
        if not live.exists():
            live.write_bytes(encode_live(scene))
        yield scene, photo, live


DEFAULT_CACHE = Path(tempfile.gettempdir()) / "kanban-photoset"


def main(argv: list[str] | None = None) -> int:
    """Draw the whole set into the cache (``bench/decode.py`` does it too, when needed)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args(argv)
    scenes = photo_set(args.seed)
    for n, (scene, photo, _live) in enumerate(cached(scenes, args.cache), 1):
        print(f"{n}/{len(scenes)} {scene.condition} {photo.name}", file=sys.stderr)
    print("\n".join(describe_ranges()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
