"""Suppliers, items, zones and bins: creating and finding them, retiring a bin and
bringing it back."""

from __future__ import annotations

import sqlalchemy as sa

from ..cards import flow, lines
from ..catalog.views import card_view, get_bin
from ..core.actor import Actor
from ..core.errors import ServiceError
from ..core.tx import begin_write, lock_masterdata
from ..domain import cards
from ..domain.cards import CardState
from ..domain.codes import is_valid_bin_code, normalise_bin_code, suggest_bin_code
from ..domain.statuses import ChangeCause, RequestStatus, Source
from ..extensions import db
from ..models import Bin, Item, Supplier, Zone
from ..purchasing import mail, requests
from ..stock.scanning import set_initial


def supplier_named(name: str, *, email: str | None = None, lead_time_days: int = 7) -> Supplier:
    """The supplier with this name, created if missing."""
    sup = db.session.scalar(sa.select(Supplier).where(Supplier.name == name))
    if sup is None:
        sup = Supplier(name=name, email=email, lead_time_days=lead_time_days)
        db.session.add(sup)
        db.session.flush()
    return sup


def zone_named(name: str) -> Zone:
    """The zone with this name, created if missing."""
    zone = db.session.scalar(sa.select(Zone).where(Zone.name == name))
    if zone is None:
        count = db.session.scalar(sa.select(sa.func.count(Zone.id))) or 0
        zone = Zone(name=name, position=count)
        db.session.add(zone)
        db.session.flush()
    return zone


def create_bin(
    code: str,
    *,
    sku: str,
    item_name: str,
    zone: str,
    supplier: str,
    on_hand: int,
    card_quantity: int,
    order_quantity: int,
    pull_quantity: int = 1,
    pack_multiple: int = 1,
    supplier_email: str | None = None,
    lead_time_days: int = 7,
    manufacturer_barcode: str | None = None,
    actor: Actor | None = None,
) -> Bin:
    """A new bin (and its item, zone and supplier where new), with opening stock."""
    code = normalise_bin_code(code)
    if not is_valid_bin_code(code):
        raise ServiceError("invalid_bin_code", f"{code[:20]!r} is not a valid bin code.")
    if card_quantity < 0 or order_quantity < 1 or pull_quantity < 1 or pack_multiple < 1:
        raise ServiceError("invalid_quantity", "Card ≥ 0, order, pull and pack quantities ≥ 1.")
    if supplier_email is not None and not mail.valid_address(supplier_email):
        raise ServiceError("invalid_email", f"{supplier_email[:40]!r} is not an email address.")
    begin_write()
    lock_masterdata()
    if db.session.scalar(sa.select(Bin.id).where(Bin.code == code)):
        raise ServiceError("bin_exists", f"Bin {code} exists already.", 409)
    sup = supplier_named(supplier, email=supplier_email, lead_time_days=lead_time_days)
    item = db.session.scalar(sa.select(Item).where(Item.sku == sku))
    if item is None:
        item = Item(
            sku=sku,
            name=item_name,
            supplier_id=sup.id,
            pack_multiple=pack_multiple,
            manufacturer_barcode=manufacturer_barcode,
        )
        db.session.add(item)
    b = Bin(
        code=code,
        item=item,
        zone=zone_named(zone),
        on_hand=0,
        card_quantity=card_quantity,
        order_quantity=order_quantity,
        pull_quantity=pull_quantity,
        state=CardState.STOCKED,
    )
    db.session.add(b)
    db.session.flush()
    set_initial(b, on_hand, actor or Actor(name="setup", source=Source.FORM))
    return b


def set_bin_active(code: str, active: bool, actor: str) -> Bin:
    """Retire a bin (it leaves the board, scans of its label are refused, its history
    stays) or bring it back (its card is checked again: below the card it flips).

    A bin whose order is on its way cannot be retired: receive it or cancel the line
    first. An unsent draft line is taken off the draft, as a supervisor removing it would.
    """
    begin_write()
    b = get_bin(code)
    db.session.refresh(b, with_for_update=True)
    if b.active == active:
        return b
    line = lines.open_line(b.id)
    if not active and line is not None and line.request.status != RequestStatus.DRAFT:
        raise ServiceError(
            "order_on_its_way",
            f"Bin {b.code} has an order on its way: receive it or cancel the line first.",
            409,
        )
    b.active = active
    db.session.flush()
    v = card_view(b.id)
    if not active:
        # An unsent draft line comes off the draft, as a supervisor removing it would.
        event = cards.CardEvent.REMOVED if line is not None else None
        flow.apply(v, event, flow.Cause(ChangeCause.RETIRED, actor))
        if line is not None:
            requests.announce(line.request, actor=actor, change="removed", line=line.id, bin=b.code)
    else:
        event = cards.level_event(v.on_hand, v.card_quantity)
        flow.apply(v, event, flow.Cause(ChangeCause.BROUGHT_BACK, actor))
    db.session.refresh(b)
    return b


def invalid_codes() -> list[str]:
    """Codes stored before today's rules that break them (``Z/../A-01-01``, ``A/``): the
    server refuses to start while any is left (``kanban fix-codes`` renames them)."""
    found = db.session.scalars(sa.select(Bin.code).order_by(Bin.code))
    return [code for code in found if not is_valid_bin_code(code)]


def fix_invalid_codes(*, dry_run: bool = False) -> dict[str, str]:
    """Rename every bin whose code breaks the rules to the nearest free valid code; returns
    old → new. The ledger, lines and history follow (they point at the bin, not the code);
    the renamed bins' labels must be printed again."""
    begin_write()
    lock_masterdata()
    taken = set(db.session.scalars(sa.select(Bin.code)))
    renames: dict[str, str] = {}
    for old in invalid_codes():
        new = suggest_bin_code(old, taken)
        taken.add(new)
        renames[old] = new
    if not dry_run:
        for old, new in renames.items():
            db.session.execute(sa.update(Bin).where(Bin.code == old).values(code=new))
        db.session.flush()
    return renames
