"""One active commissioner per slot when two requests assign it at the same moment."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import migrate
from service.access.deps import current_actor
from service.app import create_app
from service.audit.models import AuditEvent
from service.commissioners.models import Assignment
from service.config import Settings
from service.db import writer
from service.reference import service as reference_service
from tests.conftest import MANAGER, TODAY
from tests.dbutil import fresh_database
from tests.factories import make_commissioner, make_enterprise


@pytest.fixture
def committed(tmp_path: Path) -> Iterator[Engine]:
    """A real database whose rows are committed, so two transactions really meet."""
    with fresh_database(tmp_path) as engine:
        migrate.upgrade(engine)
        with Session(writer(engine)) as s:
            reference_service.load(s)
            s.commit()
        yield engine


def test_two_assignments_at_once_one_wins_the_other_gets_409(committed: Engine) -> None:
    with Session(writer(committed), expire_on_commit=False) as s:
        enterprise = make_enterprise(s, is_key=True)
        people = [make_commissioner(s, name=f"并发专员{i}") for i in range(2)]
        s.commit()
    app = create_app(
        Settings(data_dir=Path(os.devnull).parent), engine=committed, today=lambda: TODAY
    )
    app.dependency_overrides[current_actor] = lambda: MANAGER
    barrier = threading.Barrier(2)
    statuses: list[int] = []
    lock = threading.Lock()

    def request(commissioner_id: int) -> None:
        # Each thread is its own client, so each request has its own session and transaction.
        with TestClient(app, raise_server_exceptions=False) as client:
            barrier.wait()
            r = client.post(
                f"/api/v1/enterprises/{enterprise.id}/assignments",
                json={"specialty_code": "tech", "commissioner_id": commissioner_id},
            )
        with lock:
            statuses.append(r.status_code)

    threads = [threading.Thread(target=request, args=(p.id,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [201, 409]
    with committed.connect() as conn:
        active = conn.scalar(
            sa.select(sa.func.count())
            .select_from(Assignment)
            .where(Assignment.enterprise_id == enterprise.id, Assignment.ended_on.is_(None))
        )
        audited = conn.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "assignment.assign")
        )
    assert active == 1
    assert audited == 1


def test_the_losing_insert_is_refused_by_the_index_not_only_the_check(committed: Engine) -> None:
    """Both transactions pass the service's look at the slot; the partial index decides."""
    with Session(writer(committed), expire_on_commit=False) as s:
        enterprise = make_enterprise(s)
        people = [make_commissioner(s, name=f"索引专员{i}") for i in range(2)]
        s.commit()
    barrier = threading.Barrier(2, timeout=30)
    outcome: list[str] = []

    def insert(commissioner_id: int) -> None:
        with Session(committed) as s:
            try:
                s.add(
                    Assignment(
                        enterprise_id=enterprise.id or 0,
                        specialty_code="legal",
                        commissioner_id=commissioner_id,
                        started_on=TODAY,
                    )
                )
                barrier.wait()
                s.commit()
                outcome.append("ok")
            except sa.exc.IntegrityError:
                outcome.append("refused")
            except sa.exc.OperationalError:
                # SQLite: a second writer may time out on the lock instead; either way one row.
                outcome.append("refused")

    threads = [threading.Thread(target=insert, args=(p.id,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcome) == ["ok", "refused"]
