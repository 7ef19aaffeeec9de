"""Acceptance test 20: two commissioners edit one file from one version — exactly one wins, the
other gets 412, and no update is lost."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from service.access.actor import Actor
from service.access.deps import current_actor
from service.app import create_app
from service.audit.models import AuditEvent
from service.config import Settings
from service.db import session_scope
from service.enterprises.models import Enterprise
from tests.conftest import MANAGER, TODAY
from tests.factories import make_assignment, make_commissioner, make_enterprise

ROUNDS = 200


def _client(engine: Engine, actor: object) -> TestClient:
    app = create_app(Settings(data_dir=Path(os.devnull).parent), engine=engine, today=lambda: TODAY)
    app.dependency_overrides[current_actor] = lambda: actor
    return TestClient(app, raise_server_exceptions=False)


def _race(clients: list[TestClient], url: str, version: int, n: int) -> dict[int, tuple[int, str]]:
    """Both editors submit the same version at the same moment."""
    barrier = threading.Barrier(2)
    results: dict[int, tuple[int, str]] = {}

    def edit(i: int) -> None:
        value = f"第{n}轮编辑者{i}"
        barrier.wait()
        r = clients[i].patch(url, json={"notes": value}, headers={"If-Match": f'"{version}"'})
        results[i] = (r.status_code, value)

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_concurrent_edits_never_lose_an_update(committed_db: Engine) -> None:
    with session_scope(committed_db) as session:
        enterprise = make_enterprise(session, name="并发编辑公司")
        enterprise_id = enterprise.id
        editors = []
        for specialty in ("tech", "finance"):  # the file's two commissioners, one slot each
            commissioner = make_commissioner(
                session, name=f"并发{specialty}专员", specialties=(specialty,)
            )
            make_assignment(session, enterprise, commissioner, specialty=specialty)
            editors.append(
                Actor(
                    id=None,
                    name=commissioner.name,
                    role="commissioner",
                    commissioner_id=commissioner.id,
                )
            )
    clients = [_client(committed_db, editor) for editor in editors]
    url = f"/api/v1/enterprises/{enterprise_id}"
    for n in range(ROUNDS):
        version = clients[0].get(url).json()["version"]
        results = _race(clients, url, version, n)
        statuses = sorted(code for code, _ in results.values())
        assert statuses == [200, 412], (n, results)
        winner = next(value for code, value in results.values() if code == 200)
        with committed_db.connect() as conn:
            notes, final_version = conn.execute(
                sa.select(Enterprise.notes, Enterprise.version).where(
                    Enterprise.id == enterprise_id
                )
            ).one()
        assert notes == winner
        assert final_version == version + 1
    with committed_db.connect() as conn:
        updates = conn.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "enterprise.update", AuditEvent.enterprise_id == enterprise_id
            )
        )
    assert updates == ROUNDS


def test_patch_without_a_version_is_428(committed_db: Engine) -> None:
    with session_scope(committed_db) as session:
        enterprise_id = make_enterprise(session, name="无版本号公司").id
    r = _client(committed_db, MANAGER).patch(
        f"/api/v1/enterprises/{enterprise_id}", json={"notes": "x"}
    )
    assert r.status_code == 428
