"""The one card flow: every path that changes a card announces exactly one change,
of one shape, and a line opened for an auto-send supplier is emailed."""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from kanban.core.actor import Actor
from kanban.domain.statuses import EventKind, LineStatus, RequestStatus
from kanban.extensions import db
from kanban.masterdata import bins as masterdata
from kanban.masterdata import imports
from kanban.models import Bin, Event, RequestLine, Supplier, SupplierRequest
from kanban.purchasing import review, sending
from kanban.sizing import loop as sizing
from kanban.stock.scanning import MoveResult, record_scan, undo_scan

from ..outbox import drain
from ..smtp_server import SmtpServer

KANBAN = Path(__file__).resolve().parents[2] / "kanban"
WHO = Actor(name="ana", station="Station 2", source="usb")


def scan(code: str, mode: str = "pull", qty: int | None = None, **kw: Any) -> MoveResult:
    # Confirmed: these tests are about what follows a change, not about the question an
    # unusual quantity asks first (tests/stock/test_unusual_quantity.py).
    kw.setdefault("confirm", True)
    return record_scan(code, mode, qty, WHO, kw.pop("scan_id_override", None), **kw)


def events_of(code: str, after: int) -> list[Event]:
    db.session.rollback()
    return list(
        db.session.scalars(
            sa.select(Event)
            .where(Event.id > after, Event.kind == EventKind.BIN_CHANGED, Event.bin_code == code)
            .order_by(Event.id)
        )
    )


def head() -> int:
    db.session.rollback()
    return int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Event.id), 0))) or 0)


def state(code: str) -> str:
    db.session.rollback()
    return str(db.session.scalar(sa.select(Bin.state).where(Bin.code == code)))


def open_line_request(code: str) -> SupplierRequest:
    db.session.rollback()
    line = db.session.scalar(
        sa.select(RequestLine)
        .join(Bin)
        .where(Bin.code == code, RequestLine.status == LineStatus.OPEN)
    )
    assert line is not None, f"{code} has no open line"
    return line.request


def _csv(code: str, on_hand: int, card: int) -> str:
    return (
        "code,sku,item_name,zone,supplier,supplier_email,on_hand,card_quantity,order_quantity\n"
        f"{code},SKU-{code},Part in {code},Assembly line 1,Acme Fasteners,"
        f"orders@acme.example,{on_hand},{card},20\n"
    )


# Each path: a set-up (not counted) and the step whose change is checked.
Step = Callable[[str], object]


def _nothing(code: str) -> None:
    return None


def _pull(code: str) -> object:
    return scan(code, "pull", 6)


def _count(code: str) -> object:
    return scan(code, "count", 2)


def _ordered_low(code: str) -> None:
    scan(code, "pull", 8)  # 10 → 2: replenish, a line of 1
    sending.mark_sent(open_line_request(code).id)
    db.session.commit()


def _receive(code: str) -> object:
    return scan(code, "receive", 1)  # the line is complete, 3 < 5: a new cycle


def _received_then_pulled(code: str) -> None:
    scan(code, "receive", 2, scan_id_override="R-1")  # no order: recorded as it is, 10 → 12
    scan(code, "pull", 6)  # 12 → 6, still stocked


def _undo(code: str) -> object:
    done = undo_scan("R-1", WHO, own_only=False, window=dt.timedelta(hours=1))  # 6 → 4
    db.session.commit()
    return done


def _card_quantity(code: str) -> object:
    result = sizing.set_card_quantity(code, 12, "super")
    db.session.commit()
    return result


def _import(code: str) -> object:
    report = imports.import_bins(_csv(code, 10, 15), dry_run=False, actor=WHO)
    db.session.commit()
    assert report.ok
    return report


def _replenishing(code: str) -> None:
    scan(code, "pull", 6)  # 10 → 4: replenish with a draft line


def _retire(code: str) -> object:
    b = masterdata.set_bin_active(code, False, "super")
    db.session.commit()
    return b


def _retired_with_a_bigger_card(code: str) -> None:
    masterdata.set_bin_active(code, False, "super")
    db.session.commit()
    db.session.execute(sa.update(Bin).where(Bin.code == code).values(card_quantity=20))
    db.session.commit()


def _bring_back(code: str) -> object:
    b = masterdata.set_bin_active(code, True, "super")
    db.session.commit()
    return b


def _send(code: str) -> object:
    req = sending.mark_sent(open_line_request(code).id, actor="super")
    db.session.commit()
    return req


def _cancel(code: str) -> object:
    line = db.session.scalar(
        sa.select(RequestLine)
        .join(Bin)
        .where(Bin.code == code, RequestLine.status == LineStatus.OPEN)
    )
    assert line is not None
    done = review.remove_line(line.request_id, line.id, actor="super")
    db.session.commit()
    return done


# (path, set-up, step, cause of the step's event, state after, opens a line)
PATHS: list[tuple[str, Step, Step, str, str, bool]] = [
    ("pull", _nothing, _pull, "pull", "replenish", True),
    ("count", _nothing, _count, "count", "replenish", True),
    ("receive", _ordered_low, _receive, "receipt", "replenish", True),
    ("undo", _received_then_pulled, _undo, "undo", "replenish", True),
    ("card quantity", _nothing, _card_quantity, "card_quantity", "replenish", True),
    ("import", _nothing, _import, "import", "replenish", True),
    ("retire", _replenishing, _retire, "retired", "stocked", False),
    ("bring back", _retired_with_a_bigger_card, _bring_back, "brought_back", "replenish", True),
    ("send", _replenishing, _send, "sent", "ordered", False),
    ("cancel", _replenishing, _cancel, "removed", "stocked", False),
]
IDS = [p[0] for p in PATHS]


@pytest.mark.parametrize(("path", "setup", "step", "cause", "after", "opens"), PATHS, ids=IDS)
def test_every_path_publishes_exactly_one_change_event_of_the_same_shape(
    make_bin: Callable[..., str],
    path: str,
    setup: Step,
    step: Step,
    cause: str,
    after: str,
    opens: bool,
) -> None:
    code = make_bin("F-1", on_hand=10, card=5, order=1)
    make_bin("F-REF", on_hand=10, card=5)
    before_ref = head()
    scan("F-REF", "pull", 1)
    reference = events_of("F-REF", before_ref)[0].data
    setup(code)
    start = head()
    step(code)
    found = events_of(code, start)
    assert len(found) == 1, f"{path}: {len(found)} bin.changed events"
    data = found[0].data
    assert set(data) == set(reference), f"{path}: the event's shape differs"
    assert set(data["change"]) >= {"cause", "actor", "station", "quantity"}
    assert data["change"]["cause"] == cause
    assert data["state"] == after == state(code)
    assert data["flipped"] is (data["previous_state"] != after)
    lines_open = db.session.scalar(
        sa.select(sa.func.count(RequestLine.id))
        .join(Bin)
        .where(Bin.code == code, RequestLine.status == LineStatus.OPEN)
    )
    assert lines_open == (1 if after != "stocked" else 0)


@pytest.fixture
def smtp(app: Flask) -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        app.config["SMTP_URL"] = server.url()
        app.config["MAIL_FROM"] = "kanban@plant.example"
        yield server


OPENING = [(p, setup, step) for p, setup, step, _c, _a, opens in PATHS if opens]


@pytest.mark.parametrize(("path", "setup", "step"), OPENING, ids=[p[0] for p in OPENING])
def test_a_line_opened_for_an_auto_send_supplier_is_emailed_whatever_opened_it(
    app: Flask,
    make_bin: Callable[..., str],
    smtp: SmtpServer,
    path: str,
    setup: Step,
    step: Step,
) -> None:
    code = make_bin("F-1", on_hand=10, card=5, order=1)
    setup(code)
    assert drain(app) == 0  # the supplier does not send automatically yet
    sent_before = len(smtp.inbox.messages)
    db.session.execute(sa.update(Supplier).values(auto_send=True))
    db.session.commit()
    step(code)
    assert smtp.inbox.messages[sent_before:] == []  # nothing is sent by the change itself
    assert drain(app) == 1
    req = open_line_request(code)
    assert req.status == RequestStatus.SENT, f"{path}: the new line's draft was not sent"
    assert len(smtp.inbox.messages) == sent_before + 1
    assert smtp.inbox.messages[-1].rcpt_tos == ["orders@acme.example"]
    assert state(code) == "ordered"


def test_a_change_that_rolls_back_sends_nothing(
    app: Flask, make_bin: Callable[..., str], smtp: SmtpServer
) -> None:
    code = make_bin("F-1", on_hand=10, card=5, order=1)
    db.session.execute(sa.update(Supplier).values(auto_send=True))
    db.session.commit()
    with pytest.raises(ValueError, match="failed after the change"):
        set_card_quantity_then_fail(code)
    assert drain(app) == 0  # no delivery was written
    assert smtp.inbox.messages == []
    assert state(code) == "stocked"


def set_card_quantity_then_fail(code: str) -> None:
    """Apply a new card quantity (which opens a line) and fail before the commit."""
    try:
        sizing.set_card_quantity(code, 12, "super")
        raise ValueError("the request failed after the change")
    finally:
        db.session.rollback()


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in KANBAN.rglob("*.py"):
        if "migrations" not in path.parts:
            yield path, ast.parse(path.read_text())


#: ``kanban seed-load`` writes a year of history in bulk (PostgreSQL COPY) into an empty
#: database: the rows the flow would have written, built by a simulation of the loop that
#: keeps each card's state and its events; ``kanban check`` proves the result. It changes
#: no live card, so it is the one module besides the flow that may spell them.
BULK_HISTORY = "ops/seedhistory.py"


def test_only_the_card_flow_announces_changes_and_only_the_feed_writes_bin_events() -> None:
    announcers, writers = set(), set()
    for path, tree in _modules():
        rel = path.relative_to(KANBAN).as_posix()
        # A comparison only reads the kind (webhooks read bin events from the feed).
        compared = {
            id(c) for n in ast.walk(tree) if isinstance(n, ast.Compare) for c in n.comparators
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "card_changed":
                announcers.add(rel)
            if (
                id(node) not in compared
                and isinstance(node, ast.Attribute)
                and node.attr == "BIN_CHANGED"
                and isinstance(node.value, ast.Name)
                and node.value.id == "EventKind"
            ):
                writers.add(rel)  # webhooks' WebhookEvent.BIN_CHANGED is another thing
    # The flow sends; the feed, automatic sending and webhooks listen.
    assert announcers == {
        "cards/flow.py",
        "core/feed.py",
        "purchasing/autosend.py",
        "webhooks/events.py",
    }
    assert writers == {"core/feed.py", BULK_HISTORY}


def test_only_the_card_flow_sets_a_card_state() -> None:
    setters = set()
    for path, tree in _modules():
        rel = path.relative_to(KANBAN).as_posix()
        for node in ast.walk(tree):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for t in targets:
                if isinstance(t, ast.Attribute) and t.attr == "state":
                    setters.add(rel)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "values"
                and any(k.arg == "state" for k in node.keywords)
            ):
                setters.add(rel)
    # domain/cards.py: the IllegalTransition exception keeps the state it names.
    assert setters == {"cards/flow.py", "domain/cards.py", BULK_HISTORY}, setters
