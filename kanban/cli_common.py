"""What the ``kanban`` commands share: failing with a message, and who runs them."""

from __future__ import annotations

import getpass
import sys
from typing import NoReturn

import click

from .core.actor import Actor
from .domain.statuses import Source


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``Error: message`` to standard error and exit with ``code``."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def cli_actor(source: str = Source.CLI) -> Actor:
    """Who runs a command, for the ledger and the audit trail: the system user."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        name = "unknown"
    return Actor(name=f"cli:{name}"[:64], source=source)
