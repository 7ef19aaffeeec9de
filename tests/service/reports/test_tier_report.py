"""The tier report: its counts equal the API's for the same scope; movements and targets add up."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.access.actor import SYSTEM
from service.db import utcnow
from service.ladder import service as ladder_service
from service.reports import tier_report
from tests.conftest import MANAGER, OFFICER_DADUKOU, TODAY
from tests.factories import make_designation, make_enterprise, make_figures

URL = "/api/v1/exports/report.xlsx"


@pytest.fixture
def ledger(session: Session) -> dict[str, int]:
    a = make_enterprise(session, name="报表甲", district="500104", subsector="A4.01")
    b = make_enterprise(session, name="报表乙", district="500104", subsector="A4.03")
    c = make_enterprise(session, name="报表丙", district="500115", subsector="B1.01")
    make_designation(session, a, tier="innovative_sme", designated_on=date(2024, 3, 1))
    make_designation(session, a, tier="specialized_sme", designated_on=date(2026, 2, 10))
    make_designation(session, b, tier="innovative_sme", designated_on=date(2026, 5, 20))
    d = make_designation(session, c, tier="little_giant", designated_on=date(2023, 7, 1))
    # Revoked as recorded (the lifecycle service is tested on its own).
    d.status, d.reason, d.revoked_on = "revoked", "数据造假", date(2026, 8, 3)
    session.flush()
    make_figures(session, a, year=2025, revenue="1200000")
    e = make_enterprise(session, name="报表丁", district="500115", subsector="B1.01")
    renewed = make_designation(session, e, tier="innovative_sme", designated_on=date(2023, 11, 1))
    ladder_service.renew(
        session,
        SYSTEM,
        enterprise_id=e.id or 0,
        enterprise_repr=e.name,
        designation_id=renewed.id or 0,
        renewed_on=date(2026, 10, 20),
        reviewed_on=date(2026, 10, 9),
        today=TODAY,
    )  # valid to 2029-10-31: renewed, so not an expiry in 2026-11
    return {"a": a.id or 0, "b": b.id or 0, "c": c.id or 0, "e": e.id or 0}


def _api_count(client: TestClient, **params: str) -> int:
    r = client.get("/api/v1/enterprises", params=params | {"page_size": 1, "status": "active"})
    assert r.status_code == 200
    total: int = r.json()["total"]
    return total


def test_counts_equal_the_api_for_the_same_scope(
    app_for: Callable[..., TestClient], session: Session, ledger: dict[str, int]
) -> None:
    for actor in (MANAGER, OFFICER_DADUKOU):
        client = app_for(actor)
        report = tier_report.build(
            session, actor, tier_report.ReportRequest(), today=TODAY, now=utcnow()
        )
        for row in report.districts:
            for tier in report.tiers:
                assert row.counts.get(tier.code, 0) == _api_count(
                    client, district=row.code, tier=tier.code
                )
        if actor is OFFICER_DADUKOU:
            assert [d.code for d in report.districts] == ["500104"]
            assert report.scope_zh == "大渡口区"


def test_movements_in_the_period(session: Session, ledger: dict[str, int]) -> None:
    report = tier_report.build(
        session,
        MANAGER,
        tier_report.ReportRequest(period_start=date(2026, 1, 1), period_end=date(2026, 11, 23)),
        today=TODAY,
        now=utcnow(),
    )
    moves = {(m.period, m.kind, m.tier_code): m.count for m in report.movements}
    assert moves == {
        ("2026-02", "new", "specialized_sme"): 1,
        ("2026-02", "promotion", "specialized_sme"): 1,
        ("2026-05", "new", "innovative_sme"): 1,
        ("2026-08", "revocation", "little_giant"): 1,
        ("2026-10", "renewal", "innovative_sme"): 1,
    }
    assert report.periods[0] == "2026-01"
    assert report.periods[-1] == "2026-11"


def test_targets_are_measured_by_their_data(session: Session, ledger: dict[str, int]) -> None:
    report = tier_report.build(
        session, MANAGER, tier_report.ReportRequest(), today=TODAY, now=utcnow()
    )
    by_name = {t.name: t for t in report.targets}
    hundred = by_name["年营业收入百亿级企业"]
    assert "报表甲" in [e.name for e in hundred.enterprises]
    specialized = by_name["专精特新中小企业"]
    assert "报表甲" in [e.name for e in specialized.enterprises]
    assert specialized.current == len(specialized.enterprises)
    assert "台账不跟踪" in by_name["高新技术企业"].source


def test_report_download_has_every_sheet_and_charts(
    app_for: Callable[..., TestClient], ledger: dict[str, int]
) -> None:
    r = app_for(MANAGER).get(URL, params={"from": "2026-01-01", "to": "2026-11-23"})
    assert r.status_code == 200, r.text
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert {"区县分布", "领域分布", "变动情况", "待复核", "目标进度"} <= set(wb.sheetnames)
    assert any(ws._charts for ws in wb.worksheets)


def test_reversed_period_is_422(app_for: Callable[..., TestClient]) -> None:
    r = app_for(MANAGER).get(URL, params={"from": "2026-05-01", "to": "2026-01-01"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "report.period_reversed"


def test_cli_export_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.cli import main
    from tests.dbutil import fresh_database

    with fresh_database(tmp_path) as engine:
        monkeypatch.setenv(
            "TIERLEDGER_DATABASE_URL", engine.url.render_as_string(hide_password=False)
        )
        runner = CliRunner()
        assert (
            runner.invoke(main, ["demo-data", "--enterprises", "150", "--seed", "2"]).exit_code == 0
        )
        out = tmp_path / "报表.xlsx"
        result = runner.invoke(
            main, ["export", "report", "--out", str(out), "--from", "2025-01-01"]
        )
        assert result.exit_code == 0, result.output
        wb = openpyxl.load_workbook(out)
        ws = wb["区县分布"]
        values = [c for row in ws.iter_rows(values_only=True) for c in row]
        assert "万州区" in values
        assert "合计" in values


def test_coverage_open_needs_and_candidates_sheets(session: Session) -> None:
    from service.access.actor import SYSTEM
    from service.commissioners import service as commissioner_service
    from service.commissioners.schemas import NeedIn, ServiceRecordCreate
    from tests.factories import make_assignment, make_commissioner

    key = make_enterprise(session, name="覆盖报表重点公司", district="500104", is_key=True)
    commissioner = make_commissioner(session, name="报表专员")
    make_assignment(session, key, commissioner, specialty="finance")
    commissioner_service.add_record(
        session,
        SYSTEM,
        enterprise=key,
        data=ServiceRecordCreate(
            served_on=date(2026, 10, 9),
            kind_code="financing",
            summary="对接银行",
            commissioner_id=commissioner.id,
            needs=[NeedIn(description="需要3000万元流动资金贷款")],
        ),
        today=TODAY,
    )
    report = tier_report.build(
        session, MANAGER, tier_report.ReportRequest(), today=TODAY, now=utcnow()
    )
    dadukou = next(r for r in report.coverage if r.district_code == "500104")
    assert dadukou.key_enterprises >= 1
    assert dadukou.covered["融资"] >= 1
    assert "科技" in report.specialties
    need = next(n for n in report.open_needs if n.name == "覆盖报表重点公司")
    assert need.description == "需要3000万元流动资金贷款"
    assert need.commissioner == "报表专员"
    assert need.status == "待办"
    assert isinstance(report.candidates, list)
    out = io.BytesIO()
    from exports.report import write_report

    write_report(out, report)
    wb = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    values = [c for row in wb["服务需求"].iter_rows(values_only=True) for c in row]
    assert "需要3000万元流动资金贷款" in values
