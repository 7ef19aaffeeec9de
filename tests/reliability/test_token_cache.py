"""The auth cache (service/access/tokencache.py) never lets a revoked, expired or demoted token, or
a signed-out, revoked or idle page session, through in the process that made the change, and lets
another process's change through for at most `auth_cache_seconds`."""

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
from service.access.models import ApiToken, User, WebSession
from service.app import create_app
from service.config import Settings
from service.db import session_scope
from tests.conftest import TODAY
from tests.service.web import pageutil

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
    while True:
        # Judged by when the request began: on a loaded machine one that began in time may
        # answer late, its answer decided while the remembered one was still good.
        began = time.monotonic()
        if client.get(ME, headers=_bearer(token)).status_code != 200:
            break
        assert began < deadline + 0.3, "still accepted after auth_cache_seconds"
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


# ---- page sessions ----------------------------------------------------------------------------

PAGE = "/enterprises"


def _signed_in(engine: Engine, username: str, *, seconds: float) -> tuple[TestClient, int]:
    """A browser signed in through the login form, its first page view remembered."""
    settings = Settings(data_dir=Path(os.devnull).parent, auth_cache_seconds=seconds)
    app = create_app(settings, engine=engine, today=lambda: TODAY)
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    with session_scope(engine) as session:
        pageutil.add(session, username)
        user = access_service.find_user(session, username)
        assert user is not None
        uid = user.id or 0
    assert pageutil.login(client, username).status_code == 303
    assert client.get(PAGE).status_code == 200
    return client, uid


def _refused(response: Any) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_page_session_revoked_by_another_process_is_refused_within_the_cache_time(
    committed_db: Engine,
) -> None:
    client, uid = _signed_in(committed_db, "page-elsewhere", seconds=0.5)
    _elsewhere(
        committed_db,
        sa.update(WebSession).where(WebSession.user_id == uid).values(revoked_at=datetime.now(UTC)),
    )
    deadline = time.monotonic() + 0.5
    while not _refused(client.get(PAGE)):
        assert time.monotonic() < deadline + 0.3, "still served after auth_cache_seconds"
        time.sleep(0.05)


def test_without_the_cache_every_page_view_asks_the_database(committed_db: Engine) -> None:
    client, uid = _signed_in(committed_db, "page-uncached", seconds=0)
    _elsewhere(committed_db, sa.update(User).where(User.id == uid).values(active=False))
    assert _refused(client.get(PAGE))


def test_a_remembered_page_session_is_refused_once_idle(
    committed_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = _signed_in(committed_db, "page-idle", seconds=3600)
    assert client.get(PAGE).status_code == 200  # answered from the cache
    later = datetime.now(UTC) + timedelta(minutes=31)  # idle limit: 30 minutes
    from service.web import session as web_session

    monkeypatch.setattr(web_session, "utcnow", lambda: later)
    assert _refused(client.get(PAGE))


def test_logout_in_this_process_is_refused_at_once_with_a_long_cache(committed_db: Engine) -> None:
    client, _ = _signed_in(committed_db, "page-logout", seconds=3600)
    cookie = dict(client.cookies)
    page = client.get(PAGE)
    token = pageutil.csrf_of(page.text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    client.cookies.update(cookie)  # the old cookie, replayed
    assert _refused(client.get(PAGE))


def test_the_once_a_minute_touch_keeps_answers_and_a_sign_out_forgets_them(
    committed_db: Engine,
) -> None:
    with session_scope(committed_db) as session:
        pageutil.add(session, "page-touch")
        user = access_service.find_user(session, "page-touch")
        assert user is not None
        record = access_service.open_session(session, user, absolute=timedelta(hours=1)).record
        before = tokencache.generation.value
        record.last_seen_at = datetime.now(UTC)
        session.add(record)
        session.flush()
        assert tokencache.generation.value == before  # a touch changes no answer
        record.revoked_at = datetime.now(UTC)
        session.add(record)
        session.flush()
        assert tokencache.generation.value > before
