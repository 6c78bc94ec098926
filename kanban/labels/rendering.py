"""Label files (docs/manual/spec.md §5): one file per bin (PNG, SVG) or one per selection
(PDF, ZPL), named the same way by the CLI and the web."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..barcodes.labels import (
    ZPL_DPIS,
    LabelData,
    LabelError,
    render_pdf,
    render_png,
    render_svg,
    render_zpl,
)
from ..core.errors import ServiceError
from .options import MIMETYPES, RenderOptions


@dataclass(frozen=True)
class LabelFile:
    """One rendered file: its name (no folder), content and media type."""

    name: str
    data: bytes
    mimetype: str


def file_stem(code: str) -> str:
    """A bin code as a file name: ``/`` becomes ``%2F`` (no other code character needs it,
    and ``%`` is not a code character, so two bins never share a file name)."""
    return code.replace("/", "%2F")


def _rendered(fn: Callable[[], bytes | str]) -> bytes:
    try:
        data = fn()
    except LabelError as exc:
        raise ServiceError("label_error", str(exc)) from None
    return data.encode("utf-8") if isinstance(data, str) else data


def render_label(label: LabelData, opts: RenderOptions) -> LabelFile:
    """One bin's label as PNG or SVG."""
    if opts.fmt == "png":
        data = _rendered(lambda: render_png(label, preset=opts.preset, dpi=opts.dpi))
    elif opts.fmt == "svg":
        data = _rendered(lambda: render_svg(label, preset=opts.preset))
    else:
        raise ServiceError(
            "invalid_format", f"{opts.fmt} is made for a whole selection, not one bin."
        )
    return LabelFile(f"{file_stem(label.code)}.{opts.fmt}", data, MIMETYPES[opts.fmt])


def sheet_name(opts: RenderOptions, now: dt.datetime | None = None) -> str:
    """``labels-<preset>[-<dpi>dpi]-<UTC timestamp>.<fmt>`` for a PDF or ZPL file."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
    dpi = f"-{opts.dpi}dpi" if opts.fmt == "zpl" else ""
    return f"labels-{opts.preset}{dpi}-{stamp}.{opts.fmt}"


def render_sheet(
    labels: Sequence[LabelData],
    opts: RenderOptions,
    *,
    progress: Callable[[int, int], None] | None = None,
    now: dt.datetime | None = None,
) -> LabelFile:
    """A selection's labels as one PDF or ZPL file.

    ``progress(done, total)`` is called as PDF labels are placed.
    """
    if opts.fmt == "pdf":
        data = _rendered(
            lambda: render_pdf(
                labels,
                preset=opts.preset,
                copies=opts.copies,
                start_position=opts.start,
                progress=progress,
            )
        )
    elif opts.fmt == "zpl":
        dpi = opts.dpi or ZPL_DPIS[0]
        data = _rendered(
            lambda: render_zpl(labels, preset=opts.preset, dpi=dpi, copies=opts.copies)
        )
        if progress is not None:
            progress(len(labels) * opts.copies, len(labels) * opts.copies)
    else:
        raise ServiceError("invalid_format", f"{opts.fmt} gives one file per bin.")
    return LabelFile(sheet_name(opts, now), data, MIMETYPES[opts.fmt])


def render_files(
    labels: Sequence[LabelData],
    opts: RenderOptions,
    *,
    progress: Callable[[int, int], None] | None = None,
    now: dt.datetime | None = None,
) -> list[LabelFile]:
    """Every file for a selection: one PDF/ZPL, or one PNG/SVG per bin.

    All files are rendered (and so every error raised) before any is returned.
    """
    if not labels:
        raise ServiceError("no_bins", "No labels to print.")
    if not opts.per_file:
        return [render_sheet(labels, opts, progress=progress, now=now)]
    files = []
    for i, label in enumerate(labels, 1):
        files.append(render_label(label, opts))
        if progress is not None:
            progress(i, len(labels))
    return files
