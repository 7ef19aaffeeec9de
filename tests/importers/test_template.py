"""The downloadable template: known columns in order, dropdowns, instructions, safe prefills."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import openpyxl

from importers import template
from importers.header import FIELDS
from importers.vocab import Vocabulary
from tests.importers.reference import make_code


def _open(data: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(data))


def test_header_sheets_and_dropdowns(vocab: Vocabulary) -> None:
    wb = _open(template.build(vocab))
    assert wb.sheetnames == ["企业名单", "填写说明", "代码表"]
    assert wb["代码表"].sheet_state == "hidden"
    ws = wb["企业名单"]
    assert [c.value for c in ws[1]] == [template.header_label(s) for s in FIELDS]
    lists = wb["代码表"]
    districts = [c.value for c in lists["A"][1:] if c.value]
    assert districts == [d.name for d in vocab.districts]
    subsectors = [c.value for c in lists["B"][1:] if c.value]
    assert len("，".join(subsectors)) > 255  # why the lists live on a sheet, not in the rule
    sources = {
        next(iter(dv.sqref.ranges)).min_col: dv.formula1
        for dv in ws.data_validations.dataValidation
    }
    column = {s.field: i for i, s in enumerate(FIELDS, start=1)}
    assert sources[column["district"]] == f"'代码表'!$A$2:$A${len(vocab.districts) + 1}"
    assert sources[column["subsector"]].startswith("'代码表'!$B$2")
    assert sources[column["tier"]].startswith("'代码表'!$C$2")
    assert sources[column["key_enterprise"]] == '"是,否"'
    guide = [c.value for c in wb["填写说明"]["A"] if c.value]
    assert "企业名单填写说明" in guide
    assert ws.cell(1, column["credit_code"]).value == "统一社会信用代码"


def test_an_empty_template_is_a_roster_with_no_rows(parse: Any, vocab: Vocabulary) -> None:
    parsed = parse(template.build(vocab))
    assert parsed.rows == []
    assert parsed.errors == []
    assert parsed.unknown_columns == []
    assert set(parsed.columns) == {s.field for s in FIELDS}


def test_prefilled_rows_round_trip_and_stay_text(parse: Any, vocab: Vocabulary) -> None:
    rows = [
        {
            "name": '=HYPERLINK("http://evil","x")',
            "credit_code": make_code("500104", 9),
            "district": "500104",
            "subsector": "A1.04",
            "tier": "little_giant",
            "chain_position": "midstream",
            "established_on": dt.date(2010, 4, 5),
            "key_enterprise": True,
            "notes": "+1+2",
            "operating_revenue": Decimal("1234.5"),
            "employees": 88,
            "net_profit": Decimal("-12.5"),
        },
        {"name": "乙公司", "credit_code": make_code("500240", 10), "district": "石柱县"},
    ]
    data = template.build(vocab, rows=rows, data_year=2023)
    ws = _open(data)["企业名单"]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert ws["A2"].value == '=HYPERLINK("http://evil","x")'
    assert ws["A2"].quotePrefix
    parsed = parse(data, data_year=2025)
    assert parsed.errors == []
    first, second = parsed.rows
    assert first.name == '=HYPERLINK("http://evil","x")'
    assert (first.district_code, first.subsector_code, first.tier_code) == (
        "500104",
        "A1.04",
        "little_giant",
    )
    assert first.chain_position == "midstream"
    assert first.established_on == dt.date(2010, 4, 5)
    assert first.key_enterprise is True
    assert first.notes == "+1+2"
    assert first.figures == {
        2023: {
            "operating_revenue": Decimal("1234.5"),
            "employees": 88,
            "net_profit": Decimal("-12.5"),
        }
    }
    assert second.district_code == "500240"
