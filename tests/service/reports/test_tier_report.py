"""The tier report: its counts equal the API's for the same scope; movements and targets add up."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import Session

from exports.report import write_report
from service.access.actor import SYSTEM, Actor
from service.db import utcnow
from service.ladder import compliance
from service.ladder import service as ladder_service
from service.ladder.schemas import DataUpdateIn
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


def test_coverage_and_open_needs_sheets(session: Session) -> None:
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
    # Candidates: test_candidates_and_due_reviews_are_the_ladder_apis.
    out = io.BytesIO()
    from exports.report import write_report

    write_report(out, report)
    wb = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    values = [c for row in wb["服务需求"].iter_rows(values_only=True) for c in row]
    assert "需要3000万元流动资金贷款" in values


# ---- every section against the API, for a manager and a district officer --------------------


def _api_items(client: TestClient, url: str, **params: object) -> list[dict[str, Any]]:
    """Every item of a paged API list."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        r = client.get(url, params={**params, "page": page, "page_size": 500})
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        if len(items) >= body["total"]:
            return items
        page += 1


@pytest.fixture
def wider(session: Session, ledger: dict[str, int]) -> None:
    """More of what the report counts: a second subsector of an enterprise in another industry,
    candidates and due reviews in both districts, a revocation, promotion and listing through
    the ladder service, and a 百亿级 revenue."""
    from tests.service.ladder.test_api_pool import high_tech

    spread = make_enterprise(
        session, name="报表戊", district="500104", subsector="A4.01", further_subsectors=["B1.01"]
    )
    make_designation(session, spread, tier="innovative_sme", designated_on=date(2025, 1, 10))
    for district in ("500104", "500115"):
        candidate = make_enterprise(session, name=f"报表候选{district}", district=district)
        high_tech(session, candidate)
        make_figures(session, candidate, year=2025, revenue="5000")
        due = make_enterprise(session, name=f"报表待复核{district}", district=district)
        make_designation(
            session, due, tier="specialized_sme", designated_on=date(2023, 12, 1),
            valid_until=date(2026, 12, 31),
        )  # fmt: skip
        if district == "500104":  # its annual data is updated on time; 500115's is not
            compliance.put_data_update(
                session, SYSTEM, due, year=2026, data=DataUpdateIn(updated_on=date(2026, 3, 1)),
                today=TODAY,
            )  # fmt: skip
    listed = make_enterprise(session, name="报表上市", district="500115", subsector="B1.01")
    make_designation(session, listed, tier="specialized_sme", designated_on=date(2024, 2, 1))
    make_designation(session, listed, tier="listed", designated_on=date(2026, 4, 8))
    make_figures(session, listed, year=2025, revenue="600000")
    gone = make_enterprise(session, name="报表撤销", district="500104", subsector="A4.03")
    title = make_designation(session, gone, tier="little_giant", designated_on=date(2025, 7, 1))
    ladder_service.revoke(
        session,
        SYSTEM,
        enterprise_id=gone.id or 0,
        enterprise_repr=gone.name,
        designation_id=title.id or 0,
        reason="数据造假",
        revoked_on=date(2026, 9, 15),
        today=TODAY,
    )


ACTORS = pytest.mark.parametrize("actor", [MANAGER, OFFICER_DADUKOU], ids=["manager", "officer"])


@ACTORS
def test_tier_by_subsector_and_its_subtotals_equal_the_api(
    app_for: Callable[..., TestClient], session: Session, wider: None, actor: Actor
) -> None:
    client = app_for(actor)
    report = tier_report.build(
        session, actor, tier_report.ReportRequest(), today=TODAY, now=utcnow()
    )
    # The report partitions enterprises by their main subsector (a second one would count them
    # twice), so the API's list is grouped by `subsector_code`, not filtered by `subsector`.
    api: dict[tuple[str, str], int] = Counter()
    for tier in report.tiers:
        for item in _api_items(client, "/api/v1/enterprises", tier=tier.code, status="active"):
            api[(item["subsector_code"], tier.code)] += 1
    leaves = {s.subsector_code: s for s in report.subsectors}
    assert {k for k, n in api.items() if n} <= {(c, t.code) for c in leaves for t in report.tiers}
    for code, row in leaves.items():
        for tier in report.tiers:
            assert row.counts.get(tier.code, 0) == api[(code, tier.code)], (code, tier.code)
    assert sum(api.values()) > 0

    # The written sheet: each 小计 and 合计 row is the API's count rolled up the taxonomy.
    out = io.BytesIO()
    write_report(out, report)
    ws = openpyxl.load_workbook(io.BytesIO(out.getvalue()))["领域分布"]
    tiers = [t.code for t in report.tiers]
    rolled: dict[str, Counter[str]] = {}
    for (code, tier), n in api.items():
        s = leaves[code]
        for key in (code, s.industry_code, s.category_code, "合计"):
            rolled.setdefault(key, Counter())[tier] += n
    industry = None
    checked = 0
    for r in range(5, ws.max_row + 1):
        a, b, c = (ws.cell(r, col).value for col in (1, 2, 3))
        industry = next(
            (s.industry_code for s in report.subsectors if s.industry_name == b), industry
        )
        if c == "小计":
            key = industry
        elif a == "合计":
            key = "合计"
        elif isinstance(a, str) and a.endswith("合计"):
            key = next(s.category_code for s in report.subsectors if f"{s.category_name}合计" == a)
        else:
            key = next(
                s.subsector_code
                for s in report.subsectors
                if s.subsector_name == c and s.industry_code == industry
            )
        counts = [ws.cell(r, col).value for col in range(4, 4 + len(tiers) + 1)]
        want = rolled.get(key or "", Counter())
        assert counts == [want[t] for t in tiers] + [sum(want.values())], (r, a, b, c)
        checked += 1
    assert checked > len(leaves)


def _moves_from_api(client: TestClient, start: date, end: date) -> dict[tuple[str, str, str], int]:
    """The movements as the report defines them, from each enterprise's designations and
    ladder events as the API returns them."""
    out: Counter[tuple[str, str, str]] = Counter()
    month = lambda d: d.strftime("%Y-%m")  # noqa: E731
    for item in _api_items(client, "/api/v1/enterprises", status="active"):
        detail = client.get(f"/api/v1/enterprises/{item['id']}").json()
        highest = 0
        for d in sorted(detail["designations"], key=lambda d: d["designated_on"]):
            on = date.fromisoformat(d["designated_on"])
            if on > end:
                continue
            if on >= start:
                out[(month(on), "new", d["tier_code"])] += 1
                if highest and d["tier_rank"] > highest:
                    out[(month(on), "promotion", d["tier_code"])] += 1
            highest = max(highest, d["tier_rank"])
            until = date.fromisoformat(d["valid_until"]) if d["valid_until"] else None
            if (
                d["status"] in ("valid", "expired")
                and until
                and start - timedelta(days=1) <= until < end
            ):
                out[(month(until + timedelta(days=1)), "expiry", d["tier_code"])] += 1
            revoked = date.fromisoformat(d["revoked_on"]) if d["revoked_on"] else None
            if d["status"] == "revoked" and revoked and start <= revoked <= end:
                out[(month(revoked), "revocation", d["tier_code"])] += 1
        ladder = client.get(f"/api/v1/enterprises/{item['id']}/ladder").json()
        for e in ladder["events"]:
            on = date.fromisoformat(e["occurred_on"])
            if start <= on <= end and e["kind"] == "renew":
                out[(month(on), "renewal", e["tier_code"])] += 1
    return dict(out)


@ACTORS
def test_movements_in_a_period_equal_the_api(
    app_for: Callable[..., TestClient], session: Session, wider: None, actor: Actor
) -> None:
    start, end = date(2025, 1, 1), date(2026, 11, 23)
    report = tier_report.build(
        session,
        actor,
        tier_report.ReportRequest(period_start=start, period_end=end),
        today=TODAY,
        now=utcnow(),
    )
    moves = {(m.period, m.kind, m.tier_code): m.count for m in report.movements}
    assert moves == _moves_from_api(app_for(actor), start, end)
    kinds = {kind for _p, kind, _t in moves}
    assert {"new", "promotion", "revocation"} <= kinds


@ACTORS
def test_candidates_and_due_reviews_are_the_ladder_apis(
    app_for: Callable[..., TestClient], session: Session, wider: None, actor: Actor
) -> None:
    client = app_for(actor)
    report = tier_report.build(
        session, actor, tier_report.ReportRequest(), today=TODAY, now=utcnow()
    )
    candidates = _api_items(client, "/api/v1/ladder/candidates")
    assert [(c.credit_code, c.next_tier, c.rule_version) for c in report.candidates] == [
        (c["credit_code"], c["target_tier_name"], c["rule_version"]) for c in candidates
    ]
    due = _api_items(client, "/api/v1/ladder/due-reviews")  # its default window, 90 days
    assert sorted((d.credit_code, d.tier, d.valid_until) for d in report.due_reviews) == sorted(
        (d["credit_code"], d["tier_name"], date.fromisoformat(d["valid_until"])) for d in due
    )
    # The ladder's verdict on each review is the report's note and its 年度数据已更新 column.
    verdict = {d["credit_code"]: d for d in due}
    for row in report.due_reviews:
        api = verdict[row.credit_code]
        assert row.note == tier_report.review_note(api["review_status"], api["review_reasons"])
    updated = {d.name: d.data_updated for d in report.due_reviews}
    assert updated["报表待复核500104"] is True
    assert (
        verdict[next(d.credit_code for d in report.due_reviews if d.name == "报表待复核500104")][
            "review_status"
        ]
        == "eligible"
    )
    if actor is MANAGER:
        assert updated["报表待复核500115"] is False
    mine = {"500104"} if actor is OFFICER_DADUKOU else {"500104", "500115"}
    assert {c.name for c in report.candidates} >= {f"报表候选{d}" for d in mine}
    assert {d.name for d in report.due_reviews} >= {f"报表待复核{d}" for d in mine}
    # And the sheets list exactly those enterprises, with a count in their 合计 row.
    out = io.BytesIO()
    write_report(out, report)
    wb = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    for sheet, expected in (("可晋级", candidates), ("待复核", due)):
        ws = wb[sheet]
        codes = [
            ws.cell(r, 3).value
            for r in range(4, ws.max_row)
            if isinstance(ws.cell(r, 1).value, int)
        ]
        assert sorted(codes) == sorted(i["credit_code"] for i in expected), sheet
        total = next(r for r in range(4, ws.max_row + 1) if ws.cell(r, 1).value == "合计")
        assert ws.cell(total, 2).value == len(expected), sheet
    shown = {"是": True, "否": False, "未知": None}
    ws = wb["待复核"]
    for r in range(4, 4 + len(due)):
        row = next(d for d in report.due_reviews if d.credit_code == ws.cell(r, 3).value)
        assert shown[ws.cell(r, 10).value] is row.data_updated
        assert ws.cell(r, 11).value == row.note


@ACTORS
def test_targets_current_figures_equal_the_api(
    app_for: Callable[..., TestClient], session: Session, wider: None, actor: Actor
) -> None:
    client = app_for(actor)
    report = tier_report.build(
        session, actor, tier_report.ReportRequest(), today=TODAY, now=utcnow()
    )
    targets = {t["name"]: t for t in client.get("/api/v1/reference/targets").json()}
    ranks = {t["code"]: t["rank"] for t in client.get("/api/v1/reference/tiers").json()}
    active = _api_items(client, "/api/v1/enterprises", status="active")
    year = TODAY.year - 1
    revenue: dict[str, Decimal] = {}
    designations: dict[str, list[dict[str, Any]]] = {}
    for item in active:
        figures = client.get(f"/api/v1/enterprises/{item['id']}/figures").json()
        got = next((f for f in figures if f["year"] == year), None)
        if got and got["operating_revenue"] is not None:
            revenue[item["credit_code"]] = Decimal(got["operating_revenue"])
        designations[item["credit_code"]] = client.get(f"/api/v1/enterprises/{item['id']}").json()[
            "designations"
        ]
    by_code = {i["credit_code"]: i for i in active}
    checked = set()
    for row in report.targets:
        t = targets[row.name]
        params = t["params"]
        if t["metric"] == "tier_holders":
            want = {
                c
                for c, i in by_code.items()
                if i["current_tier"] and i["current_tier"]["rank"] >= ranks[params["tier"]]
            }
            value = Decimal(len(want))
        elif t["metric"] == "new_designations":
            since = date.fromisoformat(params["since"])
            want = {
                c
                for c, ds in designations.items()
                for d in ds
                if d["tier_code"] == params["tier"]
                and since <= date.fromisoformat(d["designated_on"]) <= TODAY
            }
            value = Decimal(len(want))
        elif t["metric"] == "enterprises_with_revenue":
            want = {c for c, v in revenue.items() if v >= Decimal(params["min_revenue"])}
            value = Decimal(len(want))
        elif t["metric"] == "revenue_total":
            subsectors = params.get("subsectors")
            want = {
                c for c in revenue if not subsectors or by_code[c]["subsector_code"] in subsectors
            }
            value = sum((revenue[c] for c in want), Decimal(0))
        else:
            assert row.current == 0
            assert row.enterprises == []
            continue
        assert row.current == value, row.name
        assert {e.credit_code for e in row.enterprises} == want, row.name
        checked.add(t["metric"])
    assert checked == {
        "tier_holders",
        "new_designations",
        "enterprises_with_revenue",
        "revenue_total",
    }
