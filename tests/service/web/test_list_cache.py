"""The list page keeps its query results in the read cache: never a write behind, never across
scopes, and every page still carries its own session's CSRF token."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.access.actor import SYSTEM
from service.enterprises import service as enterprise_service
from service.enterprises.schemas import EnterpriseUpdate
from tests.factories import make_enterprise
from tests.service.web.pageutil import add, csrf_of, login

URL = "/enterprises?q=%E7%BC%93%E5%AD%98"  # q=缓存


def test_an_edit_is_on_the_very_next_list_page(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "c_mgr")
    e = make_enterprise(session, name="重庆缓存页面甲有限公司")
    client = site()
    login(client, "c_mgr")
    assert "重庆缓存页面甲有限公司" in client.get(URL).text
    assert "重庆缓存页面甲有限公司" in client.get(URL).text  # from the cache now
    enterprise_service.update(
        session,
        SYSTEM,
        e.id or 0,
        EnterpriseUpdate(name="重庆缓存页面乙有限公司"),
        expected_version=1,
    )
    page = client.get(URL).text
    assert "重庆缓存页面乙有限公司" in page
    assert "重庆缓存页面甲有限公司" not in page


def test_a_cached_list_never_crosses_scopes(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "c_city")
    add(session, "c_dadukou", role="district_officer", district_code="500104")
    make_enterprise(session, name="重庆缓存本区有限公司", district="500104")
    make_enterprise(session, name="重庆缓存外区有限公司", district="500115")
    city, officer = site(), site()
    login(city, "c_city")
    login(officer, "c_dadukou")
    assert "重庆缓存外区有限公司" in city.get(URL).text
    page = officer.get(URL).text
    assert "重庆缓存本区有限公司" in page
    assert "重庆缓存外区有限公司" not in page


def test_each_session_gets_its_own_csrf_token_on_a_cached_page(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "c_one")
    add(session, "c_two")
    make_enterprise(session, name="重庆缓存令牌有限公司")
    one, two = site(), site()
    login(one, "c_one")
    login(two, "c_two")
    first = csrf_of(one.get(URL).text)
    second = csrf_of(two.get(URL).text)
    assert first != second
    assert csrf_of(one.get("/").text) == first
    assert csrf_of(two.get("/").text) == second
