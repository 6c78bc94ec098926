"""Quantities in different units are never one number: 12 pieces and 4 bags are "12 ea + 4
bag", not 16."""

from __future__ import annotations

from collections.abc import Iterable


def by_unit(lines: Iterable[tuple[int, str]]) -> tuple[tuple[str, int], ...]:
    """(unit, total) for each unit of ``lines`` (quantity, unit), in the order they come."""
    totals: dict[str, int] = {}
    for quantity, unit in lines:
        totals[unit] = totals.get(unit, 0) + quantity
    return tuple(totals.items())


def by_unit_text(totals: Iterable[tuple[str, int]]) -> str:
    """``12 ea + 4 bag`` (``0`` when there is nothing)."""
    return " + ".join(f"{quantity} {unit}" for unit, quantity in totals) or "0"
