"""The token cache (service/access/tokencache.py) never lets a revoked, expired or demoted token
through in the process that made the change, and lets another process's change through for at
most `auth_cache_seconds`."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from service.access import service as access_service
from service.access import tokencache
from service.access.actor import SYSTEM, Actor
from service.access.models import ApiToken, User
from service.app import create_app
from service.config import Settings
from service.db import session_scope
from tests.conftest import TODAY

PASSWORD = "令牌缓存测试用的足够长口令-2026"
ME = "/api/v1/auth/me"


def _client(engine: Engine, *, seconds: float = 2.0) -> TestClient:
    settings = Settings(data_dir=Path(os.devnull).parent, auth_cache_seconds=seconds)
    app = create_app(settings, engine=engine, today=lambda: TODAY)
    return TestClient(app, raise_server_exceptions=False)


def _user_and_token(engine: Engine, username: str, role: str = "manager") -> tuple[int, str]:
    with session_scope(engine) as session:
        user = access_service.add_user(
            session, SYSTEM, username=username, display_name=username, role=role, password=PASSWORD
        )
        token = access_service.create_token(session, SYSTEM, user, name="测试").secret
        return user.id or 0, token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _elsewhere(engine: Engine, statement: Any) -> None:
    """A change as another process makes it: plain SQL, no ORM flush in this process."""
    with engine.begin() as conn:
        conn.execute(statement)


def test_a_revocation_through_the_api_is_refused_at_once(committed_db: Engine) -> None:
    client = _client(committed_db)
    _, token = _user_and_token(committed_db, "revoker")
    [t] = client.get("/api/v1/auth/tokens", headers=_bearer(token)).json()
    assert client.get(ME, headers=_bearer(token)).status_code == 200  # now remembered
    assert (
        client.delete(f"/api/v1/auth/tokens/{t['id']}", headers=_bearer(token)).status_code == 204
    )
    assert client.get(ME, headers=_bearer(token)).status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda u: u.__setattr__("active", False), id="deactivated"),
        pytest.param(lambda u: u.__setattr__("role", "viewer"), id="demoted"),
        pytest.param(lambda u: u.__setattr__("auth_epoch", u.auth_epoch + 1), id="signed out"),
    ],
)
def test_a_change_to_the_user_in_this_process_is_seen_at_once(
    committed_db: Engine, change: Any
) -> None:
    client = _client(committed_db, seconds=3600)
    uid, token = _user_and_token(committed_db, "changed")
    assert client.get("/api/v1/audit", headers=_bearer(token)).status_code == 200  # a manager's
    with session_scope(committed_db) as session:  # as the CLI or an admin's request would
        user = session.get(User, uid)
        assert user is not None
        change(user)
        session.add(user)
    assert client.get("/api/v1/audit", headers=_bearer(token)).status_code in (401, 403)


def test_another_process_s_revocation_is_seen_within_the_cache_time(committed_db: Engine) -> None:
    client = _client(committed_db, seconds=0.5)
    uid, token = _user_and_token(committed_db, "elsewhere")
    assert client.get(ME, headers=_bearer(token)).status_code == 200
    _elsewhere(
        committed_db,
        sa.update(ApiToken).where(ApiToken.user_id == uid).values(revoked_at=datetime.now(UTC)),
    )
    deadline = time.monotonic() + 0.5
    while client.get(ME, headers=_bearer(token)).status_code == 200:
        assert time.monotonic() < deadline + 0.3, "still accepted after auth_cache_seconds"
        time.sleep(0.05)


def test_without_the_cache_every_request_asks_the_database(committed_db: Engine) -> None:
    client = _client(committed_db, seconds=0)
    uid, token = _user_and_token(committed_db, "uncached")
    assert client.get(ME, headers=_bearer(token)).status_code == 200
    _elsewhere(committed_db, sa.update(User).where(User.id == uid).values(active=False))
    assert client.get(ME, headers=_bearer(token)).status_code == 401


def test_a_remembered_token_is_refused_once_it_expires(
    committed_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _client(committed_db, seconds=3600)
    _, token = _user_and_token(committed_db, "expiring")
    assert client.get(ME, headers=_bearer(token)).status_code == 200
    later = datetime.now(UTC) + timedelta(days=91)  # tokens live 90 days
    from service.access import deps

    monkeypatch.setattr(deps, "utcnow", lambda: later)
    assert client.get(ME, headers=_bearer(token)).status_code == 401


def test_an_answer_read_while_something_changed_is_not_kept() -> None:
    cache = tokencache.TokenCache(60)
    actor = Actor(id=7, name="甲", role="manager")
    expires = datetime.now(UTC) + timedelta(days=1)
    asked_at = tokencache.generation.value
    tokencache.generation.bump()  # a revocation committed while the lookup ran
    cache.put("h", actor, expires, asked_at)
    assert cache.get("h", datetime.now(UTC)) is None
    cache.put("h", actor, expires, tokencache.generation.value)
    assert cache.get("h", datetime.now(UTC)) == actor
    tokencache.generation.bump()
    assert cache.get("h", datetime.now(UTC)) is None
