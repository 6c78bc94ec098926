"""Automatic sending through the outbox, against a real SMTP server on loopback:
retries, the batch window, the daily cap, and one email whatever dies or races."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask, current_app

from kanban.core import claiming, outbox
from kanban.core.actor import Actor
from kanban.core.errors import ServiceError
from kanban.domain.statuses import DeliveryStatus, NoticeKind, SentVia
from kanban.extensions import db
from kanban.models import Delivery, Notice, Supplier, SupplierRequest, utcnow
from kanban.purchasing import autosend, claims, sending
from kanban.purchasing.settings import MailSettings
from kanban.stock.scanning import MoveResult, record_scan

from ..outbox import deliveries, drain
from ..smtp_server import SmtpServer

ANA = Actor(name="ana", station="Station 2", source="usb")
MINUTE = dt.timedelta(minutes=1)


def pull(code: str, qty: int | None = None) -> MoveResult:
    return record_scan(code, "pull", qty, ANA, None)


def req_of(request_id: int) -> SupplierRequest:
    db.session.rollback()
    req = db.session.get(SupplierRequest, request_id)
    assert req is not None
    return req


def request_id(result: MoveResult) -> int:
    assert result.request is not None
    return int(result.request["id"])


def the_email() -> Delivery:
    found = deliveries(kind="email")
    assert len(found) == 1, found
    return found[0]


def notices_of(kind: NoticeKind) -> list[Notice]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Notice).where(Notice.kind == kind)))


@pytest.fixture
def smtp(app: Flask) -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        app.config["SMTP_URL"] = server.url()
        app.config["MAIL_FROM"] = "kanban@plant.example"
        yield server


@pytest.fixture
def auto(make_bin: Callable[..., str]) -> Callable[..., str]:
    """Make a bin of a supplier that sends automatically."""

    def make(code: str, **kw: object) -> str:
        made = make_bin(code, on_hand=5, card=5, **kw)
        db.session.execute(sa.update(Supplier).values(auto_send=True))
        db.session.commit()
        return made

    return make


def test_a_scan_writes_the_email_to_the_outbox_and_sends_nothing_itself(
    app: Flask, smtp: SmtpServer, auto: Callable[..., str]
) -> None:
    auto("A-1")
    result = pull("A-1")
    d = the_email()
    assert (d.status, d.request_id, d.attempts) == ("pending", request_id(result), 0)
    assert smtp.inbox.messages == []  # the scan's request sent nothing
    assert drain(app) == 1
    assert len(smtp.inbox.messages) == 1
    d = the_email()
    assert (d.status, d.attempts) == ("delivered", 1)
    assert [a.ok for a in d.attempt_log] == [True]
    assert req_of(request_id(result)).sent_via == SentVia.EMAIL


def test_the_mail_server_refuses_twice_then_accepts_one_email_and_the_attempts_recorded(
    app: Flask, smtp: SmtpServer, auto: Callable[..., str]
) -> None:
    replies = ["451 4.3.0 Try again later", "451 4.3.0 Still busy", None]

    def next_reply() -> None:
        smtp.inbox.data_reply = replies.pop(0)

    smtp.inbox.during_data = next_reply
    auto("A-1")
    rid = request_id(pull("A-1"))
    assert drain(app) == 1
    d = the_email()
    assert (d.status, d.attempts) == ("pending", 1) and d.due_at > utcnow()
    assert "451 4.3.0 Try again later" in (d.last_error or "")
    assert "451" in (req_of(rid).send_error or "") and req_of(rid).status == "draft"
    assert drain(app) == 0  # not due yet: the backoff
    assert drain(app, later=dt.timedelta(hours=1)) == 1
    assert drain(app, later=dt.timedelta(hours=3)) == 1
    assert len(smtp.inbox.messages) == 1 and replies == []
    d = the_email()
    assert (d.status, d.attempts) == ("delivered", 3)
    log = [(a.ok, a.error or "") for a in d.attempt_log]
    assert [ok for ok, _ in log] == [False, False, True]
    assert "Try again later" in log[0][1] and "Still busy" in log[1][1]
    assert all(a.duration_ms is not None for a in d.attempt_log)
    assert req_of(rid).status == "sent"


def test_attempts_run_out_then_the_email_is_failed_with_its_reason(
    app: Flask, smtp: SmtpServer, auto: Callable[..., str]
) -> None:
    app.config["DELIVERY_ATTEMPTS"] = 2
    smtp.inbox.data_reply = "451 4.7.1 Greylisted"
    auto("A-1")
    rid = request_id(pull("A-1"))
    drain(app)
    drain(app, later=dt.timedelta(hours=1))
    d = the_email()
    assert (d.status, d.attempts) == ("failed", 2)
    assert (d.last_error or "").startswith("Gave up after 2 attempts") and "Greylisted" in (
        d.last_error or ""
    )
    assert "Gave up" in (req_of(rid).send_error or "")
    [notice] = notices_of(NoticeKind.AUTO_SEND_FAILED)
    assert notice.request_id == rid and "Greylisted" in notice.message
    assert smtp.inbox.messages == []


def test_a_5xx_refusal_fails_at_once_and_a_person_can_retry(
    app: Flask, smtp: SmtpServer, auto: Callable[..., str]
) -> None:
    smtp.inbox.rcpt_reply = "550 5.1.1 No such user"
    auto("A-1")
    rid = request_id(pull("A-1"))
    drain(app)
    d = the_email()
    assert (d.status, d.attempts) == ("failed", 1) and "550 5.1.1" in (d.last_error or "")
    assert "550 5.1.1" in (req_of(rid).send_error or "")
    with pytest.raises(ServiceError) as busy:
        autosend.retry(rid, d.id + 100, by="super")
    assert busy.value.code == "unknown_delivery"
    db.session.rollback()
    smtp.inbox.rcpt_reply = None  # the address was fixed
    again = autosend.retry(rid, d.id, by="super")
    db.session.commit()
    assert again.id != d.id and again.payload["by"] == "super"
    assert drain(app) == 1
    assert len(smtp.inbox.messages) == 1 and req_of(rid).status == "sent"


def test_lines_opened_during_the_window_go_together_when_it_ends(
    app: Flask, smtp: SmtpServer, auto: Callable[..., str]
) -> None:
    for code in ("A-1", "A-2", "A-3"):
        auto(code)
    pull("A-1")
    assert drain(app) == 1 and len(smtp.inbox.messages) == 1  # a quiet window: at once
    pull("A-2")
    pull("A-3")
    drain(app)
    assert len(smtp.inbox.messages) == 1  # in the window: they wait
    waiting = deliveries(kind="email", status="pending")
    assert len(waiting) == 1  # one email waits for the supplier, whatever opened
    assert waiting[0].due_at - utcnow() > dt.timedelta(minutes=14)
    assert "15 min" in (waiting[0].last_error or "")
    drain(app, later=dt.timedelta(minutes=16))
    assert len(smtp.inbox.messages) == 2
    rows = smtp.inbox.messages[1].attachment(".csv").decode("utf-8-sig").splitlines()
    assert len(rows) == 1 + 2 and {"A-2", "A-3"} == {r.split(",")[5] for r in rows[1:]}


def test_the_daily_cap_stops_automatic_sending_and_tells_supervisors(
    app: Flask, smtp: SmtpServer, auto: Callable[..., str]
) -> None:
    app.config.update(AUTO_SEND_DAILY_CAP=2, AUTO_SEND_WINDOW_MINUTES=0)
    for code in ("A-1", "A-2", "A-3", "A-4"):
        auto(code)
    pull("A-1")
    drain(app)
    pull("A-2")
    drain(app)
    assert len(smtp.inbox.messages) == 2
    rid = request_id(pull("A-3"))
    drain(app)
    assert len(smtp.inbox.messages) == 2  # the third is held back
    db.session.rollback()
    assert db.session.scalar(sa.select(Supplier.auto_send)) is False
    [stopped] = notices_of(NoticeKind.AUTO_SEND_STOPPED)
    assert stopped.request_id == rid and "daily cap" in stopped.message
    assert "daily cap" in (req_of(rid).send_error or "") and req_of(rid).status == "draft"
    assert deliveries(kind="email")[-1].status == DeliveryStatus.SKIPPED
    pull("A-4")  # automatic sending is off: nothing more is queued
    assert deliveries(kind="email", status="pending") == []


def _interrupted(rid: int, *, handed_over: bool) -> None:
    """A worker claimed the email and the draft, then died (before or after the hand-over)."""
    job = claiming.claim_next(utcnow())
    assert job is not None
    taken = claims.claim(
        rid,
        actor="automatic",
        settings=MailSettings(sender="kanban@plant.example"),
        on_claim=lambda at: outbox.note(job.id, claim=at.isoformat()),
    )
    db.session.commit()
    if handed_over:
        claims.hand_over(rid, taken.claimed_at)
    # The next worker to lead takes back what the dead one left.
    assert outbox.recover(utcnow()) == 1


def test_a_worker_that_died_before_the_hand_over_is_replaced_and_the_draft_goes_once(
    app: Flask, smtp: SmtpServer, auto: Callable[..., str]
) -> None:
    auto("A-1")
    rid = request_id(pull("A-1"))
    _interrupted(rid, handed_over=False)
    assert drain(app) == 1
    assert len(smtp.inbox.messages) == 1
    d = the_email()
    assert d.status == "delivered"
    assert [a.error for a in d.attempt_log] == [outbox.INTERRUPTED, None]
    assert req_of(rid).status == "sent"


def test_a_worker_that_died_after_the_hand_over_is_not_resent_a_person_decides(
    app: Flask, smtp: SmtpServer, auto: Callable[..., str]
) -> None:
    auto("A-1")
    rid = request_id(pull("A-1"))
    _interrupted(rid, handed_over=True)
    drain(app)
    assert smtp.inbox.messages == []  # it may have gone out: never twice automatically
    d = the_email()
    assert d.status == "failed" and "probably reached" in (d.last_error or "")
    req = req_of(rid)
    assert (req.status, req.sent_via) == ("draft", None)  # the dead claim is gone...
    assert "probably reached" in (req.send_error or "")  # ...and the page says why
    assert notices_of(NoticeKind.AUTO_SEND_FAILED)
    autosend.retry(rid, d.id, by="super")  # the supplier had nothing: send it
    db.session.commit()
    drain(app)
    assert len(smtp.inbox.messages) == 1 and req_of(rid).status == "sent"


def test_a_send_under_way_elsewhere_is_waited_for(
    app: Flask, smtp: SmtpServer, auto: Callable[..., str]
) -> None:
    auto("A-1")
    rid = request_id(pull("A-1"))
    settings = MailSettings(sender="kanban@plant.example")
    taken = claims.claim(rid, actor="super", settings=settings)  # a person's send
    db.session.commit()
    drain(app)
    d = the_email()
    assert (d.status, d.attempts) == ("pending", 0) and smtp.inbox.messages == []
    claims.release(rid, taken.claimed_at, "the person's send failed", dt.UTC)
    db.session.commit()
    drain(app, later=MINUTE)
    assert len(smtp.inbox.messages) == 1 and the_email().status == "delivered"


def test_two_senders_racing_for_one_draft_send_one_email(
    app: Flask, smtp: SmtpServer, auto: Callable[..., str]
) -> None:
    auto("A-1")
    rid = request_id(pull("A-1"))
    in_data, go_on = threading.Event(), threading.Event()

    def hold() -> None:
        in_data.set()
        go_on.wait(20)

    smtp.inbox.during_data = hold
    worker = threading.Thread(target=lambda: _drain_in_thread(app))
    worker.start()
    assert in_data.wait(20)  # the worker is handing the email over...
    with pytest.raises(ServiceError) as refused:  # ...when a supervisor clicks send
        sending.send_by_email(rid, sending.MailSettings.from_config(current_app.config))
    assert refused.value.code == "sending_in_progress"
    go_on.set()
    worker.join(30)
    assert len(smtp.inbox.messages) == 1 and req_of(rid).status == "sent"


def _drain_in_thread(app: Flask) -> None:
    with app.app_context():
        drain(app)
        db.session.remove()


def test_a_claim_taken_over_before_the_end_of_the_message_sends_nothing(
    app: Flask, smtp: SmtpServer, auto: Callable[..., str]
) -> None:
    auto("A-1")
    rid = request_id(pull("A-1"))
    engine = db.engine

    def steal() -> None:  # another sender takes the draft over while ours talks to SMTP
        with engine.begin() as conn:
            conn.execute(
                sa.update(SupplierRequest)
                .where(SupplierRequest.id == rid)
                .values(sent_at=utcnow() - dt.timedelta(seconds=1))
            )

    smtp.inbox.during_rcpt = steal
    with pytest.raises(ServiceError) as lost:
        sending.send_by_email(rid, sending.MailSettings.from_config(current_app.config))
    assert lost.value.code == "sending_in_progress"
    assert smtp.inbox.messages == []  # the message was never ended: the server dropped it


def test_a_line_opened_during_an_interrupted_send_goes_with_it_once(
    app: Flask, smtp: SmtpServer, auto: Callable[..., str]
) -> None:
    auto("A-1")
    auto("A-2")
    rid = request_id(pull("A-1"))
    job = claiming.claim_next(utcnow())
    assert job is not None
    claims.claim(
        rid,
        actor="automatic",
        settings=MailSettings(sender="kanban@plant.example"),
        on_claim=lambda at: outbox.note(job.id, claim=at.isoformat()),
    )
    db.session.commit()
    assert request_id(pull("A-2")) == rid  # a scan adds to the draft being sent...
    assert [d.status for d in deliveries(kind="email")] == ["sending", "pending"]
    assert outbox.recover(utcnow()) == 1  # ...and the sender dies
    first, second = deliveries(kind="email")
    assert first.status == "skipped" and f"Merged into delivery {second.id}" in (
        first.last_error or ""
    )
    drain(app)
    assert len(smtp.inbox.messages) == 1  # the dead claim was recognised: no 5 min wait
    rows = smtp.inbox.messages[0].attachment(".csv").decode("utf-8-sig").splitlines()
    assert {r.split(",")[5] for r in rows[1:]} == {"A-1", "A-2"}
    assert req_of(rid).status == "sent"
