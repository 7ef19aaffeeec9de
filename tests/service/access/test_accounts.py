"""Accounts over real HTTP: tokens, revocation, throttling, password storage, role rights."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.access import passwords
from service.access import service as access_service
from service.access.actor import SYSTEM
from service.access.models import ApiToken, LoginAttempt, User
from service.app import create_app
from service.audit.models import AuditEvent
from service.config import Settings
from service.db import get_session
from tests.conftest import TODAY
from tests.factories import make_enterprise

PASSWORD = "梯度培育台账-测试口令-2026"


@pytest.fixture
def http(engine: Engine, session: Session) -> Iterator[TestClient]:
    """The real app with real authentication, on the test's rolled-back session."""
    app = create_app(Settings(data_dir=Path(os.devnull).parent), engine=engine, today=lambda: TODAY)

    def _session() -> Iterator[Session]:
        yield session
        session.commit()

    app.dependency_overrides[get_session] = _session
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def add(session: Session, username: str, role: str = "manager", **kw: Any) -> User:
    return access_service.add_user(
        session,
        SYSTEM,
        username=username,
        display_name=username,
        role=role,
        password=PASSWORD,
        **kw,
    )


def token_for(http: TestClient, username: str, password: str = PASSWORD) -> str:
    r = http.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_credentials_is_401(http: TestClient) -> None:
    r = http.get("/api/v1/enterprises")
    assert r.status_code == 401
    assert r.json()["code"] == "auth.required"
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_token_is_shown_once_and_stored_hashed(http: TestClient, session: Session) -> None:
    add(session, "mgr1")
    token = token_for(http, "mgr1")
    assert token.startswith("tl_")
    assert len(token) >= 43  # ≥ 32 random bytes
    assert http.get("/api/v1/auth/me", headers=bearer(token)).json()["username"] == "mgr1"
    stored = session.scalars(sa.select(ApiToken.token_hash)).all()
    assert token not in stored
    assert access_service.sha256(token) in stored
    listed = http.get("/api/v1/auth/tokens", headers=bearer(token)).json()
    assert "token" not in listed[0]


def test_revoked_token_is_refused_at_once(http: TestClient, session: Session) -> None:
    add(session, "mgr2")
    token = token_for(http, "mgr2")
    [t] = http.get("/api/v1/auth/tokens", headers=bearer(token)).json()
    assert http.delete(f"/api/v1/auth/tokens/{t['id']}", headers=bearer(token)).status_code == 204
    assert http.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    assert (
        session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "token.revoke")) == 1
    )


def test_expired_token_is_refused(http: TestClient, session: Session) -> None:
    add(session, "mgr3")
    token = token_for(http, "mgr3")
    row = session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == access_service.sha256(token))
    )
    assert row is not None
    row.expires_at = row.expires_at - timedelta(days=400)
    session.flush()
    assert http.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize(
    "change", [{"active": False}, {"role": "viewer"}, {"district_code": "500115"}]
)
def test_disabling_or_rescoping_a_user_kills_their_tokens(
    http: TestClient, session: Session, change: dict[str, Any]
) -> None:
    user = add(session, "officer1", role="district_officer", district_code="500104")
    token = token_for(http, "officer1")
    assert http.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    access_service.update_user(session, SYSTEM, user, **change)
    assert http.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401


def test_a_page_cookie_does_not_authenticate_the_api(http: TestClient, session: Session) -> None:
    user = add(session, "mgr4")
    new = access_service.open_session(session, user, absolute=timedelta(hours=1))
    http.cookies.set("tl_session", new.secret)
    assert http.get("/api/v1/enterprises").status_code == 401


def test_wrong_password_and_unknown_user_look_the_same(http: TestClient, session: Session) -> None:
    add(session, "mgr5")
    known = http.post("/api/v1/auth/token", json={"username": "mgr5", "password": "wrong-password"})
    unknown = http.post(
        "/api/v1/auth/token", json={"username": "nobody", "password": "wrong-password"}
    )
    assert known.status_code == unknown.status_code == 401
    strip = lambda r: {k: v for k, v in r.json().items() if k != "request_id"}  # noqa: E731
    assert strip(known) == strip(unknown)
    failed = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
    ).all()
    assert len(failed) == 2
    assert all("wrong-password" not in str(e.changes) for e in failed)


def test_ten_failures_lock_the_username_not_other_users(http: TestClient, session: Session) -> None:
    add(session, "target")
    add(session, "bystander")
    for i in range(10):
        session.add(LoginAttempt(username="target", address=f"10.0.0.{i}", success=False))
    session.flush()
    locked = http.post("/api/v1/auth/token", json={"username": "target", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "900"
    assert token_for(http, "bystander")
    assert (
        session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "auth.login_locked"))
        == 1
    )
    # After the window the attempts no longer count.
    for attempt in session.scalars(sa.select(LoginAttempt)):
        attempt.at -= timedelta(minutes=16)
    session.flush()
    assert token_for(http, "target")


def test_argon2id_parameters_meet_owasp_minimum(session: Session) -> None:
    user = add(session, "hashcheck")
    assert user.password_hash.startswith("$argon2id$")
    params = dict(p.split("=") for p in user.password_hash.split("$")[3].split(","))
    m, t = int(params["m"]), int(params["t"])
    assert (m >= 19456 and t >= 2) or (m >= 47104 and t >= 1)


@pytest.mark.parametrize("password", ["七个字的口令啊", "password", "qwerty123", "iloveyou"])
def test_weak_passwords_are_refused(session: Session, password: str) -> None:
    from service.errors import LedgerError

    with pytest.raises(LedgerError) as info:
        access_service.add_user(
            session, SYSTEM, username="weak", display_name="w", role="viewer", password=password
        )
    assert info.value.status == 422
    assert info.value.fields[0].code in {"password.too_short", "password.common"}


@pytest.mark.parametrize("password", ["十五个字符的中文密码口令一二三四", "ü" * 64])
def test_long_unicode_passwords_work(http: TestClient, session: Session, password: str) -> None:
    access_service.add_user(
        session, SYSTEM, username="uni", display_name="u", role="viewer", password=password
    )
    assert token_for(http, "uni", password)


def test_changed_hash_parameters_rehash_on_next_login(http: TestClient, session: Session) -> None:
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    weak = PasswordHash((Argon2Hasher(memory_cost=8192, time_cost=1),)).hash(PASSWORD)
    user = add(session, "oldhash")
    user.password_hash = weak
    session.flush()
    token_for(http, "oldhash")
    session.refresh(user)
    assert user.password_hash != weak
    assert "m=19456" in user.password_hash


def test_first_admin_must_change_the_generated_password(http: TestClient, session: Session) -> None:
    if session.scalar(sa.select(sa.func.count()).select_from(User)):
        pytest.fail("the test database should start with no users")
    created = access_service.ensure_first_admin(session, password=None)
    assert created is not None
    user, password = created
    assert access_service.ensure_first_admin(session, password=None) is None
    refused = http.post("/api/v1/auth/token", json={"username": "admin", "password": password})
    assert refused.status_code == 403
    assert refused.json()["code"] == "auth.password_change_required"
    changed = http.post(
        "/api/v1/auth/password",
        json={"username": "admin", "old_password": password, "new_password": PASSWORD},
    )
    assert changed.status_code == 204, changed.text
    assert token_for(http, "admin")
    assert passwords.verify(PASSWORD, user.password_hash)[0]


def test_roles_get_403_for_functions_outside_their_role(http: TestClient, session: Session) -> None:
    add(session, "viewer1", role="viewer")
    add(session, "officer2", role="district_officer", district_code="500104")
    e = make_enterprise(session, district="500104")
    viewer = bearer(token_for(http, "viewer1"))
    officer = bearer(token_for(http, "officer2"))
    assert http.get(f"/api/v1/enterprises/{e.id}", headers=viewer).status_code == 200
    assert (
        http.patch(
            f"/api/v1/enterprises/{e.id}", json={"notes": "x"}, headers=viewer | {"If-Match": '"1"'}
        ).status_code
        == 403
    )
    assert http.get("/api/v1/users", headers=officer).status_code == 403
    assert http.get("/api/v1/audit", headers=officer).status_code == 403
    moved = http.patch(
        f"/api/v1/enterprises/{e.id}",
        json={"district_code": "500115"},
        headers=officer | {"If-Match": '"1"'},
    )
    assert moved.status_code == 403
    assert moved.json()["code"] == "access.district_forbidden"
    assert (
        http.post(
            f"/api/v1/enterprises/{e.id}/designations",
            json={"tier_code": "innovative_sme", "designated_on": "2025-01-01"},
            headers=officer,
        ).status_code
        == 403
    )


def test_admin_manages_users_and_reads_audit(http: TestClient, session: Session) -> None:
    add(session, "root", role="admin")
    admin = bearer(token_for(http, "root"))
    created = http.post(
        "/api/v1/users",
        json={
            "username": "newbie",
            "display_name": "新人",
            "role": "district_officer",
            "district_code": "500104",
            "password": PASSWORD,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert PASSWORD not in created.text
    assert "hash" not in created.text
    bad = http.post(
        "/api/v1/users",
        json={
            "username": "x2",
            "display_name": "x",
            "role": "district_officer",
            "password": PASSWORD,
        },
        headers=admin,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "district_code"
    audit = http.get("/api/v1/audit", params={"action": "user.add"}, headers=admin).json()
    assert any(i["entity_repr"] == "newbie" for i in audit["items"])
    assert all(PASSWORD not in str(i) for i in audit["items"])


@pytest.mark.parametrize("value", [1, "yes", "false"])
def test_active_takes_only_a_json_boolean(http: TestClient, session: Session, value: Any) -> None:
    """Found by schemathesis: `"active": 1` or "yes" switched an account on."""
    add(session, "admin9", role="admin")
    target = add(session, "viewer9", role="viewer")
    admin = bearer(token_for(http, "admin9"))
    r = http.patch(f"/api/v1/users/{target.id}", json={"active": value}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "active"
