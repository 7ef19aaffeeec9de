"""Pages over real HTTP: sign-in, sessions, CSRF, scope, editing with conflicts, valid HTML."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.access import policy
from service.access import service as access_service
from service.access.actor import SYSTEM
from service.access.models import WebSession
from service.config import Settings
from service.routeindex import PUBLIC_ROUTES, api_routes
from tests.dbutil import digest
from tests.factories import make_designation, make_enterprise
from tests.service.web.htmlcheck import problems
from tests.service.web.pageutil import PASSWORD, add, csrf_of, login


def test_anonymous_pages_redirect_to_login(site: Callable[..., TestClient]) -> None:
    r = site().get("/enterprises?district=500104")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/enterprises%3Fdistrict%3D500104"


def test_login_sets_a_new_hardened_cookie_and_shows_who(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "p_mgr")
    client = site()
    client.cookies.set("tl_session", "planted-before-login")
    r = login(client, "p_mgr")
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "tl_session=" in cookie
    assert "planted-before-login" not in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Path=/" in cookie
    assert PASSWORD not in cookie
    home = client.get("/")
    assert home.status_code == 200
    assert "p_mgr显示名（市级管理员 · 全市）" in home.text


def test_production_cookie_is_host_prefixed_and_secure(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "p_prod")
    client = site(Settings(data_dir=Path(os.devnull).parent, production=True))
    r = login(client, "p_prod")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-tl_session=")
    assert "Secure" in cookie


def test_wrong_password_shows_the_form_again(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "p_wrong")
    r = login(site(), "p_wrong", "not-the-password")
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    assert not problems(r.text)


def test_logout_kills_the_session_at_once(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "p_out")
    client = site()
    login(client, "p_out")
    cookie = client.cookies.get("tl_session")
    home = client.get("/")
    assert client.post("/logout", data={"csrf_token": csrf_of(home.text)}).status_code == 303
    replay = site()
    replay.cookies.set("tl_session", cookie or "")
    assert replay.get("/").status_code == 303


def test_disabling_a_user_ends_their_page_session(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "p_dis")
    client = site()
    login(client, "p_dis")
    assert client.get("/").status_code == 200
    user = access_service.find_user(session, "p_dis")
    assert user is not None
    access_service.update_user(session, SYSTEM, user, active=False)
    assert client.get("/").status_code == 303


def test_idle_and_absolute_timeouts(site: Callable[..., TestClient], session: Session) -> None:
    add(session, "p_idle")
    client = site()
    login(client, "p_idle")
    record = session.scalars(sa.select(WebSession).order_by(WebSession.id.desc())).first()  # type: ignore[union-attr]
    assert record is not None
    record.last_seen_at -= timedelta(minutes=31)
    session.flush()
    assert client.get("/").status_code == 303
    login(client, "p_idle")
    record = session.scalars(sa.select(WebSession).order_by(WebSession.id.desc())).first()  # type: ignore[union-attr]
    assert record is not None
    record.expires_at -= timedelta(hours=13)
    session.flush()
    assert client.get("/").status_code == 303


def test_first_login_must_change_the_password(
    site: Callable[..., TestClient], session: Session
) -> None:
    created = access_service.ensure_first_admin(session, password=None)
    if created is None:
        pytest.skip("users exist in this database")
    _, generated = created
    client = site()
    r = login(client, "admin", generated)
    assert r.headers["location"] == "/password"
    assert client.get("/enterprises").headers["location"] == "/password"
    form = client.get("/password")
    changed = client.post(
        "/password",
        data={
            "csrf_token": csrf_of(form.text),
            "old_password": generated,
            "new_password": PASSWORD,
            "confirm_password": PASSWORD,
        },
    )
    assert changed.status_code == 303
    assert client.get("/enterprises").status_code == 200


def _page_routes(client: TestClient) -> list[tuple[str, str, str | None]]:
    return [
        (r.method, r.path, r.permission)
        for r in api_routes(client.app)  # type: ignore[arg-type]
        if not r.path.startswith(("/api/", "/docs", "/openapi", "/redoc", "/healthz"))
        and (r.method, r.path) not in PUBLIC_ROUTES
    ]


def test_every_page_route_declares_an_access_rule(site: Callable[..., TestClient]) -> None:
    assert [(m, p) for m, p, perm in _page_routes(site()) if perm is None] == []


def test_csrf_sweep_of_every_unsafe_page_route(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "p_csrf")
    add(session, "p_other")
    e = make_enterprise(session)
    client = site()
    login(client, "p_csrf")
    mine = csrf_of(client.get("/").text)
    other = site()
    login(other, "p_other")
    theirs = csrf_of(other.get("/").text)
    before = digest(session)
    for method, path, _ in _page_routes(client):
        if method != "POST":
            continue
        url = path.replace("{enterprise_id}", str(e.id))
        base = {"version": "1", "notes": "改"}
        assert client.post(url, data=base).status_code == 403, url
        assert client.post(url, data=base | {"csrf_token": theirs}).status_code == 403, url
        evil = client.post(
            url, data=base | {"csrf_token": mine}, headers={"Origin": "https://evil.test"}
        )
        assert evil.status_code == 403, url
        cross = client.post(
            url, data=base | {"csrf_token": mine}, headers={"Sec-Fetch-Site": "cross-site"}
        )
        assert cross.status_code == 403, url
    assert digest(session) == before
    ok = client.post(
        f"/enterprises/{e.id}", data={"csrf_token": mine, "version": "1", "notes": "改"}
    )
    assert ok.status_code == 303


@pytest.mark.parametrize("role", ["admin", "manager", "district_officer", "commissioner", "viewer"])
def test_every_page_is_valid_and_scoped(
    site: Callable[..., TestClient], session: Session, role: str
) -> None:
    add(
        session,
        f"p_{role}",
        role=role,
        district_code="500104" if role == "district_officer" else None,
    )
    inside = make_enterprise(session, name="页面本区公司", district="500104")
    outside = make_enterprise(session, name="页面外区公司", district="500115")
    make_designation(session, inside)
    client = site()
    login(client, f"p_{role}")
    before = digest(session)
    sees_all = role in {"admin", "manager", "viewer"}
    for method, path, permission in _page_routes(client):
        if method != "GET" or path.endswith((".xlsx", "/progress")):
            continue
        if "{" in path.replace("{enterprise_id}", ""):
            continue  # batch pages are swept by tests/service/web/test_import_pages.py
        for target in [inside, outside] if "{enterprise_id}" in path else [inside]:
            url = path.replace("{enterprise_id}", str(target.id))
            r = client.get(url)
            if permission and not policy.allowed(role, permission):
                assert r.status_code == 403, url
            elif "{enterprise_id}" in path and not (
                sees_all or (role == "district_officer" and target is inside)
            ):
                assert r.status_code == 404, url
            else:
                assert r.status_code == 200, (url, r.status_code)
            assert not problems(r.text), (url, problems(r.text))
            assert (
                "'unsafe-inline'"
                not in r.headers["content-security-policy"].split("script-src")[1].split(";")[0]
            )
    listing = client.get("/enterprises?status=").text
    assert ("页面外区公司" in listing) == sees_all
    assert digest(session) == before


def test_edit_conflict_shows_what_changed(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "p_a")
    add(session, "p_b")
    e = make_enterprise(session, contact_person="原联系人")
    a, b = site(), site()
    login(a, "p_a")
    login(b, "p_b")
    page_a = a.get(f"/enterprises/{e.id}").text
    page_b = b.get(f"/enterprises/{e.id}").text
    first = a.post(
        f"/enterprises/{e.id}",
        data={
            "csrf_token": csrf_of(page_a),
            "version": "1",
            "name": e.name,
            "contact_person": "甲改的",
        },
    )
    assert first.status_code == 303
    second = b.post(
        f"/enterprises/{e.id}",
        data={
            "csrf_token": csrf_of(page_b),
            "version": "1",
            "name": e.name,
            "contact_person": "乙改的",
        },
    )
    assert second.status_code == 409
    assert "档案已被他人修改" in second.text
    assert "甲改的" in second.text
    assert "乙改的" in second.text
    assert not problems(second.text)
    session.refresh(e)
    assert e.contact_person == "甲改的"


def test_validation_message_next_to_the_field(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "p_val")
    e = make_enterprise(session)
    client = site()
    login(client, "p_val")
    page = client.get(f"/enterprises/{e.id}").text
    r = client.post(
        f"/enterprises/{e.id}",
        data={
            "csrf_token": csrf_of(page),
            "version": "1",
            "name": e.name,
            "contact_phone": "1" * 41,
        },
    )
    assert r.status_code == 422
    assert 'id="contact_phone-error"' in r.text
    assert "长度不能超过40个字符" in r.text


def test_export_button_downloads_the_filtered_ledger(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "p_exp", role="district_officer", district_code="500104")
    make_enterprise(session, name="导出本区公司", subsector="A4.01")
    client = site()
    login(client, "p_exp")
    r = client.get("/exports/ledger.xlsx?subsector=A4.01")
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment;")


def test_error_pages_are_html_with_headers(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "p_err")
    client = site()
    login(client, "p_err")
    r = client.get("/enterprises/999999")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "企业不存在" in r.text
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert not problems(r.text)
