"""Tier reports (梯度培育情况报表): counts, movements, candidates, reviews, targets, coverage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal

from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from exports import charts
from exports.layout import (
    PAPER_A3,
    PAPER_A4,
    Column,
    Output,
    header_rows,
    info_line,
    open_workbook,
    put_text,
    setup_sheet,
    write_frame,
    zh_date,
)
from exports.styles import Formats, display_width
from exports.text import safe_sheet_name

REPORT_TITLE: Final = "重庆市优质中小企业梯度培育情况报表"
TOTAL_LABEL: Final = "合计"
TIER_GROUP: Final = "企业梯度（家）"

MovementKind = Literal["new", "renewal", "expiry", "revocation", "promotion"]
MOVEMENT_KINDS: Final[tuple[tuple[MovementKind, str], ...]] = (
    ("new", "新认定"),
    ("renewal", "复核通过"),
    ("expiry", "到期失效"),
    ("revocation", "撤销"),
    ("promotion", "晋级"),
)
DEFAULT_SPECIALTIES: Final = ("科技", "融资", "法务", "媒体")

# Sheet names, in tab order.
SHEET_DISTRICTS: Final = "区县分布"
SHEET_SUBSECTORS: Final = "领域分布"
SHEET_MOVEMENTS: Final = "变动情况"
SHEET_TREND: Final = "变动趋势"
SHEET_CANDIDATES: Final = "可晋级"
SHEET_DUE: Final = "待复核"
SHEET_TARGETS: Final = "目标进度"
SHEET_TARGET_DETAIL: Final = "目标企业明细"
SHEET_COVERAGE: Final = "专员覆盖"
SHEET_NEEDS: Final = "服务需求"


@dataclass(frozen=True, slots=True)
class TierRef:
    """A tier as reference data has it; a report lists tiers in rank order."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class DistrictCount:
    """Enterprises per tier (keyed by tier code) in one district."""

    code: str
    name: str
    counts: Mapping[str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class SubsectorCount:
    """Enterprises per tier (keyed by tier code) in one subsector, with its taxonomy path."""

    category_code: str
    category_name: str
    industry_code: str
    industry_name: str
    subsector_code: str
    subsector_name: str
    counts: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class MovementCount:
    """How many movements of one kind into or within one tier happened in one period."""

    period: str  # a label such as "2025-03" or "2025年第一季度"
    kind: MovementKind
    tier_code: str
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CandidateRow:
    """An enterprise the ladder rules find ready for the next tier (可晋级)."""

    name: str
    credit_code: str
    district: str
    subsector: str
    current_tier: str
    next_tier: str
    rule_version: str = ""
    basis: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DueReviewRow:
    """An enterprise whose designation is due for review (待复核)."""

    name: str
    credit_code: str
    district: str
    subsector: str
    tier: str
    designated_on: dt.date | None
    valid_until: dt.date
    data_updated: bool | None = None  # this year's data update on the national platform
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetEnterprise:
    """One enterprise counted towards a target, with the figure it contributes."""

    name: str
    credit_code: str
    district: str
    value: Decimal | None = None
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetRow:
    """A target (data, not code) with today's figure and the enterprises behind it."""

    name: str
    year: int
    measure: Literal["stock", "flow"]
    unit: str
    target: Decimal
    current: Decimal
    source: str = ""
    enterprises: Sequence[TargetEnterprise] = ()

    @property
    def gap(self) -> Decimal:
        """What is still missing; zero once the target is reached."""
        return max(self.target - self.current, Decimal(0))

    @property
    def progress(self) -> Decimal | None:
        """Current figure over target, when the target is positive."""
        return self.current / self.target if self.target > 0 else None


@dataclass(frozen=True, slots=True, kw_only=True)
class CoverageRow:
    """Commissioner coverage of one district's key enterprises."""

    district_code: str
    district_name: str
    key_enterprises: int
    covered: Mapping[str, int]  # specialty → key enterprises with such a commissioner
    fully_covered: int  # key enterprises with every specialty covered


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenNeed:
    """A service need an enterprise raised that is not closed yet."""

    name: str
    credit_code: str
    district: str
    service_kind: str
    description: str
    raised_on: dt.date
    commissioner: str | None = None
    status: str = "待办"


@dataclass(frozen=True, slots=True, kw_only=True)
class TierReport:
    """Everything one tier report shows; tiers (by rank) and specialties come with the data.

    ``exported_at`` is shown as given: pass it in the reader's time zone (Asia/Shanghai).
    """

    scope_zh: str
    as_of: dt.date
    exported_at: dt.datetime
    period_start: dt.date
    period_end: dt.date
    tiers: Sequence[TierRef]
    districts: Sequence[DistrictCount] = ()
    subsectors: Sequence[SubsectorCount] = ()
    movements: Sequence[MovementCount] = ()
    periods: Sequence[str] = ()  # order of movement periods; default: sorted labels
    candidates: Sequence[CandidateRow] = ()
    due_reviews: Sequence[DueReviewRow] = ()
    targets: Sequence[TargetRow] = ()
    coverage: Sequence[CoverageRow] = ()
    open_needs: Sequence[OpenNeed] = ()
    specialties: Sequence[str] = DEFAULT_SPECIALTIES


Cell = str | int | float | Decimal | dt.date | bool | None

_TOTAL_STYLE: Final = {
    "count": "total_count",
    "money": "total_money",
    "percent": "total_percent",
    "number": "total_money",
}


def write_report(out: Output, report: TierReport, *, tmpdir: str | None = None) -> None:
    """Write the tier report workbook, one sheet per section, with native charts."""
    with open_workbook(out, tmpdir) as workbook:
        writer = _ReportWriter(workbook, report)
        writer.districts()
        writer.subsectors()
        writer.movements()
        writer.trend()
        writer.candidates()
        writer.due_reviews()
        writer.targets()
        writer.target_detail()
        writer.coverage()
        writer.open_needs()


def tier_columns(report: TierReport) -> list[TierRef]:
    """The report's tiers in rank order, then any tier code the counts use but the list lacks."""
    tiers = list(report.tiers)
    known = {t.code for t in tiers}
    seen: list[str] = []
    for counts in [d.counts for d in report.districts] + [s.counts for s in report.subsectors]:
        seen.extend(counts)
    seen.extend(m.tier_code for m in report.movements)
    for code in seen:
        if code not in known:
            known.add(code)
            tiers.append(TierRef(code, code))
    return tiers


@dataclass
class _Table:
    """Where a written table sits, for totals, charts and the page setup."""

    ws: Worksheet
    name: str
    columns: Sequence[Column]
    first: int  # first data row
    last: int  # last data row (first - 1 when empty)
    header_first: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class _ReportWriter:
    """Writes the report's sheets in tab order, sharing formats and sheet names."""

    def __init__(self, workbook: Workbook, report: TierReport) -> None:
        self.wb = workbook
        self.report = report
        self.f = Formats(workbook)
        self.used: set[str] = set()
        self.tiers = tier_columns(report)
        self.info = info_line(report.scope_zh, report.as_of, report.exported_at)

    # -- sections ---------------------------------------------------------------------------

    def districts(self) -> None:
        rows = sorted(self.report.districts, key=lambda d: d.code)
        columns = [
            Column("序号", 6),
            Column("区县代码", 10),
            Column("区县", _fit((d.name for d in rows), 12, 26)),
            *self._tier_header(),
            Column("合计（家）", 10),
        ]
        body: list[list[Cell]] = [
            [i, d.code, d.name, *self._counts(d.counts), sum(d.counts.values())]
            for i, d in enumerate(rows, 1)
        ]
        styles = ["center", "text", "text", *["count"] * len(self.tiers), "count"]
        table = self._table(
            SHEET_DISTRICTS, "按区县", columns, styles, body, total_span=3, freeze_cols=3
        )
        if body:
            n = len(self.tiers)
            chart = charts.column_chart(
                self.wb,
                table.name,
                title="各区县优质中小企业梯度分布",
                categories=(table.first, 2, table.last, 2),
                series=charts.series_by_column(
                    header_row=table.first - 1,
                    first_row=table.first,
                    last_row=table.last,
                    cols=range(3, 3 + n),
                ),
                stacked=True,
                rotate_labels=True,
                size=(max(720, 26 * len(body) + 200), 440),
            )
            table.ws.insert_chart(table.header_first, len(columns) + 1, chart)

    def subsectors(self) -> None:
        report = self.report
        tiers = self.tiers
        columns = [
            Column("类别", _fit((s.category_name for s in report.subsectors), 12, 20)),
            Column("产业", _fit((s.industry_name for s in report.subsectors), 14, 24)),
            Column("细分领域", _fit((s.subsector_name for s in report.subsectors), 16, 30)),
            *self._tier_header(),
            Column("合计（家）", 10),
        ]
        ws, first, _name = self._sheet(SHEET_SUBSECTORS, "按细分领域", columns)
        f = self.f
        group = f("group", boxed=True)
        ordered = sorted(
            report.subsectors, key=lambda s: (s.category_code, s.industry_code, s.subsector_code)
        )
        categories: dict[str, list[SubsectorCount]] = {}
        for s in ordered:
            categories.setdefault(s.category_code, []).append(s)

        width = len(tiers) + 1
        grand = [0] * width
        r = first
        for members in categories.values():
            industries: dict[str, list[SubsectorCount]] = {}
            for s in members:
                industries.setdefault(s.industry_code, []).append(s)
            category_row = r
            block = sum(len(subs) + 1 for subs in industries.values())
            # In constant-memory mode a merge must be registered before its first row is left;
            # the cells under a merge's first one still get a boxed blank for the border.
            ws.merge_range(r, 0, r + block - 1, 0, "", None)
            category_sum = [0] * width
            for subs in industries.values():
                industry_row = r
                ws.merge_range(r, 1, r + len(subs), 1, "", None)
                industry_sum = [0] * width
                for s in subs:
                    if r == category_row:
                        put_text(ws, r, 0, s.category_name, f, "group", boxed=True)
                    else:
                        ws.write_blank(r, 0, None, group)
                    if r == industry_row:
                        put_text(ws, r, 1, s.industry_name, f, "group", boxed=True)
                    else:
                        ws.write_blank(r, 1, None, group)
                    put_text(ws, r, 2, s.subsector_name, f, "text", boxed=True)
                    values = [*self._counts(s.counts), sum(s.counts.values())]
                    self._numbers(ws, r, 3, values, "count")
                    industry_sum = [a + b for a, b in zip(industry_sum, values, strict=True)]
                    r += 1
                ws.write_blank(r, 0, None, group)
                ws.write_blank(r, 1, None, group)
                ws.write_string(r, 2, "小计", f("subtotal_label", boxed=True))
                self._numbers(ws, r, 3, industry_sum, "subtotal_count")
                category_sum = [a + b for a, b in zip(category_sum, industry_sum, strict=True)]
                r += 1
            subtotal = f("subtotal_label", boxed=True)
            ws.merge_range(r, 0, r, 2, "", None)
            put_text(ws, r, 0, f"{members[0].category_name}合计", f, "subtotal_label", boxed=True)
            ws.write_blank(r, 1, None, subtotal)
            ws.write_blank(r, 2, None, subtotal)
            self._numbers(ws, r, 3, category_sum, "subtotal_count")
            grand = [a + b for a, b in zip(grand, category_sum, strict=True)]
            r += 1
        ws.merge_range(r, 0, r, 2, TOTAL_LABEL, f("total_label", boxed=True))
        self._numbers(ws, r, 3, grand, "total_count")
        setup_sheet(
            ws,
            header_first=first - header_rows(columns),
            header_last=first - 1,
            last_col=len(columns) - 1,
            last_row=None,
            freeze_cols=3,
            paper=PAPER_A4,
            autofilter=False,  # subtotal rows and merged groups do not filter meaningfully
            print_gridlines=False,
        )

    def movements(self) -> None:
        kinds = MOVEMENT_KINDS
        by_tier: dict[tuple[str, str], int] = {}
        for m in self.report.movements:
            by_tier[(m.tier_code, m.kind)] = by_tier.get((m.tier_code, m.kind), 0) + m.count
        columns = [
            Column("序号", 6),
            Column("企业梯度", _fit((t.name for t in self.tiers), 16, 28)),
            *(Column(label, 10, "变动（家次）") for _kind, label in kinds),
        ]
        body: list[list[Cell]] = [
            [i, t.name, *(by_tier.get((t.code, k), 0) for k, _label in kinds)]
            for i, t in enumerate(self.tiers, 1)
        ]
        styles = ["center", "text", *["count"] * len(kinds)]
        table = self._table(
            SHEET_MOVEMENTS, "梯度变动", columns, styles, body, total_span=2, period=True
        )
        if body:
            chart = charts.column_chart(
                self.wb,
                table.name,
                title="统计期内各梯度变动情况",
                categories=(table.first, 1, table.last, 1),
                series=charts.series_by_column(
                    header_row=table.first - 1,
                    first_row=table.first,
                    last_row=table.last,
                    cols=range(2, 2 + len(kinds)),
                ),
                y_title="家次",
                size=(720, 380),
            )
            table.ws.insert_chart(table.header_first, len(columns) + 1, chart)

    def trend(self) -> None:
        kinds = MOVEMENT_KINDS
        periods = list(self.report.periods) or sorted({m.period for m in self.report.movements})
        by_period: dict[tuple[str, str], int] = {}
        for m in self.report.movements:
            by_period[(m.period, m.kind)] = by_period.get((m.period, m.kind), 0) + m.count
        columns = [
            Column("序号", 6),
            Column("期间", _fit(periods, 12, 24)),
            *(Column(label, 10, "变动（家次）") for _kind, label in kinds),
        ]
        body: list[list[Cell]] = [
            [i, p, *(by_period.get((p, k), 0) for k, _label in kinds)]
            for i, p in enumerate(periods, 1)
        ]
        styles = ["center", "text", *["count"] * len(kinds)]
        table = self._table(
            SHEET_TREND, "变动趋势", columns, styles, body, total_span=2, period=True
        )
        if body:
            chart = charts.line_chart(
                self.wb,
                table.name,
                title="梯度变动趋势",
                categories=(table.first, 1, table.last, 1),
                series=charts.series_by_column(
                    header_row=table.first - 1,
                    first_row=table.first,
                    last_row=table.last,
                    cols=range(2, 2 + len(kinds)),
                ),
                y_title="家次",
                size=(max(720, 60 * len(body) + 200), 380),
            )
            table.ws.insert_chart(table.header_first, len(columns) + 1, chart)

    def candidates(self) -> None:
        rows = self.report.candidates
        columns = [
            Column("序号", 6),
            Column("企业名称", _fit((c.name for c in rows), 24, 44)),
            Column("统一社会信用代码", 21),
            Column("所属区县", 12),
            Column("细分领域", _fit((c.subsector for c in rows), 14, 28)),
            Column("当前梯度", 16),
            Column("可晋级梯度", 16),
            Column("规则版本", 11),
            Column("依据", _fit((c.basis for c in rows), 20, 50)),
            Column("备注", 16),
        ]
        body: list[list[Cell]] = [
            [
                i,
                c.name,
                c.credit_code,
                c.district,
                c.subsector,
                c.current_tier,
                c.next_tier,
                c.rule_version,
                c.basis,
                c.note,
            ]
            for i, c in enumerate(rows, 1)
        ]
        styles = ["center", *["text"] * 9]
        self._table(
            SHEET_CANDIDATES,
            "可晋级企业",
            columns,
            styles,
            body,
            freeze_cols=2,
            paper=PAPER_A3,
            total="count",
        )

    def due_reviews(self) -> None:
        rows = self.report.due_reviews
        as_of = self.report.as_of
        columns = [
            Column("序号", 6),
            Column("企业名称", _fit((c.name for c in rows), 24, 44)),
            Column("统一社会信用代码", 21),
            Column("所属区县", 12),
            Column("细分领域", _fit((c.subsector for c in rows), 14, 28)),
            Column("企业梯度", 16),
            Column("认定日期", 11.5),
            Column("有效期至", 11.5),
            Column("剩余天数", 9),
            Column("年度数据已更新", 10),
            Column("备注", 16),
        ]
        body: list[list[Cell]] = [
            [
                i,
                d.name,
                d.credit_code,
                d.district,
                d.subsector,
                d.tier,
                d.designated_on,
                d.valid_until,
                (d.valid_until - as_of).days,
                "未知" if d.data_updated is None else d.data_updated,
                d.note,
            ]
            for i, d in enumerate(rows, 1)
        ]
        styles = ["center", *["text"] * 5, "date", "date", "count", "center", "text"]
        self._table(
            SHEET_DUE,
            "待复核企业",
            columns,
            styles,
            body,
            freeze_cols=2,
            paper=PAPER_A3,
            total="count",
        )

    def targets(self) -> None:
        rows = self.report.targets
        columns = [
            Column("序号", 6),
            Column("目标", _fit((t.name for t in rows), 24, 44)),
            Column("目标年度", 9),
            Column("口径", 8),
            Column("单位", 8),
            Column("目标值", 12),
            Column("当前值", 12),
            Column("差距", 12),
            Column("完成率", 10),
            Column("计入企业（家）", 10),
            Column("依据文件", _fit((t.source for t in rows), 20, 40)),
        ]
        body: list[list[Cell]] = [
            [
                i,
                t.name,
                str(t.year),
                "存量" if t.measure == "stock" else "增量",
                t.unit,
                t.target,
                t.current,
                t.gap,
                t.progress,
                len(t.enterprises),
                t.source,
            ]
            for i, t in enumerate(rows, 1)
        ]
        styles = [
            "center",
            "text",
            "center",
            "center",
            "center",
            "number",
            "number",
            "number",
            "percent",
            "count",
            "text",
        ]
        self._table(SHEET_TARGETS, "目标进度", columns, styles, body, freeze_cols=2, total="none")

    def target_detail(self) -> None:
        targets = self.report.targets
        everyone = [e for t in targets for e in t.enterprises]
        columns = [
            Column("序号", 6),
            Column("目标", _fit((t.name for t in targets), 20, 40)),
            Column("企业名称", _fit((e.name for e in everyone), 24, 44)),
            Column("统一社会信用代码", 21),
            Column("所属区县", 12),
            Column("数值", 14),
            Column("单位", 8),
            Column("备注", 20),
        ]
        body: list[list[Cell]] = []
        for t in targets:
            for e in t.enterprises:
                body.append(
                    [
                        len(body) + 1,
                        t.name,
                        e.name,
                        e.credit_code,
                        e.district,
                        e.value,
                        t.unit,
                        e.note,
                    ]
                )
        styles = ["center", "text", "text", "text", "text", "number", "center", "text"]
        self._table(
            SHEET_TARGET_DETAIL,
            "目标计入企业",
            columns,
            styles,
            body,
            freeze_cols=3,
            total="count",
            count_col=2,
        )

    def coverage(self) -> None:
        rows = sorted(self.report.coverage, key=lambda c: c.district_code)
        specialties = list(self.report.specialties)
        group = "配备专员的重点企业（家）"
        columns = [
            Column("序号", 6),
            Column("区县代码", 10),
            Column("区县", _fit((c.district_name for c in rows), 12, 26)),
            Column("重点企业（家）", 10),
            *(Column(f"{s}专员", 9, group) for s in specialties),
            Column("四类齐全（家）", 10),
            Column("覆盖率", 9),
        ]
        body: list[list[Cell]] = [
            [
                i,
                c.district_code,
                c.district_name,
                c.key_enterprises,
                *(c.covered.get(s, 0) for s in specialties),
                c.fully_covered,
                c.fully_covered / c.key_enterprises if c.key_enterprises else None,
            ]
            for i, c in enumerate(rows, 1)
        ]
        styles = ["center", "text", "text", "count", *["count"] * len(specialties), "count"]
        styles.append("percent")
        key = sum(c.key_enterprises for c in rows)
        full = sum(c.fully_covered for c in rows)
        self._table(
            SHEET_COVERAGE,
            "专员覆盖",
            columns,
            styles,
            body,
            total_span=3,
            freeze_cols=3,
            overrides={len(columns) - 1: full / key if key else None},
        )

    def open_needs(self) -> None:
        rows = self.report.open_needs
        as_of = self.report.as_of
        columns = [
            Column("序号", 6),
            Column("企业名称", _fit((n.name for n in rows), 24, 44)),
            Column("统一社会信用代码", 21),
            Column("所属区县", 12),
            Column("服务类别", 14),
            Column("需求内容", _fit((n.description for n in rows), 24, 50)),
            Column("提出日期", 11.5),
            Column("已等待（天）", 9),
            Column("服务专员", 10),
            Column("状态", 8),
        ]
        body: list[list[Cell]] = [
            [
                i,
                n.name,
                n.credit_code,
                n.district,
                n.service_kind,
                n.description,
                n.raised_on,
                (as_of - n.raised_on).days,
                n.commissioner,
                n.status,
            ]
            for i, n in enumerate(rows, 1)
        ]
        styles = ["center", *["text"] * 5, "date", "count", "text", "center"]
        self._table(
            SHEET_NEEDS,
            "待办服务需求",
            columns,
            styles,
            body,
            freeze_cols=2,
            paper=PAPER_A3,
            total="count",
        )

    # -- helpers ----------------------------------------------------------------------------

    def _tier_header(self) -> list[Column]:
        return [
            Column(t.name, max(10.0, display_width(t.name) * 0.6 + 2), TIER_GROUP)
            for t in self.tiers
        ]

    def _counts(self, counts: Mapping[str, int]) -> list[int]:
        return [counts.get(t.code, 0) for t in self.tiers]

    def _sheet(
        self, name: str, section: str, columns: Sequence[Column], *, period: bool = False
    ) -> tuple[Worksheet, int, str]:
        sheet_name = safe_sheet_name(name, self.used)
        ws = self.wb.add_worksheet(sheet_name)
        info = self.info
        if period:
            report = self.report
            info += f"　　统计期间：{zh_date(report.period_start)}至{zh_date(report.period_end)}"
        first = write_frame(
            ws, self.f, title=f"{REPORT_TITLE}（{section}）", info=info, columns=columns
        )
        return ws, first, sheet_name

    def _table(
        self,
        name: str,
        section: str,
        columns: Sequence[Column],
        styles: Sequence[str],
        body: Sequence[Sequence[Cell]],
        *,
        total: Literal["sum", "count", "none"] = "sum",
        total_span: int = 1,
        count_col: int = 1,
        freeze_cols: int = 0,
        paper: int = PAPER_A4,
        period: bool = False,
        overrides: Mapping[int, float | None] | None = None,
    ) -> _Table:
        """A list-like sheet: frame, boxed body, optional 合计 row of column sums, page setup."""
        ws, first, sheet_name = self._sheet(name, section, columns, period=period)
        r = first - 1
        for values in body:
            r += 1
            for c, (value, style) in enumerate(zip(values, styles, strict=True)):
                self._put(ws, r, c, value, style)
        last = r
        if total == "sum":
            self._total_row(ws, last + 1, styles, body, total_span, overrides or {})
        elif total == "count":
            # A list's 合计 row says how many enterprises it holds, in the name column.
            ws.write_string(last + 1, 0, TOTAL_LABEL, self.f("total_label", boxed=True))
            ws.write_number(last + 1, count_col, len(body), self.f("total_enterprises", boxed=True))
            for c in set(range(1, len(columns))) - {count_col}:
                ws.write_blank(last + 1, c, None, self.f("total_text", boxed=True))
        setup_sheet(
            ws,
            header_first=first - header_rows(columns),
            header_last=first - 1,
            last_col=len(columns) - 1,
            last_row=last if body else None,
            freeze_cols=freeze_cols,
            paper=paper,
            print_gridlines=False,  # report cells are boxed; a grid would run through charts
        )
        return _Table(ws, sheet_name, columns, first, last, first - header_rows(columns))

    def _total_row(
        self,
        ws: Worksheet,
        r: int,
        styles: Sequence[str],
        body: Sequence[Sequence[Cell]],
        span: int,
        overrides: Mapping[int, float | None],
    ) -> None:
        f = self.f
        label = f("total_label", boxed=True)
        if span > 1:
            ws.merge_range(r, 0, r, span - 1, TOTAL_LABEL, label)
        else:
            ws.write_string(r, 0, TOTAL_LABEL, label)
        for c in range(span, len(styles)):
            style = styles[c]
            fmt = f(_TOTAL_STYLE.get(style, "total_text"), boxed=True)
            if c in overrides:
                value = overrides[c]
                if value is None:
                    ws.write_blank(r, c, None, fmt)
                else:
                    ws.write_number(r, c, value, fmt)
            elif style in ("count", "money", "number"):
                numbers = [v for row in body if isinstance(v := row[c], int | float | Decimal)]
                ws.write_number(r, c, float(sum(numbers)), fmt)
            else:
                ws.write_blank(r, c, None, fmt)

    def _put(self, ws: Worksheet, r: int, c: int, value: Cell, style: str) -> None:
        f = self.f
        if value is None or value == "":
            ws.write_blank(r, c, None, f(style if style != "number" else "money", boxed=True))
        elif isinstance(value, bool):
            ws.write_string(r, c, "是" if value else "否", f("center", boxed=True))
        elif isinstance(value, str):
            put_text(
                ws, r, c, value, f, style if style in ("text", "center") else "text", boxed=True
            )
        elif isinstance(value, dt.date):
            ws.write_number(r, c, _serial(value), f("date", boxed=True))
        else:
            if style == "number":
                style = "count" if value == int(value) else "money"
            ws.write_number(r, c, float(value), f(style, boxed=True))

    def _numbers(self, ws: Worksheet, r: int, c: int, values: Sequence[int], style: str) -> None:
        fmt = self.f(style, boxed=True)
        for i, v in enumerate(values):
            ws.write_number(r, c + i, v, fmt)


def _serial(day: dt.date) -> int:
    return day.toordinal() - dt.date(1899, 12, 30).toordinal()


def _fit(texts: Iterable[str], minimum: float, maximum: float) -> float:
    widest = max((display_width(t) for t in texts if t), default=0)
    return float(min(max(widest * 1.1 + 2, minimum), maximum))
