"""Error pages (kanban/web/errors.py): 403, 404 and 500 in the site's layout with a way
back; the API keeps its JSON errors; operators who reach the labels get told why."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .test_requests_pages import Page, login

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def error_page(resp: object, status: int) -> Page:
    """The answer as a page of the site: the layout's top bar and the error section."""
    assert resp.status_code == status  # type: ignore[attr-defined]
    assert resp.mimetype == "text/html"  # type: ignore[attr-defined]
    p = Page(resp.get_data(as_text=True), status)  # type: ignore[attr-defined]
    assert p.one("header", **{"class": "topbar"})  # base.html
    assert p.one("section", **{"class": "error-page"}).attrs["data-status"] == str(status)
    return p


def ways(p: Page) -> dict[str, str]:
    """The way-back links: text → address."""
    links = [el for el in p.find("a") if el.parent and el.parent.attrs.get("class") == "error-ways"]
    return {" ".join(el.text.split()): str(el.attrs["href"]) for el in links}


def message(p: Page) -> str:
    return " ".join(p.one("p", **{"class": "error-message"}).text.split())


def test_an_unknown_address_is_a_404_page_with_the_way_back(
    client: FlaskClient, make_user: Callable[..., str]
) -> None:
    login(client, make_user, "supervisor")
    p = error_page(client.get("/no/such/page"), 404)
    assert p.one("h1").text == "Not found"
    assert "no page at this address" in message(p)
    assert ways(p) == {"Go to the board": "/board"}
    came = client.get("/no/such/page", headers={"Referer": "http://localhost/requests?x=1"})
    assert ways(error_page(came, 404)) == {
        "← Back to where you were": "http://localhost/requests?x=1",
        "Go to the board": "/board",
    }
    elsewhere = client.get("/no/such/page", headers={"Referer": "https://evil.example/"})
    assert "← Back to where you were" not in ways(error_page(elsewhere, 404))


def test_a_bin_that_does_not_exist_is_a_404_page_in_the_browser_and_json_for_scripts(
    client: FlaskClient, make_user: Callable[..., str]
) -> None:
    login(client, make_user, "operator")
    p = error_page(client.get("/bins/NOPE-1", headers=BROWSER), 404)
    assert message(p) == "No bin has this code."
    assert ways(p) == {"Go to Scan": "/scan"}  # an operator's start page
    fetched = client.get("/bins/NOPE-1", headers={"Accept": "application/json"})
    assert fetched.status_code == 404 and fetched.get_json()["error"]["code"] == "unknown_bin"


def test_a_page_for_another_role_is_a_403_page_that_says_who_it_is_for(
    client: FlaskClient, make_user: Callable[..., str]
) -> None:
    name = login(client, make_user, "operator")
    p = error_page(client.get("/admin/users", headers=BROWSER), 403)
    assert p.one("h1").text == "Not for your role"
    assert message(p) == (
        f"This page is for admins; you are logged in as {name} (operator). "
        "If you need it, ask a supervisor or your admin."
    )
    assert ways(p) == {"Go to Scan": "/scan"}
    assert client.get("/admin/users").status_code == 403  # whatever the client accepts


@pytest.mark.parametrize("path", ["/labels", "/labels/print", "/bins/A-01/label.png"])
def test_operators_do_not_print_labels_and_the_page_says_why_and_what_to_do(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str], path: str
) -> None:
    make_bin("A-01")
    login(client, make_user, "operator")
    p = error_page(client.get(path, headers=BROWSER), 403)
    text = message(p)
    assert text.startswith("Labels are printed by supervisors and admins")
    assert "Ask a supervisor to print the one you need" in text
    assert "type the bin code on the Scan page" in text
    assert "Forbidden" not in p.one("main").text


def test_a_server_error_is_a_500_page_and_json_on_the_api(
    app: Flask, client: FlaskClient, make_user: Callable[..., str]
) -> None:
    def fail() -> str:
        raise RuntimeError("a bug")

    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production (TESTING re-raises)
    app.add_url_rule("/boom", "boom", fail)
    app.add_url_rule("/api/boom", "api_boom", fail)
    login(client, make_user, "supervisor")
    p = error_page(client.get("/boom", headers=BROWSER), 500)
    assert p.one("h1").text == "Something went wrong"
    assert "Nothing of this request was saved" in message(p)
    assert "a bug" not in p.one("main").text  # no internals shown
    assert ways(p) == {"Go to the board": "/board"}
    api = client.get("/api/boom", headers=BROWSER)
    assert api.status_code == 500 and api.get_json()["error"]["code"] == "internal_server_error"


def test_the_api_keeps_json_errors(client: FlaskClient, make_token: Callable[[str], str]) -> None:
    operator = {"Authorization": f"Bearer {make_token('operator')}", **BROWSER}
    missing = client.get("/api/nope", headers=operator)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    refused = client.post("/api/requests/1/send", headers=operator)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    unknown = client.get("/api/bins/NOPE-1", headers=operator)
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "unknown_bin"


def test_an_error_page_runs_no_inline_script(
    client: FlaskClient, make_user: Callable[..., str]
) -> None:
    login(client, make_user, "operator")
    p = error_page(client.get("/no/such/page"), 404)
    for el in p.find("script"):
        assert el.attrs.get("src") or el.attrs.get("type") == "application/json"


def test_a_display_link_is_sent_back_to_the_wall(
    client: FlaskClient, make_token: Callable[[str], str]
) -> None:
    display = {"Authorization": f"Bearer {make_token('display')}", **BROWSER}
    p = error_page(client.get("/requests", headers=display), 403)
    assert message(p).startswith("This page is for operators, supervisors and admins.")
    assert "is a display link: it shows the wall screen only." in message(p)
    assert ways(p) == {"Go to the wall screen": "/wall"}
