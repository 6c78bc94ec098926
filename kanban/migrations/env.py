"""Alembic's environment: every migration of one upgrade runs in one transaction.

SQLite: foreign keys are switched off on the migration's connection *before* BEGIN (the
pragma is a no-op inside a transaction), because batch migrations rebuild a table (copy,
``DROP TABLE``, rename) and the drop of a referenced table would fail or cascade with them
on. Before the commit, ``PRAGMA foreign_key_check`` must find no row that breaks a foreign
key; otherwise the whole upgrade rolls back and the database is as it was.
PostgreSQL has transactional DDL: the same single transaction, checked by the database.
"""

import logging
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from flask import current_app

config = context.config
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


class ForeignKeyViolation(Exception):
    """Rows that break a foreign key after the migrations (the upgrade is rolled back)."""


def get_engine() -> sa.Engine:
    """The app's engine (its connections carry the app's pragmas and BEGIN)."""
    return current_app.extensions["migrate"].db.engine


config.set_main_option(
    "sqlalchemy.url", get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
)
target_db = current_app.extensions["migrate"].db


def get_metadata() -> sa.MetaData:
    """The models' metadata, for autogenerate."""
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline() -> None:
    """Write the migrations' SQL instead of running it (``--sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=get_metadata(),
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _driver(connection: sa.Connection):  # noqa: ANN202 - the DB-API connection
    # The DB-API connection itself: a statement on it does not make SQLAlchemy begin.
    return connection.connection.driver_connection


def check_foreign_keys(connection: sa.Connection) -> None:
    """Raise :class:`ForeignKeyViolation` naming the rows ``PRAGMA foreign_key_check``
    reports (SQLite)."""
    rows = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if rows:
        shown = ", ".join(f"{table} row {rowid} → {parent}" for table, rowid, parent, _ in rows[:10])
        more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
        raise ForeignKeyViolation(
            f"{len(rows)} row(s) refer to rows that do not exist: {shown}{more}"
        )


def run_migrations_online() -> None:
    """Run the pending migrations on the app's database, all in one transaction."""

    def process_revision_directives(context, revision, directives) -> None:  # noqa: ANN001
        # No empty migration from autogenerate when nothing changed.
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    with get_engine().connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _driver(connection).execute("PRAGMA foreign_keys=OFF")
        try:
            # Begun before Alembic is configured, so that Alembic runs every migration in
            # this transaction (it would otherwise commit after each one on SQLite).
            with connection.begin():
                if sqlite and not _driver(connection).in_transaction:
                    # pysqlite opens no transaction before DDL by itself; the app's engine
                    # emits BEGIN, and an engine without that hook gets it here.
                    _driver(connection).execute("BEGIN")
                context.configure(
                    connection=connection, target_metadata=get_metadata(), **conf_args
                )
                context.run_migrations()
                if sqlite:
                    check_foreign_keys(connection)
        finally:
            if sqlite:
                _driver(connection).execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
