"""The ledger version read on the event loop: a hit costs no thread-pool hop, every commit is
seen at once, and a busy, broken or dropped reader only sends requests the thread-pool way."""

from __future__ import annotations

import gc
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from service import migrate, readcache, versionreader
from service.access.actor import SYSTEM
from service.access.deps import current_actor
from service.app import create_app
from service.audit import service as audit_service
from service.config import Settings
from service.db import make_engine, session_scope
from tests.conftest import MANAGER, TODAY
from tests.dbutil import fresh_database
from tests.factories import make_designation, make_enterprise

API = "/api/v1/enterprises"
LIST = f"{API}?district=500104&tier=specialized_sme"


@pytest.fixture
def committed(committed_db: Engine) -> Engine:
    """A database the app reads with its own sessions, as it runs in production."""
    with session_scope(committed_db) as s:
        e = make_enterprise(s, name="重庆版本读者材料有限公司", district="500104")
        make_designation(s, enterprise=e, tier="specialized_sme")
    return committed_db


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each trip the read cache makes to the thread pool, by the function it sends there."""
    seen: list[str] = []
    real = readcache.run_in_threadpool

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(func, "__name__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(readcache, "run_in_threadpool", counting)
    return seen


def _served(engine: Engine) -> TestClient:
    app = create_app(Settings(data_dir=Path(os.devnull).parent), engine=engine, today=lambda: TODAY)
    app.dependency_overrides[current_actor] = lambda: MANAGER
    return TestClient(app, raise_server_exceptions=False)


def _commit_elsewhere(engine: Engine, name: str) -> None:
    """A write committed through another pool: another connection, as another process's."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with session_scope(other) as s:
            e = make_enterprise(s, name=name, district="500104")
            make_designation(s, enterprise=e, tier="specialized_sme")
    finally:
        other.dispose()


def _reader(engine: Engine) -> versionreader.VersionReader:
    return versionreader.reader_for(engine, audit_service.ledger_version_sql(engine.dialect.name))


def test_a_hit_never_leaves_the_event_loop_and_a_commit_is_seen_at_once(
    committed: Engine, hops: list[str]
) -> None:
    client = _served(committed)
    assert client.get(LIST).json()["total"] == 1
    assert hops == ["_get_or_make"]  # the miss ran its queries in the thread pool
    hops.clear()
    for _ in range(3):
        assert client.get(LIST).json()["total"] == 1
    assert hops == []  # the hits were answered on the loop
    _commit_elsewhere(committed, "重庆版本读者二号材料有限公司")
    assert client.get(LIST).json()["total"] == 2
    assert hops == ["_get_or_make"]


def test_the_reader_sees_each_commit_and_holds_no_snapshot_between_reads(
    committed: Engine,
) -> None:
    reader = _reader(committed)
    first = reader.read()
    assert first is not None
    with session_scope(committed) as s:
        audit_service.record(s, SYSTEM, action="test.write", entity="test")
    assert reader.read() == first + 1
    with committed.connect() as conn:
        if committed.dialect.name == "sqlite":
            # A reader holding a snapshot would keep the WAL from being truncated.
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
            assert busy == 0
        else:
            state = conn.exec_driver_sql(
                "SELECT state FROM pg_stat_activity WHERE pid = %s",
                (reader._conn.info.backend_pid,),
            ).scalar_one()
            assert state == "idle"  # not "idle in transaction"


def test_a_busy_reader_sends_the_request_to_the_thread_pool(
    committed: Engine, hops: list[str]
) -> None:
    client = _served(committed)
    client.get(LIST)
    hops.clear()
    reader = _reader(committed)
    with reader._lock:  # another event loop (another test client) is reading
        assert client.get(LIST).json()["total"] == 1
        assert hops == ["_get_or_make"]
    hops.clear()
    assert client.get(LIST).json()["total"] == 1
    assert hops == []


def test_a_dropped_connection_falls_back_then_reconnects(
    committed: Engine, hops: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _served(committed)
    client.get(LIST)
    reader = _reader(committed)
    assert reader.read() is not None
    reader._conn.close()  # the server went away under it
    hops.clear()
    _commit_elsewhere(committed, "重庆断线材料有限公司")
    assert client.get(LIST).json()["total"] == 2  # correct, through the thread pool
    assert hops == ["_get_or_make"]
    hops.clear()
    assert client.get(LIST).json()["total"] == 2
    assert hops == ["_get_or_make"]  # cooling off: no reconnect on every request
    monkeypatch.setattr(reader, "_retry_at", 0.0)
    hops.clear()
    assert client.get(LIST).json()["total"] == 2
    assert hops == []  # reconnected: hits are on the loop again


def test_one_reader_per_engine_and_its_connection_closes_with_the_engine(
    tmp_path: Path,
) -> None:
    with fresh_database(tmp_path) as engine:
        migrate.upgrade(engine)
        reader = _reader(engine)
        assert _reader(engine) is reader
        assert reader.read() is not None
        conn = reader._conn
        sqlite = engine.dialect.name == "sqlite"
        del reader
    del engine
    gc.collect()
    if sqlite:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            conn.cursor()
    else:
        assert conn.closed


def test_a_session_in_a_transaction_reads_the_version_itself(
    committed: Engine, hops: list[str]
) -> None:
    """A test's session bound to its own open transaction, or a request that has already read
    something, must read the version inside its transaction, not the loop's committed one."""
    with committed.connect() as conn:
        conn.begin()
        session = readcache.Session(bind=conn)
        session.info[readcache.READ_ONLY] = True
        assert readcache._loop_version(session) is None
    session = readcache.Session(committed)
    session.info[readcache.READ_ONLY] = True
    session.execute(sa.text("SELECT 1"))
    assert readcache._loop_version(session) is None
    session.close()
    unmarked = readcache.Session(committed)  # a write request's session
    assert readcache._loop_version(unmarked) is None
