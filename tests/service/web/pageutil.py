"""Helpers for page tests: make a user, sign in, read a form's CSRF token."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.access import service as access_service
from service.access.actor import SYSTEM

PASSWORD = "页面测试用的足够长口令-2026"


def add(session: Session, username: str, role: str = "manager", **kw: Any) -> None:
    access_service.add_user(
        session,
        SYSTEM,
        username=username,
        display_name=f"{username}显示名",
        role=role,
        password=PASSWORD,
        **kw,
    )


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no csrf token in page"
    return m.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    form = client.get("/login")
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_of(form.text),
            "next": "/",
        },
    )
