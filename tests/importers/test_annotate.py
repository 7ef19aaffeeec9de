"""The error workbook is the user's own file with bad cells marked, to fix and upload again."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest

from importers import annotate
from importers import errors as E
from importers.errors import ImportFileError, RowError
from tests import workbooks as W
from tests.importers.reference import make_code

# Excel date-times carry no zone.
NOON_2020_05_06 = dt.datetime.combine(dt.date(2020, 5, 6), dt.time(12))


def _open(data: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(data))


def _marked(parse: Any, data: bytes, filename: str = "名单.xlsx") -> tuple[Any, bytes]:
    parsed = parse(data, filename)
    out = annotate.mark(
        data,
        parsed.errors,
        warnings=parsed.warnings,
        filename=filename,
        sheet=parsed.sheet,
        header_row=parsed.header_row,
    )
    return parsed, out


def test_bad_cells_are_filled_commented_and_explained(parse: Any) -> None:
    rows = [
        W.good_row(1),
        W.good_row(2, 所属区县="火星区"),
        W.good_row(3, 营业收入=-1, 企业梯度="小巨无霸"),
        W.good_row(4, 企业名称="同名"),
        W.good_row(5, 企业名称="同名"),
    ]
    _parsed, out = _marked(parse, W.roster_xlsx(rows))
    ws = _open(out)["企业名单"]
    width = len(W.HEADERS)
    assert ws.cell(3, width + 1).value == "错误说明"
    district = ws.cell(5, 4)
    assert district.value == "火星区"
    assert district.fill.fgColor.rgb == "FFFFC7CE"
    assert "所属区县“火星区”无法识别" in district.comment.text
    assert ws.cell(6, 8).fill.fgColor.rgb == "FFFFC7CE"
    assert ws.cell(6, 6).comment is not None
    assert "营业收入不能为负数" in ws.cell(6, width + 1).value
    assert "企业梯度" in ws.cell(6, width + 1).value
    assert ws.cell(4, width + 1).value is None  # a good row has nothing to say
    warned = ws.cell(8, 2)
    assert warned.fill.fgColor.rgb == "FFFFEB9C"
    assert ws.cell(8, width + 1).value.startswith("提示：")
    assert ws["A1"].value == "2024年先进材料企业梯度培育名单"  # the rest of the file is intact
    assert "A1:K1" in {str(r) for r in ws.merged_cells.ranges}


def test_the_fixed_error_workbook_uploads_again(parse: Any) -> None:
    rows = [W.good_row(1), W.good_row(2, 所属区县="火星区")]
    _parsed, out = _marked(parse, W.roster_xlsx(rows))
    wb = _open(out)
    wb["企业名单"]["D5"] = "大渡口区"
    fixed = io.BytesIO()
    wb.save(fixed)
    again = parse(fixed.getvalue())
    assert again.errors == []
    assert len(again.rows) == 2
    assert again.unknown_columns == []


def test_nothing_written_becomes_a_formula(parse: Any) -> None:
    texts = ['=HYPERLINK("http://evil","x")', "+1+2", "-1+2", "@SUM(A1)", "＝1"]
    rows = [W.good_row(i, 备注=text, 所属区县="火星区") for i, text in enumerate(texts, start=1)]
    data = W.roster_xlsx(rows)
    parsed = parse(data)
    extra = [RowError(4, "", "", "TEST", "=SUM(1,2)"), RowError(5, "备注", "x", "TEST", "@x", 11)]
    out = annotate.mark(
        data, [*parsed.errors, *extra], filename="名单.xlsx", sheet=parsed.sheet, header_row=3
    )
    ws = _open(out)["企业名单"]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    for c in cells:
        if isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@", "＝")):
            assert c.quotePrefix, c.coordinate
    assert [ws.cell(r, 11).value for r in range(4, 9)] == texts


def test_a_csv_comes_back_as_a_marked_workbook(parse: Any) -> None:
    rows = [W.good_row(1), W.good_row(2, 细分领域="镁合金材料"), W.good_row(3, 备注="=1+2")]
    _parsed, out = _marked(parse, W.csv_bytes(rows, encoding="gbk"), "名单.csv")
    ws = _open(out).worksheets[0]
    assert ws.cell(3, 5).value == "镁合金材料"
    assert ws.cell(3, 5).fill.fgColor.rgb == "FFFFC7CE"
    assert "是否为“镁合金”" in ws.cell(3, 5).comment.text
    assert ws.cell(1, len(W.HEADERS) + 1).value == "错误说明"
    assert ws.cell(4, 11).value == "=1+2"
    assert ws.cell(4, 11).data_type == "s"
    assert ws.cell(4, 11).quotePrefix


def test_large_workbooks_become_a_marked_copy_of_the_values(
    parse: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(annotate, "OPENPYXL_CELL_BUDGET", 0)
    rows = [
        W.good_row(1, 成立日期=NOON_2020_05_06),
        W.good_row(2, 统一社会信用代码=make_code("500104", 1)[:17] + "?"),
        W.good_row(3, 备注="-3"),
    ]
    parsed, out = _marked(parse, W.roster_xlsx(rows, two_row_header=True))
    ws = _open(out)["企业名单"]
    code = ws.cell(6, 3)
    assert code.fill.fgColor.rgb == "FFFFC7CE"
    assert code.comment is not None
    assert "字符" in code.comment.text
    assert ws.cell(5, 7).value == NOON_2020_05_06
    assert ws.cell(7, 11).value == "-3"
    assert ws.cell(7, 11).quotePrefix
    assert ws.cell(4, len(W.HEADERS) + 1).value == "错误说明"
    assert ws.cell(6, len(W.HEADERS) + 1).value.startswith("统一社会信用代码：")
    again = parse(out)
    assert {(e.row, e.code) for e in again.errors} == {(e.row, e.code) for e in parsed.errors}


def test_a_merged_cell_bomb_never_reaches_openpyxl() -> None:
    data = W.package(W.small_roster_xml(merges=["A1:XFD1048576"]))
    with pytest.raises(ImportFileError) as info:
        annotate.mark(data, [], filename="名单.xlsx", sheet="企业名单", header_row=1)
    assert info.value.code == E.MERGE_TOO_LARGE
