"""Shared fixtures: a database migrated once, a rolled-back session per test, HTTP clients."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import migrate
from service.access.actor import Actor
from service.access.deps import current_actor
from service.app import create_app
from service.config import Settings
from service.db import get_session, session_scope
from service.reference import service as reference_service
from tests.dbutil import fresh_database, pg_url

TODAY = date(2026, 11, 23)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each pass runs the tests of its backend: PostgreSQL-only tests belong to the PG pass.

    They are deselected (not skipped) in the SQLite pass; CI runs both passes, and in the PG
    pass an unreachable server fails them.
    """
    backend = "postgres" if pg_url() else "sqlite_only"
    other = "sqlite_only" if backend == "postgres" else "postgres"
    keep = [i for i in items if other not in i.keywords]
    dropped = [i for i in items if other in i.keywords]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {'PostgreSQL ' + (pg_url() or '') if pg_url() else 'SQLite'}"


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One database per test run, built by the migrations (never create_all)."""
    with fresh_database(tmp_path_factory.mktemp("db")) as eng:
        migrate.upgrade(eng)
        with Session(eng) as s:
            reference_service.load(s)
            s.commit()
        yield eng


@pytest.fixture
def committed_db(tmp_path: Path) -> Iterator[Engine]:
    """A fresh migrated database of the backend under test, with reference data committed: for
    tests whose code commits (crashes, races, other connections), where rollback cannot
    isolate them."""
    with fresh_database(tmp_path) as eng:
        migrate.upgrade(eng)
        with session_scope(eng) as s:
            reference_service.load(s)
        yield eng


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session in an outer transaction that is rolled back: code that commits leaks nothing."""
    conn = engine.connect()
    outer = conn.begin()
    if conn.dialect.name == "postgresql":
        # The outer transaction never commits: fire commit-time (deferred) triggers at each
        # statement instead, so ledger_state moves with every write as a commit would move it.
        conn.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")
    s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield s
    finally:
        s.close()
        outer.rollback()
        conn.close()


ADMIN = Actor(id=1, name="管理员", role="admin")
MANAGER = Actor(id=2, name="市级管理员", role="manager")
OFFICER_DADUKOU = Actor(id=3, name="大渡口区用户", role="district_officer", district_code="500104")
VIEWER = Actor(id=5, name="查看用户", role="viewer")


@pytest.fixture
def app_for(engine: Engine, session: Session) -> Callable[[Actor], TestClient]:
    """A TestClient acting as the given actor, sharing the test's rolled-back session."""

    def build(actor: Actor) -> TestClient:
        app = create_app(
            Settings(data_dir=Path(os.devnull).parent), engine=engine, today=lambda: TODAY
        )

        def _session() -> Iterator[Session]:
            yield session
            session.commit()  # releases the savepoint, as the real edge commits

        app.dependency_overrides[get_session] = _session
        app.dependency_overrides[current_actor] = lambda: actor
        return TestClient(app, raise_server_exceptions=False)

    return build


@pytest.fixture
def client(app_for: Callable[[Actor], TestClient]) -> TestClient:
    return app_for(MANAGER)
