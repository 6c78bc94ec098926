"""Suppliers, items, zones and bins as records: the checks, the versions, the audit trail,
deactivating and bringing back, and what open boards see (issue 14, point 1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from kanban.catalog.views import card_view, get_bin, resolve_scan
from kanban.core import audit
from kanban.core.actor import Actor
from kanban.core.errors import Conflict, FieldErrors, NotFound, ServiceError
from kanban.domain.statuses import AuditObject
from kanban.extensions import db
from kanban.masterdata import bin_records, imports, items, suppliers, zones
from kanban.models import Bin, Event, Item, Movement, RequestLine, Supplier, Zone
from kanban.stock.scanning import record_scan

SUPER = Actor(name="super", user_id=None, source="form")


def commit(value: Any) -> Any:
    db.session.commit()
    return value


def events_since(last: int) -> list[Event]:
    return list(db.session.scalars(sa.select(Event).where(Event.id > last).order_by(Event.id)))


def last_event() -> int:
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Event.id), 0))) or 0


def ids(make_bin: Callable[..., str], code: str = "A-1", **kwargs: Any) -> tuple[int, int, int]:
    """A bin made by the fixture; returns its (item id, zone id, supplier id)."""
    make_bin(code, **kwargs)
    b = get_bin(code)
    return b.item_id, b.zone_id, b.item.supplier_id


def test_a_supplier_is_created_with_its_fields_audited_at_version_one(app: Flask) -> None:
    sup = commit(
        suppliers.create_supplier(
            {
                "name": " Acme ",
                "email": "orders@acme.example",
                "contact": "Ann Smith",
                "lead_time_days": "5",
                "min_order_value": "150.50",
                "request_note": "Customer no. 4711 · deliver to gate 3",
            },
            SUPER,
        )
    )
    assert suppliers.supplier_record(sup) == {
        "id": sup.id,
        "name": "Acme",
        "email": "orders@acme.example",
        "contact": "Ann Smith",
        "phone": None,
        "lead_time_days": 5,
        "min_order_value": "150.50",
        "min_order_quantity": None,
        "request_note": "Customer no. 4711 · deliver to gate 3",
        "auto_send": False,
        "active": True,
        "version": 1,
    }
    (entry,) = audit.history(AuditObject.SUPPLIER, sup.id)
    assert (entry.actor, entry.action, entry.after["lead_time_days"]) == ("super", "created", 5)


def test_bad_fields_are_each_named_with_a_reason_and_nothing_is_written(app: Flask) -> None:
    with pytest.raises(FieldErrors) as caught:
        suppliers.create_supplier(
            {
                "name": "",
                "email": "not-an-address",
                "lead_time_days": "-3",
                "min_order_value": "1.234",
            },
            SUPER,
        )
    assert caught.value.errors == {
        "name": "Name is required.",
        "email": "Email is not an email address (name@example.com).",
        "lead_time_days": "Lead time (days) must be a whole number from 0 to 365.",
        "min_order_value": "Minimum order value must have at most 2 decimals.",
    }
    assert (caught.value.status, caught.value.code, caught.value.field) == (
        400,
        "invalid_field",
        "name",
    )
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Supplier.id))) == 0
    with pytest.raises(ServiceError) as unknown:
        suppliers.create_supplier({"name": "Acme", "lead_time_days": 3, "fax": "1"}, SUPER)
    assert unknown.value.code == "unknown_field"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"code": "A 1"}, "code"),
        ({"code": "*KB:MODE"}, "code"),
        ({"code": "B-1"}, "code"),  # taken
        ({"card_quantity": -1}, "card_quantity"),
        ({"order_quantity": 0}, "order_quantity"),
        ({"pull_quantity": True}, "pull_quantity"),
        ({"card_quantity": "1000001"}, "card_quantity"),
        ({"zone_id": 999}, "zone_id"),
    ],
)
def test_a_bin_keeps_a_unique_printable_code_and_sane_quantities(
    app: Flask, make_bin: Callable[..., str], values: dict[str, Any], field: str
) -> None:
    make_bin("A-1")
    make_bin("B-1")
    version = get_bin("A-1").record_version
    with pytest.raises(FieldErrors) as caught:
        bin_records.update_bin("A-1", values, version=version, actor=SUPER)
    assert list(caught.value.errors) == [field]
    db.session.rollback()
    assert get_bin("A-1").record_version == version


def test_the_second_of_two_edits_from_the_same_version_is_refused(
    app: Flask, make_bin: Callable[..., str]
) -> None:
    _, _, supplier_id = ids(make_bin)
    v = suppliers.get_supplier(supplier_id).record_version
    commit(
        suppliers.update_supplier(supplier_id, {"email": "a@acme.example"}, version=v, actor=SUPER)
    )
    with pytest.raises(Conflict) as caught:
        suppliers.update_supplier(
            supplier_id, {"email": "b@acme.example"}, version=v, actor=Actor(name="bob")
        )
    db.session.rollback()
    assert caught.value.status == 409 and caught.value.version == v + 1
    assert "changed by super at" in caught.value.message
    assert suppliers.get_supplier(supplier_id).email == "a@acme.example"


def test_scans_do_not_make_an_edit_conflict(app: Flask, make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=10, card=5)
    version = get_bin("A-1").record_version
    record_scan("A-1", "pull", 1, Actor(name="ana"), None)
    db.session.commit()
    b = commit(bin_records.update_bin("A-1", {"pull_quantity": 2}, version=version, actor=SUPER))
    assert (b.pull_quantity, b.record_version) == (2, version + 1)


def test_renaming_a_supplier_item_or_zone_shows_on_their_cards_at_once(
    app: Flask, make_bin: Callable[..., str]
) -> None:
    item_id, zone_id, supplier_id = ids(make_bin)
    make_bin("A-2", supplier="Other", zone="Dock")
    last = last_event()
    commit(suppliers.update_supplier(supplier_id, {"name": "Acme GmbH"}, version=1, actor=SUPER))
    commit(items.update_item(item_id, {"name": "M6 bolt", "unit": "box"}, version=1, actor=SUPER))
    commit(zones.update_zone(zone_id, {"name": "Line 1"}, version=1, actor=SUPER))
    v = card_view(get_bin("A-1").id)
    assert (v.supplier, v.item_name, v.unit, v.zone) == ("Acme GmbH", "M6 bolt", "box", "Line 1")
    changes = [(e.bin_code, e.data["change"]) for e in events_since(last)]
    assert [(code, c["cause"], c["edited"]) for code, c in changes] == [
        ("A-1", "edited", {"supplier": ["Acme Fasteners", "Acme GmbH"]}),
        ("A-1", "edited", {"name": ["Part in A-1", "M6 bolt"], "unit": ["ea", "box"]}),
        ("A-1", "edited", {"zone": ["Assembly line 1", "Line 1"]}),
    ]


def test_renaming_a_bin_keeps_its_ledger_and_boards_drop_the_old_card(
    app: Flask, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=10, card=5)
    record_scan("A-1", "pull", 2, Actor(name="ana"), None)
    db.session.commit()
    bin_id = get_bin("A-1").id
    last = last_event()
    b = commit(bin_records.update_bin("a-1", {"code": "c-09"}, version=1, actor=SUPER))
    assert (b.id, b.code, b.on_hand) == (bin_id, "C-09", 8)
    kinds = db.session.scalars(sa.select(Movement.kind).where(Movement.bin_id == bin_id))
    assert sorted(kinds) == ["initial", "pull"]
    with pytest.raises(NotFound):
        resolve_scan("A-1")
    assert resolve_scan("C-09").id == bin_id
    gone, shown = events_since(last)
    assert (gone.bin_code, gone.data["active"], gone.data["renamed_to"]) == ("A-1", False, "C-09")
    assert (shown.bin_code, shown.data["active"]) == ("C-09", True)
    (entry,) = audit.history(AuditObject.BIN, bin_id, limit=1)
    assert (entry.label, entry.before, entry.after) == ("C-09", {"code": "A-1"}, {"code": "C-09"})


def test_a_new_card_quantity_from_the_edit_form_re_checks_the_card(
    app: Flask, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=10, card=5)
    b = commit(bin_records.update_bin("A-1", {"card_quantity": "12"}, version=1, actor=SUPER))
    assert b.state == "replenish"
    (line,) = db.session.scalars(sa.select(RequestLine))
    assert line.reason == "card quantity 5 → 12 by super"


def test_a_bin_with_an_open_line_keeps_its_item(app: Flask, make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=4, card=5)  # below its card: a draft line
    make_bin("B-1")
    other = get_bin("B-1").item_id
    with pytest.raises(FieldErrors) as caught:
        bin_records.update_bin("A-1", {"item_id": other}, version=1, actor=SUPER)
    assert "has an open request line" in caught.value.errors["item_id"]


def test_a_new_bin_gets_its_opening_stock_and_flips_below_its_card(
    app: Flask, make_bin: Callable[..., str]
) -> None:
    item_id, zone_id, _ = ids(make_bin)
    b = commit(
        bin_records.new_bin(
            {
                "code": "n-1",
                "item_id": str(item_id),
                "zone_id": str(zone_id),
                "card_quantity": "5",
                "order_quantity": "10",
                "on_hand": "3",
            },
            SUPER,
        )
    )
    assert (b.code, b.on_hand, b.state, b.pull_quantity) == ("N-1", 3, "replenish", 1)
    record = bin_records.bin_record(b)
    assert (record["item_id"], record["zone_id"], record["version"]) == (item_id, zone_id, 1)
    (entry,) = audit.history(AuditObject.BIN, b.id)
    assert entry.after == {
        "code": "N-1",
        "item": "SKU-A-1",
        "zone": "Assembly line 1",
        "card_quantity": 5,
        "order_quantity": 10,
        "pull_quantity": 1,
        "on_hand": 3,
    }


def test_deactivating_goes_bins_first_then_items_then_the_supplier_and_back(
    app: Flask, make_bin: Callable[..., str]
) -> None:
    item_id, zone_id, supplier_id = ids(make_bin)
    for refuse in (
        lambda: suppliers.update_supplier(
            supplier_id, {"active": False}, version=None, actor=SUPER
        ),
        lambda: items.update_item(item_id, {"active": "0"}, version=None, actor=SUPER),
        lambda: zones.update_zone(zone_id, {"active": False}, version=None, actor=SUPER),
    ):
        with pytest.raises(ServiceError) as caught:
            refuse()
        assert (caught.value.code, caught.value.status) == ("in_use", 409)
        db.session.rollback()
    commit(bin_records.update_bin("A-1", {"active": False}, version=1, actor=SUPER))
    commit(items.update_item(item_id, {"active": False}, version=1, actor=SUPER))
    commit(zones.update_zone(zone_id, {"active": False}, version=1, actor=SUPER))
    commit(suppliers.update_supplier(supplier_id, {"active": False}, version=1, actor=SUPER))
    # Coming back goes the other way round.
    with pytest.raises(ServiceError, match="deactivated: bring the supplier back"):
        items.update_item(item_id, {"active": True}, version=None, actor=SUPER)
    db.session.rollback()
    with pytest.raises(ServiceError, match="which is deactivated: bring it back first"):
        bin_records.update_bin("A-1", {"active": True}, version=None, actor=SUPER)
    db.session.rollback()
    for bring_back in (
        lambda: suppliers.update_supplier(supplier_id, {"active": True}, version=None, actor=SUPER),
        lambda: items.update_item(item_id, {"active": True}, version=None, actor=SUPER),
        lambda: zones.update_zone(zone_id, {"active": True}, version=None, actor=SUPER),
        lambda: bin_records.update_bin("A-1", {"active": True}, version=None, actor=SUPER),
    ):
        commit(bring_back())
    assert get_bin("A-1").active is True
    record_scan("A-1", "pull", 1, Actor(name="ana"), None)  # its history went nowhere
    db.session.commit()
    assert len(audit.history(AuditObject.BIN, get_bin("A-1").id)) == 3  # created, off, on


def test_deactivated_records_cannot_be_chosen(app: Flask, make_bin: Callable[..., str]) -> None:
    item_id, _, supplier_id = ids(make_bin)
    dock = commit(zones.create_zone({"name": "Dock"}, SUPER))
    commit(zones.update_zone(dock.id, {"active": False}, version=1, actor=SUPER))
    with pytest.raises(FieldErrors) as caught:
        bin_records.update_bin("A-1", {"zone_id": dock.id}, version=1, actor=SUPER)
    assert caught.value.errors == {"zone_id": "Zone: Dock is deactivated."}
    db.session.rollback()
    other = commit(suppliers.create_supplier({"name": "Closed", "lead_time_days": 3}, SUPER))
    commit(suppliers.update_supplier(other.id, {"active": False}, version=1, actor=SUPER))
    with pytest.raises(FieldErrors) as caught:
        items.update_item(item_id, {"supplier_id": other.id}, version=1, actor=SUPER)
    assert caught.value.errors == {"supplier_id": "Supplier: Closed is deactivated."}
    db.session.rollback()
    sheet = (
        "code,sku,item_name,zone,supplier,supplier_email,on_hand,card_quantity,order_quantity\n"
        "Z-1,S-Z1,Part,Dock,Acme Fasteners,,5,2,10\n"
    )
    report = imports.import_bins(sheet, dry_run=True, actor=SUPER)
    assert report.errors == ["line 2: zone Dock is deactivated: bring it back first"]


def test_a_zone_goes_last_on_the_board_unless_given_an_order(app: Flask) -> None:
    a = commit(zones.create_zone({"name": "Aisle A"}, SUPER))
    b = commit(zones.create_zone({"name": "Aisle B", "position": ""}, SUPER))
    c = commit(zones.create_zone({"name": "Goods-in", "position": 0}, SUPER))
    assert [(z.name, z.position) for z in zones.list_zones()] == [
        ("Aisle A", 0),
        ("Goods-in", 0),
        ("Aisle B", 1),
    ]
    with pytest.raises(FieldErrors, match="exists already"):
        zones.update_zone(c.id, {"name": "Aisle B"}, version=1, actor=SUPER)
    assert a.record_version == b.record_version == 1


def test_an_item_keeps_a_unique_sku_and_orders_from_a_real_supplier(
    app: Flask, make_bin: Callable[..., str]
) -> None:
    _, _, supplier_id = ids(make_bin)
    base = {"sku": "SKU-A-1", "name": "Dup", "supplier_id": supplier_id}
    with pytest.raises(FieldErrors, match="exists already"):
        items.create_item(base, SUPER)
    db.session.rollback()
    with pytest.raises(FieldErrors) as caught:
        items.create_item(
            base | {"sku": "N", "supplier_id": 999, "manufacturer_barcode": "12ab"}, SUPER
        )
    assert set(caught.value.errors) == {"manufacturer_barcode"}  # checked before the supplier
    db.session.rollback()
    with pytest.raises(FieldErrors) as caught:
        items.create_item(base | {"sku": "N", "supplier_id": 999}, SUPER)
    assert caught.value.errors == {"supplier_id": "Supplier: no supplier has this id."}
    db.session.rollback()
    item = commit(items.create_item(base | {"sku": "N", "unit_cost": "0.1234"}, SUPER))
    assert items.item_record(item) | {"id": 0} == {
        "id": 0,
        "sku": "N",
        "name": "Dup",
        "supplier_id": supplier_id,
        "unit": "ea",
        "pack_multiple": 1,
        "supplier_part_number": None,
        "unit_cost": "0.1234",
        "manufacturer_barcode": None,
        "active": True,
        "supplier": "Acme Fasteners",
        "version": 1,
    }
    assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 2
    assert db.session.scalar(sa.select(sa.func.count(Zone.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Bin.id))) == 1


def test_a_supplier_name_is_one_name_whatever_its_case_unicode_form_or_spaces(
    app: Flask, make_bin: Callable[..., str]
) -> None:
    wurth = commit(
        suppliers.create_supplier({"name": "Würth Industrie", "lead_time_days": 3}, SUPER)
    )
    for twin in (
        "würth industrie",
        "WÜRTH  INDUSTRIE",
        "Ｗürth Industrie",
        "Wu\u0308rth Industrie",
    ):
        with pytest.raises(FieldErrors) as caught:
            suppliers.create_supplier({"name": twin, "lead_time_days": 3}, SUPER)
        assert caught.value.errors["name"].startswith("A supplier named Würth Industrie exists")
        db.session.rollback()
    other = commit(suppliers.create_supplier({"name": "Bolt & Co", "lead_time_days": 3}, SUPER))
    with pytest.raises(FieldErrors):
        suppliers.update_supplier(other.id, {"name": "würth industrie"}, version=1, actor=SUPER)
    db.session.rollback()
    # A supplier may change its own name's case.
    commit(suppliers.update_supplier(wurth.id, {"name": "WÜRTH Industrie"}, version=1, actor=SUPER))

    # A bin or a spreadsheet row naming it in another case orders from it: no second supplier.
    make_bin("A-1", supplier="würth industrie")
    sheet = (
        "code,sku,item_name,zone,supplier,supplier_email,on_hand,card_quantity,order_quantity\n"
        "A-1,SKU-A-1,Part in A-1,Assembly line 1,Würth industrie,,5,5,10\n"
        "N-1,S-N1,New part,Dock,würth INDUSTRIE,,5,2,10\n"
    )
    changes = {c.code: c for c in imports.preview(imports.parse(sheet))}
    assert not [what for what, *_ in changes["A-1"].changes if what == "supplier"]
    report = imports.import_bins(sheet, dry_run=False, actor=SUPER)
    assert report.ok, report.errors
    db.session.commit()
    names = list(db.session.scalars(sa.select(Supplier.name).order_by(Supplier.id)))
    assert names == ["WÜRTH Industrie", "Bolt & Co"]
    assert {b.item.supplier.name for b in db.session.scalars(sa.select(Bin))} == {"WÜRTH Industrie"}


@pytest.mark.parametrize(
    ("typed", "stored", "refused"),
    [
        ("12,50", "12.50", None),
        ("12,5", "12.5", None),
        ("0,125", None, "Minimum order value must have at most 2 decimals."),
        ("1,234", None, "Minimum order value 1,234 is ambiguous: write 1234 or 1.234."),
        ("1.234,50", None, "Minimum order value must be an amount such as 12.50 or 12,50."),
        ("12.50", "12.50", None),
    ],
)
def test_money_takes_a_decimal_comma_and_refuses_to_guess_a_thousands_one(
    app: Flask, typed: str, stored: str | None, refused: str | None
) -> None:
    values = {"name": "Acme", "lead_time_days": 3, "min_order_value": typed}
    if refused is None:
        sup = commit(suppliers.create_supplier(values, SUPER))
        assert str(sup.min_order_value) == stored
        return
    with pytest.raises(FieldErrors) as caught:
        suppliers.create_supplier(values, SUPER)
    assert caught.value.errors == {"min_order_value": refused}
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Supplier.id))) == 0
