"""Acceptance test 12's last clause for exports: the ledger export and the tier report, through
the API download and the pages' export buttons, hold exactly the actor's scoped enterprises
(counted against the scoped SQL query), and nothing of an enterprise outside the scope."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.access import scope
from service.access import service as access_service
from service.access.actor import SYSTEM
from service.app import create_app
from service.config import Settings
from service.db import get_session
from service.enterprises import service as enterprise_service
from service.enterprises.models import Enterprise
from service.ladder import service as ladder_service
from service.ladder.models import Designation
from tests.conftest import TODAY
from tests.factories import (
    make_assignment,
    make_commissioner,
    make_designation,
    make_enterprise,
)
from tests.service.access.test_permission_matrix import _need
from tests.service.web.pageutil import PASSWORD, login

LEDGER = {"api": "/api/v1/exports/ledger.xlsx", "page": "/exports/ledger.xlsx"}
LABEL = {"district_officer": "大渡口区", "commissioner": "导出专员服务的企业"}
REPORT = {"api": "/api/v1/exports/report.xlsx", "page": "/exports/report.xlsx"}


@pytest.fixture
def world(engine: Engine, session: Session, tmp_path: Path) -> Iterator[dict[str, Any]]:
    app = create_app(Settings(data_dir=tmp_path), engine=engine, today=lambda: TODAY)

    def _session() -> Iterator[Session]:
        yield session
        session.commit()

    app.dependency_overrides[get_session] = _session
    officer = access_service.add_user(
        session,
        SYSTEM,
        username="xs_officer",
        display_name="导出区县用户",
        role="district_officer",
        password=PASSWORD,
        district_code="500104",
    )
    serving = access_service.add_user(
        session,
        SYSTEM,
        username="xs_commissioner",
        display_name="导出专员",
        role="commissioner",
        password=PASSWORD,
    )
    mine = make_commissioner(session, name="导出专员", user_id=serving.id, capacity=20)
    theirs = make_commissioner(session, name="导出别人的专员", districts=("500115",))
    made = {}
    # Two districts, two subsectors, some with a current tier, one gone (not active).
    for key, district, subsector, tier in (
        ("near_glass", "500104", "A4.01", "innovative_sme"),
        ("near_carbon", "500104", "A4.03", "specialized_sme"),
        ("near_plain", "500104", "A4.01", None),
        ("far_glass", "500115", "A4.01", "innovative_sme"),
        ("far_carbon", "500115", "A4.03", None),
        ("near_gone", "500104", "A4.01", "innovative_sme"),
    ):
        e = make_enterprise(
            session, name=f"导出范围{key}公司", district=district, subsector=subsector
        )
        if tier:
            make_designation(session, e, tier=tier, designated_on=date(2025, 3, 1))
        made[key] = e
    gone = made["near_gone"]
    enterprise_service.change_status(
        session,
        SYSTEM,
        gone.id or 0,
        status="deregistered",
        reason="注销",
        expected_version=gone.version,
    )
    # The commissioner serves one enterprise in each district; the rest are someone else's.
    for key in ("near_carbon", "far_glass"):
        make_assignment(session, made[key], mine)
    make_assignment(session, made["near_glass"], theirs)
    for key, holder in (("near_carbon", mine), ("far_glass", mine), ("near_glass", theirs)):
        _need(session, made[key], holder)  # open needs: a list sheet of the report
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield {
            "client": client,
            "session": session,
            "users": {"district_officer": officer, "commissioner": serving},
            "made": made,
        }


def _download(world: dict[str, Any], role: str, via: str, url: str) -> bytes:
    client: TestClient = world["client"]
    client.cookies.clear()
    headers = {}
    if via == "api":
        user = world["users"][role]
        token = access_service.create_token(world["session"], SYSTEM, user, name="导出").secret
        headers["Authorization"] = f"Bearer {token}"
    else:
        assert login(client, user_name(world, role)).status_code == 303
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-disposition"].startswith("attachment;")
    return r.content


def user_name(world: dict[str, Any], role: str) -> str:
    return str(world["users"][role].username)


def _scoped(session: Session, actor: Any) -> list[Enterprise]:
    """The scoped SQL query the exports must agree with: active enterprises in scope."""
    return list(
        session.scalars(
            sa.select(Enterprise).where(
                scope.enterprise_clause(actor), Enterprise.status == "active"
            )
        )
    )


def _tiered_by_district(session: Session, actor: Any, as_of: date) -> Counter[str]:
    """Scoped active enterprises holding a valid designation on `as_of`, per district."""
    rows = session.execute(
        sa.select(Enterprise.district_code, sa.func.count(sa.distinct(Enterprise.id)))
        .join(Designation, Designation.enterprise_id == Enterprise.id)
        .where(
            scope.enterprise_clause(actor),
            Enterprise.status == "active",
            ladder_service.valid_clause(as_of),
        )
        .group_by(Enterprise.district_code)
    )
    return Counter({code: n for code, n in rows})


def _outside(world: dict[str, Any], scoped: list[Enterprise]) -> list[Enterprise]:
    inside = {e.id for e in scoped}
    return [e for e in world["made"].values() if e.id not in inside]


def _all_text(wb: Any) -> str:
    return "\n".join(
        str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v
    )


@pytest.mark.parametrize("via", ["api", "page"])
@pytest.mark.parametrize("role", ["district_officer", "commissioner"])
def test_ledger_export_holds_exactly_the_scope(world: dict[str, Any], role: str, via: str) -> None:
    session: Session = world["session"]
    actor = access_service.actor_of(world["users"][role])
    expected = _scoped(session, actor)
    wb = openpyxl.load_workbook(
        read_only=True, filename=io.BytesIO(_download(world, role, via, LEDGER[via]))
    )
    codes = []
    for ws in wb.worksheets[1:]:  # after the summary sheet: one sheet per subsector
        rows = list(ws.iter_rows(values_only=True))
        start = next(i for i, r in enumerate(rows) if r and r[0] == "序号")
        codes += [r[2] for r in rows[start + 1 :] if isinstance(r[0], int)]
    assert len(codes) == len(expected)  # count equals the scoped query's
    assert f"范围：{LABEL[role]}" in _all_text(wb)
    assert sorted(codes) == sorted(e.credit_code for e in expected)
    outside = _outside(world, expected)
    assert outside  # the scope really hides something here
    text = _all_text(wb)
    for e in outside:
        assert e.name not in text
        assert e.credit_code not in text


@pytest.mark.parametrize("via", ["api", "page"])
@pytest.mark.parametrize("role", ["district_officer", "commissioner"])
def test_tier_report_counts_exactly_the_scope(world: dict[str, Any], role: str, via: str) -> None:
    session: Session = world["session"]
    actor = access_service.actor_of(world["users"][role])
    wb = openpyxl.load_workbook(
        read_only=True, filename=io.BytesIO(_download(world, role, via, REPORT[via]))
    )
    ws = wb["区县分布"]
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r and r[0] == "序号")
    per_district = {r[1]: r[-1] for r in rows[start + 1 :] if isinstance(r[0], int)}
    total = next(r[-1] for r in rows[start + 1 :] if r[0] == "合计")
    expected = _tiered_by_district(session, actor, TODAY)
    assert sum(expected.values()) >= 1
    assert {k: v for k, v in per_district.items() if v} == dict(expected)
    assert total == sum(expected.values())
    if role == "district_officer":
        assert list(per_district) == ["500104"]  # "all districts" is their district only
    # No sheet of the report (due reviews, open needs, targets…) names an enterprise outside.
    text = _all_text(wb)
    for e in _outside(world, _scoped(session, actor)):
        assert e.name not in text
        assert e.credit_code not in text
    # The 范围 line says whose enterprises these are, not 全市 for a commissioner's handful.
    assert f"范围：{LABEL[role]}" in str(ws["A2"].value)
