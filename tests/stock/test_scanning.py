"""Pull, receive, count, undo and the replenish cycle, on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from kanban.core.actor import Actor
from kanban.core.errors import ServiceError
from kanban.extensions import db
from kanban.models import Bin, Event, Movement, RequestLine, SupplierRequest
from kanban.purchasing import sending
from kanban.stock import check as ledger
from kanban.stock.scanning import MoveResult, record_scan, undo_scan

ANA = Actor(name="ana", user_id=1, station="Station 2", source="usb")
WINDOW = dt.timedelta(minutes=30)


@pytest.fixture(autouse=True)
def _ana(make_user: Callable[..., str]) -> None:
    make_user("ana")  # user id 1 in a fresh database


def scan(
    code: str,
    mode: str = "pull",
    qty: int | None = None,
    sid: str | None = None,
    actor: Actor = ANA,
) -> MoveResult:
    return record_scan(code, mode, qty, actor, sid)


def undo(sid: str, actor: Actor = ANA) -> MoveResult:
    result = undo_scan(sid, actor, own_only=True, window=WINDOW)
    db.session.commit()
    return result


def bin_(code: str) -> Bin:
    db.session.rollback()
    return db.session.scalar(sa.select(Bin).where(Bin.code == code))


def open_lines(code: str) -> list[RequestLine]:
    return list(
        db.session.scalars(
            sa.select(RequestLine).join(Bin).where(Bin.code == code, RequestLine.status == "open")
        )
    )


def test_pull_below_card_quantity_flips_card_once(make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=6, card=5)
    first = scan(code)
    assert (first.bin["on_hand"], first.bin["state"], first.flipped) == (5, "stocked", False)
    flip = scan(code)
    assert (flip.bin["on_hand"], flip.bin["state"], flip.flipped) == (4, "replenish", True)
    assert flip.request is not None and flip.request["status"] == "draft"
    later = scan(code, qty=3)
    assert later.bin["state"] == "replenish" and not later.flipped
    assert len(open_lines(code)) == 1


def test_reason_line_says_why(make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=5, card=5)
    result = scan(code, qty=2)
    assert result.bin["reason"].startswith("3 on hand < card 5 · since ")
    assert result.bin["reason"].endswith("pulled by ana at Station 2")


def test_lines_consolidate_in_one_draft_per_supplier(make_bin: Callable[..., str]) -> None:
    a = make_bin("A-1", on_hand=5, card=5, supplier="Acme")
    b = make_bin("B-1", on_hand=5, card=5, supplier="Acme")
    c = make_bin("C-1", on_hand=5, card=5, supplier="Other")
    ra, rb, rc = scan(a), scan(b), scan(c)
    assert ra.request == rb.request
    assert rc.request is not None and rc.request["id"] != ra.request["id"]
    assert db.session.scalar(sa.select(sa.func.count(SupplierRequest.id))) == 2


def test_line_quantity_is_rounded_up_to_pack_multiple(make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=5, card=5, order=22, pack=10)
    scan(code)
    assert [line.quantity for line in open_lines(code)] == [30]


def test_replayed_scan_id_moves_nothing_and_returns_first_result(
    make_bin: Callable[..., str],
) -> None:
    code = make_bin(on_hand=6, card=5)
    first = scan(code, qty=2, sid="scan-1")
    again = scan(code, qty=2, sid="scan-1")
    assert again.replayed and not first.replayed
    assert again.bin["on_hand"] == 4 == first.bin["on_hand"]
    assert again.flipped is True and again.request == first.request
    assert bin_(code).on_hand == 4
    assert (
        db.session.scalar(sa.select(sa.func.count(Movement.id)).where(Movement.kind == "pull")) == 1
    )


def test_pull_beyond_stock_goes_negative_and_flags_stockout(make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=2, card=5)
    result = record_scan(code, "pull", 5, ANA, None, confirm=True)  # it asks first
    assert result.bin["on_hand"] == -3
    assert result.bin["flags"]["stockout"] and result.bin["flags"]["count_needed"]


def test_count_lifting_stock_before_sending_withdraws_line(make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=5, card=5)
    scan(code)
    assert bin_(code).state == "replenish"
    result = scan(code, mode="count", qty=12)
    assert result.bin["state"] == "stocked" and result.bin["on_hand"] == 12
    assert open_lines(code) == []
    statuses = set(db.session.scalars(sa.select(RequestLine.status)))
    assert statuses == {"withdrawn"}
    # The emptied draft is gone, so a new flip opens a fresh draft.
    assert set(db.session.scalars(sa.select(SupplierRequest.status))) == {"cancelled"}


def test_undo_compensates_and_withdraws_draft_line(make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=5, card=5)
    scan(code, qty=2, sid="u-1")
    result = undo("u-1")
    assert result.bin["on_hand"] == 5 and result.bin["state"] == "stocked"
    assert open_lines(code) == []
    kinds = list(db.session.scalars(sa.select(Movement.kind).order_by(Movement.id)))
    assert kinds == ["initial", "pull", "undo"]
    again = undo("u-1")
    assert again.replayed and bin_(code).on_hand == 5


def test_operator_cannot_undo_someone_elses_scan(make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=9, card=5)
    scan(code, sid="x-1")
    ben = Actor(name="ben", user_id=2)
    with pytest.raises(ServiceError) as err:
        undo("x-1", ben)
    assert err.value.status == 403
    db.session.rollback()
    assert bin_(code).on_hand == 8


def test_send_then_partial_then_full_receipt(make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=5, card=5, order=10)
    req_id = scan(code).request["id"]  # type: ignore[index]
    sending.mark_sent(req_id)
    db.session.commit()
    assert bin_(code).state == "ordered"
    pulled = scan(code)  # pulls while ordered add nothing
    assert pulled.bin["state"] == "ordered" and len(open_lines(code)) == 1
    part = scan(code, mode="receive", qty=4)
    assert part.bin["state"] == "ordered" and part.bin["on_hand"] == 7
    rest = scan(code, mode="receive")  # defaults to what is still open: 6
    assert rest.quantity == 6 and rest.bin["on_hand"] == 13
    assert rest.bin["state"] == "stocked" and rest.flipped
    assert db.session.get(SupplierRequest, req_id).status == "received"


def test_full_receipt_still_below_card_starts_new_cycle(make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=5, card=20, order=5)
    first = scan(code)
    sending.mark_sent(first.request["id"])  # type: ignore[index]
    db.session.commit()
    result = scan(code, mode="receive")
    assert result.bin["on_hand"] == 9 and result.bin["state"] == "replenish"
    assert result.request is not None and result.request["id"] != first.request["id"]  # type: ignore[index]
    assert len(open_lines(code)) == 1


def test_next_flip_after_send_opens_new_draft(make_bin: Callable[..., str]) -> None:
    a = make_bin("A-1", on_hand=5, card=5)
    b = make_bin("B-1", on_hand=5, card=5)
    first = scan(a)
    sending.mark_sent(first.request["id"])  # type: ignore[index]
    db.session.commit()
    second = scan(b)
    assert second.request["status"] == "draft"  # type: ignore[index]
    assert second.request["id"] != first.request["id"]  # type: ignore[index]


def test_receive_without_open_line_needs_quantity(make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=8, card=5)
    with pytest.raises(ServiceError) as err:
        scan(code, mode="receive")
    assert err.value.code == "quantity_required"
    assert bin_(code).on_hand == 8


def test_count_needs_quantity_and_zero_is_allowed(make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=8, card=5)
    with pytest.raises(ServiceError):
        scan(code, mode="count")
    assert scan(code, mode="count", qty=0).bin["on_hand"] == 0


def test_a_count_of_any_value_clears_count_needed_and_a_count_of_0_leaves_a_stockout(
    make_bin: Callable[..., str],
) -> None:
    code = make_bin(on_hand=2, card=5)
    below = record_scan(code, "pull", 5, ANA, None, confirm=True)
    assert below.bin["flags"] == {"stockout": True, "overdue": False, "count_needed": True}
    counted = scan(code, mode="count", qty=0).bin
    assert counted["on_hand"] == 0
    assert counted["flags"] == {"stockout": True, "overdue": False, "count_needed": False}
    assert scan(code, mode="count", qty=7).bin["flags"]["stockout"] is False
    # Pulled to exactly 0 the shelf and the ledger still agree: a stockout, no count.
    empty = scan(code, qty=7).bin
    assert empty["on_hand"] == 0 and empty["flags"]["count_needed"] is False


def test_every_change_appends_an_event(make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=6, card=5)
    before = db.session.scalar(sa.select(sa.func.max(Event.id)))
    scan(code)
    scan(code)
    kinds = list(db.session.scalars(sa.select(Event.kind).where(Event.id > before)))
    assert kinds == ["bin.changed", "bin.changed"]


def test_scan_by_manufacturer_barcode_and_sku(make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=9, card=5, barcode="0036000291452", sku="SKU-X")
    assert scan("036000291452").bin["code"] == code  # UPC-A 12 digits = EAN-13 form
    assert scan("SKU-X").bin["code"] == code
    assert scan("a-01-01").bin["code"] == code  # typed in lower case


def test_ambiguous_product_barcode_is_refused(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", sku="SAME", barcode="4006381333931")
    catalog_sku = "SAME"
    from kanban.masterdata import bins as catalog

    catalog.create_bin(
        "A-2",
        sku=catalog_sku,
        item_name="x",
        zone="Z",
        supplier="Acme",
        on_hand=5,
        card_quantity=1,
        order_quantity=1,
    )
    db.session.commit()
    with pytest.raises(ServiceError) as err:
        scan("4006381333931")
    assert err.value.code == "ambiguous_code"


@pytest.mark.ledger_broken
def test_check_finds_stock_that_disagrees_with_ledger(make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=9, card=5)
    assert ledger.check() == []
    db.session.execute(sa.update(Bin).where(Bin.code == code).values(on_hand=100))
    db.session.commit()
    problems = [str(p) for p in ledger.check()]
    assert problems == [f"{code}: on hand 100 but ledger sums to 9"]


@pytest.mark.ledger_broken
def test_check_finds_card_state_without_line(make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=9, card=5)
    db.session.execute(sa.update(Bin).where(Bin.code == code).values(state="ordered"))
    db.session.commit()
    assert len(ledger.check()) == 1
