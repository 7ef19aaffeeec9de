"""Failed sign-ins and denied calls stay on record although their requests fail (tests 18, 23)."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from service.access import service as access_service
from service.access.actor import SYSTEM
from service.app import create_app
from service.audit.models import AuditEvent
from service.config import Settings
from service.db import session_scope
from tests.conftest import TODAY

PASSWORD = "持久化测试用的足够长口令-2026"


def _app(engine: Engine) -> TestClient:
    """The real app on a committed database: every request commits or rolls back for real."""
    app = create_app(Settings(data_dir=Path(os.devnull).parent), engine=engine, today=lambda: TODAY)
    return TestClient(app, raise_server_exceptions=False)


def _count(engine: Engine, action: str) -> int:
    with engine.connect() as conn:
        return (
            conn.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == action)
            )
            or 0
        )


def _add(engine: Engine, username: str, role: str = "manager") -> None:
    with session_scope(engine) as session:
        access_service.add_user(
            session, SYSTEM, username=username, display_name=username, role=role, password=PASSWORD
        )


def test_ten_real_failures_lock_the_username(committed_db: Engine) -> None:
    _add(committed_db, "durable")
    client = _app(committed_db)
    for i in range(10):
        r = client.post(
            "/api/v1/auth/token",
            json={"username": "durable", "password": f"wrong-{i}-password"},
        )
        assert r.status_code == 401
    locked = client.post("/api/v1/auth/token", json={"username": "durable", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.headers["Retry-After"]
    assert _count(committed_db, "auth.login_failed") == 10
    assert _count(committed_db, "auth.login_locked") == 1


def test_page_login_failures_count_too(committed_db: Engine) -> None:
    import re

    _add(committed_db, "pagedurable")
    client = _app(committed_db)
    for _ in range(10):
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token
        client.post(
            "/login",
            data={
                "username": "pagedurable",
                "password": "wrong-password",
                "csrf_token": token.group(1),
            },
        )
    assert _count(committed_db, "auth.login_failed") == 10


def test_a_denied_call_is_audited(committed_db: Engine) -> None:
    _add(committed_db, "lookonly", role="viewer")
    client = _app(committed_db)
    token = client.post(
        "/api/v1/auth/token", json={"username": "lookonly", "password": PASSWORD}
    ).json()["token"]
    r = client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    with committed_db.connect() as conn:
        row = conn.execute(
            sa.select(AuditEvent.actor_name, AuditEvent.entity_repr, AuditEvent.changes).where(
                AuditEvent.action == "access.denied"
            )
        ).one()
    assert row.actor_name == "lookonly"
    assert row.entity_repr == "GET /api/v1/users"
    assert row.changes == {"permission": [None, "users.manage"]}


def test_unknown_and_known_usernames_take_the_same_time(
    committed_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pwdlib import PasswordHash

    _add(committed_db, "timing")
    client = _app(committed_db)
    hashes: list[str] = []
    for method in ("verify", "verify_and_update"):
        original = getattr(PasswordHash, method)

        def counting(
            self: PasswordHash, *args: object, _original: object = original, _name: str = method
        ) -> object:
            hashes.append(_name)
            return _original(self, *args)  # type: ignore[operator]

        monkeypatch.setattr(PasswordHash, method, counting)
    known: list[float] = []
    unknown: list[float] = []
    for i in range(9):  # interleaved; CPU time of this process, so other processes' load is out
        for name, bucket in (("timing", known), (f"nobody{i}", unknown)):
            before = len(hashes)
            started = time.process_time()
            r = client.post(
                "/api/v1/auth/token", json={"username": name, "password": "wrong-password"}
            )
            bucket.append(time.process_time() - started)
            assert r.status_code == 401
            assert len(hashes) - before == 1  # exactly one argon2 verification either way
    ratio = statistics.median(known) / statistics.median(unknown)
    assert 0.8 <= ratio <= 1.25, (known, unknown)
