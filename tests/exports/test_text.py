"""The formula-safety rule in exports/text.py: cleaning, quote prefixes, CSV and sheet names."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exports.ledger import LedgerSheet, write_ledger
from exports.text import (
    REPLACEMENT,
    CsvValue,
    clean_control_chars,
    csv_field,
    needs_quote_prefix,
    safe_file_name,
    safe_sheet_name,
    safe_text,
    write_csv,
)
from tests.exports.xlsx_checks import META, expected_text, load, make_row, read_text


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("重庆某某材料", "重庆某某材料"),
        ("a\r\nb", "a\nb"),
        ("a\rb", "a\nb"),
        ("\r=1", "\n=1"),
        ("a\tb\nc", "a\tb\nc"),
        ("a\x00b", f"a{REPLACEMENT}b"),
        ("a\x0bb\x0c", f"a{REPLACEMENT}b{REPLACEMENT}"),
        ("\x1f\x08", REPLACEMENT * 2),
        ("x\ufffey\uffff", f"x{REPLACEMENT}y{REPLACEMENT}"),
        ("lone \ud800 surrogate", f"lone {REPLACEMENT} surrogate"),
        ("del\x7f and c1\x85 kept", "del\x7f and c1\x85 kept"),
        ("＝全角", "＝全角"),
    ],
)
def test_clean_control_chars_follows_the_documented_rule(raw: str, cleaned: str) -> None:
    assert clean_control_chars(raw) == cleaned


@pytest.mark.parametrize(
    "text",
    ["=1", "+1", "-1", "@A1", "\t=1", "\r=1", "\n=1", "＝1", "＋1", "－1", "＠1"],
)
def test_formula_triggers_need_a_quote_prefix(text: str) -> None:
    assert needs_quote_prefix(text)
    assert safe_text(text)[1]


@pytest.mark.parametrize("text", ["'=1", " =1", "1=1", "重庆", "", "{=1}", "—"])
def test_other_text_needs_no_quote_prefix(text: str) -> None:
    assert not needs_quote_prefix(text)


def test_csv_fields_are_quoted_and_neutralised_but_numbers_stay_numbers() -> None:
    assert csv_field('=HYPERLINK("http://evil","x")') == '"\'=HYPERLINK(""http://evil"",""x"")"'
    assert csv_field("+1+2") == '"\'+1+2"'
    assert csv_field("\r=1") == '"\'\n=1"'
    assert csv_field("'=1") == '"\'=1"'
    assert csv_field("重庆,有限公司") == '"重庆,有限公司"'
    assert csv_field(Decimal("-1234.5")) == "-1234.5"
    assert csv_field(-3) == "-3"
    assert csv_field(dt.date(2025, 6, 30)) == "2025-06-30"
    assert csv_field(True) == '"是"'
    assert csv_field(None) == ""


def test_write_csv_is_rfc4180_and_reads_back() -> None:
    out = io.StringIO(newline="")
    rows: list[list[CsvValue]] = [
        ["=1+2", Decimal("-1234.5"), "a\r\nb", 'say "hi"'],
        ["正常", 3, None, "-"],
    ]
    write_csv(out, ["名称", "数值", "备注", "引号"], rows)
    text = out.getvalue()
    assert text.endswith("\r\n")
    assert text.count("\r\n") == 3  # records end in CRLF; the embedded line break is LF only
    read = list(csv.reader(io.StringIO(text, newline="")))
    assert read == [
        ["名称", "数值", "备注", "引号"],
        ["'=1+2", "-1234.5", "a\nb", 'say "hi"'],
        ["正常", "3", "", "'-"],
    ]


def test_sheet_names_are_legal_and_unique() -> None:
    used: set[str] = set()
    assert safe_sheet_name("玻璃纤维/复合[材料]:*?", used) == "玻璃纤维_复合_材料____"
    assert len(safe_sheet_name("很长" * 40, used)) == 31
    assert safe_sheet_name("镁合金", used) == "镁合金"
    assert safe_sheet_name("镁合金", used) == "镁合金(2)"
    assert safe_sheet_name("'\x00", used) == "Sheet"
    assert safe_sheet_name("History", used) == "History(2)"


def test_file_names_have_no_path_or_control_characters() -> None:
    assert safe_file_name("../etc/passwd\r\n") == "_etc_passwd"
    assert safe_file_name("B4.01_玻璃纤维及制品") == "B4.01_玻璃纤维及制品"


# Any characters, biased towards formula triggers, control characters, lone surrogates and
# strings that look like OOXML escapes.
_ANY_TEXT = st.lists(
    st.one_of(
        st.characters(),
        st.sampled_from(["=", "+", "-", "@", "\t", "\r", "\n", "＝", "\x00", "\x0b", "\ud800"]),
        st.sampled_from(["_x0041_", "_x000D_", "_x005F_", "\r\n", " "]),
    ),
    max_size=20,
).map("".join)


@given(st.lists(st.tuples(_ANY_TEXT, _ANY_TEXT), min_size=1, max_size=25))
@settings(max_examples=40, deadline=None)
def test_any_text_is_written_as_text_and_reads_back_cleaned(pairs: list[tuple[str, str]]) -> None:
    rows = [make_row(name=a, main_products=b) for a, b in pairs]
    out = io.BytesIO()
    write_ledger(out, [LedgerSheet("B4.01", "玻璃纤维及制品", rows)], META)
    ws = load(out.getvalue())["玻璃纤维及制品"]
    for r, (a, b) in enumerate(pairs, start=5):
        for col, text in (("B", a), ("G", b)):
            cell = ws[f"{col}{r}"]
            assert cell.data_type != "f"
            assert read_text(cell.value) == expected_text(text)
            if cell.value is not None:
                assert cell.data_type == "s"
                assert bool(cell.quotePrefix) == needs_quote_prefix(expected_text(text) or "")


@given(_ANY_TEXT)
def test_cleaning_is_idempotent_and_leaves_nothing_xml_cannot_hold(text: str) -> None:
    cleaned = clean_control_chars(text)
    assert clean_control_chars(cleaned) == cleaned
    assert "\r" not in cleaned
    assert all(ch in "\t\n" or ord(ch) >= 0x20 for ch in cleaned)
    assert not any(0xD800 <= ord(ch) <= 0xDFFF or ch in "\ufffe\uffff" for ch in cleaned)
    cleaned.encode("utf-8")  # no lone surrogate survives
