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


def test_first_login_must_change_the_password(tmp_path: Path) -> None:
    # A fresh committed database of its own: "no users yet" is then a fact, not a hope about
    # what other tests left in the shared one, so the first admin is always created here.
    from service import migrate
    from service.app import create_app
    from service.db import session_scope
    from service.reference import service as reference_service
    from tests.conftest import TODAY
    from tests.dbutil import fresh_database

    with fresh_database(tmp_path) as engine:
        migrate.upgrade(engine)
        with session_scope(engine) as fresh:
            reference_service.load(fresh)
            created = access_service.ensure_first_admin(fresh, password=None)
        assert created is not None
        _, generated = created
        app = create_app(Settings(data_dir=tmp_path), engine=engine, today=lambda: TODAY)
        with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
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
        with session_scope(engine) as fresh:
            # A second first serve creates nobody: the admin exists now.
            assert access_service.ensure_first_admin(fresh, password=None) is None


def _page_routes(client: TestClient) -> list[tuple[str, str, str | None]]:
    return [
        (r.method, r.path, r.permission)
        for r in api_routes(client.app)  # type: ignore[arg-type]
        if not r.path.startswith(("/api/", "/docs", "/openapi", "/redoc", "/healthz"))
        and (r.method, r.path) not in PUBLIC_ROUTES
    ]


def test_every_page_route_declares_an_access_rule(site: Callable[..., TestClient]) -> None:
    assert [(m, p) for m, p, perm in _page_routes(site()) if perm is None] == []


ROLES = ("admin", "manager", "district_officer", "commissioner", "viewer")
CSRF_REFUSED = "请求已过期或来源不明"  # the CSRF refusal's title, unlike the role refusal's


@pytest.mark.parametrize("role", ROLES)
def test_csrf_sweep_of_every_unsafe_page_route(
    site: Callable[..., TestClient], session: Session, role: str
) -> None:
    # The token is checked before the role: a forged form learns nothing, whoever's cookie it
    # rides on, and every role's refusal is the CSRF one (not "your role may not").
    add(
        session, "p_csrf", role=role, district_code="500104" if role == "district_officer" else None
    )
    add(session, "p_other")
    e = make_enterprise(session, district="500104")
    if role == "commissioner":
        from tests.factories import make_assignment, make_commissioner

        me = access_service.find_user(session, "p_csrf")
        assert me is not None
        make_assignment(session, e, make_commissioner(session, name="防伪专员", user_id=me.id))
    client = site()
    login(client, "p_csrf")
    mine = csrf_of(client.get("/password").text)
    other = site()
    login(other, "p_other")
    theirs = csrf_of(other.get("/").text)
    before = digest(session)
    swept = 0
    for method, path, _ in _page_routes(client):
        if method != "POST":
            continue
        url = path.replace("{enterprise_id}", str(e.id))
        base = {"version": "1", "notes": "改"}
        attempts = [
            client.post(url, data=base),
            client.post(url, data=base | {"csrf_token": theirs}),
            client.post(
                url, data=base | {"csrf_token": mine}, headers={"Origin": "https://evil.test"}
            ),
            client.post(
                url, data=base | {"csrf_token": mine}, headers={"Sec-Fetch-Site": "cross-site"}
            ),
        ]
        for r in attempts:
            assert r.status_code == 403, (role, url, r.status_code)
            assert CSRF_REFUSED in r.text, (role, url)
        swept += 1
    assert swept >= 20  # the sweep ran over the route table, not an empty list
    assert digest(session) == before
    # The same forms with a valid same-origin token go through, within what the role may do.
    saved = client.post(
        "/enterprises/filters",
        data={"csrf_token": mine, "name": "防伪", "query": "district=500104"},
    )
    assert saved.status_code == 303
    edit = client.post(
        f"/enterprises/{e.id}", data={"csrf_token": mine, "version": "1", "notes": "改"}
    )
    if policy.allowed(role, "enterprise.update"):
        assert edit.status_code == 303
        session.refresh(e)
        assert e.notes == "改"
    else:
        assert edit.status_code == 403
        assert CSRF_REFUSED not in edit.text


@pytest.mark.parametrize("role", ROLES)
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


def test_a_district_officer_cannot_move_a_file_out_through_the_page(
    site: Callable[..., TestClient], session: Session
) -> None:
    # RELIABILITY 13: the edit form has no district field, and a planted one changes nothing.
    add(session, "p_move", role="district_officer", district_code="500104")
    e = make_enterprise(session, district="500104", contact_person="原联系人")
    client = site()
    login(client, "p_move")
    page = client.get(f"/enterprises/{e.id}")
    assert 'name="district_code"' not in page.text
    r = client.post(
        f"/enterprises/{e.id}",
        data={
            "csrf_token": csrf_of(page.text),
            "version": "1",
            "contact_person": "新联系人",
            "district_code": "500115",
        },
    )
    assert r.status_code == 303
    session.refresh(e)
    assert (e.district_code, e.contact_person) == ("500104", "新联系人")
    assert client.get(f"/enterprises/{e.id}").status_code == 200  # still theirs
