"""The hostile files of RELIABILITY.md's tests 1, 2, 4, 5 and 6, run in a child process under
hard limits (RLIMIT_AS 512 MB and a timeout) with either reader; the process survives them."""

from __future__ import annotations

from typing import Any

from tests import workbooks as W
from tests.importers.bounded import run_bounded


def _valid() -> dict[str, Any]:
    return {"data": W.package(W.small_roster_xml()), "call": "parse"}


def test_bombs_and_evasive_archives_stay_within_bounds() -> None:
    cases = [
        {"data": W.zip_bomb(), "call": "parse"},
        {"data": W.lying_size_zip(), "call": "parse"},
        {"data": W.overlapping_zip(), "call": "parse"},
        {"data": W.many_members(10_000), "call": "parse"},
        {"data": W.big_declared_total(600, 1 << 20), "call": "parse"},
        _valid(),
    ]
    results = run_bounded(cases, memory_mb=512, timeout=10)
    for result in results[:-1]:
        assert result["outcome"] == "ZIP_BOMB"
        assert result["seconds"] < 2
    assert results[-1]["outcome"] == "ok:10"  # the worker answers the next request normally
    assert max(r["peak_mb"] for r in results) <= 200


def test_far_cells_and_lying_dimensions_with_either_reader() -> None:
    far_cell = W.small_roster_xml(
        extra_rows='<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    )
    lying = W.small_roster_xml(dimension="A1:XFD1048576")
    calamine_abort = W.small_roster_xml(
        extra_rows='<row r="200000"><c r="BXX200000"><v>1</v></c></row>'
    )
    cases = []
    for engine in ("calamine", "openpyxl"):
        for sheet in (far_cell, lying, calamine_abort):
            data = W.package(sheet)
            assert len(data) < 8_000
            cases.append({"data": data, "call": "parse", "engine": engine})
        cases.append({**_valid(), "engine": engine})
    results = run_bounded(cases, memory_mb=512, timeout=10)
    for result in results:
        assert result["outcome"] in {"SHEET_TOO_LARGE", "ok:10"}
        assert result["seconds"] < 2
    # The far cells are refused, the lying dimension alone is read correctly (10 data rows).
    expected = ["SHEET_TOO_LARGE", "ok:10", "SHEET_TOO_LARGE", "ok:10"] * 2
    assert [r["outcome"] for r in results] == expected
    assert max(r["peak_mb"] for r in results) <= 200


def test_merged_cell_bombs_through_preview_and_error_workbook() -> None:
    cases = []
    for bomb in (["A1:XFD1048576"], ["A1:Z100000"], [f"C{r}:D{r}" for r in range(1, 20_001)]):
        data = W.merge_bomb_xlsx(bomb)
        for call in ("parse", "annotate"):
            cases.append({"data": data, "call": call})
    cases.append({**_valid(), "call": "annotate"})
    results = run_bounded(cases, memory_mb=512, timeout=10)
    for result in results[:-1]:
        assert result["outcome"] == "MERGE_TOO_LARGE"
        assert result["seconds"] < 2
    assert results[-1]["outcome"] == "ok"
    assert max(r["peak_mb"] for r in results) <= 200


def test_a_million_one_character_rows_is_refused_naming_the_limit() -> None:
    rows = "".join(
        f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c></row>' for r in range(1, 1_048_577)
    )
    sst = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<sst xmlns="{W.NS_MAIN}" count="1" uniqueCount="1"><si><t>x</t></si></sst>'
    )
    data = W.package(W.sheet_xml(rows), parts={"xl/sharedStrings.xml": sst})
    del rows
    results = run_bounded([{"data": data, "call": "parse"}], memory_mb=512, timeout=10)
    assert results[0]["outcome"] == "TOO_MANY_ROWS"
    assert results[0]["seconds"] < 10
    assert results[0]["peak_mb"] <= 300


def test_sixteen_thousand_columns_in_one_row() -> None:
    cells = "".join(W.cell_xml(f"{W.get_column_letter(c)}1", f"列{c}") for c in range(1, 16_385))
    data = W.package(W.sheet_xml(f'<row r="1">{cells}</row>'))
    results = run_bounded([{"data": data, "call": "parse"}], memory_mb=512, timeout=10)
    assert results[0]["outcome"] == "SHEET_TOO_LARGE"
    assert results[0]["seconds"] < 2


def _with_cols(cols: str) -> bytes:
    return W.package(W.small_roster_xml().replace("<sheetData>", f"<cols>{cols}</cols><sheetData>"))


def test_a_million_declared_columns_is_refused_with_either_reader() -> None:
    million = "".join(f'<col min="{i % 16_384 + 1}" max="{i % 16_384 + 1}"/>' for i in range(10**6))
    past_excel = '<col min="1" max="1000000" width="12" customWidth="1"/>'
    # What Excel writes when a user hides the unused columns: read as any roster.
    hidden = '<col min="1" max="20" width="14"/><col min="21" max="16384" hidden="1"/>'
    cases = []
    for cols in (million, past_excel, hidden):
        data = _with_cols(cols)
        for engine in ("calamine", "openpyxl"):
            cases.append({"data": data, "call": "parse", "engine": engine})
        cases.append({"data": data, "call": "annotate"})
    results = run_bounded(cases, memory_mb=512, timeout=10)
    assert [r["outcome"] for r in results] == ["SHEET_TOO_LARGE"] * 6 + ["ok:10", "ok:10", "ok"]
    assert max(r["seconds"] for r in results) < 2
    assert max(r["peak_mb"] for r in results) <= 200
