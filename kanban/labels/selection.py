"""Which bins get labels (docs/manual/spec.md §5): a selection by zone, supplier, card state or
explicit bin codes, turned into :class:`~kanban.barcodes.labels.LabelData`.

The renderer (:mod:`kanban.barcodes.labels`) knows nothing about the database. The CLI
and the web views both go through this package (``selection``, ``options``,
``rendering``), so they select, check and name files the same way. Every check that can
fail runs before anything is rendered, and nothing here writes to the database or the
file system: callers decide where the bytes go.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..barcodes.labels import (
    LabelData,
)
from ..catalog.views import get_bin
from ..core.errors import ServiceError
from ..domain.cards import CARD_STATES
from ..domain.codes import is_valid_bin_code, normalise_bin_code
from ..extensions import db
from ..models import Bin, Item, Supplier, Zone

#: Bounds on what a person can ask for by typing codes (a scanner gun or a paste).
MAX_CODES = 5000
MAX_CODES_TEXT = 100_000
MAX_NAME = 200
_CODE_SPLIT = re.compile(r"[\s,;]+")


# --------------------------------------------------------------------------- selection


@dataclass(frozen=True)
class Selection:
    """Which bins get labels. Criteria combine (all must match); none means every bin.

    ``codes`` names bins explicitly; without it only active bins are selected.
    """

    zone: str | None = None
    supplier: str | None = None
    state: str | None = None
    codes: tuple[str, ...] = ()

    def describe(self) -> str:
        """The selection in words, for messages: "zone Aisle A, state replenish"."""
        parts = []
        if self.zone:
            parts.append(f"zone {self.zone}")
        if self.supplier:
            parts.append(f"supplier {self.supplier}")
        if self.state:
            parts.append(f"state {self.state}")
        if self.codes:
            n = len(self.codes)
            parts.append(f"{n} bin{'s' if n != 1 else ''} by code")
        return ", ".join(parts) or "all active bins"


def parse_codes(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """Bin codes typed or pasted as one text (commas, spaces, semicolons or new lines
    between them) or given as a list; normalised to upper case, duplicates dropped, in the
    order given. Raises ServiceError for a code that cannot exist."""
    if text is None:
        return ()
    raw = text if isinstance(text, str) else ",".join(text)
    if len(raw) > MAX_CODES_TEXT:
        raise ServiceError(
            "too_many_codes", f"The list of bin codes is longer than {MAX_CODES_TEXT:,} characters."
        )
    codes = [normalise_bin_code(c) for c in _CODE_SPLIT.split(raw) if c.strip()]
    bad = [c for c in codes if not is_valid_bin_code(c)]
    if bad:
        shown = ", ".join(repr(c[:20]) for c in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ServiceError("invalid_bin_code", f"Not a valid bin code: {shown}{more}.")
    unique = tuple(dict.fromkeys(codes))
    if len(unique) > MAX_CODES:
        raise ServiceError("too_many_codes", f"At most {MAX_CODES:,} bin codes at once.")
    return unique


def _name(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_NAME:
        raise ServiceError(
            f"invalid_{what}", f"The {what} name is longer than {MAX_NAME} characters."
        )
    # Names come from query strings and command lines; PostgreSQL refuses NUL in text.
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ServiceError(f"invalid_{what}", f"The {what} name contains control characters.")
    return value or None


def selection(
    *,
    zone: str | None = None,
    supplier: str | None = None,
    state: str | None = None,
    bins: str | Iterable[str] | None = None,
) -> Selection:
    """A :class:`Selection` from what a person typed or picked (empty means "any")."""
    state = (state or "").strip().lower() or None
    if state is not None and state not in CARD_STATES:
        raise ServiceError(
            "invalid_state",
            f"Unknown card state {state[:20]!r}: use one of {', '.join(CARD_STATES)}.",
        )
    return Selection(
        zone=_name(zone, "zone"),
        supplier=_name(supplier, "supplier"),
        state=state,
        codes=parse_codes(bins),
    )


def _by_name(model: type[Zone] | type[Supplier], name: str, what: str) -> int:
    """The id of the zone or supplier called ``name``: exact, else case-insensitive."""
    found = db.session.scalar(sa.select(model.id).where(model.name == name))
    if found is not None:
        return int(found)
    ids = list(
        db.session.scalars(
            sa.select(model.id).where(sa.func.lower(model.name) == name.lower()).limit(2)
        )
    )
    if len(ids) == 1:
        return int(ids[0])
    known = list(db.session.scalars(sa.select(model.name).order_by(model.name).limit(11)))
    hint = ", ".join(known[:10]) + (", …" if len(known) > 10 else "")
    raise ServiceError(
        f"unknown_{what}",
        f"No {what} is called {name!r}."
        + (f" Known: {hint}." if known else f" There are no {what}s yet."),
    )


def select_bins(sel: Selection) -> list[Bin]:
    """The selected bins with item, supplier and zone loaded, ordered by zone then code.

    Raises ServiceError when a zone, supplier or explicit code does not exist, or when
    nothing matches.
    """
    stmt = sa.select(Bin).options(
        joinedload(Bin.item).joinedload(Item.supplier), joinedload(Bin.zone)
    )
    if sel.zone is not None:
        stmt = stmt.where(Bin.zone_id == _by_name(Zone, sel.zone, "zone"))
    if sel.supplier is not None:
        supplier_id = _by_name(Supplier, sel.supplier, "supplier")
        items = sa.select(Item.id).where(Item.supplier_id == supplier_id)
        stmt = stmt.where(Bin.item_id.in_(items))
    if sel.state is not None:
        stmt = stmt.where(Bin.state == sel.state)
    if sel.codes:
        # Named bins are printed even if inactive: whoever typed the code wants that label.
        known = set(db.session.scalars(sa.select(Bin.code).where(Bin.code.in_(sel.codes))))
        missing = [c for c in sel.codes if c not in known]
        if missing:
            shown = ", ".join(missing[:10]) + (
                f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            )
            raise ServiceError("unknown_bin", f"No bin has the code {shown}.")
        stmt = stmt.where(Bin.code.in_(sel.codes))
    else:
        stmt = stmt.where(Bin.active.is_(True))
    found = list(db.session.scalars(stmt).unique())
    if not found:
        raise ServiceError("no_bins", f"No bins match this selection ({sel.describe()}).")
    # Sorted here, not in SQL: PostgreSQL's collation and SQLite's byte order disagree on
    # punctuation, and the same selection must print in the same order on both.
    found.sort(key=lambda b: (b.zone.name, b.code))
    return found


def label_data(b: Bin) -> LabelData:
    """What the label of bin ``b`` shows."""
    return LabelData(
        code=b.code,
        item_name=b.item.name,
        sku=b.item.sku,
        zone=b.zone.name,
        card_quantity=b.card_quantity,
        order_quantity=b.order_quantity,
        supplier=b.item.supplier.name,
        unit=b.item.unit,
    )


def select_labels(sel: Selection) -> list[LabelData]:
    """The labels of the selected bins, in print order (zone, then code)."""
    return [label_data(b) for b in select_bins(sel)]


def label_for_code(code: str) -> LabelData:
    """The label of one bin by its code (NotFound if there is none)."""
    if not is_valid_bin_code(normalise_bin_code(code)):
        raise ServiceError("invalid_bin_code", f"{code[:20]!r} is not a valid bin code.")
    return label_data(get_bin(code))


def zone_names() -> list[str]:
    """Every zone, in board order, for the selection form."""
    return list(db.session.scalars(sa.select(Zone.name).order_by(Zone.position, Zone.name)))


def supplier_names() -> list[str]:
    """Every supplier by name, for the selection form."""
    return list(db.session.scalars(sa.select(Supplier.name).order_by(Supplier.name)))
