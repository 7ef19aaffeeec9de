"""Pages are never kept in the browser's cache: after logout the back button asks again."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.service.web.pageutil import add, csrf_of, login


def test_pages_are_no_store_and_a_revisit_after_logout_asks_to_sign_in(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "cache_viewer", role="viewer")
    client = site()
    assert client.get("/login").headers["cache-control"] == "no-store"
    login(client, "cache_viewer")
    home = client.get("/")
    assert home.headers["cache-control"] == "no-store"
    assert client.get("/enterprises").headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/static/app.css").headers.get("cache-control", "")
    assert client.post("/logout", data={"csrf_token": csrf_of(home.text)}).status_code == 303
    again = client.get("/enterprises")
    assert again.status_code == 303
    assert again.headers["location"] == "/login?next=/enterprises"
