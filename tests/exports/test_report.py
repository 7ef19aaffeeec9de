"""Tier reports: every section's numbers and totals, charts, and test 11 on the report."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest

from exports.report import (
    CandidateRow,
    CoverageRow,
    DistrictCount,
    DueReviewRow,
    MovementCount,
    OpenNeed,
    SubsectorCount,
    TargetEnterprise,
    TargetRow,
    TierRef,
    TierReport,
    write_report,
)
from tests.exports.xlsx_checks import (
    HOSTILE,
    assert_safe_text_cell,
    excel_date,
    formula_cells,
    load,
)

TIERS = [
    TierRef("innovative_sme", "创新型中小企业"),
    TierRef("specialized_sme", "专精特新中小企业"),
    TierRef("little_giant", '专精特新"小巨人"企业'),
    TierRef("champion", "制造业单项冠军"),  # a rung the city adds: tiers are data
    TierRef("listed", "上市企业"),
]
SHEETS = [
    "区县分布",
    "领域分布",
    "变动情况",
    "变动趋势",
    "可晋级",
    "待复核",
    "目标进度",
    "目标企业明细",
    "专员覆盖",
    "服务需求",
]


def _sub(cat: str, ind: str, code: str, name: str, **counts: int) -> SubsectorCount:
    categories = {"A": "先进基础材料", "B": "关键战略材料"}
    industries = {"A1": "先进有色金属材料", "A4": "先进绿色建材", "B2": "特种功能材料"}
    return SubsectorCount(
        category_code=cat,
        category_name=categories[cat],
        industry_code=ind,
        industry_name=industries[ind],
        subsector_code=code,
        subsector_name=name,
        counts=counts,
    )


def make_report(**overrides: object) -> TierReport:
    fields: dict[str, object] = {
        "scope_zh": "全市",
        "as_of": dt.date(2025, 6, 30),
        "exported_at": dt.datetime(2025, 7, 1, 9, 30, tzinfo=dt.UTC),
        "period_start": dt.date(2025, 1, 1),
        "period_end": dt.date(2025, 6, 30),
        "tiers": TIERS,
        "districts": [
            DistrictCount("Z001", "两江新区", {"innovative_sme": 5, "listed": 2}),
            DistrictCount("500104", "大渡口区", {"innovative_sme": 3, "specialized_sme": 2}),
            DistrictCount("500101", "万州区", {"little_giant": 1}),
        ],
        "subsectors": [
            _sub("B", "B2", "B2.09", "磁材", specialized_sme=2),
            _sub("A", "A1", "A1.02", "镁合金", specialized_sme=1),
            _sub("A", "A1", "A1.01", "铝合金及铝基新材料", innovative_sme=2, champion=1),
            _sub("A", "A4", "A4.01", "玻璃纤维及制品", innovative_sme=4, little_giant=1),
        ],
        "movements": [
            MovementCount("2025-01", "new", "innovative_sme", 5),
            MovementCount("2025-02", "new", "specialized_sme", 2),
            MovementCount("2025-02", "new", "innovative_sme", 1),
            MovementCount("2025-02", "promotion", "little_giant", 1),
            MovementCount("2025-03", "expiry", "innovative_sme", 3),
            MovementCount("2025-03", "revocation", "specialized_sme", 1),
            MovementCount("2025-03", "renewal", "specialized_sme", 4),
        ],
        "candidates": [
            CandidateRow(
                name="重庆甲材料有限公司",
                credit_code="91500104MA5U000001",
                district="大渡口区",
                subsector="镁合金",
                current_tier="创新型中小企业",
                next_tier="专精特新中小企业",
                rule_version="MIIT-2022",
                basis="评价得分72分",
            )
        ],
        "due_reviews": [
            DueReviewRow(
                name="重庆乙材料有限公司",
                credit_code="91500104MA5U000002",
                district="万州区",
                subsector="磁材",
                tier="专精特新中小企业",
                designated_on=dt.date(2022, 7, 20),
                valid_until=dt.date(2025, 7, 19),
                data_updated=False,
            )
        ],
        "targets": [
            TargetRow(
                name="上市先进材料企业",
                year=2027,
                measure="stock",
                unit="家",
                target=Decimal(10),
                current=Decimal(4),
                source="重庆市先进材料产业集群高质量发展行动计划（2023—2027年）",
                enterprises=[
                    TargetEnterprise(
                        name="重庆丙股份有限公司", credit_code="c", district="两江新区"
                    ),
                ],
            ),
            TargetRow(
                name="纤维及复合材料产业产值",
                year=2027,
                measure="stock",
                unit="亿元",
                target=Decimal(500),
                current=Decimal("512.35"),
                enterprises=[
                    TargetEnterprise(
                        name="重庆丁复材有限公司",
                        credit_code="d",
                        district="大渡口区",
                        value=Decimal("320.5"),
                    ),
                    TargetEnterprise(
                        name="重庆戊玻纤有限公司",
                        credit_code="e",
                        district="长寿区",
                        value=Decimal("191.85"),
                    ),
                ],
            ),
        ],
        "coverage": [
            CoverageRow(
                district_code="500104",
                district_name="大渡口区",
                key_enterprises=4,
                covered={"科技": 4, "融资": 3, "法务": 2, "媒体": 2},
                fully_covered=2,
            ),
            CoverageRow(
                district_code="500101",
                district_name="万州区",
                key_enterprises=6,
                covered={"科技": 6, "融资": 6, "法务": 6, "媒体": 6},
                fully_covered=6,
            ),
        ],
        "open_needs": [
            OpenNeed(
                name="重庆甲材料有限公司",
                credit_code="91500104MA5U000001",
                district="大渡口区",
                service_kind="融资服务",
                description="流动资金贷款3000万元",
                raised_on=dt.date(2025, 5, 1),
                commissioner="李娜",
            )
        ],
    }
    fields.update(overrides)
    return TierReport(**fields)  # type: ignore[arg-type]


def _write(report: TierReport) -> bytes:
    out = io.BytesIO()
    write_report(out, report)
    return out.getvalue()


def _row(ws: object, r: int, first: int, last: int) -> list[object]:
    return [ws.cell(r, c).value for c in range(first, last + 1)]  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def report_bytes() -> bytes:
    return _write(make_report())


def test_sheets_in_order_with_titles_and_info(report_bytes: bytes) -> None:
    wb = load(report_bytes)
    assert wb.sheetnames == SHEETS
    for ws in wb.worksheets:
        assert str(ws["A1"].value).startswith("重庆市优质中小企业梯度培育情况报表（")
        assert ws.merged_cells.ranges
        assert any(str(r).startswith("A1:") for r in ws.merged_cells.ranges)
        assert str(ws["A2"].value).startswith("范围：全市　　数据截至：2025年6月30日")
        assert ws.page_setup.orientation == "landscape"
        assert ws.print_title_rows
    assert "统计期间：2025年1月1日至2025年6月30日" in wb["变动情况"]["A2"].value


def test_tier_by_district_counts_in_code_order_with_totals(report_bytes: bytes) -> None:
    ws = load(report_bytes)["区县分布"]
    assert ws["D3"].value == "企业梯度（家）"
    assert _row(ws, 4, 4, 8) == [t.name for t in TIERS]
    assert ws["I3"].value == "合计（家）"
    assert _row(ws, 5, 1, 9) == [1, "500101", "万州区", 0, 0, 1, 0, 0, 1]
    assert _row(ws, 6, 1, 9) == [2, "500104", "大渡口区", 3, 2, 0, 0, 0, 5]
    assert _row(ws, 7, 1, 9) == [3, "Z001", "两江新区", 5, 0, 0, 0, 2, 7]
    assert _row(ws, 8, 1, 9) == ["合计", None, None, 8, 2, 1, 0, 2, 13]
    assert ws.freeze_panes == "D5"
    assert ws.auto_filter.ref == "A4:I7"


def test_tier_by_subsector_rolls_up_to_industry_and_category(report_bytes: bytes) -> None:
    ws = load(report_bytes)["领域分布"]
    rows = [_row(ws, r, 1, 9) for r in range(5, ws.max_row + 1)]
    assert rows == [
        ["先进基础材料", "先进有色金属材料", "铝合金及铝基新材料", 2, 0, 0, 1, 0, 3],
        [None, None, "镁合金", 0, 1, 0, 0, 0, 1],
        [None, None, "小计", 2, 1, 0, 1, 0, 4],
        [None, "先进绿色建材", "玻璃纤维及制品", 4, 0, 1, 0, 0, 5],
        [None, None, "小计", 4, 0, 1, 0, 0, 5],
        ["先进基础材料合计", None, None, 6, 1, 1, 1, 0, 9],
        ["关键战略材料", "特种功能材料", "磁材", 0, 2, 0, 0, 0, 2],
        [None, None, "小计", 0, 2, 0, 0, 0, 2],
        ["关键战略材料合计", None, None, 0, 2, 0, 0, 0, 2],
        ["合计", None, None, 6, 3, 1, 1, 0, 11],
    ]
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A5:A9", "B5:B7", "B8:B9", "A10:C10", "A11:A12", "A13:C13", "A14:C14"} <= merged


def test_movements_by_tier_and_over_time(report_bytes: bytes) -> None:
    wb = load(report_bytes)
    ws = wb["变动情况"]
    assert _row(ws, 4, 3, 7) == ["新认定", "复核通过", "到期失效", "撤销", "晋级"]
    assert _row(ws, 5, 2, 7) == ["创新型中小企业", 6, 0, 3, 0, 0]
    assert _row(ws, 6, 2, 7) == ["专精特新中小企业", 2, 4, 0, 1, 0]
    assert _row(ws, 7, 2, 7) == ['专精特新"小巨人"企业', 0, 0, 0, 0, 1]
    assert _row(ws, 10, 1, 7) == ["合计", None, 8, 4, 3, 1, 1]
    trend = wb["变动趋势"]
    assert [trend.cell(r, 2).value for r in (5, 6, 7)] == ["2025-01", "2025-02", "2025-03"]
    assert _row(trend, 6, 3, 7) == [3, 0, 0, 0, 1]
    assert _row(trend, 8, 1, 7) == ["合计", None, 8, 4, 3, 1, 1]


def test_candidates_and_due_reviews(report_bytes: bytes) -> None:
    wb = load(report_bytes)
    ws = wb["可晋级"]
    assert _row(ws, 4, 1, 9) == [
        1,
        "重庆甲材料有限公司",
        "91500104MA5U000001",
        "大渡口区",
        "镁合金",
        "创新型中小企业",
        "专精特新中小企业",
        "MIIT-2022",
        "评价得分72分",
    ]
    assert ws["A5"].value == "合计"
    assert ws["B5"].value == 1
    assert ws["B5"].number_format == '"共"#,##0"家"'
    due = wb["待复核"]
    assert due["G4"].value == excel_date(2022, 7, 20)
    assert due["H4"].value == excel_date(2025, 7, 19)
    assert due["H4"].number_format == "yyyy-mm-dd"
    assert due["I4"].value == 19  # days left from the as-of date
    assert due["J4"].value == "否"
    assert due.auto_filter.ref == "A3:K4"
    assert due.freeze_panes == "C4"


def test_targets_show_figure_gap_and_the_enterprises_behind_them(report_bytes: bytes) -> None:
    wb = load(report_bytes)
    ws = wb["目标进度"]
    assert _row(ws, 4, 1, 10) == [1, "上市先进材料企业", "2027", "存量", "家", 10, 4, 6, 0.4, 1]
    assert _row(ws, 5, 6, 10) == [500, 512.35, 0, pytest.approx(1.0247), 2]
    assert ws["F4"].number_format == "#,##0"
    assert ws["G5"].number_format == "#,##0.00"
    assert ws["I4"].number_format == "0.00%"
    detail = wb["目标企业明细"]
    assert [_row(detail, r, 2, 6) for r in (4, 5, 6)] == [
        ["上市先进材料企业", "重庆丙股份有限公司", "c", "两江新区", None],
        ["纤维及复合材料产业产值", "重庆丁复材有限公司", "d", "大渡口区", 320.5],
        ["纤维及复合材料产业产值", "重庆戊玻纤有限公司", "e", "长寿区", 191.85],
    ]
    assert detail["C7"].value == 3


def test_commissioner_coverage_and_open_needs(report_bytes: bytes) -> None:
    wb = load(report_bytes)
    ws = wb["专员覆盖"]
    assert ws["E3"].value == "配备专员的重点企业（家）"
    assert _row(ws, 4, 5, 8) == ["科技专员", "融资专员", "法务专员", "媒体专员"]
    assert _row(ws, 5, 1, 10) == [1, "500101", "万州区", 6, 6, 6, 6, 6, 6, 1]
    assert _row(ws, 6, 1, 10) == [2, "500104", "大渡口区", 4, 4, 3, 2, 2, 2, 0.5]
    assert _row(ws, 7, 1, 10) == ["合计", None, None, 10, 10, 9, 8, 8, 8, 0.8]
    assert ws["J7"].number_format == "0.00%"
    needs = wb["服务需求"]
    assert _row(needs, 4, 5, 10) == [
        "融资服务",
        "流动资金贷款3000万元",
        excel_date(2025, 5, 1),
        60,
        "李娜",
        "待办",
    ]


def test_native_charts_for_districts_and_movements(report_bytes: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(report_bytes)) as archive:
        charts = sorted(n for n in archive.namelist() if n.startswith("xl/charts/chart"))
        xml = [archive.read(n).decode() for n in charts]
    assert len(charts) == 3
    district, movements, trend = xml
    assert "<c:barChart>" in district
    assert '<c:grouping val="stacked"/>' in district
    assert district.count("<c:ser>") == len(TIERS)
    assert "<c:f>区县分布!$C$5:$C$7</c:f>" in district
    assert "<c:barChart>" in movements
    assert movements.count("<c:ser>") == 5
    assert "<c:lineChart>" in trend
    assert "<c:f>变动趋势!$B$5:$B$7</c:f>" in trend
    wb = load(report_bytes)
    assert len(wb["区县分布"]._charts) == 1
    assert len(wb["变动趋势"]._charts) == 1


def test_report_has_no_formulas_and_hostile_text_reads_back() -> None:
    rows = [
        CandidateRow(
            name=text,
            credit_code=text,
            district=text,
            subsector=text,
            current_tier=text,
            next_tier=text,
            basis=text,
            note=text,
        )
        for text in HOSTILE
    ]
    needs = [
        OpenNeed(
            name=text,
            credit_code="x",
            district="大渡口区",
            service_kind=text,
            description=text,
            raised_on=dt.date(2025, 6, 1),
            commissioner=text,
            status=text,
        )
        for text in HOSTILE
    ]
    report = make_report(
        candidates=rows,
        open_needs=needs,
        tiers=[TierRef("t1", "=1+2"), TierRef("t2", "@tier")],
        districts=[DistrictCount("500104", "+区", {"t1": 1})],
    )
    wb = load(_write(report))
    assert formula_cells(wb) == []
    candidates = wb["可晋级"]
    for r, text in enumerate(HOSTILE, start=4):
        for col in "BCDEFGIJ":
            assert_safe_text_cell(candidates[f"{col}{r}"], text)
    open_needs = wb["服务需求"]
    for r, text in enumerate(HOSTILE, start=4):
        for col in "BEFIJ":
            assert_safe_text_cell(open_needs[f"{col}{r}"], text)
    districts = wb["区县分布"]
    assert_safe_text_cell(districts["D4"], "=1+2")
    assert_safe_text_cell(districts["C5"], "+区")


def test_tier_columns_follow_the_data_not_a_fixed_list() -> None:
    tiers = [TierRef("b", "二级"), TierRef("a", "一级")]
    report = make_report(
        tiers=tiers,
        districts=[DistrictCount("500104", "大渡口区", {"a": 1, "b": 2, "zzz": 3})],
        subsectors=[],
        movements=[],
    )
    ws = load(_write(report))["区县分布"]
    assert _row(ws, 4, 4, 6) == ["二级", "一级", "zzz"]  # unknown codes still count
    assert _row(ws, 5, 4, 7) == [2, 1, 3, 6]


def test_an_empty_report_still_opens_with_every_sheet() -> None:
    report = make_report(
        districts=[],
        subsectors=[],
        movements=[],
        candidates=[],
        due_reviews=[],
        targets=[],
        coverage=[],
        open_needs=[],
    )
    wb = load(_write(report))
    assert wb.sheetnames == SHEETS
    assert _row(wb["区县分布"], 5, 1, 4) == ["合计", None, None, 0]
    assert wb["可晋级"]["B4"].value == 0
    assert formula_cells(wb) == []
