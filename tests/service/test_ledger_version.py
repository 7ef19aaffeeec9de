"""The ledger version: every committed write moves it, whoever commits it; nothing rolled back
does; it never goes back, and never names two states of the ledger (issue 6)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.access.actor import SYSTEM
from service.access.deps import current_actor
from service.app import create_app
from service.audit import service as audit_service
from service.config import Settings
from service.db import get_session, make_engine, session_scope
from service.enterprises.models import Enterprise
from service.imports import service as imports
from service.imports.models import ImportBatch
from tests import workbooks as W
from tests.conftest import MANAGER, TODAY
from tests.dbutil import digest
from tests.factories import make_designation, make_enterprise
from tests.importers.reference import make_code

LIST = "/api/v1/enterprises?district=500104&page_size=500"
SERIAL = itertools.count(60_000_000, 7)


@pytest.fixture
def committed(committed_db: Engine) -> Engine:
    """A database of its own (conftest's committed_db), with one enterprise committed."""
    with session_scope(committed_db) as s:
        make_enterprise(s, name="重庆版本基线材料有限公司", district="500104")
    return committed_db


@pytest.fixture
def other(committed: Engine) -> Iterator[Engine]:
    """Another engine on the same database: its own pool, so its own connections."""
    engine = make_engine(committed.url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()


def version(engine: Engine) -> int:
    with engine.connect() as conn:
        return audit_service.ledger_version(conn)


def _roster(n: int) -> bytes:
    rows = []
    for i in range(1, n + 1):
        code = make_code("500104", next(SERIAL))
        rows.append(
            W.good_row(i, 统一社会信用代码=code, 企业名称=f"重庆版本导入{code[-6:]}有限公司")
        )
    return W.roster_xlsx(rows)


def _import(s: Session, n: int = 30) -> ImportBatch:
    batch = imports.preview(s, MANAGER, filename="名单.xlsx", data=_roster(n), today=TODAY)
    return imports.commit(s, MANAGER, batch.id or 0)


def _last_batch(s: Session) -> int:
    batch_id = s.scalar(sa.select(sa.func.max(ImportBatch.id)))
    assert batch_id is not None
    return int(batch_id)


def _any_enterprise(s: Session) -> Enterprise:
    e = s.scalar(sa.select(Enterprise).order_by(Enterprise.id))
    assert e is not None
    return e


# Each write as one use case does it; `prepare` runs (committed) before the version is read.
@dataclass(frozen=True)
class Write:
    name: str
    write: Callable[[Session], Any]
    prepare: Callable[[Session], Any] | None = None


WRITES = [
    Write("one audit event", lambda s: audit_service.record(s, SYSTEM, action="t", entity="t")),
    Write("an enterprise registered", lambda s: make_enterprise(s, district="500104")),
    Write("a designation added", lambda s: make_designation(s, _any_enterprise(s))),
    Write("a roster import (audit rows in bulk)", _import),
    Write(
        "an import reverted",
        lambda s: imports.revert(s, MANAGER, _last_batch(s)),
        prepare=_import,
    ),
]


@pytest.mark.parametrize("w", WRITES, ids=[w.name for w in WRITES])
def test_a_write_by_another_connection_moves_the_version_only_when_committed(
    committed: Engine, other: Engine, w: Write
) -> None:
    if w.prepare is not None:
        with session_scope(other) as s:
            w.prepare(s)
    before = version(committed)
    with Session(other) as s:
        w.write(s)
        s.flush()
        s.rollback()
    assert version(committed) == before
    with session_scope(other) as s:
        w.write(s)
    assert version(committed) > before


def test_committed_versions_only_grow_and_name_one_state_each(
    committed: Engine, other: Engine
) -> None:
    """Commits and rollbacks interleaved, a rollback of more audit events than the commit after
    it among them (SQLite hands its ids out again): at every step the committed version is at
    least the last one, and two steps with one version have one ledger."""
    record = WRITES[0].write
    steps: list[tuple[str, Callable[[Session], Any], bool]] = [
        ("one event", record, True),
        ("an import, rolled back", _import, False),
        ("one event after it", record, True),
        ("an import", _import, True),
        ("three events, rolled back", lambda s: [record(s) for _ in range(3)], False),
        ("nothing", lambda s: None, True),
        ("the import reverted", lambda s: imports.revert(s, MANAGER, _last_batch(s)), True),
        ("an enterprise, rolled back", lambda s: make_enterprise(s), False),
        ("an enterprise", lambda s: make_enterprise(s), True),
    ]
    tables = ("enterprise", "designation", "annual_figures", "import_batch", "audit_event")

    def state() -> tuple[int, str]:
        with committed.connect() as conn:
            return audit_service.ledger_version(conn), digest(conn, tables)

    seen: dict[int, str] = {}
    last, ledger = state()
    seen[last] = ledger
    for name, write, commit in steps:
        with Session(other) as s:
            write(s)
            s.flush()
            s.commit() if commit else s.rollback()
        now, ledger = state()
        assert now >= last, name
        assert (now > last) == (ledger != seen[last]), name
        assert seen.setdefault(now, ledger) == ledger, name
        last = now


# ---- the cache and a session's own, uncommitted audit events ---------------------------------


def _app(engine: Engine) -> TestClient:
    app = create_app(Settings(data_dir=Path(os.devnull).parent), engine=engine, today=lambda: TODAY)
    app.dependency_overrides[current_actor] = lambda: MANAGER
    return TestClient(app, raise_server_exceptions=False)


def _on_session(served: TestClient, session: Session) -> TestClient:
    """The same app (the same cache) answering on `session`, as a write request's handler
    reads what it has just written, before its transaction ends."""
    client = _app(served.app.state.engine)  # type: ignore[attr-defined]
    client.app.state.read_cache = served.app.state.read_cache  # type: ignore[attr-defined]

    def _session() -> Iterator[Session]:
        yield session

    client.app.dependency_overrides[get_session] = _session  # type: ignore[attr-defined]
    return client


def _names(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {e["name"] for e in response.json()["items"]}


def test_a_rolled_back_write_never_lends_its_version_to_the_cache(committed: Engine) -> None:
    """A session reads its own uncommitted write through the cache's code path and rolls back;
    another commit then reaches the version that session saw (on SQLite, by the same audit
    ids). The cache must hold neither that session's answer nor one without its write."""
    served = _app(committed)
    assert served.get(LIST).json()["total"] == 1
    assert served.get(LIST).json()["total"] == 1  # kept at the committed version
    writer = Session(committed)
    try:
        make_enterprise(writer, name="重庆回滚未提交材料有限公司", district="500104")
        own = _on_session(served, writer).get(LIST)
        assert "重庆回滚未提交材料有限公司" in _names(own)  # its own write, never a cached miss
        pending_version = audit_service.ledger_version(writer.connection())
        writer.rollback()
    finally:
        writer.close()
    with session_scope(committed) as s:
        # As many audit events as the rolled-back write, in another district.
        make_enterprise(s, name="重庆回滚后提交材料有限公司", district="500107")
    if committed.dialect.name == "sqlite":
        assert version(committed) == pending_version  # the ids were handed out again
    assert _names(served.get(LIST)) == {"重庆版本基线材料有限公司"}


def test_audit_events_are_pending_until_the_session_s_transaction_ends(
    session: Session,
) -> None:
    """Flushed by the ORM or written in bulk; a commit or a rollback settles them."""
    assert not audit_service.has_pending(session)
    audit_service.record(session, SYSTEM, action="t", entity="t")
    session.flush()
    assert audit_service.has_pending(session)
    session.commit()
    assert not audit_service.has_pending(session)
    _import(session, 2)
    assert audit_service.has_pending(session)
    session.rollback()
    assert not audit_service.has_pending(session)


@pytest.mark.sqlite_only
def test_sqlite_reads_the_version_without_a_scan(committed: Engine) -> None:
    """Two look-ups by key (the highest audit id is the rowid b-tree's last entry), whatever
    the length of the audit trail."""
    with committed.connect() as conn:
        sql = audit_service.ledger_version_sql("sqlite")
        plan = [r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    assert not any(step.startswith("SCAN") for step in plan), plan
