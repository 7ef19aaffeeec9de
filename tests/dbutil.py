"""Test databases: a fresh SQLite file or a fresh PostgreSQL schema, migrated by Alembic."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.db import make_engine

PG_URL_ENV = "TIERLEDGER_TEST_DATABASE_URL"


def pg_url() -> str | None:
    return os.environ.get(PG_URL_ENV) or None


@contextmanager
def fresh_database(tmp_dir: Path) -> Iterator[Engine]:
    """An empty database of the backend under test, dropped afterwards."""
    url = pg_url()
    if url is None:
        engine = make_engine(f"sqlite:///{tmp_dir / f'{uuid.uuid4().hex}.sqlite3'}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    # In the URL (not connect_args) so a CLI given this URL lands in the same schema.
    engine = make_engine(
        sa.make_url(url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


# The ledger's content, as RELIABILITY's "nothing written" digest names it: enterprises and
# their figures, the ladder with its events, anomalies and records, commissioners, their
# assignments and services. (Audit rows, batches and sessions record the attempt itself.)
DIGEST_TABLES = (
    "enterprise",
    "enterprise_subsector",
    "annual_figures",
    "designation",
    "designation_event",
    "ladder_anomaly",
    "listing_step",
    "evaluator_facts",
    "key_selection",
    "data_update",
    "major_change",
    "commissioner",
    "commissioner_specialty",
    "commissioner_district",
    "commissioner_cluster",
    "assignment",
    "service_record",
    "service_need",
)


CORE_TABLES = DIGEST_TABLES[:4]


def fingerprint(
    conn: sa.Connection, tables: tuple[str, ...] = DIGEST_TABLES[4:]
) -> tuple[Any, ...]:
    """One round trip: each table's row count and latest created_at and updated_at (every
    table has both). Any insert, delete or stamped update moves it; for checks run around
    every request, where `digest` of every table would cost more than the request."""
    union = " UNION ALL ".join(
        f"SELECT '{t}', count(*), max(created_at), max(updated_at) FROM {t}" for t in tables
    )
    return tuple(sorted(tuple(map(str, r)) for r in conn.exec_driver_sql(union)))


def digest(conn_or_session: object, tables: tuple[str, ...] = DIGEST_TABLES) -> str:
    """A canonical hash of the ledger's rows: equal digests mean nothing was written."""
    execute = conn_or_session.execute  # type: ignore[attr-defined]
    h = hashlib.sha256()
    for table in tables:
        rows = execute(sa.text(f"SELECT * FROM {table}")).fetchall()
        for row in sorted(repr(tuple(r)) for r in rows):
            h.update(f"{table}|{row}\n".encode())
    return h.hexdigest()
