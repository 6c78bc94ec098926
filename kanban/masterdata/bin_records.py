"""Bins as records, from the pages and the API: a new bin, and editing one (its code, item,
zone, card, order and pull quantity; retiring or bringing it back), audited and versioned.

What the card shows changes through :func:`kanban.cards.flow.apply`: with the level event
when the card quantity changed (the card may flip, open or withdraw its line), with no
event when only what it shows changed (a new code, zone or item).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ..cards import flow, lines
from ..catalog.views import bin_dict, card_view, get_bin, overdue_bin_ids
from ..core.actor import Actor
from ..core.errors import FieldErrors
from ..core.tx import begin_write
from ..domain import cards
from ..domain.cards import CardState
from ..domain.codes import is_valid_bin_code, normalise_bin_code
from ..domain.statuses import AuditObject, ChangeCause
from ..extensions import db
from ..models import Bin, Item, Zone
from ..stock.scanning import set_initial
from . import records
from .bins import bin_fields, set_bin_active
from .fields import Field, Kind, clean

FIELDS: dict[str, Field] = {
    "code": Field(
        "Code", Kind.BIN_CODE, required=True, limit=64, help="Printed on the label, e.g. A-01-03."
    ),
    "item_id": Field("Item", Kind.RECORD, required=True, low=1, high=999_999_999),
    "zone_id": Field("Zone", Kind.RECORD, required=True, low=1, high=999_999_999),
    "card_quantity": Field(
        "Card quantity",
        Kind.NUMBER,
        required=True,
        help="The card flips to Replenish when the stock falls below it.",
    ),
    "order_quantity": Field(
        "Order quantity",
        Kind.NUMBER,
        required=True,
        low=1,
        help="What one request line orders (rounded up to the item's pack multiple).",
    ),
    "pull_quantity": Field(
        "Pull quantity", Kind.NUMBER, required=True, low=1, help="What one scan takes."
    ),
    "on_hand": Field("On hand now", Kind.NUMBER, help="Booked as the bin's opening stock."),
    "active": Field("Active", Kind.SWITCH),
}
NEW_FIELDS = {k: f for k, f in FIELDS.items() if k != "active"}
EDIT_FIELDS = {k: f for k, f in FIELDS.items() if k != "on_hand"}
DEFAULTS: dict[str, Any] = {"pull_quantity": 1, "on_hand": 0}


def bin_record(b: Bin) -> dict[str, Any]:
    """The JSON form of a bin with its id, item and zone ids and its version."""
    card = bin_dict(b, overdue=b.id in overdue_bin_ids([b.id]))
    return card | {"id": b.id, "item_id": b.item_id, "zone_id": b.zone_id}


def _taken(code: str) -> str:
    return f"Bin {code} exists already: a bin code is on one label only."


def _item(item_id: int) -> Item:
    """The active item a bin is to hold, locked against deactivation."""
    item = db.session.get(Item, item_id, with_for_update={"read": True})
    if item is None:
        raise FieldErrors({"item_id": "Item: no item has this id."})
    if not item.active:
        raise FieldErrors({"item_id": f"Item: {item.sku} is deactivated."})
    return item


def _zone(zone_id: int) -> Zone:
    """The active zone a bin is to be in, locked against deactivation."""
    zone = db.session.get(Zone, zone_id, with_for_update={"read": True})
    if zone is None:
        raise FieldErrors({"zone_id": "Zone: no zone has this id."})
    if not zone.active:
        raise FieldErrors({"zone_id": f"Zone: {zone.name} is deactivated."})
    return zone


def new_bin(values: Mapping[str, Any], actor: Actor) -> Bin:
    """A new bin of an existing item in an existing zone, with its opening stock (a ledger
    movement); below its card quantity its card flips at once. Audited."""
    new = clean(NEW_FIELDS, DEFAULTS | dict(values), creating=True, what="bin")
    begin_write()
    records.unique(Bin, Bin.code, new["code"], None, "code", _taken(new["code"]))
    _item(new["item_id"])
    _zone(new["zone_id"])
    on_hand = new.pop("on_hand")
    b = Bin(**new, on_hand=0, state=CardState.STOCKED)
    db.session.add(b)
    records.flush_unique("code", _taken(new["code"]))
    set_initial(b, on_hand, actor)
    db.session.refresh(b)
    records.created(AuditObject.BIN, b, b.code, actor, bin_fields(b) | {"on_hand": on_hand})
    return b


def code_for_new_bin(text: str) -> str | None:
    """The bin code a scanned text would be as a new bin's (valid and free), else None."""
    code = normalise_bin_code(text)
    if not is_valid_bin_code(code):
        return None
    taken = db.session.scalar(sa.select(Bin.id).where(Bin.code == code))
    return None if taken is not None else code


def _check_references(b: Bin, new: dict[str, Any]) -> None:
    """A new code must be free, a new item and zone active; the item of a bin with an
    open request line stays (the line orders that item)."""
    errors: dict[str, str] = {}
    for check in (_check_code, _check_item, _check_zone):
        try:
            check(b, new)
        except FieldErrors as exc:
            errors |= exc.errors
    if errors:
        raise FieldErrors(errors)


def _check_code(b: Bin, new: dict[str, Any]) -> None:
    if new.get("code", b.code) != b.code:
        records.unique(Bin, Bin.code, new["code"], b.id, "code", _taken(new["code"]))


def _check_item(b: Bin, new: dict[str, Any]) -> None:
    if new.get("item_id", b.item_id) == b.item_id:
        return
    if lines.open_line(b.id) is not None:
        raise FieldErrors(
            {
                "item_id": f"Item: bin {b.code} has an open request line for its item: receive "
                "it or take it off the draft before the bin holds another item."
            }
        )
    _item(new["item_id"])


def _check_zone(b: Bin, new: dict[str, Any]) -> None:
    if new.get("zone_id", b.zone_id) != b.zone_id:
        _zone(new["zone_id"])


def update_bin(code: str, values: Mapping[str, Any], *, version: int | None, actor: Actor) -> Bin:
    """Change some fields of a bin (``active`` retires it or brings it back), if
    ``version`` is still its version. A new code keeps the bin's ledger and history; the
    card shows the change at once and a new card quantity re-checks it."""
    new = clean(EDIT_FIELDS, values, creating=False, what="bin")
    active = new.pop("active", None)
    begin_write()
    b = get_bin(code)
    db.session.refresh(b, with_for_update=True)
    records.check_version(AuditObject.BIN, b, version)
    _check_references(b, new)
    before = bin_fields(b)
    for k, v in new.items():
        setattr(b, k, v)
    records.flush_unique("code", _taken(b.code))
    db.session.refresh(b)  # the new item and zone
    after = bin_fields(b)
    if records.changed(AuditObject.BIN, b, b.code, actor, before, after):
        _announce(b, before, after, actor)
    if active is not None and active != b.active:
        set_bin_active(b.code, active, actor)
    return b


def _announce(b: Bin, before: dict[str, Any], after: dict[str, Any], actor: Actor) -> None:
    """The card of an edited bin: re-checked when its card quantity changed (a retired
    bin's is checked when it comes back), otherwise only shown anew."""
    db.session.flush()
    edited = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    detail: dict[str, Any] = {"edited": edited}
    if "code" in edited:
        detail["renamed_from"] = before["code"]
    v = card_view(b.id)
    event = None
    if "card_quantity" in edited and v.active:
        old, new = edited["card_quantity"]
        detail["reason"] = f"card quantity {old} → {new} by {actor.name}"
        event = cards.level_event(v.on_hand, v.card_quantity)
    flow.apply(v, event, flow.Cause(ChangeCause.EDITED, actor.name, detail=detail))


def bin_values(b: Bin) -> dict[str, Any]:
    """A bin's fields as its edit form shows them."""
    return {name: getattr(b, name) for name in EDIT_FIELDS if name != "active"}
