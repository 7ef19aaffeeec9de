"""Acceptance test 14 for page cookies: an admin's change or a logout takes effect on the very
next request with the old cookie, not when the cookie's max_age runs out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.access import service as access_service
from service.access.actor import SYSTEM
from service.app import create_app
from service.config import Settings
from service.db import get_session
from service.enterprises.models import Enterprise
from tests.conftest import TODAY
from tests.dbutil import digest
from tests.factories import make_enterprise
from tests.service.web.pageutil import PASSWORD, csrf_of, login


@pytest.fixture
def pages(engine: Engine, session: Session, tmp_path: Path) -> Iterator[Any]:
    app = create_app(Settings(data_dir=tmp_path), engine=engine, today=lambda: TODAY)

    def _session() -> Iterator[Session]:
        yield session
        session.commit()

    app.dependency_overrides[get_session] = _session
    clients: list[TestClient] = []

    def client() -> TestClient:
        c = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
        clients.append(c)
        return c

    yield client
    for c in clients:
        c.close()


def _user(session: Session, username: str, role: str, district: str | None = None) -> Any:
    return access_service.add_user(
        session,
        SYSTEM,
        username=username,
        display_name=username,
        role=role,
        password=PASSWORD,
        district_code=district,
    )


def _edit(client: TestClient, session: Session, e: Enterprise, csrf: str) -> Any:
    session.refresh(e)
    return client.post(
        f"/enterprises/{e.id}",
        data={"csrf_token": csrf, "version": str(e.version), "notes": "旧会话的修改"},
    )


def _is_login_redirect(r: Any) -> bool:
    return r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def _strip_ids(body: bytes) -> bytes:
    return re.sub(rb"[0-9a-f]{12,32}", b"<id>", body)


@pytest.mark.parametrize(
    ("change", "after"),
    [
        # A new district: the old cookie is dead; signed in again, the old district is hidden.
        ({"role": "district_officer", "district_code": "500115", "active": "on"}, "rescoped"),
        # A lesser role: the old cookie is dead; signed in again, writing is refused.
        ({"role": "viewer", "active": "on"}, "read_only"),
        # Disabled: the old cookie is dead and signing in again fails.
        ({"role": "district_officer", "district_code": "500104"}, "disabled"),
    ],
)
def test_an_admins_change_refuses_the_old_cookie_at_once(
    pages: Any, session: Session, change: dict[str, str], after: str
) -> None:
    officer = _user(session, "rv_officer", "district_officer", "500104")
    _user(session, "rv_admin", "admin")
    near = make_enterprise(session, name="撤销本区公司", district="500104")
    far = make_enterprise(session, name="撤销外区公司", district="500115")
    old = pages()
    login(old, "rv_officer")
    assert old.get(f"/enterprises/{near.id}").status_code == 200
    csrf = csrf_of(old.get("/password").text)
    token = access_service.create_token(session, SYSTEM, officer, name="旧令牌").secret
    admin = pages()
    login(admin, "rv_admin")
    form = admin.get(f"/admin/users/{officer.id}")
    assert form.status_code == 200
    changed = admin.post(
        f"/admin/users/{officer.id}",
        data={"csrf_token": csrf_of(form.text), "display_name": "rv_officer"} | change,
    )
    assert changed.status_code == 303, changed.text
    before = digest(session)
    # The very next request with the old cookie, read or write, is sent to sign in again.
    assert _is_login_redirect(old.get(f"/enterprises/{near.id}"))
    assert _is_login_redirect(_edit(old, session, near, csrf))
    assert digest(session) == before
    bearer = {"Authorization": f"Bearer {token}"}
    assert old.get(f"/api/v1/enterprises/{near.id}", headers=bearer).status_code == 401
    again = pages()
    signed_in = login(again, "rv_officer")
    if after == "disabled":
        assert signed_in.status_code == 401
        return
    assert signed_in.status_code == 303
    if after == "rescoped":
        hidden = again.get(f"/enterprises/{near.id}")
        missing = again.get("/enterprises/999999")
        assert hidden.status_code == missing.status_code == 404
        assert _strip_ids(hidden.content) == _strip_ids(missing.content)
        assert again.get(f"/enterprises/{far.id}").status_code == 200
    else:
        assert again.get(f"/enterprises/{near.id}").status_code == 200
        fresh = csrf_of(again.get("/password").text)
        assert _edit(again, session, near, fresh).status_code == 403
        assert digest(session) == before


def test_a_logged_out_cookie_replayed_is_refused(pages: Any, session: Session) -> None:
    _user(session, "rv_leaver", "manager")
    e = make_enterprise(session, name="登出后公司")
    client = pages()
    login(client, "rv_leaver")
    cookie = client.cookies.get("tl_session")
    assert cookie
    csrf = csrf_of(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    before = digest(session)
    replay = pages()
    replay.cookies.set("tl_session", cookie)
    assert _is_login_redirect(replay.get("/"))
    assert _is_login_redirect(replay.get(f"/enterprises/{e.id}"))
    assert _is_login_redirect(_edit(replay, session, e, csrf))
    assert digest(session) == before
    # The API never takes the page cookie, live or dead: a cookie-only call is unauthenticated.
    api = replay.get(f"/api/v1/enterprises/{e.id}")
    assert api.status_code == 401
    assert api.headers["WWW-Authenticate"] == "Bearer"
    again = pages()
    assert login(again, "rv_leaver").status_code == 303
    live = again.cookies.get("tl_session")
    assert live
    assert live != cookie  # a new session, the old one stays dead
    assert again.get(f"/api/v1/enterprises/{e.id}").status_code == 401
