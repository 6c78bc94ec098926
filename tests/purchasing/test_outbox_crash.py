"""A server killed (SIGKILL, master and workers) after a scan committed an automatic email,
then started again: the real SMTP server receives the draft exactly once (docs/manual/spec.md §9:
"follow-ups of a change across crashes: delivered exactly once")."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests as http
import sqlalchemy as sa

from kanban.core import outbox
from kanban.extensions import db
from kanban.models import Supplier, SupplierRequest

from ..conftest import LiveServer, kill_server, start_server, stop_server
from ..outbox import deliveries
from ..smtp_server import SilentServer, SmtpServer


def until(check: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def scan(server: LiveServer, token: str, code: str) -> int:
    resp = http.post(
        f"{server.url}/api/scans",
        json={"code": code},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    return int(resp.json()["request"]["id"])


def request_of(request_id: int) -> SupplierRequest:
    db.session.rollback()
    req = db.session.get(SupplierRequest, request_id)
    assert req is not None
    return req


@pytest.fixture
def auto_bin(make_bin: Callable[..., str]) -> str:
    code = make_bin("A-1", on_hand=5, card=5)
    db.session.execute(sa.update(Supplier).values(auto_send=True))
    db.session.commit()
    return code


def _restart_and_expect_one_email(
    db_url: str, instance: Path, smtp: SmtpServer, request_id: int
) -> None:
    """Start the server again (with a working mail server) and see the draft go once."""
    server = start_server(db_url, instance, extra_env={"KANBAN_SMTP_URL": smtp.url()})
    try:
        assert until(lambda: request_of(request_id).status == "sent")
        time.sleep(2)  # time enough for a second email, if there were one
    finally:
        stop_server(server)
    assert len(smtp.inbox.messages) == 1
    assert smtp.inbox.messages[0].rcpt_tos == ["orders@acme.example"]


@pytest.mark.slow
def test_killed_between_the_commit_and_the_send_the_draft_is_emailed_once_after_restart(
    db_url: str, instance: Path, auto_bin: str, make_token: Callable[[str], str]
) -> None:
    token = make_token("operator")
    # No worker in this server: the scan commits its email, and nothing sends it.
    server = start_server(db_url, instance, extra_args=("--no-worker",))
    rid = scan(server, token, auto_bin)
    kill_server(server)
    assert [d.status for d in deliveries(kind="email")] == ["pending"]
    with SmtpServer() as smtp:
        _restart_and_expect_one_email(db_url, instance, smtp, rid)
    [d] = deliveries(kind="email")
    assert (d.status, d.attempts) == ("delivered", 1)


@pytest.mark.slow
def test_killed_while_talking_to_the_mail_server_the_draft_is_emailed_once_after_restart(
    db_url: str, instance: Path, auto_bin: str, make_token: Callable[[str], str]
) -> None:
    token = make_token("operator")
    with SilentServer() as silent:  # the mail server does not answer: the send hangs
        server = start_server(db_url, instance, extra_env={"KANBAN_SMTP_URL": silent.url()})
        rid = scan(server, token, auto_bin)
        assert until(lambda: silent.accepted >= 1)  # the worker is in the middle of the send
        assert until(lambda: request_of(rid).sent_via == "sending")
        kill_server(server)
    assert [d.status for d in deliveries(kind="email")] == ["sending"]  # left by the dead
    with SmtpServer() as smtp:
        _restart_and_expect_one_email(db_url, instance, smtp, rid)
    [d] = deliveries(kind="email")
    assert d.status == "delivered"
    assert [a.error for a in d.attempt_log] == [outbox.INTERRUPTED, None]


@pytest.mark.slow
def test_killed_after_handing_the_email_over_it_is_not_sent_again(
    db_url: str, instance: Path, auto_bin: str, make_token: Callable[[str], str]
) -> None:
    token = make_token("operator")
    in_data, go_on = threading.Event(), threading.Event()

    def hold() -> None:  # the server got the whole message; its answer is late
        in_data.set()
        go_on.wait(60)

    with SmtpServer() as smtp:
        smtp.inbox.during_data = hold
        server = start_server(db_url, instance, extra_env={"KANBAN_SMTP_URL": smtp.url()})
        rid = scan(server, token, auto_bin)
        assert in_data.wait(60)
        kill_server(server)  # the worker dies before it hears "250 accepted"
        go_on.set()
        assert until(lambda: len(smtp.inbox.messages) == 1)
        server = start_server(db_url, instance, extra_env={"KANBAN_SMTP_URL": smtp.url()})
        try:
            assert until(lambda: deliveries(kind="email")[0].status == "failed")
            time.sleep(2)
        finally:
            stop_server(server)
        assert len(smtp.inbox.messages) == 1  # never a second email
    req = request_of(rid)
    assert (req.status, req.sent_via) == ("draft", None)
    assert "probably reached" in (req.send_error or "")
