"""Alembic environment: one migration chain for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, text
from sqlmodel import SQLModel

import service.models  # noqa: F401  (fills the metadata)
from service.config import Settings
from service.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # SQLModel's AutoString would make migrations import sqlmodel (and fail with NameError).
    if type_ == "type" and type(obj).__name__ == "AutoString":
        length = getattr(obj, "length", None)
        return f"sa.String(length={length})" if length else "sa.String()"
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        render_item=render_item,
        compare_type=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        _configure_and_run(connection)
        return
    # Batch mode recreates tables: with foreign keys on, dropping the old table deletes its
    # ON DELETE CASCADE children. The pragma only takes effect outside a transaction, and the
    # engine's recipe begins one (BEGIN) before any statement SQLAlchemy runs: so it goes to the
    # driver directly, and is read back, since a migration run with it on would lose data.
    if connection.in_transaction():
        connection.commit()
    _set_foreign_keys(connection, on=False)
    try:
        _configure_and_run(connection)
        if connection.in_transaction():
            connection.commit()
        problems = connection.execute(text("PRAGMA foreign_key_check")).fetchall()
        if problems:
            raise RuntimeError(f"foreign key check failed after migration: {problems[:5]}")
    finally:
        if connection.in_transaction():
            connection.commit()
        _set_foreign_keys(connection, on=True)


def _set_foreign_keys(connection: Connection, *, on: bool) -> None:
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    if driver.execute("PRAGMA foreign_keys").fetchone()[0] != int(on):
        raise RuntimeError(f"SQLite would not turn foreign keys {'on' if on else 'off'}")


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    settings = Settings()
    url = config.get_main_option("sqlalchemy.url") or settings.resolved_database_url()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            run_migrations(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run `tierledger db upgrade`")
run_online()
