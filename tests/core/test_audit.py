"""The audit trail: written with the change, append-only, filtered and exported."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from kanban.core import audit
from kanban.core.actor import Actor
from kanban.core.csvsafe import cell, rows_as_csv
from kanban.core.errors import ServiceError
from kanban.domain.statuses import AuditAction, AuditObject
from kanban.extensions import db
from kanban.models import AuditEntry, utcnow

BOB = Actor(name="bob", source="form")


def note(label: str, object_id: int = 1, **kwargs: object) -> AuditEntry:
    return audit.record(
        AuditObject.SUPPLIER,
        AuditAction.EDITED,
        actor=kwargs.pop("actor", BOB),  # type: ignore[arg-type]
        object_id=object_id,
        label=label,
        before={"email": "old@acme.example"},
        after={"email": "new@acme.example"},
        **kwargs,  # type: ignore[arg-type]
    )


def count() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) or 0


def test_an_entry_commits_and_rolls_back_with_the_change_it_records(app: Flask) -> None:
    note("Acme")
    db.session.rollback()
    assert count() == 0
    note("Acme")
    db.session.commit()
    assert count() == 1
    (e,) = audit.entries(audit.AuditFilter())
    assert audit.entry_dict(e) | {"id": 0, "time": ""} == {
        "id": 0,
        "time": "",
        "actor": "bob",
        "user_id": None,
        "token_id": None,
        "source": "form",
        "object": {"type": "supplier", "id": 1, "label": "Acme"},
        "action": "edited",
        "before": {"email": "old@acme.example"},
        "after": {"email": "new@acme.example"},
    }


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_entries SET actor = 'mallory'", "DELETE FROM audit_entries"],
)
def test_the_database_refuses_to_change_or_delete_an_entry(app: Flask, statement: str) -> None:
    note("Acme")
    db.session.commit()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        db.session.execute(sa.text(statement))
        db.session.flush()
    db.session.rollback()
    assert count() == 1
    assert db.session.scalar(sa.select(AuditEntry.actor)) == "bob"


def test_filters_select_by_record_user_and_days(app: Flask) -> None:
    old = note("Acme", 1)
    note("Bolts Ltd", 2, actor=Actor(name="Carol"))
    note("import of 3 rows", links=[(AuditObject.SUPPLIER, 1)])  # an import touched Acme
    db.session.flush()
    db.session.execute(
        sa.text(
            "INSERT INTO audit_entries (created_at, actor, source, object_type, label, action)"
            " VALUES (:t, 'bob', 'cli', 'zone', 'Dock', 'created')"
        ),
        {"t": (utcnow() - dt.timedelta(days=10)).replace(tzinfo=None)},
    )
    db.session.commit()

    def labels(**args: str) -> list[str]:
        return [e.label for e in audit.entries(audit.AuditFilter.from_args(args))]

    assert labels(object="supplier", object_id=str(old.object_id)) == ["import of 3 rows", "Acme"]
    assert labels(user="carol") == ["Bolts Ltd"]
    assert labels(record="bolts") == ["Bolts Ltd"]
    today = utcnow().date()
    assert "Dock" not in labels(**{"from": today.isoformat()})
    assert labels(to=(today - dt.timedelta(days=5)).isoformat()) == ["Dock"]
    assert [e.label for e in audit.history(AuditObject.SUPPLIER, 2)] == ["Bolts Ltd"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"object": "nonsense"}, "invalid_object"),
        ({"from": "yesterday"}, "invalid_from"),
        ({"from": "2026-02-02", "to": "2026-02-01"}, "invalid_to"),
        ({"before": "-1"}, "invalid_before"),
    ],
)
def test_a_bad_filter_is_refused_with_its_name(args: dict[str, str], code: str) -> None:
    with pytest.raises(ServiceError) as caught:
        audit.AuditFilter.from_args(args)
    assert caught.value.code == code


def test_csv_cells_never_start_a_formula() -> None:
    assert [cell(v) for v in ("=SUM(A1)", "+1", "@x", "-x", "\tx", "-12.5", 7, None, "A-1")] == [
        "'=SUM(A1)",
        "'+1",
        "'@x",
        "'-x",
        "'\tx",
        "-12.5",
        "7",
        "",
        "A-1",
    ]
    text = "".join(rows_as_csv(["a", "b"], [["=1+1", 2]]))
    assert text == "\ufeffa,b\r\n'=1+1,2\r\n"


def test_the_csv_export_lists_entries_oldest_first_and_formula_safe(app: Flask) -> None:
    note("=HYPERLINK(evil)")
    note("Acme")
    db.session.commit()
    rows, after = audit.csv_page(audit.AuditFilter(), 0)
    assert after is None
    page, after = audit.csv_page(audit.AuditFilter(), 0, size=1)
    assert page == rows[:1] and audit.csv_page(audit.AuditFilter(), after or 0)[0] == rows[1:]
    text = "".join(rows_as_csv(audit.CSV_COLUMNS, rows))
    lines = text.splitlines()
    assert lines[0] == "\ufeff" + ",".join(audit.CSV_COLUMNS)
    assert ",'=HYPERLINK(evil),edited," in lines[1] and ",Acme,edited," in lines[2]
