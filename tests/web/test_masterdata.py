"""The master-data pages (supervisors): suppliers, items, zones and bins are created,
edited, deactivated and brought back on forms; refusals come back beside their field; a
stale edit is refused; each record's page shows its history (issue 14, point 1)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from kanban.catalog.views import get_bin
from kanban.extensions import db
from kanban.models import Bin, Item, Supplier, Zone

from .test_requests_pages import Page, login


def csrf(client: FlaskClient) -> str:
    return (
        Page(client.get("/").get_data(as_text=True)).one("meta", name="csrf-token").attrs["content"]
        or ""
    )


def send(client: FlaskClient, path: str, **data: object) -> Page:
    """Post a form (with its CSRF token) and follow the redirect."""
    resp = client.post(path, data={"csrf_token": csrf(client), **data}, follow_redirects=True)
    return Page(resp.get_data(as_text=True), resp.status_code)


def field_error(p: Page, name: str) -> str:
    box = p.one("div", data_field=name)
    errors = [el for el in p.find("p", role="alert") if el.parent is box]
    return " ".join(errors[0].text.split()) if errors else ""


def supplier(name: str) -> Supplier:
    db.session.rollback()
    found = db.session.scalar(sa.select(Supplier).where(Supplier.name == name))
    assert found is not None
    return found


@pytest.fixture
def supervisor(client: FlaskClient, make_user: Callable[..., str]) -> FlaskClient:
    login(client, make_user, "supervisor")
    return client


def test_a_supervisor_creates_a_supplier_and_its_page_shows_it_with_its_history(
    supervisor: FlaskClient,
) -> None:
    p = send(
        supervisor,
        "/suppliers/new",
        name="Acme",
        email="orders@acme.example",
        contact="Ann",
        lead_time_days="5",
        request_note="Customer no. 4711",
        auto_send="0",
    )
    assert p.status == 200 and p.flashes() == ["Supplier Acme created."]
    facts = {" ".join(el.text.split()) for el in p.find("dd")}
    assert {"orders@acme.example", "Ann", "Customer no. 4711"} <= facts
    rows = p.find("tr", data_action="created")
    assert len(rows) == 1 and "Email: orders@acme.example" in p.cells(rows[0])[-1]


def test_a_bad_field_is_refused_beside_it_and_nothing_is_created(
    supervisor: FlaskClient,
) -> None:
    p = send(supervisor, "/suppliers/new", name="Acme", email="acme", lead_time_days="x")
    assert p.status == 400
    assert field_error(p, "email") == "Email is not an email address (name@example.com)."
    assert field_error(p, "lead_time_days").startswith("Lead time (days) must be a whole number")
    assert field_error(p, "name") == ""
    assert p.one("input", name="email").attrs["value"] == "acme"  # what was typed stays
    assert p.one("input", name="email").attrs["aria-invalid"] == "true"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Supplier.id))) == 0


def test_the_second_save_from_the_same_version_is_refused_and_shows_the_record_now(
    supervisor: FlaskClient, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", supplier="Acme")
    sup = supplier("Acme")
    form = Page(supervisor.get(f"/suppliers/{sup.id}/edit").get_data(as_text=True))
    version = form.find("input", name="version")[0].attrs["value"]
    base = {"name": "Acme", "lead_time_days": "7", "version": version}
    first = send(supervisor, f"/suppliers/{sup.id}/edit", **base, email="first@acme.example")
    assert first.flashes() == ["Supplier Acme saved."]
    second = send(supervisor, f"/suppliers/{sup.id}/edit", **base, email="second@acme.example")
    assert second.status == 409
    message = " ".join(second.one(id="form-message").text.split())
    assert message.startswith("This supplier was changed by supervisor1 at")
    assert "Nothing was saved" in message
    assert second.one("input", name="email").attrs["value"] == "first@acme.example"
    assert second.find("input", name="version")[0].attrs["value"] == str(int(version or 0) + 1)
    assert supplier("Acme").email == "first@acme.example"


def test_items_are_created_edited_deactivated_and_brought_back(
    supervisor: FlaskClient, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", supplier="Acme")
    sup = supplier("Acme")
    p = send(
        supervisor, "/items/new", sku="NUT-M6", name="M6 nut", supplier_id=str(sup.id), unit="box"
    )
    assert p.flashes() == ["Item NUT-M6 · M6 nut created."]
    db.session.rollback()
    item = db.session.scalar(sa.select(Item).where(Item.sku == "NUT-M6"))
    assert item is not None and (item.unit, item.pack_multiple) == ("box", 1)
    version = str(item.record_version)
    p = send(supervisor, f"/items/{item.id}", pack_multiple="10", version=version)
    assert p.flashes() == ["Item NUT-M6 · M6 nut saved."]
    p = send(supervisor, f"/items/{item.id}/active", active="0", version=str(int(version) + 1))
    assert p.one("p", role="status").text.strip().startswith("✖ This item is deactivated")
    listing = Page(supervisor.get("/items").get_data(as_text=True))
    assert listing.one("tr", data_item="NUT-M6").attrs["class"] == "inactive"
    p = send(supervisor, f"/items/{item.id}/active", active="1", version=str(int(version) + 2))
    actions = [row.attrs["data-action"] for row in p.find("tr", data_entry=None)]
    assert actions == ["reactivated", "deactivated", "edited", "created"]


def test_deactivating_a_zone_with_bins_is_refused_with_the_reason(
    supervisor: FlaskClient, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", zone="Dock")
    zone = db.session.scalar(sa.select(Zone).where(Zone.name == "Dock"))
    assert zone is not None
    p = send(supervisor, f"/zones/{zone.id}/active", active="0", version="1")
    assert p.status == 409
    assert " ".join(p.one(id="form-message").text.split()) == (
        "Zone Dock still holds active bins (A-1): move or retire them first."
    )


def test_renaming_a_zone_shows_on_the_board(
    supervisor: FlaskClient, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", zone="Dock")
    zone = db.session.scalar(sa.select(Zone).where(Zone.name == "Dock"))
    assert zone is not None
    send(supervisor, f"/zones/{zone.id}", name="Goods-in", position="3", version="1")
    board = Page(supervisor.get("/").get_data(as_text=True))
    sections = [
        el.attrs["data-zone-section"] for el in board.find("section", data_zone_section=None)
    ]
    assert [name for name in sections if name] == ["Goods-in"]


def test_new_bin_is_one_short_form_from_the_board_and_offers_its_label(
    supervisor: FlaskClient, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1")
    b = get_bin("A-1")
    board = Page(supervisor.get("/").get_data(as_text=True))
    assert board.one("a", **{"class": "button new-bin"}).attrs["href"] == "/bins/new"
    form = Page(supervisor.get("/bins/new?code=b-07").get_data(as_text=True))
    assert form.one("input", name="code").attrs["value"] == "b-07"
    shown = [el.attrs["data-field"] for el in form.find("div", data_field=None)]
    assert shown == [
        "code",
        "item_id",
        "zone_id",
        "card_quantity",
        "order_quantity",
        "pull_quantity",
        "on_hand",
    ]
    p = send(
        supervisor,
        "/bins/new",
        code="b-07",
        item_id=str(b.item_id),
        zone_id=str(b.zone_id),
        card_quantity="4",
        order_quantity="12",
        pull_quantity="1",
        on_hand="9",
    )
    assert p.flashes() == ["Bin B-07 created; its card is stocked."]
    offer = p.one(id="label-offer")
    assert "Print the new bin's label" in offer.text
    assert [a.attrs["href"] for a in p.find("a") if a.parent is offer][1] == "/bins/B-07/label.png"


def test_a_duplicate_bin_code_is_refused_beside_the_code(
    supervisor: FlaskClient, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1")
    b = get_bin("A-1")
    p = send(
        supervisor,
        "/bins/new",
        code="a-1",
        item_id=str(b.item_id),
        zone_id=str(b.zone_id),
        card_quantity="4",
        order_quantity="12",
    )
    assert p.status == 400
    assert field_error(p, "code") == "Bin A-1 exists already: a bin code is on one label only."
    p = send(supervisor, "/bins/new", code="B-1", card_quantity="4", order_quantity="")
    assert field_error(p, "order_quantity") == "Order quantity is required."
    assert field_error(p, "item_id") == "Item is required."
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Bin.id))) == 1


def test_renaming_a_bin_keeps_its_history_and_offers_the_new_label(
    supervisor: FlaskClient, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=8, card=5)
    form = Page(supervisor.get("/bins/A-1/edit").get_data(as_text=True))
    values = {
        el.attrs["name"]: el.attrs.get("value")
        for el in form.find("input")
        if el.attrs.get("name") and el.attrs.get("type") != "checkbox"
    }
    for select in form.find("select"):
        chosen = [o for o in form.find("option", selected=None) if o.parent is select]
        values[select.attrs["name"]] = chosen[0].attrs["value"]
    values.pop("csrf_token")
    p = send(supervisor, "/bins/A-1/edit", **(values | {"code": "A-1-NEW"}))
    assert p.flashes() == ["Bin A-1-NEW saved; its card is stocked."]
    assert "Renamed from A-1: the old label no longer scans" in p.one(id="label-offer").text
    ledger = [p.cells(row)[1] for row in p.find("tr") if p.cells(row)[1:2] == ["initial"]]
    assert ledger == ["initial"]  # the opening stock moved with it
    history = [p.cells(row)[-1] for row in p.find("tr", data_action="edited")]
    assert history == ["Code: A-1 → A-1-NEW"]
    assert supervisor.get("/bins/A-1").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/suppliers/new"),
        ("get", "/items"),
        ("get", "/zones/new"),
        ("get", "/bins/new"),
        ("get", "/bins/A-1/edit"),
        ("post", "/items/new"),
        ("post", "/bins/A-1/edit"),
        ("get", "/audit"),
    ],
)
def test_operators_cannot_open_or_post_the_master_data_forms(
    client: FlaskClient,
    make_user: Callable[..., str],
    make_bin: Callable[..., str],
    method: str,
    path: str,
) -> None:
    make_bin("A-1")
    login(client, make_user, "operator")
    board = Page(client.get("/").get_data(as_text=True))
    assert board.find("a", **{"class": "button new-bin"}) == []
    resp = getattr(client, method)(path, data={"csrf_token": csrf(client), "name": "x"})
    assert resp.status_code == 403


def test_the_items_and_suppliers_lists_have_a_search_box(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", sku="BOLT-M6", supplier="Würth Industrie")
    make_bin("B-1", sku="NUT-M6", supplier="Acme Fasteners")
    make_bin("C-1", sku="WASHER", supplier="Acme Fasteners")
    login(client, make_user, "supervisor")
    shown = Page(client.get("/items?q=würth").get_data(as_text=True))
    assert [r.attrs["data-item"] for r in shown.find("tr", data_item=None)] == ["BOLT-M6"]
    assert shown.one(id="list-found").text == "1 of 3 shown"
    assert shown.one("input", id="list-q").attrs["value"] == "würth"
    m6 = Page(client.get("/items?q=m6").get_data(as_text=True))
    assert [r.attrs["data-item"] for r in m6.find("tr", data_item=None)] == ["BOLT-M6", "NUT-M6"]
    none = Page(client.get("/items?q=%3Cscript%3E").get_data(as_text=True))
    assert none.find("tr", data_item=None) == []
    assert "No item matches “<script>”." in none.one("td", **{"class": "empty"}).text
    everyone = Page(client.get("/items").get_data(as_text=True))
    assert len(everyone.find("tr", data_item=None)) == 3 and everyone.find(id="list-found") == []
    html = client.get("/suppliers?q=WURTH%20industrie").get_data(as_text=True)
    assert "Würth Industrie" not in html  # no accent folding: "wurth" is another word
    html = client.get("/suppliers?q=WÜRTH%20industrie").get_data(as_text=True)
    assert "Würth Industrie" in html and "Acme Fasteners" not in html


def test_deactivating_asks_first_saying_what_happens(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", sku="BOLT-M6", supplier="Acme Fasteners", zone="Dock")
    login(client, make_user, "supervisor")
    for kind, model, key, edit, effect in (
        ("supplier", Supplier, Supplier.name == "Acme Fasteners", "/suppliers/{}/edit", "no item"),
        ("item", Item, Item.sku == "BOLT-M6", "/items/{}", "no bin can be set to hold it"),
        ("zone", Zone, Zone.name == "Dock", "/zones/{}", "no bin can be moved into it"),
    ):
        record_id = db.session.scalar(sa.select(model.id).where(key))
        html = client.get(edit.format(record_id)).get_data(as_text=True)
        assert "/static/js/forms.js" in html  # asks with the data-confirm question
        page = Page(html)
        question = page.one("form", **{"class": "md-active"}).attrs["data-confirm"] or ""
        assert question.startswith(f"Deactivate the {kind} ")
        assert "Nothing is deleted" in question and effect in question
