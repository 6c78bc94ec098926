"""The product's enums as templates and JavaScript see them, from one place.

Templates compare with the enum members themselves (``req.status == RequestStatus.DRAFT``,
``current_user.role != Role.DISPLAY``). JavaScript reads :func:`vocabulary`, which
``templates/base.html`` writes into every page as a JSON data block (``#kanban-vocab``, data
that the CSP lets through because it never runs) and ``static/js/vocab.js`` parses once.
Nothing here defines a value: each one comes from :mod:`kanban.domain.statuses` or
:mod:`kanban.domain.cards`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from flask import Flask

from ..domain.cards import CardState
from ..domain.statuses import (
    EventKind,
    LineStatus,
    Mode,
    MovementKind,
    RequestStatus,
    Role,
    SentVia,
    Source,
)

#: Each enum under the name the vocabulary block gives it.
ENUMS: dict[str, type[StrEnum]] = {
    "card_states": CardState,
    "request_statuses": RequestStatus,
    "line_statuses": LineStatus,
    "movement_kinds": MovementKind,
    "modes": Mode,
    "sources": Source,
    "event_kinds": EventKind,
    "roles": Role,
    "sent_via": SentVia,
}


def vocabulary() -> dict[str, dict[str, str]]:
    """Every enum as ``{member name: value}``, e.g. ``{"card_states": {"STOCKED": "stocked", …}}``.

    JavaScript then reads ``CardState.STOCKED`` just as Python and the templates do.
    """
    return {key: {m.name: m.value for m in enum} for key, enum in ENUMS.items()}


def init_app(app: Flask) -> None:
    """Give every template ``vocabulary`` and the enum classes (``CardState``, ``Role`` …)."""
    names: dict[str, Any] = {enum.__name__: enum for enum in ENUMS.values()}
    names["vocabulary"] = vocabulary()

    @app.context_processor
    def _vocabulary() -> dict[str, Any]:
        return names
