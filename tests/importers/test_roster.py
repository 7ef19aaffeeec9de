"""Rosters as districts send them parse into clean rows, and every bad row is reported exactly."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importers import errors as E
from importers import roster
from importers.errors import ImportFileError
from importers.normalize import ValueProblem, parse_date
from importers.safety import Limits
from tests import workbooks as W
from tests.importers.reference import make_code

MESSY_HEADERS = [
    "序号",
    "企业名称",
    "统一社会信用代码",
    "所属区县",
    "细分领域",
    "企业梯度",
    "成立日期",
    "认定批次",
    "营业收入（万元）",
    "研发费用（万元）",
    "从业人员（人）",
    "备注",
]
GROUPED = ("营业收入（万元）", "研发费用（万元）", "从业人员（人）")


def messy_row(i: int, **values: Any) -> dict[str, Any]:
    row = {
        "序号": i,
        "企业名称": f"重庆测试新材料{i:04d}有限公司",
        "统一社会信用代码": make_code("500104", 30_000_000 + i),
        "所属区县": "大渡口区",
        "细分领域": "镁合金",
        "企业梯度": "创新型中小企业",
        "成立日期": "2015-06-01",
        "认定批次": "2023年第一批",
        "营业收入（万元）": 100,
        "研发费用（万元）": 5,
        "从业人员（人）": 10,
    }
    row.update(values)
    return row


def test_a_clean_roster(parse: Any) -> None:
    data = W.roster_xlsx([W.good_row(i) for i in range(1, 6)], title_rows=0)
    parsed = parse(data)
    assert (parsed.sheet, parsed.header_row, len(parsed.rows)) == ("企业名单", 1, 5)
    assert parsed.errors == []
    assert parsed.warnings == []
    row = parsed.rows[0]
    assert row.row == 2
    assert row.name == "重庆测试新材料0001有限公司"
    assert row.credit_code == make_code("500104", 20_000_001)
    assert (row.district_code, row.subsector_code, row.tier_code) == (
        "500104",
        "A1.02",
        "specialized_sme",
    )
    assert row.established_on == dt.date(2015, 6, 1)
    assert row.figures == {
        2024: {
            "operating_revenue": Decimal("12345.6"),
            "rd_expense": Decimal("567.8"),
            "employees": 120,
        }
    }
    assert parsed.columns["name"] == "企业名称"
    assert parsed.column_numbers["credit_code"] == 3


def test_a_messy_roster_is_taken_as_it_is(parse: Any) -> None:
    rows = [
        messy_row(
            1,
            统一社会信用代码=" ".join(
                make_code("500104", 30_000_001).lower()[i : i + 4] for i in range(0, 18, 4)
            ),
            所属区县="大渡口",
            企业梯度="国家级专精特新“小巨人”企业",
            **{
                "营业收入（万元）": "1,234.5",
                "研发费用（万元）": "56.7万元",
                "从业人员（人）": "１２０人",
            },
            成立日期="2021年3月5日",
        ),
        messy_row(
            2,
            统一社会信用代码=fullwidth(make_code("500104", 30_000_002)),
            所属区县=None,
            企业梯度="小巨人",
            成立日期=dt.datetime.combine(dt.date(2021, 3, 5), dt.time()),
            **{"营业收入（万元）": 1234.5, "研发费用（万元）": "１２３４．５"},
        ),
        messy_row(3, 所属区县="石柱", 企业梯度="市级专精特新", 成立日期="2021/3/5"),
        messy_row(
            4, 企业梯度="专精特新「小巨人」企业", 成立日期="2021.3", 细分领域="铜基材料（精品铜材）"
        ),
        messy_row(5, 企业梯度='专精特新"小巨人"', 成立日期="2021年", 所属区县="重庆高新区"),
    ]
    data = W.roster_xlsx(
        rows,
        headers=MESSY_HEADERS,
        two_row_header=True,
        group="2023年主要经济指标",
        grouped=GROUPED,
        blank_rows_after=[1, 3],
        notes=[
            "注：金额单位为万元。",
            "填报人：张三  联系电话：023-68881234",
            "单位负责人（签字）：",
        ],
    )
    parsed = parse(data)
    assert parsed.errors == []
    assert (parsed.header_first_row, parsed.header_row) == (3, 4)
    assert [r.row for r in parsed.rows] == [5, 6, 8, 9, 11]
    assert parsed.skipped_rows == 2 + 3  # two blank rows, a note, 填报人 and a signature
    one, two, three, four, five = parsed.rows
    assert one.credit_code == make_code("500104", 30_000_001)
    assert two.credit_code == make_code("500104", 30_000_002)
    assert one.district_code == "500104"
    assert two.district_code == "500104"  # from the 填报单位 line above the header
    assert three.district_code == "500240"
    assert five.district_code == "Z002"
    assert [r.tier_code for r in parsed.rows] == [
        "little_giant",
        "little_giant",
        "specialized_sme",
        "little_giant",
        "little_giant",
    ]
    assert one.figures == {
        2023: {
            "operating_revenue": Decimal("1234.5"),
            "rd_expense": Decimal("56.7"),
            "employees": 120,
        }
    }
    assert two.figures[2023]["rd_expense"] == Decimal("1234.5")
    assert [r.established_on for r in parsed.rows] == [
        dt.date(2021, 3, 5),
        dt.date(2021, 3, 5),
        dt.date(2021, 3, 5),
        dt.date(2021, 3, 1),
        dt.date(2021, 1, 1),
    ]
    assert four.date_precision == {"established_on": "month"}
    assert five.date_precision == {"established_on": "year"}
    assert four.subsector_code == "A1.04"
    assert parsed.default_district == "500104"
    assert any("大渡口区" in n for n in parsed.notices)


def fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def test_planted_errors_are_reported_exactly(parse: Any) -> None:
    twin = make_code("500104", 20_000_002)
    bad_check = make_code("500104", 20_000_003)[:17] + (
        "0" if make_code("500104", 20_000_003)[17] != "0" else "1"
    )
    planted = {
        3: ({"统一社会信用代码": bad_check}, "CREDIT_CODE_CHECK_DIGIT", "统一社会信用代码"),
        5: ({"企业名称": None}, "NAME_MISSING", "企业名称"),
        7: ({"所属区县": "火星区"}, "DISTRICT_UNKNOWN", "所属区县"),
        9: ({"细分领域": "镁合金材料"}, "SUBSECTOR_UNKNOWN", "细分领域"),
        11: ({"企业梯度": "市级小巨人"}, "TIER_UNKNOWN", "企业梯度"),
        13: ({"营业收入": -5}, "NUMBER_NEGATIVE", "营业收入"),
        15: ({"研发费用": "十万"}, "NUMBER_INVALID", "研发费用"),
        17: ({"从业人员": "12.5"}, "NUMBER_NOT_INTEGER", "从业人员"),
        19: ({"成立日期": "2021-02-30"}, "DATE_INVALID", "成立日期"),
        21: ({"统一社会信用代码": twin}, "DUPLICATE_CREDIT_CODE", "统一社会信用代码"),
        23: ({"统一社会信用代码": None}, "CREDIT_CODE_MISSING", "统一社会信用代码"),
        25: ({"统一社会信用代码": "91500104MA5U0000"}, "CREDIT_CODE_LENGTH", "统一社会信用代码"),
        27: ({"所属区县": None}, "DISTRICT_MISSING", "所属区县"),
    }
    rows = [W.good_row(i, **planted[i][0]) if i in planted else W.good_row(i) for i in range(1, 31)]
    data = W.roster_xlsx(rows, unit_line="填报单位：重庆市经济和信息化委员会", blank_rows_after=[9])

    def excel_row(i: int) -> int:
        return 3 + i + (1 if i > 10 else 0)  # header at row 3, a blank row after the 10th

    parsed = parse(data)
    got = {(e.row, e.code, e.column) for e in parsed.errors}
    assert got == {(excel_row(i), code, column) for i, (_v, code, column) in planted.items()}
    assert len(parsed.rows) == 30 - len(planted)
    assert parsed.error_rows == {excel_row(i) for i in planted}
    for e in parsed.errors:
        assert not e.message.isascii()
        assert e.column_number == parsed.column_numbers[_field(e.column)]
    by_code = {e.code: e for e in parsed.errors}
    assert by_code["DISTRICT_UNKNOWN"].value == "火星区"
    assert "是否为“镁合金”" in by_code["SUBSECTOR_UNKNOWN"].message
    assert f"第{excel_row(2)}行" in by_code["DUPLICATE_CREDIT_CODE"].message
    assert "第18位校验码" in by_code["CREDIT_CODE_CHECK_DIGIT"].message


def _field(label: str) -> str:
    return {
        "统一社会信用代码": "credit_code",
        "企业名称": "name",
        "所属区县": "district",
        "细分领域": "subsector",
        "企业梯度": "tier",
        "营业收入": "operating_revenue",
        "研发费用": "rd_expense",
        "从业人员": "employees",
        "成立日期": "established_on",
    }[label]


def test_header_years_override_the_data_year(parse: Any) -> None:
    headers = [
        "企业名称",
        "统一社会信用代码",
        "所属区县",
        "2022年营业收入",
        "2023年营业收入",
        "研发费用",
    ]
    row = {
        "企业名称": "甲公司",
        "统一社会信用代码": make_code("500104", 1),
        "所属区县": "大渡口区",
        "2022年营业收入": 10,
        "2023年营业收入": 20,
        "研发费用": 3,
    }
    parsed = parse(W.roster_xlsx([row], headers=headers, title_rows=0), data_year=2024)
    assert parsed.rows[0].figures == {
        2022: {"operating_revenue": Decimal(10)},
        2023: {"operating_revenue": Decimal(20)},
        2024: {"rd_expense": Decimal(3)},
    }
    assert parsed.columns["operating_revenue:2023"] == "2023年营业收入"
    assert parsed.data_year == 2024


def test_amounts_in_yuan_are_kept_in_wan_yuan_and_said_so(parse: Any) -> None:
    headers = ["企业名称", "统一社会信用代码", "所属区县", "营业收入（元）"]
    row = {
        "企业名称": "甲",
        "统一社会信用代码": make_code("500104", 2),
        "所属区县": "大渡口",
        "营业收入（元）": 12_345_000,
    }
    parsed = parse(W.roster_xlsx([row], headers=headers, title_rows=0))
    assert parsed.rows[0].figures[2024]["operating_revenue"] == Decimal("1234.5")
    assert any("元" in n and "万元" in n for n in parsed.notices)


def test_unknown_and_duplicate_columns_are_reported_and_ignored(parse: Any) -> None:
    headers = ["企业名称", "统一社会信用代码", "所属区县", "企业邮箱", "所属区县 "]
    row = {
        "企业名称": "甲",
        "统一社会信用代码": make_code("500104", 3),
        "所属区县": "大渡口区",
        "企业邮箱": "a@b.c",
    }
    parsed = parse(W.roster_xlsx([row], headers=headers, title_rows=0))
    assert parsed.unknown_columns == ["企业邮箱"]
    assert len(parsed.rows) == 1
    assert any("重复" in n for n in parsed.notices)


def test_formulas_give_cached_values_and_text_stays_text(parse: Any) -> None:
    header = ["企业名称", "统一社会信用代码", "所属区县", "备注", "营业收入", "从业人员"]
    texts = ['=HYPERLINK("http://x","点我")', "@SUM(A1)", "+1+2", "-3", "'=1"]
    rows = W.rows_xml([header])
    for i, text in enumerate(texts, start=2):
        code = make_code("500104", 100 + i)
        rows += (
            f'<row r="{i}">{W.cell_xml(f"A{i}", text)}{W.cell_xml(f"B{i}", code)}'
            f"{W.cell_xml(f'C{i}', '大渡口区')}{W.cell_xml(f'D{i}', text)}"
            f'<c r="E{i}"><f>SUM(1,2)</f><v>3</v></c>'
            f'<c r="F{i}"><f>{i}*10</f><v>{i * 10}</v></c></row>'
        )
    code = make_code("500104", 200)
    rows += (
        f'<row r="7">{W.cell_xml("A7", "乙公司")}{W.cell_xml("B7", code)}'
        f'{W.cell_xml("C7", "大渡口区")}<c r="E7"><f>SUM(1,2)</f></c>'
        f"{W.cell_xml('F7', '+1+2')}</row>"
    )
    parsed = parse(W.package(W.sheet_xml(rows)))
    assert [r.name for r in parsed.rows] == texts
    assert [r.notes for r in parsed.rows] == texts
    assert all(r.figures[2024]["operating_revenue"] == 3 for r in parsed.rows)
    assert [e.code for e in parsed.errors] == ["FORMULA_NO_VALUE", "NUMBER_INVALID"]
    assert "E7" in parsed.errors[0].message
    assert parsed.errors[1].value == "+1+2"  # never evaluated to 3


def test_a_row_of_formulas_without_values_is_still_reported(parse: Any) -> None:
    header = W.rows_xml([["企业名称", "统一社会信用代码", "所属区县"]])
    good = W.rows_xml([["甲", make_code("500104", 5), "大渡口区"]], first_row=2)
    last = '<row r="3"><c r="A3"><f>B9</f></c><c r="B3"><f>C9</f></c></row>'
    parsed = parse(W.package(W.sheet_xml(header + good + last)))
    assert len(parsed.rows) == 1
    assert {(e.row, e.code) for e in parsed.errors} >= {(3, "FORMULA_NO_VALUE")}


def test_the_roster_sheet_is_found_or_named(parse: Any) -> None:
    rows = [W.good_row(i) for i in range(1, 3)]
    data = W.roster_xlsx(rows, sheets_before=["填表说明", "封面"], sheet="名单")
    assert parse(data).sheet == "名单"
    assert len(parse(data, sheet="名单").rows) == 2
    with pytest.raises(ImportFileError) as info:
        parse(data, sheet="不存在")
    assert info.value.code == E.SHEET_NOT_FOUND
    with pytest.raises(ImportFileError) as info:
        parse(data, sheet="封面")
    assert info.value.code == E.NO_ROSTER_FOUND


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_further_roster_sheets_are_named_not_silently_left(parse: Any, engine: str) -> None:
    import io

    import openpyxl

    rows = [W.good_row(i) for i in range(1, 3)]
    book = openpyxl.load_workbook(io.BytesIO(W.roster_xlsx(rows, sheet="名单")))
    book.copy_worksheet(book["名单"]).title = "名单二"
    book.create_sheet("封面")["A1"] = "说明"
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    first = parse(data, engine=engine)
    assert first.sheet == "名单"
    assert len(first.rows) == 2
    [notice] = [n for n in first.notices if "另有工作表" in n]
    assert "“名单二”" in notice
    assert "封面" not in notice
    named = parse(data, sheet="名单二", engine=engine)
    assert len(named.rows) == 2
    assert not [n for n in named.notices if "另有工作表" in n]


def test_required_columns(parse: Any) -> None:
    headers = ["企业名称", "所属区县", "企业梯度"]
    data = W.roster_xlsx(
        [{"企业名称": "甲", "所属区县": "大渡口区"}], headers=headers, title_rows=0
    )
    with pytest.raises(ImportFileError) as info:
        parse(data)
    assert info.value.code == E.REQUIRED_COLUMN_MISSING
    assert "统一社会信用代码" in info.value.message
    headers = ["企业名称", "统一社会信用代码", "企业梯度"]
    data = W.roster_xlsx([{"企业名称": "甲"}], headers=headers, title_rows=0)
    with pytest.raises(ImportFileError, match="所属区县"):
        parse(data)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_csv_reads_like_the_workbook(parse: Any, encoding: str) -> None:
    rows = [W.good_row(i) for i in range(1, 6)]
    from_csv = parse(W.csv_bytes(rows, encoding=encoding), "名单.csv")
    from_xlsx = parse(W.roster_xlsx(rows, title_rows=0))
    assert from_csv.errors == []
    assert [(r.row, r.credit_code, r.name, r.figures) for r in from_csv.rows] == [
        (r.row, r.credit_code, r.name, r.figures) for r in from_xlsx.rows
    ]
    assert from_csv.sheet == "CSV"


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("企业名称", "重庆\x0b材料有限公司", "U+000B"),
        ("备注", "第一段\x0c第二段", "U+000C"),
        ("备注", "\x1b[31m红字", "U+001B"),
    ],
)
def test_text_a_workbook_cannot_hold_is_a_row_error(
    parse: Any, column: str, value: str, shown: str
) -> None:
    """A CSV carries raw control characters; PostgreSQL refuses NUL and an export replaces them
    all, so the row is refused naming the cell, not stored on one backend and lost on another."""
    rows = [W.good_row(1), W.good_row(2, **{column: value}), W.good_row(3, 备注="换行\n可以\t制表")]
    parsed = parse(W.csv_bytes(rows), "名单.csv")
    [error] = parsed.errors
    assert (error.row, error.column, error.code) == (3, column, "TEXT_CONTROL_CHARACTER")
    assert shown in error.message
    assert "控制字符" in error.message
    assert [r.row for r in parsed.rows] == [2, 4]
    assert parsed.rows[1].notes == "换行\n可以\t制表"


def test_a_csv_with_a_nul_byte_is_not_a_text_file(parse: Any) -> None:
    rows = [W.good_row(1, 企业名称="重庆\x00材料有限公司")]
    with pytest.raises(ImportFileError) as info:
        parse(W.csv_bytes(rows), "名单.csv")
    assert info.value.code == "CSV_ENCODING"


def test_both_readers_agree(parse: Any) -> None:
    rows = [
        W.good_row(i, 成立日期=dt.datetime.combine(dt.date(2020, 1, i), dt.time()))
        for i in range(1, 8)
    ]
    data = W.roster_xlsx(rows, two_row_header=True, blank_rows_after=[2])
    fast = parse(data)
    slow = parse(data, engine="openpyxl")
    assert fast.rows == slow.rows
    assert fast.errors == slow.errors == []


def test_duplicates_and_consistency_warnings(parse: Any) -> None:
    code = make_code("500104", 7)
    rows = [
        W.good_row(1, 企业名称="同名公司"),
        W.good_row(2, 企业名称="同名公司"),
        W.good_row(3, 营业收入=100, 研发费用=200),
        W.good_row(4, 统一社会信用代码=code, 所属区县="九龙坡区"),
        W.good_row(5, 统一社会信用代码=make_code("500110", 8), 所属区县="万盛经开区"),
        W.good_row(6, 营业收入=2e7),
    ]
    parsed = parse(W.roster_xlsx(rows))
    assert parsed.errors == []
    codes = {(w.row, w.code) for w in parsed.warnings}
    assert codes == {
        (5, "DUPLICATE_NAME"),
        (6, "FIGURE_INCONSISTENT"),
        (7, "DISTRICT_DIVISION_MISMATCH"),
        (9, "NUMBER_LARGE"),
    }
    assert len(parsed.rows) == 6


def test_a_credit_code_stored_as_a_number_says_why_it_broke(parse: Any) -> None:
    code = "914403001922038216"  # all digits: Excel keeps only 15 of them
    data = W.roster_xlsx([W.good_row(1, 统一社会信用代码=float(code))])
    parsed = parse(data)
    assert parsed.errors[0].code.startswith("CREDIT_CODE")
    assert "15 位有效数字" in parsed.errors[0].message


def test_progress_and_row_limit(parse: Any) -> None:
    rows = [W.good_row(i) for i in range(1, 2501)]
    data = W.roster_xlsx(rows, title_rows=0)
    seen: list[int] = []
    parsed = parse(data, progress=seen.append)
    assert len(parsed.rows) == 2500
    assert seen == [1000, 2000]
    with pytest.raises(ImportFileError) as info:
        parse(data, limits=Limits(max_rows=2000))
    assert info.value.code == E.TOO_MANY_ROWS
    assert "2000" in info.value.message


def test_cells_without_references_are_read_in_order(parse: Any) -> None:
    # Some generators omit r= on rows and cells; readers place them one after another.
    values = [["企业名称", "统一社会信用代码", "所属区县"]] + [
        [f"公司{i}", make_code("500104", 40 + i), "大渡口区"] for i in range(1, 4)
    ]
    rows = "".join(
        "<row>" + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in vals) + "</row>"
        for vals in values
    )
    parsed = parse(W.package(W.sheet_xml(rows)))
    assert [(r.row, r.name) for r in parsed.rows] == [(2, "公司1"), (3, "公司2"), (4, "公司3")]


def test_the_bench_roster_parses_clean(parse: Any) -> None:
    from bench.roster import make_roster

    for messy in (False, True):
        parsed = parse(make_roster(300, seed=7, messy=messy))
        assert parsed.errors == []
        assert len(parsed.rows) == 300


def test_section_rows_and_middle_rows_without_identity(parse: Any) -> None:
    rows = [
        {"序号": None, "企业名称": "一、专精特新“小巨人”企业（2家）"},
        W.good_row(1),
        W.good_row(2),
        {"所属区县": "大渡口区", "细分领域": "镁合金", "营业收入": 5},
        W.good_row(3),
        {"企业名称": "合计", "营业收入": 99999},
    ]
    parsed = parse(W.roster_xlsx(rows))
    assert len(parsed.rows) == 3
    assert [(e.row, e.code) for e in parsed.errors] == [(7, "IDENTITY_MISSING")]
    assert parsed.skipped_rows == 2


def test_hostile_names_are_only_names(parse: Any) -> None:
    data = W.package(W.small_roster_xml(), name="名单\t一")
    for filename in ("../../etc/passwd.xlsx", "名单\r\nSet-Cookie: a=b.xlsx", "名" * 300 + ".xlsx"):
        parsed = parse(data, filename)
        assert parsed.sheet == "名单 一"  # XML reads a tab in an attribute as a space
        assert len(parsed.rows) == 10


def test_external_links_and_macros_reach_nothing(parse: Any) -> None:
    from importers import annotate

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    port = listener.getsockname()[1]
    connections: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                connections.append(listener.accept())

    thread = threading.Thread(target=accept)
    thread.start()
    url = f"http://127.0.0.1:{port}/book.xlsx"
    base = W.roster_xlsx([W.good_row(i) for i in range(1, 4)])
    linked = W.add_parts(
        base,
        {
            "xl/externalLinks/externalLink1.xml": (
                f'<externalLink xmlns="{W.NS_MAIN}" xmlns:r="{W.NS_R}">'
                '<externalBook r:id="rId1"/></externalLink>'
            ),
            "xl/externalLinks/_rels/externalLink1.xml.rels": (
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
                f'2006/relationships/externalLinkPath" Target="{url}" TargetMode="External"/>'
                "</Relationships>"
            ),
            "xl/connections.xml": (
                f'<connections xmlns="{W.NS_MAIN}"><connection id="1" name="q" type="4" '
                f'refreshOnLoad="1"><webPr url="{url}"/></connection></connections>'
            ),
            "xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 not really vba",
        },
        overrides={
            "xl/externalLinks/externalLink1.xml": "application/vnd.openxmlformats-officedocument"
            ".spreadsheetml.externalLink+xml",
            "xl/connections.xml": "application/vnd.openxmlformats-officedocument."
            "spreadsheetml.connections+xml",
        },
        replace_types={
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": (
                "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
            )
        },
    )
    try:
        for engine in ("calamine", "openpyxl"):
            parsed = parse(linked, "名单.xlsm", engine=engine)
            assert len(parsed.rows) == 3
        marked = annotate.mark(
            linked,
            parsed.errors,
            filename="名单.xlsm",
            sheet=parsed.sheet,
            header_row=parsed.header_row,
        )
        assert b"vbaProject" not in marked
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert connections == []


def test_a_csv_too_wide_or_with_a_too_long_cell(parse: Any) -> None:
    wide = ",".join(["x"] * 600) + "\r\n"
    with pytest.raises(ImportFileError) as info:
        parse(W.csv_bytes([W.good_row(1)]) + wide.encode(), "名单.csv")
    assert info.value.code == E.SHEET_TOO_LARGE
    parsed = parse(W.csv_bytes([W.good_row(1, 备注="长" * 40_000)]), "名单.csv")
    assert [e.code for e in parsed.errors] == ["TEXT_TOO_LONG"]


# Values a date column repeats: valid in several forms, invalid, and 1 / 1.0 / True, which are
# equal as dict keys but not as dates (True is refused, 1 and 1.0 are Excel serials).
_DATE_POOL = [
    "2015-06-01",
    "2015年6月1日",
    "2015.6",
    "2015年",
    dt.datetime(2016, 3, 5),  # noqa: DTZ001 - a workbook's dates are naive
    42000,
    42000.0,
    1,
    1.0,
    True,
    "2015-13-01",
    "不详",
    "#N/A",
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_DATE_POOL), min_size=2, max_size=12))
def test_repeated_dates_parse_each_row_as_the_rule_says(vocab: Any, values: list[Any]) -> None:
    # The parser remembers each distinct date it parsed: every row must still get exactly what
    # parse_date gives its own value, errors included.
    rows = [W.good_row(i, 成立日期=v) for i, v in enumerate(values, start=1)]
    parsed = roster.parse(W.roster_xlsx(rows, title_rows=0), "名单.xlsx", vocab, data_year=2024)
    got: dict[int, Any] = {r.row: r.established_on for r in parsed.rows}
    got |= {e.row: e.code for e in parsed.errors if e.column == "成立日期"}
    expected: dict[int, Any] = {}
    for number, value in enumerate(values, start=2):
        try:
            if isinstance(value, str) and value.strip() in ("#N/A",):
                raise ValueProblem("CELL_ERROR_VALUE", "")
            date = parse_date(value)
            expected[number] = None if date is None else date.value
        except ValueProblem as problem:
            expected[number] = problem.code
    assert got == expected
