"""``kanban labels``: write bin label files (docs/manual/spec.md §5, §8.2)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext

from .barcodes.labels import PRESETS
from .core.errors import ServiceError
from .domain.cards import CARD_STATES
from .labels import options as label_options
from .labels import rendering as label_files
from .labels import selection as label_service

#: Runs of at least this many labels show a progress bar (on standard error).
PROGRESS_FROM = 20


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _write(folder: Path, name: str, data: bytes, *, unique: bool) -> Path:
    """Write ``data`` to ``folder/name`` through a temporary file, so that a reader (or a
    print spooler watching the folder) never sees half a file. ``unique``: never replace
    an existing file; add ``-2``, ``-3`` … to the name instead."""
    target = folder / name
    if unique:
        stem, suffix, n = target.stem, target.suffix, 2
        while target.exists():
            target = folder / f"{stem}-{n}{suffix}"
            n += 1
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".labels-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


@click.command("labels")
@click.option("--zone", metavar="NAME", help="Only bins in this zone.")
@click.option("--supplier", metavar="NAME", help="Only bins of this supplier's items.")
@click.option(
    "--state",
    type=click.Choice([s.value for s in CARD_STATES]),
    help="Only bins whose card is in this state.",
)
@click.option(
    "--bins",
    "codes",
    metavar="CODE,CODE",
    help="Only these bins (comma-separated codes; inactive bins are included when named).",
)
@click.option(
    "--preset",
    type=click.Choice(list(PRESETS)),
    help="Label stock. Default: a4-3x8, or thermal-4x6 for zpl.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(label_options.FORMATS),
    default="pdf",
    show_default=True,
    help="pdf and zpl write one file; png and svg one file per bin.",
)
@click.option(
    "--dpi",
    type=int,
    help="zpl: the printer's resolution, 203 (default) or 300. "
    "png: image resolution (default: the preset's).",
)
@click.option(
    "--copies", type=int, default=1, show_default=True, help="Copies of each label (pdf, zpl)."
)
@click.option(
    "--start",
    type=int,
    default=1,
    show_default=True,
    help="pdf: first free position on the first sheet (1 = top left, row by row).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Folder for the files. Default: LABELS_DIR (KANBAN_LABELS_DIR, 'labels').",
)
@with_appcontext
def labels(
    zone: str | None,
    supplier: str | None,
    state: str | None,
    codes: str | None,
    preset: str | None,
    fmt: str,
    dpi: int | None,
    copies: int,
    start: int,
    out: Path | None,
) -> None:
    """Write bin labels: a PDF or ZPL file for the selection, or a PNG/SVG per bin.

    Without --zone, --supplier, --state or --bins every active bin gets a label. The
    paths of the files written are printed, one per line.
    """
    try:
        sel = label_service.selection(zone=zone, supplier=supplier, state=state, bins=codes)
        opts = label_options.options(fmt, preset=preset, dpi=dpi, copies=copies, start=start)
        found = label_service.select_labels(sel)
        total = label_options.label_count(len(found), opts)
        bar = click.progressbar(
            length=total,
            label=f"Rendering {total} labels",
            file=sys.stderr,
            hidden=total < PROGRESS_FROM,
        )
        with bar:

            def progress(done: int, _total: int) -> None:
                bar.update(done - bar.pos)

            files = label_files.render_files(found, opts, progress=progress)
    except ServiceError as exc:
        _fail(exc.message)
    # Everything is rendered before the first byte is written: an error leaves no files.
    folder = out if out is not None else Path(current_app.config["LABELS_DIR"])
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = [_write(folder, f.name, f.data, unique=not opts.per_file) for f in files]
    except OSError as exc:
        _fail(f"cannot write to {folder}: {exc.strerror or exc}")
    for path in written:
        click.echo(str(path))
    pages = "" if opts.per_file else f", {label_options.page_count(len(found), opts)} page(s)"
    click.echo(
        f"Wrote {total} label(s) for {sel.describe()}{pages}, {opts.preset}, {opts.fmt}.", err=True
    )
