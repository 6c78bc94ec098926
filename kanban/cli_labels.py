"""``kanban labels`` (placeholder; filled in by the labels issue)."""

from __future__ import annotations

import click


@click.command("labels")
def labels() -> None:
    """Write bin labels (not yet available)."""
    raise click.ClickException("labels are not available yet")
