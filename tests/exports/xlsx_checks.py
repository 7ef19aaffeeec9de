"""Shared test data and workbook checks for the export tests (acceptance test 11)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.escape import unescape
from openpyxl.workbook.workbook import Workbook

from exports.ledger import LedgerMeta, LedgerRow
from exports.text import clean_control_chars, needs_quote_prefix

# RELIABILITY.md test 11's list.
RELIABILITY_11 = (
    '=HYPERLINK("http://evil","x")',
    "+1+2",
    "-1+2",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "\n=1",
    '=1"',
    "＝1",
    "'=1",
)
# ... plus a few more that have bitten other exporters.
HOSTILE = (
    *RELIABILITY_11,
    "重庆\x0b某某\x00材料有限公司",
    "=cmd|' /C calc'!A0",
    "-",
    "_x0041_ 字面转义",
    "  前后空格  ",
    "a\r\nb",
)

TIERS = ("创新型中小企业", "专精特新中小企业", '专精特新"小巨人"企业', "上市企业")

META = LedgerMeta(
    scope_zh="全市",
    as_of=dt.date(2025, 6, 30),
    exported_at=dt.datetime(2025, 7, 1, 9, 30, tzinfo=dt.UTC),
    data_year=2024,
    tiers=TIERS,
)


def make_row(**overrides: Any) -> LedgerRow:
    """A complete ledger row; keyword overrides change single fields."""
    fields: dict[str, Any] = {
        "name": "重庆国际复合材料股份有限公司",
        "credit_code": "915000006219103567",
        "district": "大渡口区",
        "subsector": "玻璃纤维及制品",
        "chain_position": "中游材料制造",
        "main_products": "玻璃纤维、玻纤制品",
        "tier": "专精特新中小企业",
        "batch": "2023年第二批",
        "designated_on": dt.date(2023, 11, 20),
        "valid_until": dt.date(2026, 11, 19),
        "is_key": True,
        "commissioner_tech": "王伟",
        "commissioner_finance": "李娜",
        "commissioner_legal": "张敏",
        "commissioner_media": "刘洋",
        "revenue": Decimal("125000.50"),
        "rd_expense": Decimal("5000.25"),
        "employees": 860,
        "contact_name": "陈静",
        "contact_phone": "023-68000000",
    }
    fields.update(overrides)
    return LedgerRow(**fields)


def hostile_rows() -> Iterator[LedgerRow]:
    """One row per hostile string, in every free-text field at once."""
    for i, text in enumerate(HOSTILE):
        yield make_row(
            name=text,
            main_products=text,
            batch=text,
            commissioner_tech=text,
            contact_name=text,
            contact_phone=text,
            revenue=Decimal("-1234.5") if i % 2 else Decimal("1234.5"),
        )


def load(source: bytes | Path, *, data_only: bool = False) -> Workbook:
    """Open a written workbook the way test 11 says: openpyxl, formulas not evaluated."""
    target: Any = io.BytesIO(source) if isinstance(source, bytes) else source
    return openpyxl.load_workbook(target, data_only=data_only)


def excel_date(year: int, month: int, day: int) -> dt.datetime:
    """A date cell as openpyxl reads it back: a naive datetime at midnight."""
    return dt.datetime.combine(dt.date(year, month, day), dt.time())


def read_text(value: object) -> object:
    """A text cell's value as Excel shows it: openpyxl leaves OOXML ``_xHHHH_`` escapes in."""
    return unescape(value) if isinstance(value, str) else value


def expected_text(text: str) -> str | None:
    """What a text cell must read back as: the documented cleaning, nothing else."""
    return clean_control_chars(text) or None


def formula_cells(wb: Workbook) -> list[tuple[str, str, object]]:
    """Every formula cell in the workbook, as (sheet, coordinate, formula)."""
    return [
        (ws.title, cell.coordinate, cell.value)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


def assert_safe_text_cell(cell: Any, text: str) -> None:
    """``cell`` holds ``text`` as text (never a formula), quote-prefixed when it must be."""
    expected = expected_text(text)
    assert cell.data_type == "s", (cell.coordinate, cell.value)
    assert read_text(cell.value) == expected, (cell.coordinate, cell.value, expected)
    assert bool(cell.quotePrefix) == needs_quote_prefix(expected or ""), cell.coordinate
