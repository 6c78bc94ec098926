"""Every change made through the pages leaves an audit entry: who, when, what, before and
after, written in the transaction of the change (issue 14, point 2)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from kanban.auth import users as auth_service
from kanban.core import audit
from kanban.extensions import db
from kanban.models import AuditEntry, Bin, Supplier, User

from .test_board import login


def csrf(client: FlaskClient, path: str = "/") -> str:
    found = re.search(
        r'<meta name="csrf-token" content="([^"]+)"', client.get(path).get_data(as_text=True)
    )
    assert found is not None
    return found.group(1)


def trail(**args: str) -> list[dict[str, Any]]:
    """The audit entries, oldest first, without their ids and times, nor those of the
    records the test set up (by the ``setup`` actor of ``make_bin``)."""
    db.session.rollback()
    found = audit.entries(audit.AuditFilter.from_args(args))
    return [
        {k: v for k, v in audit.entry_dict(e).items() if k not in ("id", "time")}
        for e in reversed(found)
        if e.actor != "setup"
    ]


def user_id(name: str) -> int:
    db.session.rollback()
    found = db.session.scalar(sa.select(User.id).where(User.username == name))
    assert found is not None
    return found


def bin_id(code: str) -> int:
    found = db.session.scalar(sa.select(Bin.id).where(Bin.code == code))
    assert found is not None
    return found


def test_a_card_quantity_set_on_the_bin_page_is_recorded_with_who_and_values(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=10, card=5)
    name = login(client, make_user, "supervisor")
    client.post("/bins/A-1/card-quantity", data={"card_quantity": "12", "csrf_token": csrf(client)})
    assert trail(object="bin") == [
        {
            "actor": name,
            "user_id": user_id(name),
            "token_id": None,
            "source": "form",
            "object": {"type": "bin", "id": bin_id("A-1"), "label": "A-1"},
            "action": "edited",
            "before": {"card_quantity": 5},
            "after": {"card_quantity": 12},
        }
    ]


def test_card_sizes_applied_from_the_overview_are_one_entry_per_bin_or_none_at_all(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("R-1", on_hand=10, card=5)
    make_bin("R-2", on_hand=10, card=40)
    login(client, make_user, "supervisor")
    token = csrf(client, "/bins/sizing")
    # R-1 is applied, then NOPE fails: the whole transaction, audit entry included, is undone.
    client.post(
        "/bins/sizing", data={"apply": ["R-1:13", "NOPE:4"], "confirm": "1", "csrf_token": token}
    )
    assert trail(object="bin") == []
    client.post(
        "/bins/sizing", data={"apply": ["R-1:13", "R-2:7"], "confirm": "1", "csrf_token": token}
    )
    assert [(e["object"]["label"], e["before"], e["after"]) for e in trail(object="bin")] == [
        ("R-1", {"card_quantity": 5}, {"card_quantity": 13}),
        ("R-2", {"card_quantity": 40}, {"card_quantity": 7}),
    ]


def test_retiring_a_bin_and_bringing_it_back_are_recorded(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1")
    login(client, make_user, "supervisor")
    for active in ("0", "1"):
        client.post("/bins/A-1/active", data={"active": active, "csrf_token": csrf(client)})
    assert [(e["action"], e["before"], e["after"]) for e in trail(object="bin")] == [
        ("deactivated", {"active": True}, {"active": False}),
        ("reactivated", {"active": False}, {"active": True}),
    ]


def test_switching_auto_send_is_recorded_as_a_supplier_edit(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", supplier="Acme")
    sup = db.session.scalar(sa.select(Supplier).where(Supplier.name == "Acme"))
    assert sup is not None
    login(client, make_user, "supervisor")
    path = f"/suppliers/{sup.id}/auto-send"
    client.post(path, data={"auto_send": "1", "csrf_token": csrf(client)})
    (entry,) = trail(object="supplier", object_id=str(sup.id))[-1:]
    assert (entry["action"], entry["before"], entry["after"]) == (
        "edited",
        {"auto_send": False},
        {"auto_send": True},
    )


def test_an_import_is_one_entry_with_its_counts_and_the_rows_it_changed(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=7, card=3, order=12, supplier="Acme", sku="S-A1")
    make_bin("A-2", on_hand=7, card=3, order=12, supplier="Acme", sku="S-A2")
    name = login(client, make_user, "supervisor")
    sheet = (
        "code,sku,item_name,zone,supplier,supplier_email,on_hand,card_quantity,order_quantity\n"
        "A-1,S-A1,Part in A-1,Assembly line 1,Acme,orders@acme.example,7,9,12\n"
        "A-2,S-A2,Part in A-2,Assembly line 1,Acme,orders@acme.example,7,3,12\n"
        "N-1,S-N1,New part,Dock,Acme,,5,2,10\n"
    )
    before = len(trail())
    client.post(
        "/bins/spreadsheet", data={"action": "import", "csv": sheet, "csrf_token": csrf(client)}
    )
    (entry,) = trail()[before:]
    assert entry["actor"] == name and entry["action"] == "imported"
    assert entry["object"] == {
        "type": "import",
        "id": None,
        "label": "3 rows: 1 new bins, 1 changed",
    }
    after = entry["after"]
    assert (after["rows"], after["created"], after["changed"], after["unchanged"]) == (3, 1, 1, 1)
    assert after["bins"][0] == {"line": 2, "code": "A-1", "changes": {"card_quantity": [3, 9]}}
    assert after["bins"][1]["code"] == "N-1" and after["bins"][1]["new"]["on_hand"] == 5
    assert after["new"] == {"zones": ["Dock"], "items": ["S-N1"]}
    # The bins it changed list it in their own history; the unchanged one does not.
    assert [e.action for e in audit.history(audit.AuditObject.BIN, bin_id("A-1"))][:1] == [
        "imported"
    ]
    assert "imported" not in [e.action for e in audit.history(audit.AuditObject.BIN, bin_id("A-2"))]


def test_users_roles_passwords_and_switching_off_are_recorded_without_the_password(
    client: FlaskClient, make_user: Callable[..., str]
) -> None:
    admin = login(client, make_user, "admin")
    token = csrf(client, "/admin/users")
    client.post(
        "/admin/users",
        data={
            "username": "bea",
            "role": "operator",
            "password": "secret-pw-1",
            "csrf_token": token,
        },
    )
    bea = user_id("bea")
    client.post(f"/admin/users/{bea}/role", data={"role": "supervisor", "csrf_token": token})
    client.post(
        f"/admin/users/{bea}/password", data={"password": "forklift-pw-77", "csrf_token": token}
    )
    client.post(f"/admin/users/{bea}/active", data={"active": "0", "csrf_token": token})
    entries = trail(object="user", object_id=str(bea))
    assert [(e["actor"], e["action"], e["before"], e["after"]) for e in entries] == [
        (admin, "created", None, {"username": "bea", "role": "operator"}),
        (admin, "edited", {"role": "operator"}, {"role": "supervisor"}),
        (admin, "password_set", None, None),
        (admin, "deactivated", {"active": True}, {"active": False}),
    ]
    stored = json.dumps([e.before for e in db.session.scalars(sa.select(AuditEntry))])
    stored += json.dumps([e.after for e in db.session.scalars(sa.select(AuditEntry))])
    assert "pw" not in stored and "scrypt" not in stored and "pbkdf2" not in stored


def test_tokens_created_and_revoked_are_recorded_without_the_secret(
    client: FlaskClient, make_user: Callable[..., str]
) -> None:
    login(client, make_user, "admin")
    token = csrf(client, "/admin/tokens")
    page = client.post(
        "/admin/tokens", data={"name": "Scanner 3", "role": "operator", "csrf_token": token}
    ).get_data(as_text=True)
    secret = re.search(r"kbt_[A-Za-z0-9_-]+", page)
    assert secret is not None
    tok = auth_service.list_tokens()[0]
    client.post(f"/admin/tokens/{tok.id}/revoke", data={"csrf_token": token})
    entries = trail(object="token")
    assert [(e["object"]["label"], e["action"]) for e in entries] == [
        ("Scanner 3", "created"),
        ("Scanner 3", "revoked"),
    ]
    assert entries[0]["after"] == {
        "name": "Scanner 3",
        "role": "operator",
        "prefix": tok.prefix,
        "expires_at": None,
    }
    assert secret.group(0) not in json.dumps(entries)
