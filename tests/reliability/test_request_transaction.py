"""One transaction per request, on the service's own session dependency (not a test override):
a request's writes are committed when it succeeds, whatever its method, and none of them stay
when it fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from service.access.actor import SYSTEM
from service.app import create_app
from service.audit import service as audit_service
from service.audit.models import AuditEvent
from service.config import Settings
from service.db import SessionDep
from service.errors import LedgerError
from tests.conftest import TODAY


def _client(engine: Engine) -> TestClient:
    app = create_app(Settings(data_dir=Path(os.devnull).parent), engine=engine, today=lambda: TODAY)

    def write(session: SessionDep, label: str, fail: bool) -> dict[str, str]:
        audit_service.record(session, SYSTEM, action="test.write", entity="test", entity_id=label)
        session.flush()  # reaches the database before the failure below
        if fail:
            raise LedgerError("test.failed", "测试失败", 409, "写入后失败")
        return {"label": label}

    for method in ("GET", "POST", "PUT", "DELETE"):
        app.add_api_route(f"/api/test-write/{method.lower()}", write, methods=[method])
    return TestClient(app, raise_server_exceptions=False)


def _written(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.scalars(
                sa.select(AuditEvent.entity_id)
                .where(AuditEvent.action == "test.write")
                .order_by(AuditEvent.entity_id)
            )
        )


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_a_request_that_succeeds_commits_its_writes(committed_db: Engine, method: str) -> None:
    client = _client(committed_db)
    r = client.request(
        method, f"/api/test-write/{method.lower()}", params={"label": "ok", "fail": 0}
    )
    assert r.status_code == 200, r.text
    assert _written(committed_db) == ["ok"]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_a_request_that_fails_after_writing_leaves_nothing(
    committed_db: Engine, method: str
) -> None:
    client = _client(committed_db)
    r = client.request(
        method, f"/api/test-write/{method.lower()}", params={"label": "bad", "fail": 1}
    )
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "test.failed"
    assert _written(committed_db) == []
    # The failed request's connection went back to the pool clean: the next one works.
    r = client.request(
        method, f"/api/test-write/{method.lower()}", params={"label": "next", "fail": 0}
    )
    assert r.status_code == 200, r.text
    assert _written(committed_db) == ["next"]
