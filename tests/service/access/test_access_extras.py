"""Acceptance tests 13, 17 and 19 details: field-level rights, secrets kept out of logs, HSTS."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.access.actor import Actor
from service.app import create_app
from service.config import Settings
from tests.conftest import TODAY
from tests.dbutil import digest
from tests.factories import make_assignment, make_commissioner, make_enterprise


@pytest.mark.parametrize(
    ("change", "allowed"),
    [
        ({"contact_person": "新联系人"}, True),
        ({"notes": "走访记录"}, True),
        ({"contact_phone": "023-61234567"}, True),
        ({"address": "重庆市大渡口区新址路1号"}, True),  # how they reach it: a contact
        ({"main_products": "改过的主营产品"}, False),  # what the file says it makes: not theirs
        ({"district_code": "500115"}, False),
        ({"subsector_code": "A4.03"}, False),
        ({"is_key": True}, False),
        ({"name": "改名"}, False),
    ],
)
def test_a_commissioner_edits_only_their_fields(
    app_for: Callable[..., TestClient], session: Session, change: dict[str, object], allowed: bool
) -> None:
    enterprise = make_enterprise(session, district="500104")
    commissioner = make_commissioner(session, name="字段权限专员")
    make_assignment(session, enterprise, commissioner)
    actor = Actor(id=77, name="字段权限专员", role="commissioner", commissioner_id=commissioner.id)
    client = app_for(actor)
    before = digest(session)
    r = client.patch(
        f"/api/v1/enterprises/{enterprise.id}", json=change, headers={"If-Match": '"1"'}
    )
    if allowed:
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 403
        assert r.json()["code"] == "access.field_forbidden"
        assert digest(session) == before
    designation = client.post(
        f"/api/v1/enterprises/{enterprise.id}/designations",
        json={"tier_code": "innovative_sme", "designated_on": "2025-01-01"},
    )
    assert designation.status_code == 403


def test_no_password_or_token_in_logs_or_error_bodies(
    engine: Engine, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    from service.access import service as access_service
    from service.access.actor import SYSTEM
    from service.db import get_session

    password = "不应出现在日志里的口令-2026"
    access_service.add_user(
        session, SYSTEM, username="secretive", display_name="s", role="viewer", password=password
    )
    app = create_app(Settings(data_dir=Path(os.devnull).parent), engine=engine, today=lambda: TODAY)

    def _session():  # type: ignore[no-untyped-def]
        yield session
        session.commit()

    app.dependency_overrides[get_session] = _session
    client = TestClient(app, raise_server_exceptions=False)
    with caplog.at_level(logging.DEBUG):
        token = client.post(
            "/api/v1/auth/token", json={"username": "secretive", "password": password}
        ).json()["token"]
        wrong = client.post(
            "/api/v1/auth/token", json={"username": "secretive", "password": "x" * 9}
        )
        bad = client.get("/api/v1/nowhere", headers={"Authorization": f"Bearer {token}"})
        revoked = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}x"})
    for text in (caplog.text, wrong.text, bad.text, revoked.text):
        assert password not in text
        assert token not in text


def test_hsts_only_in_production(engine: Engine) -> None:
    plain = TestClient(create_app(Settings(data_dir=Path(os.devnull).parent), engine=engine))
    assert "strict-transport-security" not in plain.get("/healthz").headers
    production = TestClient(
        create_app(Settings(data_dir=Path(os.devnull).parent, production=True), engine=engine)
    )
    assert production.get("/healthz").headers["strict-transport-security"].startswith("max-age=")
