"""Bins set up by name (tests, set-up scripts): a bin with its item, zone and supplier
found or created; retiring a bin and bringing it back (also for the pages and the API).
Forms and the API create and edit bins through :mod:`.bin_records`."""

from __future__ import annotations

import sqlalchemy as sa

from ..cards import flow, lines
from ..catalog.views import card_view, get_bin
from ..core.actor import Actor, as_actor
from ..core.errors import ServiceError
from ..core.tx import begin_write, lock_masterdata
from ..domain import cards
from ..domain.cards import CardState
from ..domain.codes import is_valid_bin_code, normalise_bin_code, suggest_bin_code
from ..domain.statuses import AuditAction, AuditObject, ChangeCause, RequestStatus, Source
from ..extensions import db
from ..models import Bin, Item, Supplier, Zone
from ..purchasing import mail, requests
from ..stock.scanning import set_initial
from . import records

SETUP = Actor(name="setup", source=Source.FORM)


def supplier_named(
    name: str, *, email: str | None = None, lead_time_days: int = 7, actor: Actor = SETUP
) -> Supplier:
    """The supplier with this name (whatever its case, Unicode form or spaces), created (and
    audited) if missing."""
    sup = db.session.scalar(sa.select(Supplier).where(Supplier.name == name))
    if sup is None and (same := records.same_name(Supplier, Supplier.name, name)) is not None:
        sup = db.session.scalar(sa.select(Supplier).where(Supplier.name == same))
    if sup is None:
        sup = Supplier(name=name, email=email, lead_time_days=lead_time_days)
        db.session.add(sup)
        db.session.flush()
        fields = {"name": name, "email": email, "lead_time_days": lead_time_days}
        records.created(AuditObject.SUPPLIER, sup, name, actor, fields)
    return sup


def zone_named(name: str, *, actor: Actor = SETUP) -> Zone:
    """The zone with this name, created (and audited) if missing."""
    zone = db.session.scalar(sa.select(Zone).where(Zone.name == name))
    if zone is None:
        count = db.session.scalar(sa.select(sa.func.count(Zone.id))) or 0
        zone = Zone(name=name, position=count)
        db.session.add(zone)
        db.session.flush()
        records.created(AuditObject.ZONE, zone, name, actor, {"name": name, "position": count})
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
    """A new bin (and its item, zone and supplier where new), with opening stock; each
    new record is audited."""
    who = actor or SETUP
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
    sup = supplier_named(supplier, email=supplier_email, lead_time_days=lead_time_days, actor=who)
    item = db.session.scalar(sa.select(Item).where(Item.sku == sku))
    if item is None:
        item = _new_item(sku, item_name, sup, pack_multiple, manufacturer_barcode, who)
    b = Bin(
        code=code,
        item=item,
        zone=zone_named(zone, actor=who),
        on_hand=0,
        card_quantity=card_quantity,
        order_quantity=order_quantity,
        pull_quantity=pull_quantity,
        state=CardState.STOCKED,
    )
    db.session.add(b)
    db.session.flush()
    set_initial(b, on_hand, who)
    records.created(AuditObject.BIN, b, code, who, bin_fields(b) | {"on_hand": on_hand})
    return b


def bin_fields(b: Bin) -> dict[str, object]:
    """A bin's master data as the audit trail records it."""
    return {
        "code": b.code,
        "item": b.item.sku,
        "zone": b.zone.name,
        "card_quantity": b.card_quantity,
        "order_quantity": b.order_quantity,
        "pull_quantity": b.pull_quantity,
    }


def _new_item(
    sku: str, name: str, sup: Supplier, pack: int, barcode: str | None, actor: Actor
) -> Item:
    item = Item(
        sku=sku, name=name, supplier_id=sup.id, pack_multiple=pack, manufacturer_barcode=barcode
    )
    db.session.add(item)
    db.session.flush()
    fields = {"sku": sku, "name": name, "supplier": sup.name, "pack_multiple": pack}
    records.created(AuditObject.ITEM, item, sku, actor, fields)
    return item


def set_bin_active(
    code: str, active: bool, actor: Actor | str, *, version: int | None = None
) -> Bin:
    """Retire a bin (it leaves the board, scans of its label are refused, its history
    stays) or bring it back (its card is checked again: below the card it flips).

    A bin whose order is on its way cannot be retired: receive it or cancel the line
    first. An unsent draft line is taken off the draft, as a supervisor removing it would.
    A bin comes back only with an active item and zone. ``version``: the record version
    the change started from (a conflict when it is not the bin's).
    """
    who = as_actor(actor)
    begin_write()
    b = get_bin(code)
    db.session.refresh(b, with_for_update=True)
    records.check_version(AuditObject.BIN, b, version)
    if b.active == active:
        return b
    if active and not (b.item.active and b.zone.active):
        what = f"item {b.item.sku}" if not b.item.active else f"zone {b.zone.name}"
        raise ServiceError(
            "inactive_parent",
            f"Bin {b.code} uses {what}, which is deactivated: bring it back first.",
            409,
        )
    line = lines.open_line(b.id)
    if not active and line is not None and line.request.status != RequestStatus.DRAFT:
        raise ServiceError(
            "order_on_its_way",
            f"Bin {b.code} has an order on its way: receive it or cancel the line first.",
            409,
        )
    b.active = active
    action = AuditAction.REACTIVATED if active else AuditAction.DEACTIVATED
    records.changed(
        AuditObject.BIN, b, b.code, who, {"active": not active}, {"active": active}, action=action
    )
    db.session.flush()
    v = card_view(b.id)
    if not active:
        # An unsent draft line comes off the draft, as a supervisor removing it would.
        event = cards.CardEvent.REMOVED if line is not None else None
        flow.apply(v, event, flow.Cause(ChangeCause.RETIRED, who.name))
        if line is not None:
            requests.announce(
                line.request, actor=who.name, change="removed", line=line.id, bin=b.code
            )
    else:
        event = cards.level_event(v.on_hand, v.card_quantity)
        flow.apply(v, event, flow.Cause(ChangeCause.BROUGHT_BACK, who.name))
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
