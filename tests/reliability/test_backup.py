"""Acceptance test 24: backups taken under load are consistent and restore exactly."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from service import migrate
from service.cli import main
from service.db import make_engine, session_scope
from service.ladder.models import Designation
from tests.dbutil import DIGEST_TABLES, digest, pg_url
from tests.factories import make_enterprise

BATCH = 5


def _writer(engine: Engine, enterprise_id: int, stop: threading.Event, done: list[int]) -> None:
    """Commit small batches, each all-or-nothing, until told to stop."""
    n = 0
    while not stop.is_set():
        n += 1
        with session_scope(engine) as session:
            for _ in range(BATCH):
                session.add(
                    Designation(
                        enterprise_id=enterprise_id,
                        tier_code="innovative_sme",
                        designated_on=date(2025, 1, 1),
                        source=f"batch:{n}",
                    )
                )
        done.append(n)


@pytest.mark.sqlite_only
def test_backup_under_load_then_restore(
    committed_db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(committed_db) as session:
        enterprise_id = make_enterprise(session, name="备份测试公司").id or 0
    monkeypatch.setenv(
        "TIERLEDGER_DATABASE_URL", committed_db.url.render_as_string(hide_password=False)
    )
    stop, done = threading.Event(), []
    thread = threading.Thread(target=_writer, args=(committed_db, enterprise_id, stop, done))
    thread.start()
    try:
        while len(done) < 20:
            threading.Event().wait(0.01)
        target = tmp_path / "backup.sqlite3"
        result = CliRunner().invoke(main, ["db", "backup", str(target)])
    finally:
        stop.set()
        thread.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert len(done) > 20  # the writer kept committing while the backup ran
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    sizes = [n for (n,) in copy.execute("SELECT count(*) FROM designation GROUP BY source")]
    copy.close()
    assert sizes
    assert set(sizes) == {BATCH}  # no half batch
    backup_engine = make_engine(f"sqlite:///{target}")
    with backup_engine.connect() as conn:
        expected = digest(conn, DIGEST_TABLES)
    backup_engine.dispose()

    fresh = tmp_path / "restored.sqlite3"
    fresh_engine = make_engine(f"sqlite:///{fresh}")
    migrate.upgrade(fresh_engine)
    fresh_engine.dispose()
    monkeypatch.setenv("TIERLEDGER_DATABASE_URL", f"sqlite:///{fresh}")
    restored = CliRunner().invoke(main, ["db", "restore", str(target), "--yes"])
    assert restored.exit_code == 0, restored.output
    check = make_engine(f"sqlite:///{fresh}")
    with check.connect() as conn:
        assert digest(conn, DIGEST_TABLES) == expected
    check.dispose()


@pytest.mark.sqlite_only
def test_restore_refuses_a_file_that_is_not_a_ledger(
    committed_db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "TIERLEDGER_DATABASE_URL", committed_db.url.render_as_string(hide_password=False)
    )
    junk = tmp_path / "junk.sqlite3"
    sqlite3.connect(junk).execute("CREATE TABLE x (y)").connection.close()
    result = CliRunner().invoke(main, ["db", "restore", str(junk), "--yes"])
    assert result.exit_code == 1
    assert "不是梯度培育台账的数据库备份" in result.output


@pytest.mark.postgres
def test_pg_dump_and_pg_restore_round_trip(tmp_path: Path) -> None:
    """The README's PostgreSQL commands, exercised: pg_dump -Fc, then pg_restore."""
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed for the PostgreSQL backup test")
    url = sa.make_url(pg_url() or "")
    names = [f"tl_bk_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    libpq = [
        url.set(drivername="postgresql", database=n).render_as_string(hide_password=False)
        for n in names
    ]
    engines = [
        make_engine(url.set(database=n).render_as_string(hide_password=False)) for n in names
    ]
    try:
        migrate.upgrade(engines[0])
        from service.demo import generate
        from service.reference import service as reference_service

        with session_scope(engines[0]) as session:
            reference_service.load(session)
            from service.access.actor import SYSTEM

            generate(session, SYSTEM, enterprises=50, seed=4, today=date(2026, 11, 23))
        with engines[0].connect() as conn:
            expected = digest(conn, DIGEST_TABLES)
        dump = tmp_path / "ledger.dump"
        subprocess.run(["pg_dump", "-Fc", "-f", str(dump), libpq[0]], check=True, env=os.environ)
        subprocess.run(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", "-d", libpq[1], str(dump)],
            check=True,
            env=os.environ,
        )
        with engines[1].connect() as conn:
            assert digest(conn, DIGEST_TABLES) == expected
    finally:
        for e in engines:
            e.dispose()
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
