"""RELIABILITY 22 (concurrency): two requests commit the same preview at once — one batch is
written; the other gets that batch back or a 409, and no event is written twice."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.roster import make_roster
from service.access.actor import Actor
from service.audit.models import AuditEvent
from service.db import writer
from service.enterprises.models import Enterprise
from service.errors import LedgerError
from service.imports import service as imports

MANAGER = Actor(id=2, name="市级管理员", role="manager")
ROWS = 500


@pytest.mark.parametrize("round_", range(3))
def test_two_commits_of_one_preview_write_once(committed_db: Engine, round_: int) -> None:
    engine = committed_db
    data = make_roster(ROWS, seed=10 + round_, messy=False)
    with Session(writer(engine), expire_on_commit=False) as s:
        batch = imports.preview(
            s, MANAGER, filename="r.xlsx", data=data, today=date(2026, 11, 23), data_year=2024
        )
        s.commit()
    batch_id = batch.id or 0
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def run(i: int) -> None:
        with Session(writer(engine), expire_on_commit=False) as s:
            barrier.wait()
            try:
                done = imports.commit(s, MANAGER, batch_id, checkpoint=s.commit)
                s.commit()
                results[i] = ("ok", done.id, done.status)
            except LedgerError as exc:
                s.rollback()
                results[i] = ("error", exc.status, exc.code)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(r is not None for r in results), results
    for r in results:
        assert r in (("ok", batch_id, "committed"), ("error", 409, "import.wrong_status")), r
    assert ("ok", batch_id, "committed") in results
    with engine.connect() as conn:
        events = conn.execute(
            sa.select(AuditEvent.action, sa.func.count())
            .where(AuditEvent.source == f"import:{batch_id}")
            .group_by(AuditEvent.action)
        ).all()
        counts = dict(events)
        assert counts["import.create"] == ROWS
        assert counts["import.commit"] == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(Enterprise)).scalar() == ROWS
        status = conn.execute(
            sa.text("SELECT status FROM import_batch WHERE id = :i"), {"i": batch_id}
        ).scalar()
        assert status == "committed"
