"""Codes that cannot be confused (issue 15, point 5): no empty, "." or ".." part between
slashes, codes quoted in every URL, and old codes that break the rule stop the server until
``kanban fix-codes`` renames them."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from kanban.core.actor import Actor
from kanban.core.errors import ServiceError
from kanban.domain.statuses import Source
from kanban.extensions import db
from kanban.masterdata import bins as catalog
from kanban.masterdata import imports
from kanban.models import Bin

from ..conftest import KANBAN, Api
from .test_board import login

BAD = ["Z/../A-01-01", "Z/./A-01-01", "A-01-01/", "A//B", "A/.."]


@pytest.mark.parametrize("code", BAD)
def test_a_confusable_code_is_refused_when_a_bin_is_created(
    make_bin: Callable[..., str], code: str
) -> None:
    with pytest.raises(ServiceError) as err:
        make_bin(code)
    assert err.value.code == "invalid_bin_code"


@pytest.mark.parametrize("code", BAD)
def test_a_confusable_code_is_refused_by_the_import(app: Flask, code: str) -> None:
    csv = ",".join(imports.COLUMNS) + f"\n{code},SKU-1,Part,Zone,Acme,,5,2,10,,\n"
    report = imports.import_bins(csv, dry_run=True, actor=Actor(name="t", source=Source.IMPORT))
    assert not report.ok and "not a valid bin code" in report.errors[0]


def _endpoint_of(app: Flask, href: str) -> tuple[str, dict[str, Any]]:
    """Where a link goes, as the browser would resolve it (dot segments and all)."""
    path = urlsplit(href).path
    parts: list[str] = []
    for seg in path.split("/")[1:]:
        if seg == "..":
            parts = parts[:-1]
        elif seg != ".":
            parts.append(seg)
    adapter = app.url_map.bind("localhost")
    endpoint, args = adapter.match("/" + "/".join(parts))
    return endpoint, {k: unquote(v) if isinstance(v, str) else v for k, v in args.items()}


def test_every_link_to_a_bin_opens_that_bin(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., str],
    make_bin: Callable[..., str],
    api: Api,
) -> None:
    codes = ["B/2", "C.D/E_F-1", "A/.../B"]
    for code in codes:
        make_bin(code, on_hand=5, card=5)
        api.scan(code)  # each on the draft, so the request page links it too
    login(client, make_user, "supervisor")
    request_id = api.get("/api/requests").get_json()["requests"][0]["id"]
    seen: dict[str, set[str]] = {}
    for page in (
        "/board",
        "/board?view=states",
        "/bins/sizing?show=all",
        f"/requests/{request_id}",
    ):
        html = client.get(page).get_data(as_text=True)
        for href in re.findall(r'href="(/bins/[^"]+)"', html):
            endpoint, args = _endpoint_of(app, href)
            if endpoint == "board.bin_page":
                seen.setdefault(page, set()).add(args["code"])
    for page, found in seen.items():
        assert found == set(codes), page
    assert set(seen) == {
        "/board",
        "/board?view=states",
        "/bins/sizing?show=all",
        f"/requests/{request_id}",
    }
    for code in codes:
        assert client.get(f"/bins/{code}").status_code == 200
        assert api.get(f"/api/bins/{code}").get_json()["code"] == code


def _store_legacy_code(code: str) -> None:
    """A bin created before the rule: its code is written past today's checks."""
    db.session.execute(sa.update(Bin).where(Bin.code == "A-01-01").values(code=code))
    db.session.commit()


def test_fix_codes_renames_every_confusable_code(
    runner: Any, make_bin: Callable[..., str], make_user: Callable[..., str]
) -> None:
    make_bin("A-01-01")
    make_bin("Z/A-01-01")
    _store_legacy_code("Z/../A-01-01")
    assert catalog.invalid_codes() == ["Z/../A-01-01"]
    dry = runner.invoke(args=["fix-codes", "--dry-run"])
    assert dry.exit_code == 0 and "Z/../A-01-01\t→ Z/A-01-01-2" in dry.output
    assert catalog.invalid_codes() == ["Z/../A-01-01"]
    done = runner.invoke(args=["fix-codes"])
    assert done.exit_code == 0, done.output
    db.session.rollback()
    assert catalog.invalid_codes() == []
    assert set(db.session.scalars(sa.select(Bin.code))) == {"Z/A-01-01", "Z/A-01-01-2"}


def test_the_server_refuses_to_start_and_names_the_codes_to_fix(
    app: Flask, db_url: str, instance: Path, make_bin: Callable[..., str]
) -> None:
    make_bin("A-01-01")
    _store_legacy_code("Z/../A-01-01")
    db.session.remove()
    env = {
        **os.environ,
        "KANBAN_DATABASE_URL": db_url,
        "KANBAN_INSTANCE_PATH": str(instance),
        "KANBAN_SECRET_KEY": "test-secret",
    }
    run = subprocess.run(
        [KANBAN, "serve", "--port", "1"], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode != 0
    assert "'Z/../A-01-01'" in run.stderr and "kanban fix-codes" in run.stderr
    db.session.execute(sa.update(Bin).values(code="A-01-01"))  # kanban check runs next
    db.session.commit()
