"""The list page keeps its query results, and itself, in the read cache: never a write behind,
never across scopes, byte for byte the uncached page, and every page still carries its own
session's CSRF token."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.access.actor import SYSTEM
from service.config import Settings
from service.enterprises import service as enterprise_service
from service.enterprises.schemas import EnterpriseUpdate
from tests.factories import make_enterprise
from tests.service.web.pageutil import add, csrf_of, login

URL = "/enterprises?q=%E7%BC%93%E5%AD%98"  # q=缓存


def _beside(client: TestClient) -> TestClient:
    """Another browser on the same app, so the two share its read cache (each `site()` call
    builds an app, and a cache, of its own)."""
    return TestClient(client.app, raise_server_exceptions=False, follow_redirects=False)


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
    city = site()
    officer = _beside(city)
    login(city, "c_city")
    login(officer, "c_dadukou")
    assert "重庆缓存外区有限公司" in city.get(URL).text
    page = officer.get(URL).text
    assert "重庆缓存本区有限公司" in page
    assert "重庆缓存外区有限公司" not in page


@pytest.mark.parametrize(
    "users",
    [
        pytest.param(("c_one", "c_two"), id="two users"),
        pytest.param(("c_twice", "c_twice"), id="one user signed in twice"),
    ],
)
def test_each_session_gets_its_own_csrf_token_on_a_cached_page(
    site: Callable[..., TestClient], session: Session, users: tuple[str, str]
) -> None:
    for username in set(users):
        add(session, username)
    make_enterprise(session, name="重庆缓存令牌有限公司")
    one = site()
    two = _beside(one)
    login(one, users[0])
    login(two, users[1])
    first = csrf_of(one.get(URL).text)
    second = csrf_of(two.get(URL).text)
    assert first != second
    assert csrf_of(one.get(URL).text) == first  # the cached page, still this session's own
    assert csrf_of(two.get(URL).text) == second
    assert csrf_of(one.get("/").text) == first
    assert csrf_of(two.get("/").text) == second


def test_a_cached_page_is_byte_identical_to_an_uncached_one(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "c_same")
    make_enterprise(session, name="重庆缓存同页有限公司")
    cached = site()
    login(cached, "c_same")
    uncached = site(Settings(data_dir=Path(os.devnull).parent, read_cache_entries=0))
    uncached.cookies.update(dict(cached.cookies))  # the same page session
    first = cached.get(URL)
    again = cached.get(URL)  # the whole page from the cache
    plain = uncached.get(URL)
    assert first.status_code == again.status_code == plain.status_code == 200
    assert again.content == first.content == plain.content
    assert again.headers["content-type"] == plain.headers["content-type"]
    assert again.headers["cache-control"] == plain.headers["cache-control"] == "no-store"


def test_a_saved_filter_is_on_the_very_next_list_page(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "c_saver")
    make_enterprise(session, name="重庆缓存筛选有限公司")
    client = site()
    login(client, "c_saver")
    page = client.get(URL).text
    assert "我的缓存筛选" not in page
    saved = client.post(
        "/enterprises/filters",
        data={"name": "我的缓存筛选", "query": "q=缓存", "csrf_token": csrf_of(page)},
    )
    assert saved.status_code == 303
    assert "我的缓存筛选" in client.get(URL).text


def test_a_flash_message_is_its_own_page(site: Callable[..., TestClient], session: Session) -> None:
    add(session, "c_flash")
    client = site()
    login(client, "c_flash")
    assert "已标记" not in client.get(URL).text
    assert "已标记" in client.get(URL + "&bulk=" + quote("已标记 3 家")).text
    assert "已标记" not in client.get(URL).text
