"""Master data and the audit trail through the JSON API with supervisor tokens: the same
checks, versions and audit entries as the pages (issue 14, point 4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from ..conftest import Api


def call(api: Api, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    resp = getattr(api.client, method)(path, json=body, headers=api.headers())
    return resp.status_code, resp.get_json()


def test_a_supplier_item_zone_and_bin_are_created_and_read_back_with_their_version(
    supervisor_api: Api,
) -> None:
    status, sup = call(
        supervisor_api,
        "post",
        "/api/suppliers",
        {"name": "Acme", "email": "orders@acme.example", "lead_time_days": 4},
    )
    assert status == 201 and (sup["name"], sup["version"], sup["active"]) == ("Acme", 1, True)
    status, item = call(
        supervisor_api,
        "post",
        "/api/items",
        {"sku": "BOLT-M6", "name": "M6 bolt", "supplier_id": sup["id"], "pack_multiple": 10},
    )
    assert status == 201 and (item["supplier"], item["unit"], item["version"]) == ("Acme", "ea", 1)
    status, zone = call(supervisor_api, "post", "/api/zones", {"name": "Aisle A"})
    assert status == 201 and (zone["position"], zone["version"]) == (0, 1)
    status, b = call(
        supervisor_api,
        "post",
        "/api/bins",
        {
            "code": "a-01-01",
            "item_id": item["id"],
            "zone_id": zone["id"],
            "card_quantity": 5,
            "order_quantity": 20,
            "on_hand": 3,
        },
    )
    assert status == 201
    assert (b["code"], b["state"], b["on_hand"], b["version"]) == ("A-01-01", "replenish", 3, 1)
    assert (b["item_id"], b["zone_id"], b["supplier"]) == (item["id"], zone["id"], "Acme")
    assert call(supervisor_api, "get", "/api/bins/A-01-01")[1]["version"] == 1
    assert call(supervisor_api, "get", f"/api/items/{item['id']}")[1] == item
    assert [s["name"] for s in call(supervisor_api, "get", "/api/suppliers")[1]["suppliers"]] == [
        "Acme"
    ]


def test_a_patch_changes_the_fields_it_names_and_bumps_the_version(
    supervisor_api: Api, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=10, card=5)
    status, b = call(supervisor_api, "patch", "/api/bins/A-1", {"version": 1, "card_quantity": 12})
    assert status == 200 and (b["card_quantity"], b["state"], b["version"]) == (12, "replenish", 2)
    status, b = call(supervisor_api, "patch", "/api/bins/A-1", {"version": 2, "code": "A-2"})
    assert (status, b["code"], b["version"]) == (200, "A-2", 3)
    assert call(supervisor_api, "get", "/api/bins/A-1")[0] == 404


def test_a_stale_version_is_a_409_conflict_and_changes_nothing(
    supervisor_api: Api, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", zone="Dock")
    zone_id = call(supervisor_api, "get", "/api/zones")[1]["zones"][0]["id"]
    assert (
        call(supervisor_api, "patch", f"/api/zones/{zone_id}", {"version": 1, "position": 4})[0]
        == 200
    )
    status, body = call(
        supervisor_api, "patch", f"/api/zones/{zone_id}", {"version": 1, "name": "Goods-in"}
    )
    assert status == 409
    assert body["error"]["code"] == "conflict" and body["error"]["version"] == 2
    assert call(supervisor_api, "get", f"/api/zones/{zone_id}")[1]["name"] == "Dock"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/suppliers", {"name": "Acme", "lead_time_days": 3, "email": "nope"}, "email"),
        ("/api/suppliers", {"lead_time_days": 3}, "name"),
        ("/api/zones", {"name": "x" * 81}, "name"),
        ("/api/items", {"sku": "S", "name": "N", "supplier_id": "one"}, "supplier_id"),
        (
            "/api/bins",
            {"code": "A 1", "item_id": 1, "zone_id": 1, "card_quantity": 1, "order_quantity": 1},
            "code",
        ),
        (
            "/api/bins",
            {"code": "A-9", "item_id": 1, "zone_id": 1, "card_quantity": 1.5, "order_quantity": 1},
            "card_quantity",
        ),
    ],
)
def test_a_bad_field_is_a_400_naming_the_field(
    supervisor_api: Api, make_bin: Callable[..., str], path: str, body: dict[str, Any], field: str
) -> None:
    make_bin("A-1")
    before = call(supervisor_api, "get", "/api/audit")[1]["entries"]
    status, answer = call(supervisor_api, "post", path, body)
    assert status == 400
    assert answer["error"]["code"] == "invalid_field" and answer["error"]["field"] == field
    assert answer["error"]["message"]
    assert call(supervisor_api, "get", "/api/audit")[1]["entries"] == before


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"card_quantity": 3}, "invalid_field", "version"),
        ({"version": "1", "card_quantity": 3}, "invalid_field", "version"),
        ({"version": 1, "qty": 3}, "unknown_field", "qty"),
        ({"version": 1, "on_hand": 3}, "unknown_field", "on_hand"),  # stock moves by scans
    ],
)
def test_a_patch_needs_its_version_and_known_fields(
    supervisor_api: Api, make_bin: Callable[..., str], body: dict[str, Any], code: str, field: str
) -> None:
    make_bin("A-1")
    status, answer = call(supervisor_api, "patch", "/api/bins/A-1", body)
    assert status == 400 and (answer["error"]["code"], answer["error"]["field"]) == (code, field)


def test_changes_need_a_supervisor_and_json(
    api: Api, supervisor_api: Api, make_token: Callable[[str], str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1")
    assert call(api, "post", "/api/zones", {"name": "Dock"})[0] == 403  # an operator
    display = Api(api.client, make_token("display"))
    assert call(display, "patch", "/api/bins/A-1", {"version": 1})[0] == 403
    assert call(api, "get", "/api/audit")[0] == 403
    resp = supervisor_api.client.post(
        "/api/zones", data="name=Dock", headers=supervisor_api.headers()
    )
    assert resp.status_code == 415


def test_the_api_writes_the_audit_trail_with_the_token_as_who(
    client: FlaskClient, make_token: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", supplier="Acme")
    robot = Api(client, make_token("supervisor", "ERP sync"))
    sup_id = call(robot, "get", "/api/suppliers")[1]["suppliers"][0]["id"]
    call(robot, "patch", f"/api/suppliers/{sup_id}", {"version": 1, "phone": "+49 30 1234"})
    status, body = call(robot, "get", f"/api/audit?object=supplier&object_id={sup_id}")
    assert status == 200
    newest = body["entries"][0]
    assert (newest["actor"], newest["source"], newest["token_id"] is not None) == (
        "ERP sync",
        "api",
        True,
    )
    assert (newest["before"], newest["after"]) == ({"phone": None}, {"phone": "+49 30 1234"})
    assert body["next_before"] is None


def test_the_audit_api_pages_and_filters_by_user_and_days(
    client: FlaskClient, make_token: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    robot = Api(client, make_token("supervisor", "robot"))
    for n in range(3):
        call(robot, "post", "/api/zones", {"name": f"Zone {n}"})
    first = call(robot, "get", "/api/audit?user=ROBOT&limit=2")[1]
    assert [e["object"]["label"] for e in first["entries"]] == ["Zone 2", "Zone 1"]
    rest = call(robot, "get", f"/api/audit?user=robot&limit=2&before={first['next_before']}")[1]
    assert [e["object"]["label"] for e in rest["entries"]] == ["Zone 0"]
    assert rest["next_before"] is None
    assert call(robot, "get", "/api/audit?user=robot&to=2000-01-01")[1]["entries"] == []
    status, body = call(robot, "get", "/api/audit?from=soon")
    assert (status, body["error"]["code"]) == (400, "invalid_from")
    assert call(robot, "get", "/api/audit?limit=0")[0] == 400


def test_an_unknown_code_offers_a_supervisor_to_create_the_bin(
    api: Api, supervisor_api: Api, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1")
    resp = supervisor_api.scan("new-7")
    assert resp.status_code == 404
    assert resp.get_json()["error"] == {
        "code": "unknown_code",
        "message": "Unknown code: no bin, product barcode or SKU matches it.",
        "create_url": "/bins/new?code=NEW-7",
    }
    assert "create_url" not in api.scan("new-7").get_json()["error"]  # an operator
    # Text that could never be a bin code is only unknown, for anyone.
    assert "create_url" not in supervisor_api.scan("hello world").get_json()["error"]
