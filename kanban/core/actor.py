"""Who made a change, and from where: written into the ledger and the feed."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.statuses import Source


@dataclass(frozen=True)
class Actor:
    """Who made a change, from where."""

    name: str = ""
    user_id: int | None = None
    token_id: int | None = None
    station: str | None = None
    source: str = Source.API


#: Changes made on the server itself (the command line, set-up) when no one is named.
SYSTEM = Actor(name="system", source=Source.CLI)


def as_actor(who: Actor | str) -> Actor:
    """``who`` as an :class:`Actor` (callers that only know a name pass the name)."""
    return who if isinstance(who, Actor) else Actor(name=who)
