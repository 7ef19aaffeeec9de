"""Admins correct reference data through the API; every change is audited and survives reloads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.audit.models import AuditEvent
from service.reference import service as reference_service
from tests.conftest import ADMIN, MANAGER
from tests.factories import make_designation, make_enterprise

REF = "/api/v1/reference"


def test_rename_a_district_and_keep_it_after_a_reload(
    app_for: Callable[..., TestClient], session: Session
) -> None:
    admin = app_for(ADMIN)
    r = admin.patch(
        f"{REF}/districts/500104", json={"name": "大渡口区（新）", "aliases": [" 大渡口 ", ""]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["aliases"] == ["大渡口"]
    assert reference_service.load(session) == 0
    names = {d["code"]: d["name"] for d in admin.get(f"{REF}/districts").json()}
    assert names["500104"] == "大渡口区（新）"
    [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "district.update"))
    assert event.changes["name"] == ["大渡口区", "大渡口区（新）"]


def test_a_taken_name_is_422(app_for: Callable[..., TestClient]) -> None:
    r = app_for(ADMIN).patch(f"{REF}/districts/500104", json={"name": "万州区"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "district.name_taken"


def test_a_provincial_rung_joins_the_ladder_without_code_changes(
    app_for: Callable[..., TestClient], session: Session
) -> None:
    admin = app_for(ADMIN)
    r = admin.post(
        f"{REF}/tiers",
        json={
            "code": "provincial_gazelle",
            "name": "市级瞪羚企业",
            "rank": 25,
            "validity_years": 3,
        },
    )
    assert r.status_code == 201, r.text
    order = [t["code"] for t in admin.get(f"{REF}/tiers").json()]
    assert (
        order.index("specialized_sme")
        < order.index("provincial_gazelle")
        < order.index("little_giant")
    )
    e = make_enterprise(session, name="瞪羚测试公司")
    make_designation(session, e, tier="specialized_sme", designated_on=date(2025, 1, 1))
    make_designation(session, e, tier="provincial_gazelle", designated_on=date(2025, 6, 1))
    got = app_for(MANAGER).get(f"/api/v1/enterprises/{e.id}").json()
    assert got["current_tier"]["code"] == "provincial_gazelle"
    clash = admin.post(f"{REF}/tiers", json={"code": "other_rung", "name": "另一层级", "rank": 25})
    assert clash.status_code == 422
    assert clash.json()["errors"][0]["code"] == "tier.rank_taken"
    duplicate = admin.post(
        f"{REF}/tiers", json={"code": "provincial_gazelle", "name": "x", "rank": 26}
    )
    assert duplicate.status_code == 409


def test_targets_are_edited_as_data(app_for: Callable[..., TestClient]) -> None:
    admin = app_for(ADMIN)
    r = admin.patch(f"{REF}/targets/T06", json={"figure": "5200", "source": "2025年调整"})
    assert r.status_code == 200
    assert float(r.json()["figure"]) == 5200
    assert admin.patch(f"{REF}/targets/T06", json={"figure": "-1"}).status_code == 422
    assert admin.patch(f"{REF}/targets/NOPE", json={"figure": "1"}).status_code == 404


def test_only_admins_change_reference_data(app_for: Callable[..., TestClient]) -> None:
    r = app_for(MANAGER).patch(f"{REF}/districts/500104", json={"name": "x"})
    assert r.status_code == 403
