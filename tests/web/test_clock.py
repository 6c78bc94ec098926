"""One clock (KANBAN_TIMEZONE): every page, the PDF, the email and the CSV show the site's
local time with the zone named; the API stays in UTC. The wall clock in a real browser is
in tests/browser/test_wall_browser.py."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from kanban import config
from kanban.domain import clock
from kanban.extensions import db
from kanban.models import Bin, Movement, SupplierRequest
from kanban.purchasing import sending

from ..conftest import Api
from ..smtp_server import SmtpServer
from .test_board import Cards, login
from .test_requests_pages import Page

SITE = "America/Chicago"
#: A fixed moment in winter (CST, UTC−6) and what people must read for it.
MOMENT = dt.datetime(2026, 1, 15, 18, 30, tzinfo=dt.UTC)
LOCAL = "2026-01-15 12:30 CST"
UTC_TEXT = "2026-01-15 18:30 UTC"


def expected_text(moment: dt.datetime, zone: str = SITE) -> str:
    """What the site's clock shows, computed without kanban.domain.clock."""
    here = moment.astimezone(ZoneInfo(zone))
    return f"{here:%Y-%m-%d %H:%M} {here.tzname()}"


@pytest.fixture
def site_clock(app: Flask) -> str:
    app.config["TIMEZONE"] = SITE
    return SITE


@pytest.fixture
def flipped(site_clock: str, make_bin: Callable[..., str], api: Api) -> str:
    """Bin A-1 pulled below its card, the pull and the flip dated MOMENT."""
    make_bin("A-1", on_hand=6, card=5, zone="Assembly")
    assert api.scan("A-1", quantity=2).get_json()["flipped"]
    db.session.execute(sa.update(Movement).values(created_at=MOMENT))
    db.session.execute(sa.update(Bin).values(state_since=MOMENT))
    db.session.commit()
    return "A-1"


# ---------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("zone", "moment", "text"),
    [
        ("Europe/Berlin", MOMENT, "2026-01-15 19:30 CET"),
        ("Europe/Berlin", dt.datetime(2026, 7, 1, 6, 5, tzinfo=dt.UTC), "2026-07-01 08:05 CEST"),
        ("America/Chicago", MOMENT, LOCAL),
        ("America/Chicago", dt.datetime(2026, 7, 1, 3, 0, tzinfo=dt.UTC), "2026-06-30 22:00 CDT"),
        ("UTC", MOMENT, UTC_TEXT),
        ("Europe/Istanbul", MOMENT, "2026-01-15 21:30 UTC+03"),  # a zone without letters
    ],
)
def test_local_text_is_the_site_time_with_the_zone_named(
    zone: str, moment: dt.datetime, text: str
) -> None:
    assert clock.local_text(moment, clock.zone(zone)) == text


def test_abbreviations_by_offset_cover_summer_and_winter() -> None:
    assert clock.abbreviations(ZoneInfo("Europe/Berlin"), 2026) == {60: "CET", 120: "CEST"}
    assert clock.abbreviations(ZoneInfo("America/Chicago"), 2026) == {-360: "CST", -300: "CDT"}


def test_timezone_setting_is_checked_and_defaults_to_the_servers_zone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("KANBAN_SECRET_KEY", "x")
    monkeypatch.setenv("KANBAN_TIMEZONE", "Europe/Berlin")
    assert config.load({"INSTANCE_PATH": str(tmp_path)})["TIMEZONE"] == "Europe/Berlin"
    monkeypatch.setenv("KANBAN_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="KANBAN_TIMEZONE"):
        config.load({"INSTANCE_PATH": str(tmp_path)})
    monkeypatch.delenv("KANBAN_TIMEZONE")
    monkeypatch.setenv("TZ", "America/Chicago")
    assert config.load({"INSTANCE_PATH": str(tmp_path)})["TIMEZONE"] == "America/Chicago"
    assert config.server_zone_name() == "America/Chicago"


# ---------------------------------------------------------------------- pages


def test_card_bin_page_and_ledger_show_the_same_local_time(
    client: FlaskClient, make_user: Callable[..., str], flipped: str
) -> None:
    assert expected_text(MOMENT) == LOCAL
    login(client, make_user)
    board = Cards(client.get("/").get_data(as_text=True)).by_code()[flipped]
    assert f"since {LOCAL}" in board.text and "UTC" not in board.text
    html = client.get(f"/bins/{flipped}").get_data(as_text=True)
    page = Page(html)
    card = Cards(html).by_code()[flipped]
    assert f"since {LOCAL}" in card.text
    assert page.one("time", **{"class": "age"}).attrs["title"] == f"In this state since {LOCAL}"
    ledger = [" ".join(td.text.split()) for td in page.find("td", **{"class": "when"})]
    assert ledger and set(ledger) == {LOCAL}
    assert f"When ({SITE})" in html


def test_the_api_stays_in_utc(api: Api, flipped: str) -> None:
    body = api.get(f"/api/bins/{flipped}").get_json()
    assert body["state_since"] == MOMENT.isoformat()
    assert f"since {UTC_TEXT}" in body["reason"]


def test_every_page_names_the_zone_for_the_browser(
    client: FlaskClient, make_user: Callable[..., str], site_clock: str
) -> None:
    login(client, make_user)
    for path in ("/", "/scan", "/requests"):
        page = Page(client.get(path).get_data(as_text=True))
        block = page.one("script", id="kanban-clock")
        assert f'"zone": "{SITE}"' in block.text, path
        assert '"-360": "CST"' in block.text and '"-300": "CDT"' in block.text


# ---------------------------------------------------------------------- documents


@pytest.fixture
def smtp(app: Flask) -> object:
    with SmtpServer() as server:
        app.config["SMTP_URL"] = server.url()
        app.config["MAIL_FROM"] = "kanban@plant.example"
        yield server


def test_request_page_pdf_email_and_csv_show_the_same_local_time(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., str],
    smtp: SmtpServer,
    flipped: str,
) -> None:
    req_id = int(db.session.scalar(sa.select(SupplierRequest.id)) or 0)
    sending.send_by_email(req_id, sending.MailSettings.from_config(app.config), actor="sam")
    db.session.rollback()
    sent_at = db.session.get(SupplierRequest, req_id).sent_at  # type: ignore[union-attr]
    assert sent_at is not None
    local = expected_text(sent_at)
    [got] = smtp.inbox.messages
    assert f"Date:          {local}" in got.body()
    emailed = PdfReader(io.BytesIO(got.attachment(".pdf")))
    assert local in "\n".join(p.extract_text() for p in emailed.pages)
    [row] = csv.DictReader(io.StringIO(got.attachment(".csv").decode("utf-8-sig")))
    assert row["issued"] == local

    login(client, make_user, "supervisor")
    downloaded = PdfReader(io.BytesIO(client.get(f"/requests/{req_id}.pdf").data))
    assert local in "\n".join(p.extract_text() for p in downloaded.pages)
    [row] = csv.DictReader(
        io.StringIO(client.get(f"/requests/{req_id}.csv").data.decode("utf-8-sig"))
    )
    assert row["issued"] == local
    detail = client.get(f"/requests/{req_id}").get_data(as_text=True)
    assert local in detail and "UTC" not in detail.split("<main>", 1)[1]
