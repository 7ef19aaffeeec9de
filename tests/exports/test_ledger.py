"""Subsector ledgers: layout, totals, streaming, zip and CSV variants, and test 11 on them."""

from __future__ import annotations

import csv
import io
import tracemalloc
import zipfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from exports.ledger import (
    LEDGER_COLUMNS,
    LedgerRow,
    LedgerSheet,
    ledger_header,
    write_ledger,
    write_ledger_csv,
    write_ledger_zip,
)
from exports.styles import display_width
from tests.exports.xlsx_checks import (
    HOSTILE,
    META,
    TIERS,
    assert_safe_text_cell,
    excel_date,
    formula_cells,
    hostile_rows,
    load,
    make_row,
)

EXPECTED_LABELS = [
    "序号", "企业名称", "统一社会信用代码", "所属区县", "细分领域", "产业链环节", "主营产品",
    "企业梯度", "认定批次", "认定日期", "有效期至", "是否重点企业", "科技专员", "融资专员",
    "法务专员", "媒体专员", "营业收入(万元)", "研发费用(万元)", "研发投入占比", "从业人员(人)",
    "联系人", "联系电话",
]  # fmt: skip


def _ledger(sheets: list[LedgerSheet]) -> bytes:
    out = io.BytesIO()
    write_ledger(out, sheets, META)
    return out.getvalue()


def _glass(rows: Iterable[LedgerRow]) -> LedgerSheet:
    return LedgerSheet("B4.01", "玻璃纤维及制品", rows)


def test_columns_are_the_labels_the_importer_reads() -> None:
    assert [c.label for c in LEDGER_COLUMNS] == EXPECTED_LABELS
    header = ledger_header(2024)
    assert header[16] == ("2024年经营数据", "营业收入(万元)")
    assert [g for g, _ in header].count("2024年经营数据") == 4
    assert {k.key for k in LEDGER_COLUMNS} - {"seq"} <= set(LedgerRow.__dataclass_fields__) | {
        "rd_ratio"
    }


def test_sheet_layout_title_info_header_and_rows() -> None:
    rows = [make_row(name=f"重庆第{i}新材料有限公司") for i in range(1, 8)]
    wb = load(_ledger([_glass(rows), LedgerSheet("A1.02", "镁合金", [])]))
    assert wb.sheetnames == ["汇总", "玻璃纤维及制品", "镁合金"]
    assert wb.active.title == "汇总"
    ws = wb["玻璃纤维及制品"]

    assert ws["A1"].value == "重庆市玻璃纤维及制品优质中小企业梯度培育台账"
    assert "A1:V1" in ws.merged_cells
    assert ws["A2"].value == "范围：全市　　数据截至：2025年6月30日　　导出时间：2025-07-01 09:30"
    assert "A2:V2" in ws.merged_cells

    # Two header rows: single columns merged down, the data year's figures grouped.
    assert [ws.cell(3, c).value for c in range(1, 17)] == EXPECTED_LABELS[:16]
    assert ws["Q3"].value == "2024年经营数据"
    assert "Q3:T3" in ws.merged_cells
    assert [ws.cell(4, c).value for c in range(17, 21)] == EXPECTED_LABELS[16:20]
    assert [ws.cell(3, c).value for c in (21, 22)] == ["联系人", "联系电话"]
    for col in "ABCPUV":
        assert f"{col}3:{col}4" in ws.merged_cells

    names = [ws.cell(r, 2).value for r in range(5, 12)]
    assert names == [f"重庆第{i}新材料有限公司" for i in range(1, 8)]
    assert [ws.cell(r, 1).value for r in range(5, 12)] == list(range(1, 8))
    assert ws["A12"].value == "合计"
    assert ws.max_row == 12


def test_number_formats_dates_and_flags() -> None:
    rows = [
        make_row(),
        make_row(is_key=False, revenue=Decimal("-1234.5"), rd_expense=None, employees=None),
        make_row(revenue=None, designated_on=None, valid_until=None, tier=None),
    ]
    ws = load(_ledger([_glass(rows)]))["玻璃纤维及制品"]
    assert ws["J5"].value == excel_date(2023, 11, 20)
    assert ws["J5"].number_format == "yyyy-mm-dd"
    assert ws["K5"].value == excel_date(2026, 11, 19)
    assert ws["L5"].value == "是"
    assert ws["L6"].value == "否"
    assert ws["Q5"].value == 125000.5
    assert ws["Q5"].number_format == "#,##0.00"
    assert ws["R5"].number_format == "#,##0.00"
    assert ws["S5"].value == pytest.approx(5000.25 / 125000.5)
    assert ws["S5"].number_format == "0.00%"
    assert ws["T5"].value == 860
    assert ws["T5"].number_format == "#,##0"
    # Negative money stays a number; missing figures stay empty rather than 0.
    assert ws["Q6"].value == -1234.5
    assert ws["Q6"].data_type == "n"
    assert ws["R6"].value is None
    assert ws["S6"].value is None  # no ratio without R&D expense
    assert ws["Q7"].value is None
    assert ws["S7"].value is None  # no ratio without revenue
    assert ws["J7"].value is None
    assert ws["H7"].value is None


def test_totals_are_subtotals_with_cached_sums() -> None:
    rows = [
        make_row(revenue=Decimal("100.10"), rd_expense=Decimal("10.01"), employees=10),
        make_row(revenue=Decimal("-20.05"), rd_expense=Decimal("0"), employees=5),
        make_row(revenue=None, rd_expense=Decimal("1.5"), employees=None),
    ]
    data = _ledger([_glass(rows)])
    ws = load(data)["玻璃纤维及制品"]
    assert ws["A8"].value == "合计"
    assert ws["B8"].value == "=SUBTOTAL(103,B5:B7)"
    assert ws["B8"].number_format == '"共"#,##0"家"'
    assert ws["Q8"].value == "=SUBTOTAL(109,Q5:Q7)"
    assert ws["R8"].value == "=SUBTOTAL(109,R5:R7)"
    assert ws["S8"].value == '=IF(Q8>0,R8/Q8,"")'
    assert ws["T8"].value == "=SUBTOTAL(109,T5:T7)"
    cached = load(data, data_only=True)["玻璃纤维及制品"]
    assert cached["B8"].value == 3
    assert cached["Q8"].value == pytest.approx(80.05)
    assert cached["R8"].value == pytest.approx(11.51)
    assert cached["S8"].value == pytest.approx(11.51 / 80.05)
    assert cached["T8"].value == 15


def test_freeze_filter_and_print_setup() -> None:
    rows = [make_row() for _ in range(5)]
    ws = load(_ledger([_glass(rows)]))["玻璃纤维及制品"]
    assert ws.freeze_panes == "C5"
    assert ws.auto_filter.ref == "A4:V9"
    assert ws.print_title_rows == "$3:$4"
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 8  # A3
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToWidth in (None, 1)  # 1 is the default and may be omitted
    assert ws.page_setup.fitToHeight == 0
    assert ws.print_options.gridLines
    assert "&P" in ws.oddFooter.center.text


def test_column_widths_fit_chinese_text_within_caps() -> None:
    long_name = "重庆市某某某某先进复合材料科技股份有限公司"
    huge = "超长主营产品" * 30
    ws = load(_ledger([_glass([make_row(name=long_name, main_products=huge)])]))["玻璃纤维及制品"]
    width = {c: ws.column_dimensions[c].width for c in "ABCGLQ"}
    assert width["B"] >= display_width(long_name)  # the name fits
    assert width["B"] <= 45
    assert width["G"] <= 37  # capped, not 360 wide
    assert width["C"] >= 18  # an 18-character credit code fits
    assert width["L"] >= display_width("是否重点企业")
    assert 6 <= width["A"] <= 8


def test_hostile_text_is_never_a_formula_and_reads_back() -> None:
    wb = load(_ledger([_glass(list(hostile_rows()))]))
    ws = wb["玻璃纤维及制品"]
    for r, text in enumerate(HOSTILE, start=5):
        for col in "BGIMUV":  # name, products, batch, commissioner, contact, phone
            assert_safe_text_cell(ws[f"{col}{r}"], text)
        revenue = ws[f"Q{r}"]
        assert revenue.data_type == "n"
        assert revenue.value in (1234.5, -1234.5)
    total_row = 5 + len(HOSTILE)
    for sheet, coordinate, formula in formula_cells(wb):
        # Only the exporter's own totals are formulas.
        assert sheet == "玻璃纤维及制品"
        assert coordinate.endswith(str(total_row))
        assert str(formula).startswith(("=SUBTOTAL(10", "=IF(Q"))


def test_reference_names_are_formula_safe_too() -> None:
    sheet = LedgerSheet("=B1", "=1+2", [make_row(district="@区", subsector="+领域", tier="-梯度")])
    wb = load(_ledger([sheet]))
    assert wb.sheetnames == ["汇总", "=1+2"]
    ws = wb["=1+2"]
    assert ws["A1"].value == "重庆市=1+2优质中小企业梯度培育台账"
    for col, text in (("D", "@区"), ("E", "+领域"), ("H", "-梯度")):
        assert_safe_text_cell(ws[f"{col}5"], text)
    summary = wb["汇总"]
    assert_safe_text_cell(summary["B5"], "=B1")
    assert_safe_text_cell(summary["C5"], "=1+2")
    assert_safe_text_cell(summary["H4"], "-梯度")  # an unknown tier becomes a column
    assert not [c for c in formula_cells(wb) if c[0] == "汇总"]


def test_summary_counts_tiers_in_rank_order_with_totals() -> None:
    glass = [make_row(tier=t, is_key=i == 0) for i, t in enumerate([TIERS[0], TIERS[1], TIERS[1]])]
    magnesium = [
        make_row(tier="市级隐形冠军", revenue=Decimal("10")),
        make_row(tier=None, revenue=None),
    ]
    wb = load(_ledger([_glass(glass), LedgerSheet("A1.02", "镁合金", magnesium)]))
    ws = wb["汇总"]
    assert ws["A1"].value == "重庆市优质中小企业梯度培育台账汇总表"
    assert ws["D3"].value == "企业梯度（家）"
    header = [ws.cell(4, c).value for c in range(4, 10)]
    assert header == [*TIERS, "市级隐形冠军", "未定梯度"]
    assert [ws.cell(3, c).value for c in range(10, 13)] == [
        "合计（家）",
        "其中重点企业（家）",
        "2024年营业收入合计（万元）",
    ]
    rows = [[ws.cell(r, c).value for c in range(1, 13)] for r in (5, 6, 7)]
    assert rows[0] == [1, "B4.01", "玻璃纤维及制品", 1, 2, 0, 0, 0, 0, 3, 1, 375001.5]
    assert rows[1] == [2, "A1.02", "镁合金", 0, 0, 0, 0, 1, 1, 2, 2, 10]
    assert rows[2] == ["合计", None, None, 1, 2, 0, 0, 1, 1, 5, 3, 375011.5]
    assert "A7:C7" in ws.merged_cells
    assert ws.freeze_panes == "D5"
    assert ws.auto_filter.ref == "A4:L6"
    assert ws.print_title_rows == "$3:$4"


def test_empty_ledger_sheet_has_header_and_zero_totals() -> None:
    ws = load(_ledger([_glass([])]))["玻璃纤维及制品"]
    assert ws["A5"].value == "合计"
    assert ws["B5"].value == 0
    assert ws["Q5"].value == 0
    assert ws.auto_filter.ref == "A4:V4"
    assert ws.max_row == 5


def test_rows_are_streamed_once_in_order() -> None:
    seen: list[int] = []

    def rows() -> Iterator[LedgerRow]:
        for i in range(450):  # more than the width sample
            seen.append(i)
            yield make_row(name=f"企业{i}")

    ws = load(_ledger([_glass(rows())]))["玻璃纤维及制品"]
    assert seen == list(range(450))
    assert ws["B5"].value == "企业0"
    assert ws["B454"].value == "企业449"
    assert ws["A455"].value == "合计"


def test_writes_to_a_path(tmp_path: Path) -> None:
    target = tmp_path / "台账.xlsx"
    write_ledger(target, [_glass([make_row()])], META)
    assert load(target)["玻璃纤维及制品"]["B5"].value == "重庆国际复合材料股份有限公司"


def test_memory_stays_flat_as_the_ledger_grows() -> None:
    def peak(n: int) -> int:
        row = make_row()
        tracemalloc.start()
        write_ledger(io.BytesIO(), [_glass(row for _ in range(n))], META)
        _, high = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return high

    small, large = peak(500), peak(5_000)
    # The 10x ledger's output buffer grows (BytesIO); Python-side working memory must not.
    assert large < small + 2_000_000, (small, large)


def test_zip_holds_one_single_sheet_workbook_per_subsector(tmp_path: Path) -> None:
    sheets = [
        _glass([make_row(), make_row()]),
        LedgerSheet("A1.02", "镁合金", [make_row(name="=1+2")]),
        LedgerSheet("A1.03", "钛合金/特种", []),
    ]
    target = tmp_path / "ledgers.zip"
    write_ledger_zip(target, sheets, META)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert names == ["B4.01_玻璃纤维及制品.xlsx", "A1.02_镁合金.xlsx", "A1.03_钛合金_特种.xlsx"]
        books = {name: load(archive.read(name)) for name in names}
    glass = books["B4.01_玻璃纤维及制品.xlsx"]
    assert glass.sheetnames == ["玻璃纤维及制品"]
    assert glass.active["A1"].value == "重庆市玻璃纤维及制品优质中小企业梯度培育台账"
    assert glass.active["A7"].value == "合计"
    assert_safe_text_cell(books["A1.02_镁合金.xlsx"].active["B5"], "=1+2")
    assert books["A1.03_钛合金_特种.xlsx"].active["A5"].value == "合计"


def test_zip_to_a_stream() -> None:
    out = io.BytesIO()
    write_ledger_zip(out, [_glass([make_row()])], META)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        assert archive.namelist() == ["B4.01_玻璃纤维及制品.xlsx"]


def test_csv_ledger_prefixes_risky_text_and_keeps_numbers() -> None:
    out = io.StringIO(newline="")
    write_ledger_csv(out, hostile_rows(), data_year=2024)
    records = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert records[0][:2] == ["序号", "企业名称"]
    assert records[0][16] == "2024年营业收入(万元)"
    assert len(records) == 1 + len(HOSTILE)
    first = records[1]
    assert first[1] == '\'=HYPERLINK("http://evil","x")'
    assert records[2][1] == "'+1+2"
    assert records[2][16] == "-1234.5"  # a negative number is not prefixed
    assert records[6][1] == "'\n=1"  # \r=1, line ending normalised
    assert records[10][1] == "'=1"  # an apostrophe in the data is data


def test_a_failing_row_source_leaves_no_temp_files(tmp_path: Path) -> None:
    def rows() -> Iterator[LedgerRow]:
        yield make_row()
        raise RuntimeError("database went away")

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(RuntimeError, match="database went away"):
        write_ledger(io.BytesIO(), [_glass(rows())], META, tmpdir=str(scratch))
    with pytest.raises(RuntimeError, match="database went away"):
        write_ledger_zip(io.BytesIO(), [_glass(rows())], META, tmpdir=str(scratch))
    assert list(scratch.iterdir()) == []
