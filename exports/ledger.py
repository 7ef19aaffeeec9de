"""Subsector ledgers (台账): a streamed sheet per subsector and a summary, or a zip of them."""

from __future__ import annotations

import datetime as dt
import itertools
import operator
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal, TextIO

from xlsxwriter.worksheet import Worksheet

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
)
from exports.styles import Formats, column_width, display_width
from exports.text import (
    CsvValue,
    clean_control_chars,
    needs_attention,
    needs_quote_prefix,
    safe_file_name,
    safe_sheet_name,
    write_csv,
)

ColumnKind = Literal["seq", "text", "date", "flag", "money", "percent", "count"]

DATA_YEAR_GROUP: Final = "{year}年经营数据"
TOTAL_LABEL: Final = "合计"
SUMMARY_SHEET: Final = "汇总"
UNTIERED_LABEL: Final = "未定梯度"


@dataclass(frozen=True, slots=True)
class LedgerColumn:
    """One ledger column: the ``LedgerRow`` attribute it shows and its exact header label.

    ``grouped`` columns sit under the two-row header group :data:`DATA_YEAR_GROUP`.
    The roster importer re-reads exported ledgers by these labels: change them together.
    """

    key: str
    label: str
    kind: ColumnKind
    width: float
    max_width: float = 0.0  # widen to fit the data up to this; 0 keeps ``width``
    grouped: bool = False


LEDGER_COLUMNS: Final[tuple[LedgerColumn, ...]] = (
    LedgerColumn("seq", "序号", "seq", 6),
    LedgerColumn("name", "企业名称", "text", 24, 44),
    LedgerColumn("credit_code", "统一社会信用代码", "text", 21),
    LedgerColumn("district", "所属区县", "text", 10, 24),
    LedgerColumn("subsector", "细分领域", "text", 14, 28),
    LedgerColumn("chain_position", "产业链环节", "text", 12, 18),
    LedgerColumn("main_products", "主营产品", "text", 16, 36),
    LedgerColumn("tier", "企业梯度", "text", 14, 26),
    LedgerColumn("batch", "认定批次", "text", 12, 24),
    LedgerColumn("designated_on", "认定日期", "date", 11.5),
    LedgerColumn("valid_until", "有效期至", "date", 11.5),
    LedgerColumn("is_key", "是否重点企业", "flag", 13),
    LedgerColumn("commissioner_tech", "科技专员", "text", 9, 16),
    LedgerColumn("commissioner_finance", "融资专员", "text", 9, 16),
    LedgerColumn("commissioner_legal", "法务专员", "text", 9, 16),
    LedgerColumn("commissioner_media", "媒体专员", "text", 9, 16),
    LedgerColumn("revenue", "营业收入(万元)", "money", 14, grouped=True),
    LedgerColumn("rd_expense", "研发费用(万元)", "money", 14, grouped=True),
    LedgerColumn("rd_ratio", "研发投入占比", "percent", 12, grouped=True),
    LedgerColumn("employees", "从业人员(人)", "count", 11, grouped=True),
    LedgerColumn("contact_name", "联系人", "text", 8, 14),
    LedgerColumn("contact_phone", "联系电话", "text", 14, 24),
)


def ledger_header(data_year: int) -> list[tuple[str | None, str]]:
    """The header as (group label or ``None``, label) per column, for readers of the ledger."""
    group = DATA_YEAR_GROUP.format(year=data_year)
    return [(group if c.grouped else None, c.label) for c in LEDGER_COLUMNS]


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerRow:
    """One enterprise as the ledger shows it; money in 万元 for the meta's data year."""

    name: str
    credit_code: str
    district: str
    subsector: str
    chain_position: str | None = None
    main_products: str | None = None
    tier: str | None = None
    batch: str | None = None
    designated_on: dt.date | None = None
    valid_until: dt.date | None = None
    is_key: bool = False
    commissioner_tech: str | None = None
    commissioner_finance: str | None = None
    commissioner_legal: str | None = None
    commissioner_media: str | None = None
    revenue: Decimal | None = None
    rd_expense: Decimal | None = None
    employees: int | None = None
    contact_name: str | None = None
    contact_phone: str | None = None

    @property
    def rd_ratio(self) -> Decimal | None:
        """R&D expense over operating revenue, when both are known and revenue is positive."""
        if self.rd_expense is None or self.revenue is None or self.revenue <= 0:
            return None
        return self.rd_expense / self.revenue


@dataclass(frozen=True, slots=True)
class LedgerSheet:
    """The rows of one subsector; ``rows`` may be a one-pass iterator streamed from the database."""

    subsector_code: str
    subsector_name: str
    rows: Iterable[LedgerRow]


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerMeta:
    """What every sheet's info row says, and the tiers (by rank) the summary counts.

    ``exported_at`` is shown as given: pass it in the reader's time zone (Asia/Shanghai).
    """

    scope_zh: str
    as_of: dt.date
    exported_at: dt.datetime
    data_year: int
    tiers: Sequence[str] = ()


@dataclass(slots=True)
class _SheetTally:
    """What the summary needs from one streamed sheet."""

    code: str
    name: str
    rows: int = 0
    key: int = 0
    revenue: Decimal = Decimal(0)
    by_tier: dict[str | None, int] = field(default_factory=dict)


# Excel's day 0 in the 1900 date system (serials are exact from 1900-03-01 on).
_EXCEL_EPOCH: Final = dt.date(1899, 12, 30).toordinal()
# Rows read before choosing column widths: enough to see typical lengths, few enough to stay flat.
_WIDTH_SAMPLE: Final = 200

_COL: Final = {c.key: i for i, c in enumerate(LEDGER_COLUMNS)}
_TEXT_KEYS: Final = tuple(c.key for c in LEDGER_COLUMNS if c.kind == "text")
_TEXT_COLS: Final = tuple(_COL[k] for k in _TEXT_KEYS)
_text_values: Final = operator.attrgetter(*_TEXT_KEYS)
_FIRST_TOTALLED: Final = _COL["revenue"]


def write_ledger(
    out: Output,
    sheets: Iterable[LedgerSheet],
    meta: LedgerMeta,
    *,
    tmpdir: str | None = None,
) -> None:
    """Write one workbook: a summary sheet first, then one ledger sheet per subsector.

    Rows are streamed (constant memory): each sheet's ``rows`` is iterated once, in order.
    """
    with open_workbook(out, tmpdir) as workbook:
        formats = Formats(workbook)
        used_names: set[str] = set()
        # Tab order is the order sheets are added; constant-memory mode keeps a row stream per
        # sheet, so the summary can be added first and filled in after the ledgers are written.
        summary = workbook.add_worksheet(safe_sheet_name(SUMMARY_SHEET, used_names))
        tallies = [
            _write_ledger_sheet(
                workbook.add_worksheet(safe_sheet_name(sheet.subsector_name, used_names)),
                formats,
                sheet,
                meta,
            )
            for sheet in sheets
        ]
        _write_summary(summary, formats, tallies, meta)
        summary.activate()


def write_ledger_zip(
    out: Output,
    sheets: Iterable[LedgerSheet],
    meta: LedgerMeta,
    *,
    tmpdir: str | None = None,
) -> None:
    """Write a zip holding one single-sheet ledger workbook per subsector."""
    used: set[str] = set()
    target: Any = os.fspath(out) if isinstance(out, str | os.PathLike) else out
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for sheet in sheets:
            # A workbook is itself deflated: storing it saves the time of a second compression.
            member = _member_name(sheet, used)
            with tempfile.TemporaryFile(dir=tmpdir) as part:
                with open_workbook(part, tmpdir) as workbook:
                    ws = workbook.add_worksheet(safe_sheet_name(sheet.subsector_name, set()))
                    _write_ledger_sheet(ws, Formats(workbook), sheet, meta)
                part.seek(0)
                with archive.open(member, "w", force_zip64=True) as dest:
                    shutil.copyfileobj(part, dest, 1 << 20)


def write_ledger_csv(out: TextIO, rows: Iterable[LedgerRow], *, data_year: int) -> None:
    """Write ledger rows as CSV with the ledger's labels (the data year's ones prefixed)."""
    header = [f"{data_year}年{c.label}" if c.grouped else c.label for c in LEDGER_COLUMNS]

    def values() -> Iterator[list[CsvValue]]:
        for seq, row in enumerate(rows, 1):
            yield [
                seq if c.key == "seq" else _csv_value(getattr(row, c.key)) for c in LEDGER_COLUMNS
            ]

    write_csv(out, header, values())


def ledger_title(subsector_name: str) -> str:
    """The merged title of a subsector's ledger sheet."""
    return f"重庆市{subsector_name}优质中小企业梯度培育台账"


def _csv_value(value: object) -> CsvValue:
    if value is None or isinstance(value, str | int | float | Decimal | dt.date | bool):
        return value
    return str(value)


def _member_name(sheet: LedgerSheet, used: set[str]) -> str:
    base = safe_file_name(f"{sheet.subsector_code}_{sheet.subsector_name}")
    name, n = f"{base}.xlsx", 1
    while name.casefold() in used:
        n += 1
        name = f"{base}({n}).xlsx"
    used.add(name.casefold())
    return name


def _ledger_columns(data_year: int, widths: Sequence[float]) -> list[Column]:
    group = DATA_YEAR_GROUP.format(year=data_year)
    return [
        Column(c.label, w, group if c.grouped else None)
        for c, w in zip(LEDGER_COLUMNS, widths, strict=True)
    ]


def _widths(sample: Sequence[LedgerRow]) -> list[float]:
    """Column widths from the header labels and the first rows, within each column's cap."""
    widths = []
    for column in LEDGER_COLUMNS:
        least = max(column.width, display_width(column.label) * 1.1 + 2)
        if column.max_width and sample:
            texts = [v for row in sample if isinstance(v := getattr(row, column.key), str)]
            widths.append(column_width(texts, minimum=least, maximum=column.max_width))
        else:
            widths.append(least if column.kind == "text" else column.width)
    return widths


def _write_ledger_sheet(
    ws: Worksheet, formats: Formats, sheet: LedgerSheet, meta: LedgerMeta
) -> _SheetTally:
    rows = iter(sheet.rows)
    sample = list(itertools.islice(rows, _WIDTH_SAMPLE))
    columns = _ledger_columns(meta.data_year, _widths(sample))
    first = write_frame(
        ws,
        formats,
        title=ledger_title(sheet.subsector_name),
        info=info_line(meta.scope_zh, meta.as_of, meta.exported_at),
        columns=columns,
    )
    tally = _SheetTally(sheet.subsector_code, sheet.subsector_name)
    totals = _write_body(ws, formats, itertools.chain(sample, rows), first, tally)
    last = first + tally.rows - 1
    _write_total_row(ws, formats, first, last, totals)
    setup_sheet(
        ws,
        header_first=first - 2,
        header_last=first - 1,
        last_col=len(LEDGER_COLUMNS) - 1,
        last_row=last if tally.rows else None,
        freeze_cols=2,
        paper=PAPER_A3,
    )
    return tally


@dataclass(slots=True)
class _Totals:
    revenue: Decimal = Decimal(0)
    rd_expense: Decimal = Decimal(0)
    employees: int = 0


def _write_body(
    ws: Worksheet, formats: Formats, rows: Iterable[LedgerRow], first: int, tally: _SheetTally
) -> _Totals:
    """Write the data rows; the hot loop of a 100 000-row export, so kept flat and local."""
    write_string = ws.write_string
    write_number = ws.write_number
    attention = needs_attention
    text_values = _text_values
    text_cols = _TEXT_COLS
    money, percent, date, count, center = (
        formats("money"),
        formats("percent"),
        formats("date"),
        formats("count"),
        formats("center"),
    )
    quoted = formats("text", quoted=True)
    epoch = _EXCEL_EPOCH
    c_designated, c_valid, c_key = _COL["designated_on"], _COL["valid_until"], _COL["is_key"]
    c_revenue, c_rd, c_ratio, c_staff = (
        _COL["revenue"],
        _COL["rd_expense"],
        _COL["rd_ratio"],
        _COL["employees"],
    )
    by_tier = tally.by_tier
    revenue_total = rd_total = Decimal(0)
    staff_total = key_total = 0
    r = first - 1
    seq = 0
    for seq, row in enumerate(rows, 1):
        r += 1
        write_number(r, 0, seq)
        for c, text in zip(text_cols, text_values(row), strict=True):
            if text:
                if attention(text) is None:
                    write_string(r, c, text)
                else:
                    text = clean_control_chars(text)
                    write_string(r, c, text, quoted if needs_quote_prefix(text) else None)
        if (day := row.designated_on) is not None:
            write_number(r, c_designated, day.toordinal() - epoch, date)
        if (day := row.valid_until) is not None:
            write_number(r, c_valid, day.toordinal() - epoch, date)
        if row.is_key:
            key_total += 1
            write_string(r, c_key, "是", center)
        else:
            write_string(r, c_key, "否", center)
        revenue = row.revenue
        rd = row.rd_expense
        if revenue is not None:
            revenue_total += revenue
            write_number(r, c_revenue, float(revenue), money)
        if rd is not None:
            rd_total += rd
            write_number(r, c_rd, float(rd), money)
            if revenue is not None and revenue > 0:
                write_number(r, c_ratio, float(rd) / float(revenue), percent)
        if (staff := row.employees) is not None:
            staff_total += staff
            write_number(r, c_staff, staff, count)
        by_tier[row.tier] = by_tier.get(row.tier, 0) + 1
    tally.rows = seq
    tally.key = key_total
    tally.revenue = revenue_total
    return _Totals(revenue_total, rd_total, staff_total)


def _write_total_row(
    ws: Worksheet, formats: Formats, first: int, last: int, totals: _Totals
) -> None:
    """The 合计 row: SUBTOTAL formulas (they follow the autofilter) with their values cached."""
    t = last + 1
    n = last - first + 1
    label = formats("total_label", boxed=True)
    plain = formats("total_text", boxed=True)
    for col in range(len(LEDGER_COLUMNS)):
        ws.write_blank(t, col, None, plain)
    ws.write_string(t, 0, TOTAL_LABEL, label)
    count_fmt = formats("total_count", boxed=True)
    money_fmt = formats("total_money", boxed=True)
    c_name, c_rev, c_rd, c_ratio, c_staff = (
        _COL["name"],
        _COL["revenue"],
        _COL["rd_expense"],
        _COL["rd_ratio"],
        _COL["employees"],
    )
    ratio = float(totals.rd_expense / totals.revenue) if totals.revenue > 0 else None
    if n == 0:
        ws.write_number(t, c_name, 0, formats("total_enterprises", boxed=True))
        for col in (c_rev, c_rd):
            ws.write_number(t, col, 0, money_fmt)
        ws.write_number(t, c_staff, 0, count_fmt)
        return
    ws.write_formula(
        t,
        c_name,
        f"=SUBTOTAL(103,{_rng(c_name, first, last)})",
        formats("total_enterprises", boxed=True),
        n,
    )
    ws.write_formula(
        t, c_rev, f"=SUBTOTAL(109,{_rng(c_rev, first, last)})", money_fmt, float(totals.revenue)
    )
    ws.write_formula(
        t, c_rd, f"=SUBTOTAL(109,{_rng(c_rd, first, last)})", money_fmt, float(totals.rd_expense)
    )
    rev_cell, rd_cell = _cell(c_rev, t), _cell(c_rd, t)
    ws.write_formula(
        t,
        c_ratio,
        f'=IF({rev_cell}>0,{rd_cell}/{rev_cell},"")',
        formats("total_percent", boxed=True),
        "" if ratio is None else ratio,
    )
    ws.write_formula(
        t, c_staff, f"=SUBTOTAL(109,{_rng(c_staff, first, last)})", count_fmt, totals.employees
    )


def _cell(col: int, row: int) -> str:
    return f"{_col_letter(col)}{row + 1}"


def _rng(col: int, first: int, last: int) -> str:
    letter = _col_letter(col)
    return f"{letter}{first + 1}:{letter}{last + 1}"


def _col_letter(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _write_summary(
    ws: Worksheet, formats: Formats, tallies: Sequence[_SheetTally], meta: LedgerMeta
) -> None:
    """Per subsector: enterprises per tier (tiers in rank order as given), total and key count."""
    tiers: list[str | None] = list(dict.fromkeys(meta.tiers))
    for tally in tallies:
        for tier in tally.by_tier:
            if tier not in tiers and tier is not None:
                tiers.append(tier)
    if any(None in t.by_tier for t in tallies):
        tiers.append(None)
    group = "企业梯度（家）"
    columns = [
        Column("序号", 6),
        Column("细分领域代码", 12),
        Column("细分领域", max(16.0, max((display_width(t.name) + 2 for t in tallies), default=0))),
        *(Column(UNTIERED_LABEL if t is None else t, 12, group) for t in tiers),
        Column("合计（家）", 10),
        Column("其中重点企业（家）", 12),
        Column(f"{meta.data_year}年营业收入合计（万元）", 18),
    ]
    first = write_frame(
        ws,
        formats,
        title="重庆市优质中小企业梯度培育台账汇总表",
        info=info_line(meta.scope_zh, meta.as_of, meta.exported_at),
        columns=columns,
    )
    count = formats("count")
    money = formats("money")
    n_tiers = len(tiers)
    r = first - 1
    for seq, tally in enumerate(tallies, 1):
        r += 1
        ws.write_number(r, 0, seq)
        put_text(ws, r, 1, tally.code, formats)
        put_text(ws, r, 2, tally.name, formats)
        for i, tier in enumerate(tiers):
            ws.write_number(r, 3 + i, tally.by_tier.get(tier, 0), count)
        ws.write_number(r, 3 + n_tiers, tally.rows, count)
        ws.write_number(r, 4 + n_tiers, tally.key, count)
        ws.write_number(r, 5 + n_tiers, float(tally.revenue), money)
    t = r + 1
    label = formats("total_label", boxed=True)
    total_count = formats("total_count", boxed=True)
    ws.merge_range(t, 0, t, 2, TOTAL_LABEL, label)
    for i, tier in enumerate(tiers):
        ws.write_number(t, 3 + i, sum(x.by_tier.get(tier, 0) for x in tallies), total_count)
    ws.write_number(t, 3 + n_tiers, sum(x.rows for x in tallies), total_count)
    ws.write_number(t, 4 + n_tiers, sum(x.key for x in tallies), total_count)
    ws.write_number(
        t,
        5 + n_tiers,
        float(sum((x.revenue for x in tallies), Decimal(0))),
        formats("total_money", boxed=True),
    )
    setup_sheet(
        ws,
        header_first=first - header_rows(columns),
        header_last=first - 1,
        last_col=len(columns) - 1,
        last_row=r if tallies else None,
        freeze_cols=3,
        paper=PAPER_A4,
    )
