"""Retiring a bin and bringing it back, from its page (supervisors)."""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa
from flask.testing import FlaskClient

from kanban.extensions import db
from kanban.models import Bin, Event, RequestLine

from ..conftest import Api
from .test_board import board, login
from .test_requests_pages import Page


def token_of(client: FlaskClient, code: str) -> str:
    page = client.get(f"/bins/{code}").get_data(as_text=True)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def switch(client: FlaskClient, code: str, active: bool) -> str:
    resp = client.post(
        f"/bins/{code}/active",
        data={"active": "1" if active else "0", "csrf_token": token_of(client, code)},
    )
    assert resp.status_code == 302 and resp.headers["Location"] == f"/bins/{code}"
    return client.get(f"/bins/{code}").get_data(as_text=True)


def state(code: str) -> str | None:
    db.session.rollback()
    return db.session.scalar(sa.select(Bin.state).where(Bin.code == code))


def lines(code: str) -> list[tuple[str, str]]:
    db.session.rollback()
    return [
        (line.status, line.request.status)
        for line in db.session.scalars(
            sa.select(RequestLine).join(Bin).where(Bin.code == code).order_by(RequestLine.id)
        )
    ]


def test_a_retired_bin_leaves_the_board_and_its_label_no_longer_scans(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str], api: Api
) -> None:
    make_bin("T-1", on_hand=9, card=5)
    make_bin("T-2", on_hand=9, card=5)
    login(client, make_user, "supervisor")
    page = switch(client, "T-1", False)
    assert "Bin T-1 is retired" in page and "This bin is retired" in page
    assert set(board(client).by_code()) == {"T-2"}
    resp = api.scan("T-1", quantity=1)
    assert resp.status_code == 409
    assert resp.get_json()["error"] == {
        "code": "inactive_bin",
        "message": "Bin T-1 is retired: its label no longer scans.",
    }
    db.session.rollback()
    assert db.session.scalar(sa.select(Bin.on_hand).where(Bin.code == "T-1")) == 9
    event = db.session.scalar(sa.select(Event).order_by(Event.id.desc()))
    assert event is not None and event.bin_code == "T-1" and event.data["active"] is False

    page = switch(client, "T-1", True)
    assert "back on the board; its card is stocked" in page
    assert set(board(client).by_code()) == {"T-1", "T-2"}
    assert api.scan("T-1", quantity=1).status_code == 201


def test_retiring_takes_an_unsent_line_off_the_draft_and_bringing_back_orders_again(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str], api: Api
) -> None:
    make_bin("T-1", on_hand=6, card=5)
    assert api.scan("T-1", quantity=2).get_json()["flipped"]  # 4 < 5: a draft line
    login(client, make_user, "supervisor")
    switch(client, "T-1", False)
    assert lines("T-1") == [("cancelled", "cancelled")]  # the draft had only this line
    assert state("T-1") == "stocked"
    switch(client, "T-1", True)
    assert state("T-1") == "replenish"  # still 4 < 5
    assert lines("T-1") == [("cancelled", "cancelled"), ("open", "draft")]


def test_a_bin_whose_order_is_on_its_way_cannot_be_retired(
    client: FlaskClient,
    make_user: Callable[..., str],
    make_bin: Callable[..., str],
    api: Api,
    supervisor_api: Api,
) -> None:
    make_bin("T-1", on_hand=6, card=5)
    request_id = api.scan("T-1", quantity=2).get_json()["request"]["id"]
    assert supervisor_api.post(f"/api/requests/{request_id}/send").status_code == 200
    login(client, make_user, "supervisor")
    page = switch(client, "T-1", False)
    assert "has an order on its way: receive it or cancel the line first" in page
    db.session.rollback()
    assert db.session.scalar(sa.select(Bin.active)) is True
    assert lines("T-1") == [("open", "sent")]


def test_operators_cannot_retire_bins(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("T-1", on_hand=9, card=5)
    login(client, make_user, "operator")
    page = client.get("/bins/T-1").get_data(as_text=True)
    assert "Retire this bin" not in page
    resp = client.post(
        "/bins/T-1/active", data={"active": "0", "csrf_token": token_of(client, "T-1")}
    )
    assert resp.status_code == 403
    db.session.rollback()
    assert db.session.scalar(sa.select(Bin.active)) is True


def test_retire_asks_first_saying_what_happens_and_retired_bins_have_a_list(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str], api: Api
) -> None:
    make_bin("T-1", on_hand=6, card=5)
    make_bin("T-2", on_hand=9, card=5)
    request_id = api.scan("T-1", quantity=2).get_json()["request"]["id"]
    login(client, make_user, "supervisor")
    html = client.get("/bins/T-1").get_data(as_text=True)
    assert "/static/js/forms.js" in html  # asks with the data-confirm question below
    page = Page(html)
    question = page.one("form", **{"class": "sizing-apply bin-active"}).attrs["data-confirm"]
    assert question == (
        "Retire bin T-1? It leaves the board and its label stops scanning; its 4 ea on hand "
        "and its history stay on record. Its line on the unsent request "
        f"REQ-{request_id:05d} is withdrawn. You can bring it back from the list of retired bins."
    )
    assert "unsent request" not in (
        Page(client.get("/bins/T-2").get_data(as_text=True))
        .one("form", **{"class": "sizing-apply bin-active"})
        .attrs["data-confirm"]
        or ""
    )
    assert Page(client.get("/bins/retired").get_data(as_text=True)).find("tr", data_bin=None) == []
    switch(client, "T-1", False)
    switch(client, "T-2", False)
    listed = Page(client.get("/bins/retired").get_data(as_text=True))
    assert [r.attrs["data-bin"] for r in listed.find("tr", data_bin=None)] == ["T-1", "T-2"]
    assert "4 ea" in listed.one("tr", data_bin="T-1").text
    # Bring back from the list.
    back = client.post(
        "/bins/T-2/active", data={"active": "1", "csrf_token": token_of(client, "T-2")}
    )
    assert back.status_code == 302 and state("T-2") == "stocked"
    listed = Page(client.get("/bins/retired").get_data(as_text=True))
    assert [r.attrs["data-bin"] for r in listed.find("tr", data_bin=None)] == ["T-1"]
    assert board(client).by_code().keys() == {"T-2"}
    operator = client.application.test_client()
    login(operator, make_user, "operator")
    assert operator.get("/bins/retired").status_code == 403
