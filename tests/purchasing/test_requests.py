"""Reviewing, marking sent, receiving and measuring supplier requests (no email here)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from kanban.cards import lines
from kanban.core.actor import Actor
from kanban.core.errors import ServiceError
from kanban.extensions import db
from kanban.models import Bin, Item, Movement, RequestLine, SupplierRequest
from kanban.purchasing import documents as request_docs
from kanban.purchasing import requests, review, sending, suppliers
from kanban.stock import check as ledger
from kanban.stock.scanning import MoveResult, record_scan

ANA = Actor(name="ana", station="Station 2", source="usb")


def scan(
    code: str,
    mode: str = "pull",
    qty: int | None = None,
    confirm: bool = False,
    sid: str | None = None,
) -> MoveResult:
    return record_scan(code, mode, qty, ANA, sid, confirm=confirm)


def bin_(code: str) -> Bin:
    db.session.rollback()
    found = db.session.scalar(sa.select(Bin).where(Bin.code == code))
    assert found is not None
    return found


def req_of(request_id: int) -> SupplierRequest:
    db.session.rollback()
    found = db.session.get(SupplierRequest, request_id)
    assert found is not None
    return found


def flip(code: str) -> tuple[int, int]:
    """Pull the bin below its card; returns (request id, line id)."""
    result = scan(code)
    assert result.flipped and result.request is not None
    line = lines.open_line(bin_(code).id)
    assert line is not None
    return int(result.request["id"]), line.id


def send(request_id: int, **kwargs: object) -> SupplierRequest:
    req = sending.mark_sent(request_id, **kwargs)  # type: ignore[arg-type]
    db.session.commit()
    return req


# ----------------------------------------------------------------- draft review


def test_supervisor_edits_a_draft_line_quantity(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=5, card=5, order=10)
    req_id, line_id = flip("A-1")
    review.update_line_quantity(req_id, line_id, 25, actor="sam")
    db.session.commit()
    assert req_of(req_id).lines[0].quantity == 25
    assert requests.totals(req_of(req_id)).quantity == 25


@pytest.mark.parametrize(
    ("qty", "code"),
    [
        (0, "invalid_quantity"),
        (-4, "invalid_quantity"),
        (2_000_000, "invalid_quantity"),
        (True, "invalid_quantity"),
        (15, "not_pack_multiple"),
    ],
)
def test_bad_line_quantity_is_refused_and_changes_nothing(
    make_bin: Callable[..., str], qty: int, code: str
) -> None:
    make_bin("A-1", on_hand=5, card=5, order=20, pack=10)
    req_id, line_id = flip("A-1")
    with pytest.raises(ServiceError) as err:
        review.update_line_quantity(req_id, line_id, qty)
    assert err.value.code == code
    if code == "not_pack_multiple":
        assert "packs of 10" in err.value.message and "20 or 10" in err.value.message
    assert req_of(req_id).lines[0].quantity == 20


def test_sent_request_lines_cannot_be_edited_or_removed(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=5, card=5, order=10)
    req_id, line_id = flip("A-1")
    send(req_id)
    for change in (
        lambda: review.update_line_quantity(req_id, line_id, 20),
        lambda: review.remove_line(req_id, line_id),
    ):
        with pytest.raises(ServiceError) as err:
            change()
        assert err.value.code == "not_draft" and err.value.status == 409
        db.session.rollback()
    assert req_of(req_id).lines[0].quantity == 10


def test_line_of_another_request_is_not_found(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=5, card=5)
    req_id, line_id = flip("A-1")
    with pytest.raises(ServiceError) as err:
        review.update_line_quantity(req_id + 1, line_id, 5)
    assert err.value.status == 404


def test_removing_a_line_puts_the_card_on_hold_until_the_next_pull(
    make_bin: Callable[..., str],
) -> None:
    make_bin("A-1", on_hand=5, card=5)
    make_bin("B-1", on_hand=5, card=5)
    req_id, line_a = flip("A-1")
    flip("B-1")
    review.remove_line(req_id, line_a, actor="sam")
    db.session.commit()
    a = bin_("A-1")
    assert (a.state, a.on_hand) == ("stocked", 4)  # below its card, on hold
    assert lines.open_line(a.id) is None
    req = req_of(req_id)
    assert req.status == "draft"
    assert [(line.bin.code, line.status) for line in req.lines] == [
        ("A-1", "cancelled"),
        ("B-1", "open"),
    ]
    assert req.lines[0].reason.endswith("removed by sam")
    assert ledger.check() == []  # the hold is consistent
    # The next pull below the card starts a new cycle with a new line.
    again = scan("A-1")
    assert again.flipped and again.bin["state"] == "replenish"
    assert again.request == {"id": req_id, "status": "draft"}
    assert ledger.check() == []


def test_a_count_below_the_card_also_ends_the_hold(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=5, card=5)
    req_id, line_id = flip("A-1")
    review.remove_line(req_id, line_id)
    db.session.commit()
    assert scan("A-1", mode="count", qty=3).bin["state"] == "replenish"
    assert ledger.check() == []


def test_removing_the_last_line_cancels_the_draft(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=5, card=5)
    req_id, line_id = flip("A-1")
    review.remove_line(req_id, line_id)
    db.session.commit()
    assert req_of(req_id).status == "cancelled"
    again = scan("A-1")
    assert again.request is not None and again.request["id"] != req_id


def test_removing_twice_is_refused(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=5, card=5)
    make_bin("B-1", on_hand=5, card=5)
    req_id, line_id = flip("A-1")
    flip("B-1")
    review.remove_line(req_id, line_id)
    db.session.commit()
    with pytest.raises(ServiceError) as err:
        review.remove_line(req_id, line_id)
    assert err.value.code == "line_closed"


@pytest.mark.ledger_broken
def test_check_still_finds_a_card_stocked_below_its_card_without_a_hold(
    make_bin: Callable[..., str],
) -> None:
    make_bin("A-1", on_hand=5, card=5)
    req_id, line_id = flip("A-1")
    review.remove_line(req_id, line_id)
    db.session.commit()
    # A withdrawn line is not a hold: faking one must be caught.
    db.session.execute(sa.update(RequestLine).values(status="withdrawn"))
    db.session.commit()
    assert [p.bin_code for p in ledger.check()] == ["A-1"]


# -------------------------------------------------------------------- sending


def test_mark_sent_freezes_the_lines_shown_and_the_rest_wait(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=5, card=5, lead_time_days=3)
    make_bin("B-1", on_hand=5, card=5)
    req_id, line_a = flip("A-1")
    flip("B-1")  # added after the supervisor printed the request
    req = send(req_id, line_ids=[line_a], actor="sam")
    assert (req.status, req.sent_via) == ("sent", "manual")
    assert req.expected_date == (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).date()
    assert [line.bin.code for line in req_of(req_id).lines] == ["A-1"]
    assert (bin_("A-1").state, bin_("B-1").state) == ("ordered", "replenish")
    draft = db.session.scalar(sa.select(SupplierRequest).where(SupplierRequest.status == "draft"))
    assert draft is not None and [line.bin.code for line in draft.lines] == ["B-1"]


def test_send_with_no_line_left_is_refused(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=5, card=5)
    make_bin("B-1", on_hand=5, card=5)
    req_id, line_a = flip("A-1")
    flip("B-1")
    review.remove_line(req_id, line_a)
    db.session.commit()
    with pytest.raises(ServiceError) as err:
        sending.mark_sent(req_id, line_ids=[line_a])
    assert err.value.code == "empty_request"
    db.session.rollback()
    assert req_of(req_id).status == "draft"


# ------------------------------------------------------------------ receiving


def test_receive_on_the_request_page_books_a_ledger_movement(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=5, card=5, order=10)
    req_id, line_id = flip("A-1")
    send(req_id)
    part = review.receive_line(req_id, line_id, 4, ANA, scan_id="rcv-1")
    assert part.bin["state"] == "ordered" and part.bin["on_hand"] == 8
    replay = review.receive_line(req_id, line_id, 4, ANA, scan_id="rcv-1")
    assert replay.replayed and bin_("A-1").on_hand == 8
    rest = review.receive_line(req_id, line_id, 6, ANA, scan_id="rcv-2")
    assert rest.bin["state"] == "stocked" and rest.flipped and rest.bin["on_hand"] == 14
    receipts = db.session.scalars(sa.select(Movement).where(Movement.kind == "receipt")).all()
    assert [(m.quantity, m.line_id) for m in receipts] == [(4, line_id), (6, line_id)]
    req = req_of(req_id)
    assert req.status == "received" and req.received_at is not None
    assert req.lines[0].received_quantity == 10 and req.lines[0].closed_at is not None


def test_receiving_a_draft_or_closed_line_is_refused(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=5, card=5, order=10)
    req_id, line_id = flip("A-1")
    with pytest.raises(ServiceError) as err:
        review.receive_line(req_id, line_id, 10, ANA, scan_id=None)
    assert err.value.code == "line_not_open"
    db.session.rollback()
    assert bin_("A-1").on_hand == 4


def test_over_receipt_needs_a_confirmation(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=5, card=5, order=10)
    req_id, line_id = flip("A-1")
    send(req_id)
    with pytest.raises(ServiceError) as err:
        scan("A-1", mode="receive", qty=15)
    assert (err.value.code, err.value.status) == ("over_receipt", 409)
    assert "Only 10 ea" in err.value.message and err.value.details["remaining"] == 10
    assert bin_("A-1").on_hand == 4
    with pytest.raises(ServiceError):
        review.receive_line(req_id, line_id, 11, ANA, scan_id=None)
    done = scan("A-1", mode="receive", qty=15, confirm=True)
    assert done.bin["on_hand"] == 19 and done.bin["state"] == "stocked"
    assert req_of(req_id).lines[0].received_quantity == 15


def test_receipt_without_an_order_needs_no_confirmation(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=8, card=5)
    assert scan("A-1", mode="receive", qty=500).bin["on_hand"] == 508


def test_full_receipt_still_below_card_opens_a_new_line(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=2, card=20, order=5)
    req_id = int(scan("A-1", mode="count", qty=1).request["id"])  # type: ignore[index]
    send(req_id)
    line_id = req_of(req_id).lines[0].id
    result = review.receive_line(req_id, line_id, 5, ANA, scan_id=None)
    assert result.bin["state"] == "replenish" and result.request is not None
    assert result.request["id"] != req_id and result.request["status"] == "draft"


# ------------------------------------------------------------ reading, totals


def test_totals_count_active_lines_and_known_costs(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=5, card=5, order=10, sku="COST")
    make_bin("B-1", on_hand=5, card=5, order=4)
    make_bin("C-1", on_hand=5, card=5, order=7)
    db.session.execute(sa.update(Item).where(Item.sku == "COST").values(unit_cost=Decimal("2.5")))
    db.session.commit()
    req_id, _ = flip("A-1")
    flip("B-1")
    _, line_c = flip("C-1")
    review.remove_line(req_id, line_c)
    db.session.commit()
    tot = requests.totals(req_of(req_id))
    assert (tot.lines, tot.quantity, tot.value, tot.value_complete) == (
        2,
        14,
        Decimal("25.0"),
        False,
    )
    data = requests.request_dict(req_of(req_id))
    assert data["number"] == requests.request_number(req_id)
    assert (data["total_quantity"], data["total_value"]) == (14, "25.00")
    assert data["total_by_unit"] == {"ea": 14}
    assert [line["status"] for line in data["lines"]] == ["open", "open", "cancelled"]


def test_totals_never_add_bags_and_pieces(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=5, card=5, order=10)
    make_bin("B-1", on_hand=5, card=5, order=4, sku="BAGS")
    make_bin("C-1", on_hand=5, card=5, order=3)
    db.session.execute(sa.update(Item).where(Item.sku == "BAGS").values(unit="bag"))
    db.session.commit()
    req_id, _ = flip("A-1")
    flip("B-1")
    flip("C-1")
    tot = requests.totals(req_of(req_id))
    assert tot.by_unit == (("ea", 13), ("bag", 4)) and tot.by_unit_text == "13 ea + 4 bag"
    assert requests.request_dict(req_of(req_id))["total_by_unit"] == {"ea": 13, "bag": 4}
    doc = requests.request_doc(req_of(req_id), contact_name="sam", contact_email="k@x.example")
    assert doc.total_quantity == "13 ea + 4 bag"
    assert "Total quantity: 13 ea + 4 bag" in request_docs.render_text(doc)
    pdf = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(request_docs.render_pdf(doc))).pages
    )
    assert "13ea+4bag" in "".join(pdf.split())  # the PDF's narrow column may wrap it


def test_request_list_filters_by_status_supplier_and_overdue(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=5, card=5, supplier="Acme", lead_time_days=2)
    make_bin("B-1", on_hand=5, card=5, supplier="Bolt Co")
    acme, _ = flip("A-1")
    bolt, _ = flip("B-1")
    send(acme)
    today = dt.datetime.now(dt.UTC).date()
    assert [r.id for r in requests.list_requests("draft")] == [bolt]
    sup_id = req_of(acme).supplier_id
    assert [r.id for r in requests.list_requests(supplier_id=sup_id)] == [acme]
    assert requests.list_requests(overdue_on=today) == []
    assert [r.id for r in requests.list_requests(overdue_on=today + dt.timedelta(days=3))] == [acme]
    assert requests.status_counts() == {"draft": 1, "sent": 1}
    assert requests.overdue_count(today + dt.timedelta(days=3)) == 1


def test_documents_list_the_open_lines_of_a_draft(make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=5, card=5, order=3, sku="SKU-<&>")
    make_bin("B-1", on_hand=5, card=5, sku="=HYPERLINK(1)")
    req_id, _ = flip("A-1")
    flip("B-1")
    doc = requests.request_doc(req_of(req_id), contact_name="sam", contact_email="k@plant.example")
    assert [line.sku for line in doc.lines] == ["SKU-<&>", "=HYPERLINK(1)"]
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(request_docs.render_pdf(doc))).pages
    ).replace("\n", "")  # long SKUs wrap in cells
    assert "SKU-<&>" in text and "=HYPERLINK(1)" in text
    rows = list(csv.reader(io.StringIO(request_docs.render_csv(doc).decode("utf-8-sig"))))
    assert rows[0] == list(request_docs.CSV_COLUMNS)
    assert [r[2] for r in rows[1:]] == ["SKU-<&>", "'=HYPERLINK(1)"]  # no formula for Excel


# ------------------------------------------------------------------ lead times


def _backdate(
    line_id: int, *, signal: dt.datetime, sent: dt.datetime, received: dt.datetime | None
) -> None:
    line = db.session.get(RequestLine, line_id)
    assert line is not None
    line.created_at = signal
    line.request.sent_at = sent
    if received is not None:
        line.closed_at = received
    db.session.commit()


def test_lead_times_per_line_and_per_supplier(make_bin: Callable[..., str]) -> None:
    t0 = dt.datetime(2024, 3, 1, 8, tzinfo=dt.UTC)
    days = dt.timedelta(days=1)
    legs = [(1, 5), (0, 9), (2, 7)]  # (signal → sent, sent → received) in days
    for i, (to_sent, to_recv) in enumerate(legs):
        code = f"A-{i}"
        make_bin(code, on_hand=5, card=5, order=5)
        req_id, line_id = flip(code)
        send(req_id)
        scan(code, mode="receive")
        _backdate(
            line_id, signal=t0, sent=t0 + to_sent * days, received=t0 + (to_sent + to_recv) * days
        )
    make_bin("OPEN", on_hand=5, card=5)
    open_req, open_line = flip("OPEN")
    send(open_req)
    _backdate(open_line, signal=t0, sent=t0 + 3 * days, received=None)

    stats = suppliers.supplier_lead_times()
    [sup_stats] = stats.values()
    assert sup_stats.lines == 4
    assert sup_stats.sent_to_received is not None
    assert (
        sup_stats.sent_to_received.minimum,
        sup_stats.sent_to_received.median,
        sup_stats.sent_to_received.maximum,
    ) == (5.0, 7.0, 9.0)
    assert sup_stats.signal_to_sent is not None and sup_stats.signal_to_sent.median == 1.5
    assert sup_stats.total is not None and sup_stats.total.median == 9.0
    measured = {m.line.bin.code: m.times for m in suppliers.measured_lines()}
    assert measured["OPEN"].sent_to_received is None and measured["OPEN"].signal_to_sent == 3.0
    assert measured["A-0"].total == 6.0
