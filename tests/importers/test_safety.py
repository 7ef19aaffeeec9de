"""Hostile and unusable uploads are refused with stable codes before any parser sees them."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable

import openpyxl.xml
import pytest

from importers import errors as E
from importers import safety
from importers.errors import ImportFileError
from importers.safety import FileKind, Limits
from tests import workbooks as W
from tests.importers.bounded import ROOT


def refused(data: bytes, filename: str = "名单.xlsx", limits: Limits | None = None) -> str:
    started = time.perf_counter()
    with pytest.raises(ImportFileError) as info:
        safety.check(data, filename, limits)
    assert time.perf_counter() - started < 2
    assert not info.value.message.isascii()  # Chinese, for people
    return info.value.code


def test_limits_follow_the_reliability_table() -> None:
    limits = Limits()
    assert limits.max_upload_bytes == 50 * 1024 * 1024
    assert limits.max_zip_members == 1_000
    assert limits.max_total_uncompressed == 512 * 1024 * 1024
    assert limits.max_member_uncompressed == 256 * 1024 * 1024
    assert (limits.max_ratio, limits.ratio_floor) == (100, 1024 * 1024)
    assert limits.max_rows == 200_000
    assert limits.max_sheet_rows == 201_000
    assert limits.max_columns == 512
    assert (limits.max_merges, limits.max_merge_cells) == (10_000, 10_000)
    assert limits.max_cell_chars == 32_767


def test_openpyxl_parses_with_defusedxml() -> None:
    assert openpyxl.xml.DEFUSEDXML is True
    safety.assert_defusedxml()


def test_importer_refuses_to_run_when_defusedxml_is_switched_off() -> None:
    env = dict(os.environ, OPENPYXL_DEFUSEDXML="true", PYTHONPATH=str(ROOT))
    code = "from importers.safety import assert_defusedxml; assert_defusedxml()"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0
    assert "defusedxml" in proc.stderr


def test_a_clean_roster_passes() -> None:
    data = W.roster_xlsx([W.good_row(i) for i in range(1, 4)])
    vetted = safety.vet(data, "名单.xlsx")
    assert vetted.kind is FileKind.XLSX
    assert [s.name for s in vetted.sheets] == ["企业名单"]
    assert vetted.sheets[0].merges  # the title and 填报单位 rows are merged
    assert safety.check(data, "名单.XLSX") is FileKind.XLSX


# -- not a usable workbook (RELIABILITY test 7) --------------------------------------------------


@pytest.mark.parametrize(
    ("make", "filename", "code"),
    [
        (lambda: b"", "名单.xlsx", E.EMPTY_FILE),
        (lambda: W.csv_bytes([W.good_row(1)]), "名单.xlsx", E.NOT_XLSX),
        (lambda: W.PNG, "名单.xlsx", E.NOT_XLSX),
        (lambda: W.PNG, "名单.png", E.UNSUPPORTED_FILE_TYPE),
        (lambda: b"%PDF-1.7 ...", "名单.pdf", E.UNSUPPORTED_FILE_TYPE),
        (W.truncated_xlsx, "名单.xlsx", E.CORRUPT_WORKBOOK),
        (
            lambda: W.package(W.small_roster_xml(), drop=["[Content_Types].xml"]),
            "名单.xlsx",
            E.CORRUPT_WORKBOOK,
        ),
        (lambda: W.raw_zip([("word/document.xml", b"<w/>")]), "名单.xlsx", E.NOT_XLSX),
        (lambda: W.legacy_xls(), "名单.xls", E.XLS_NOT_SUPPORTED),
        (lambda: W.legacy_xls(), "名单.xlsx", E.XLS_NOT_SUPPORTED),
        (
            lambda: b"<html><table><tr><td>1</td></tr></table></html>",
            "名单.xls",
            E.XLS_NOT_SUPPORTED,
        ),
        (lambda: W.encrypted_xlsx(), "名单.xlsx", E.WORKBOOK_ENCRYPTED),
        (lambda: bytes(range(256)) * 4, "名单.csv", E.CSV_ENCODING),
    ],
    ids=[
        "empty",
        "csv-renamed",
        "png-renamed",
        "png",
        "pdf",
        "truncated",
        "no-content-types",
        "docx-like-zip",
        "xls",
        "xls-renamed",
        "html-xls",
        "encrypted",
        "binary-csv",
    ],
)
def test_unusable_files_have_distinct_codes(
    make: Callable[[], bytes], filename: str, code: str
) -> None:
    assert refused(make(), filename) == code


def test_an_ods_or_xlsb_is_named_for_what_it_is() -> None:
    ods = W.raw_zip([("mimetype", b"application/vnd.oasis.opendocument.spreadsheet")])
    with pytest.raises(ImportFileError, match="OpenDocument"):
        safety.check(ods, "名单.xlsx")
    types = W.CONTENT_TYPES.replace(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.ms-excel.sheet.binary.macroEnabled.main",
    )
    xlsb = W.package(W.small_roster_xml(), parts={"[Content_Types].xml": types})
    with pytest.raises(ImportFileError, match="xlsb"):
        safety.check(xlsb, "名单.xlsx")


def test_size_limit_is_checked_first() -> None:
    assert refused(b"x" * 2048, "名单.csv", Limits(max_upload_bytes=1024)) == E.FILE_TOO_LARGE


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_utf8_or_gbk_is_accepted(encoding: str) -> None:
    data = W.csv_bytes([W.good_row(1)], encoding=encoding)
    vetted = safety.vet(data, "名单.csv")
    assert vetted.kind is FileKind.CSV
    assert vetted.text is not None
    assert "重庆测试新材料0001有限公司" in vetted.text


# -- evasive archives (RELIABILITY tests 1 and 2) ------------------------------------------------


def test_zip_bomb_is_refused_from_its_directory() -> None:
    bomb = W.zip_bomb()
    assert len(bomb) < 1_100_000
    assert refused(bomb) == E.ZIP_BOMB


def test_high_ratio_member_under_the_size_cap_is_refused() -> None:
    assert refused(W.zip_bomb(200 << 20)) == E.ZIP_BOMB


def test_member_inflating_past_its_declared_size_is_refused_at_once() -> None:
    started = time.perf_counter()
    assert refused(W.lying_size_zip()) == E.ZIP_BOMB
    assert time.perf_counter() - started < 0.5


def test_quoted_overlap_is_refused_though_zipfile_reads_it() -> None:
    data = W.overlapping_zip()
    # CPython 3.11.7 (no CVE-2024-0450 fix) lists and inflates the overlapping entries.
    assert len(zipfile.ZipFile(io.BytesIO(data)).infolist()) == 3
    code = refused(data)
    assert code == E.ZIP_BOMB
    with pytest.raises(ImportFileError, match="重叠"):
        safety.check(data, "名单.xlsx")


def test_too_many_members_and_too_large_a_total() -> None:
    assert refused(W.many_members(10_000)) == E.ZIP_BOMB
    assert refused(W.big_declared_total(600, 1 << 20)) == E.ZIP_BOMB


@pytest.mark.parametrize(
    ("members", "kwargs"),
    [
        ([("../evil.xml", b"x")], {}),
        ([("xl/../../evil.xml", b"x")], {}),
        ([("/etc/evil.xml", b"x")], {}),
        ([("C:\\evil.xml", b"x")], {}),
        ([("xl\\..\\..\\evil.xml", b"x")], {}),
        ([("xl/link", b"/etc/passwd")], {"ext_attr": {"xl/link": 0o120777 << 16}}),
        ([("xl/workbook.xml", b"x")], {"flags": {"xl/workbook.xml": 0x1}}),
        ([("a.xml", b"x"), ("a.xml", b"y")], {}),
    ],
    ids=[
        "dotdot",
        "nested-dotdot",
        "absolute",
        "drive",
        "backslash",
        "symlink",
        "encrypted",
        "dup",
    ],
)
def test_unsafe_entries(members: list[tuple[str, bytes]], kwargs: dict[str, object]) -> None:
    assert refused(W.raw_zip(members, **kwargs)) == E.UNSAFE_ZIP_ENTRY  # type: ignore[arg-type]


def test_unknown_compression_method_is_corrupt() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_BZIP2) as z:
        z.writestr("[Content_Types].xml", W.CONTENT_TYPES)
    assert refused(buf.getvalue()) == E.CORRUPT_WORKBOOK


def test_damaged_member_data_is_corrupt() -> None:
    data = bytearray(W.package(W.small_roster_xml()))
    at = data.find(b"xl/worksheets/sheet1.xml") + 40
    data[at : at + 8] = b"\xff" * 8
    assert refused(bytes(data)) == E.CORRUPT_WORKBOOK


# -- XML entities (RELIABILITY test 3) -----------------------------------------------------------


@pytest.mark.parametrize("payload", list(W.DOCTYPES))
@pytest.mark.parametrize(
    "part",
    [
        "xl/worksheets/sheet1.xml",
        "xl/sharedStrings.xml",
        "xl/workbook.xml",
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/_rels/workbook.xml.rels",
    ],
)
def test_any_doctype_is_refused(part: str, payload: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ImportFileError) as info:
        safety.check(W.doctype_xlsx(part, payload), "名单.xlsx")
    assert time.perf_counter() - started < 1
    assert info.value.code == E.XML_DTD_FORBIDDEN
    assert "root:" not in info.value.message


def test_xml_parts_must_be_utf8() -> None:
    utf16 = W.small_roster_xml().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    assert refused(W.package(utf16.encode("utf-16"))) == E.CORRUPT_WORKBOOK
    utf7 = W.small_roster_xml().replace('encoding="UTF-8"', 'encoding="UTF-7"')
    assert refused(W.package(utf7)) == E.CORRUPT_WORKBOOK


# -- extent and merges (RELIABILITY tests 4, 5, 6) -----------------------------------------------


def test_far_cells_are_refused_before_any_reader() -> None:
    assert refused(W.far_cell_xlsx("XFD1048576")) == E.SHEET_TOO_LARGE
    assert refused(W.far_cell_xlsx("BXX200000")) == E.SHEET_TOO_LARGE  # calamine's abort
    lower = '<row r="12"><c r="zz12"><v>1</v></c></row>'
    assert refused(W.package(W.small_roster_xml(extra_rows=lower))) == E.SHEET_TOO_LARGE


def test_a_lying_dimension_alone_is_harmless() -> None:
    info = safety.vet(W.lying_dimension_xlsx(), "名单.xlsx").sheets[0]
    assert info.dimension == "A1:XFD1048576"


def test_cells_without_references_are_followed_to_where_readers_put_them() -> None:
    wide = "<row>" + "<c><v>1</v></c>" * 600 + "</row>"
    assert refused(W.package(W.small_roster_xml(extra_rows=wide))) == E.SHEET_TOO_LARGE
    prefixed = W.small_roster_xml(extra_rows='<x:row xmlns:x="urn:x"><x:c r="XFD9"/></x:row>')
    assert refused(W.package(prefixed)) == E.SHEET_TOO_LARGE
    tall = "<row><c><v>1</v></c></row>" * 300
    limits = Limits(max_rows=100, row_margin=10)
    assert refused(W.package(W.small_roster_xml(extra_rows=tall)), limits=limits) in {
        E.TOO_MANY_ROWS,
        E.SHEET_TOO_LARGE,
    }


def test_invalid_cell_references_are_corrupt() -> None:
    for ref in ("A0", "A1.5", "&#65;1", "1A"):
        bad = f'<row r="12"><c r="{ref}"><v>1</v></c></row>'
        assert refused(W.package(W.small_roster_xml(extra_rows=bad))) == E.CORRUPT_WORKBOOK


@pytest.mark.parametrize(
    "merges",
    [["A1:XFD1048576"], ["A1:Z100000"], [f"A{r}:B{r}" for r in range(1, 20_001)], ["A:A"]],
    ids=["whole-sheet", "tall", "20000-small", "whole-column"],
)
def test_merged_cell_bombs_are_refused(merges: list[str]) -> None:
    assert refused(W.merge_bomb_xlsx(merges)) == E.MERGE_TOO_LARGE


def test_hyperlink_ranges_are_bounded_like_merges() -> None:
    after = '<hyperlinks><hyperlink ref="A1:XFD1048576" display="x"/></hyperlinks>'
    assert refused(W.package(W.small_roster_xml(after=after))) == E.SHEET_TOO_LARGE


def test_row_count_is_bounded() -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>1</v></c></row>' for r in range(1, 2_001))
    limits = Limits(max_rows=1_000, row_margin=100)
    assert refused(W.package(W.sheet_xml(rows)), limits=limits) == E.TOO_MANY_ROWS


def test_formula_cells_without_cached_values_are_found() -> None:
    cells = (
        '<row r="12"><c r="B12"><f>1+2</f></c><c r="C12"><f>1+2</f><v/></c>'
        '<c r="D12"><f>1+2</f><v>3</v></c><c r="E12" t="str"><f>A1</f><v></v></c>'
        '<c r="F12"><f t="shared" si="0"/></c></row>'
    )
    info = safety.vet(W.package(W.small_roster_xml(extra_rows=cells)), "名单.xlsx").sheets[0]
    assert info.formula_no_value == {(12, 2), (12, 3), (12, 6)}


def test_sheets_are_bounded_however_a_reader_resolves_them() -> None:
    # python-calamine reads the target "xl/worksheets/x.xml" as that path, while the package
    # rules put it under xl/xl/; an innocent part there must not shield the far cell.
    far = W.small_roster_xml(extra_rows='<row r="900000"><c r="A900000"><v>1</v></c></row>')
    rels = W.WORKBOOK_RELS.replace('Target="worksheets/sheet1.xml"', 'Target="xl/worksheets/x.xml"')
    data = W.package(
        W.small_roster_xml(),
        parts={
            "xl/_rels/workbook.xml.rels": rels,
            "xl/xl/worksheets/x.xml": W.small_roster_xml(),
            "xl/worksheets/x.xml": far,
        },
    )
    assert refused(data) == E.SHEET_TOO_LARGE


@pytest.mark.parametrize(
    "cell",
    [
        '<c s="1" r="XFD9"><v>1</v></c>',
        '<c s="1" t="n" r="A300000"><v>1</v></c>',
        '<c s="1" t="n" x="y" r="ZZZ9"><v>1</v></c>',
        "<c r='XFD9'><v>1</v></c>",
        '<c  r="XFD9"><v>1</v></c>',
    ],
)
def test_a_far_reference_is_found_wherever_it_sits_in_the_tag(cell: str) -> None:
    rows = f'<row r="12">{cell}</row>'
    assert refused(W.package(W.small_roster_xml(extra_rows=rows))) == E.SHEET_TOO_LARGE


class _Unseekable(io.RawIOBase):
    """A stream zipfile cannot seek back in, so it writes data descriptors, as streaming
    writers (POI's SXSSF, .NET packages) do."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        chunk = bytes(b)  # type: ignore[call-overload]
        self.data += chunk
        return len(chunk)


@pytest.mark.parametrize("style", ["data-descriptor", "zip64"])
def test_streamed_and_zip64_packages_are_accepted(style: str) -> None:
    src = zipfile.ZipFile(io.BytesIO(W.roster_xlsx([W.good_row(1)])))
    out: io.RawIOBase | io.BytesIO = _Unseekable() if style == "data-descriptor" else io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in src.namelist():
            with z.open(name, "w", force_zip64=style == "zip64") as f:
                f.write(src.read(name))
    data = bytes(out.data) if isinstance(out, _Unseekable) else out.getvalue()
    assert safety.check(data, "名单.xlsx") is FileKind.XLSX
