"""Prebuilt Core statements run straight on the driver's cursor, for the scan path.

SQLAlchemy's execution of a statement already compiled and cached still costs about
50–90 µs of Python on every call (an execution context, its parameters, a result object
with its rows), five to eight times what SQLite takes to run the statement. A scan runs
four or five of them. Here a statement is compiled once per dialect by SQLAlchemy, and
then run on the session's own DBAPI connection (same transaction as the session and
:func:`kanban.core.tx.conn`), with SQLAlchemy's own bind and result processors for its
column types: the SQL, what is stored and what is read back are exactly what
``conn().execute()`` gives. Rows come back as tuples.

On SQLite (pysqlite, positional parameters) and PostgreSQL (psycopg, named ones), and
only while nothing listens to the engine's statements (``echo``, a
``before_cursor_execute`` listener such as a test counting queries): otherwise, and for
a statement that needs Python-side column defaults or whose SQL depends on its values
(an ``IN`` list), it is ``conn().execute()``.
A driver error is raised as SQLAlchemy raises it (``IntegrityError`` for a duplicate
scan id).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from .tx import conn

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Prepared:
    """A statement compiled for one dialect and one set of parameter names."""

    sql: str
    names: tuple[str, ...] | None  # the positional parameters, in order; None: named
    keys: tuple[str, ...]  # every parameter
    fixed: dict[str, Any]  # values of the statement's own literals (``version + 1``)
    binds: dict[str, Processor]  # bind processors of the parameters that have one
    results: tuple[Processor | None, ...] | None  # per result column; None: none at all


#: Per dialect: (statement, parameter names) -> what it compiled to, or None when it
#: cannot run here (Python-side defaults to compute).
_prepared: weakref.WeakKeyDictionary[Dialect, dict[tuple[Any, ...], _Prepared | None]] = (
    weakref.WeakKeyDictionary()
)


#: The drivers whose cursors take the statements as SQLAlchemy compiles them for them.
DRIVERS = frozenset({"pysqlite", "psycopg"})

#: Statements whose SQL depends on the parameters' names (columns named by a parameter are
#: set by it, as ``Connection.execute`` does).
_BY_NAMES = (sa.Insert, sa.Update)


def _prepare(stmt: Any, keys: tuple[str, ...], dialect: Dialect) -> _Prepared | None:
    by_names = isinstance(stmt, _BY_NAMES)
    compiled: Any = stmt.compile(dialect=dialect, column_keys=list(keys) if by_names else None)
    if compiled.insert_prefetch or compiled.update_prefetch:
        return None
    if compiled.positiontup is not None:
        names: tuple[str, ...] | None = tuple(compiled.positiontup)
    elif dialect.paramstyle == "pyformat" and not compiled.escaped_bind_names:
        names = None  # named: ``%(name)s``, given as a dict
    else:
        return None
    binds: dict[str, Processor] = {}
    fixed: dict[str, Any] = {}
    for name, bind in compiled.binds.items():
        if bind.expanding:
            return None  # an IN list: its SQL depends on the values
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            binds[name] = processor
        if not bind.required:
            fixed[name] = bind.effective_value
    processors = tuple(
        col.type.dialect_impl(dialect).result_processor(dialect, None)
        for col in stmt.exported_columns
    )
    results = processors if any(p is not None for p in processors) else None
    return _Prepared(compiled.string, names, tuple(compiled.binds), fixed, binds, results)


def _lookup(connection: sa.Connection, stmt: Any, params: Mapping[str, Any]) -> _Prepared | None:
    dialect = connection.dialect
    if dialect.driver not in DRIVERS or connection._echo:  # noqa: SLF001 (SQLAlchemy's echo flag)
        return None
    dispatch = connection.dispatch
    if dispatch.before_cursor_execute or dispatch.after_cursor_execute:
        return None
    key = (stmt, tuple(params) if isinstance(stmt, _BY_NAMES) else ())
    found = _prepared.setdefault(dialect, {})
    if key not in found:
        found[key] = _prepare(stmt, key[1], dialect)
    return found[key]


def runs_direct(stmt: Any, params: Mapping[str, Any]) -> bool:
    """True when ``stmt`` with these parameters runs on the driver's cursor here (it can
    be compiled for it, and nothing listens to the engine's statements)."""
    return _lookup(conn(), stmt, params) is not None


def _value(prepared: _Prepared, name: str, params: Mapping[str, Any]) -> Any:
    value = params[name] if name in params else prepared.fixed[name]
    processor = prepared.binds.get(name)
    return value if processor is None else processor(value)


def rows(stmt: Any, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Run ``stmt`` with ``params`` in the session's transaction; its rows as tuples."""
    connection = conn()
    prepared = _lookup(connection, stmt, params)
    if prepared is None:
        result = connection.execute(stmt, dict(params))
        return [tuple(row) for row in result] if result.returns_rows else []
    values: list[Any] | dict[str, Any]
    if prepared.names is not None:
        values = [_value(prepared, name, params) for name in prepared.names]
    else:
        values = {name: _value(prepared, name, params) for name in prepared.keys}
    error = connection.dialect.loaded_dbapi.Error
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(prepared.sql, values)
        found = cursor.fetchall() if cursor.description is not None else []
    except error as exc:
        raise sa.exc.DBAPIError.instance(prepared.sql, values, exc, error) from exc
    finally:
        cursor.close()
    if prepared.results is None:
        return found
    return [
        tuple(v if p is None else p(v) for v, p in zip(row, prepared.results, strict=True))
        for row in found
    ]


def one_or_none(stmt: Any, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The one row of ``stmt``, None when there is none (more than one: an error)."""
    found = rows(stmt, params)
    if len(found) > 1:
        raise sa.exc.MultipleResultsFound("Multiple rows were found when one or none was required")
    return found[0] if found else None


def one(stmt: Any, params: Mapping[str, Any]) -> tuple[Any, ...]:
    """The one row of ``stmt`` (none or more than one: an error)."""
    found = one_or_none(stmt, params)
    if found is None:
        raise sa.exc.NoResultFound("No row was found when one was required")
    return found


def scalar_one(stmt: Any, params: Mapping[str, Any]) -> Any:
    """The first column of the one row of ``stmt``."""
    return one(stmt, params)[0]
