"""RELIABILITY 11 on every workbook the service writes from ledger data or an upload.

The ledger, the per-subsector zip, the tier report, the roster template prefilled with a
district's enterprises and the annotated error workbook are each reopened with openpyxl
(`data_only=False`): the only formulas are the exporter's own totals, text that starts with a
formula trigger carries `quotePrefix` and reads back as stored (control characters replaced by
`exports.text`'s documented rule), money stays numeric, an exported ledger re-imports with no
change, and LibreOffice converts each of these files.

Hostile text reaches the database two ways here. Through the service, as users write it: the
edge strips surrounding whitespace (so `\\t=1` is stored as `=1`) and refuses NUL and the other
unstorable control characters. Planted directly, as legacy rows or another program could leave
it: the exports must still write it safely, and the importer reports only the documented
normalisations as changes.
"""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl.workbook.workbook import Workbook
from sqlmodel import Session

from exports.text import clean_control_chars, needs_quote_prefix
from importers import annotate
from importers.header import FIELDS
from service.access.actor import Actor
from service.db import utcnow
from service.enterprises.models import Enterprise
from service.errors import LedgerError
from service.imports import service as imports
from service.imports.models import ImportBatch
from service.reports import ledger, tier_report
from tests import workbooks as W
from tests.conftest import MANAGER, OFFICER_DADUKOU, TODAY
from tests.exports.test_libreoffice import _convert, _soffice
from tests.exports.xlsx_checks import (
    RELIABILITY_11,
    assert_safe_text_cell,
    formula_cells,
    load,
    read_text,
)
from tests.factories import make_designation, make_enterprise, make_figures

# RELIABILITY 11's list; the control-character case follows separately.
HOSTILE = RELIABILITY_11
# NUL cannot be stored at all (PostgreSQL refuses it, and so does the service's edge); a
# vertical tab can be, when a row bypasses the edge, and the exports replace it by U+FFFD.
CONTROL = "重庆\x0b某某材料有限公司"
REFUSED = "重庆\x0b某某\x00材料有限公司"
SUBSECTORS = ("A1.01", "A1.02", "A1.03", "A1.04")
DATA_YEAR = TODAY.year - 1
REVENUE = Decimal("1234.5")  # the ledger refuses negative revenue ...
LOSS = Decimal("-1234.5")  # ... but not a negative net profit
TEMPLATE_COLUMN = {spec.field: i for i, spec in enumerate(FIELDS, start=1)}


@dataclass(frozen=True)
class Planted:
    credit_code: str
    text: str  # what the row was given
    stored: str  # what the ledger holds
    through_service: bool


def _plant(session: Session) -> list[Planted]:
    """Each hostile text as a name, main products, contact and notes, once through the
    service and once written past it; all in 大渡口区 under 先进有色金属材料."""
    planted = []
    for i, text in enumerate([*HOSTILE, *HOSTILE, CONTROL]):
        through_service = i < len(HOSTILE)
        fields = {"main_products": text, "contact_person": text, "notes": text}
        e = make_enterprise(
            session,
            name=text if through_service else f"待改名{i}",
            district="500104",
            subsector=SUBSECTORS[i % len(SUBSECTORS)],
            **(fields if through_service else {}),
        )
        if not through_service:
            e.name = text
            for field, value in fields.items():
                setattr(e, field, value)
            session.flush()
        make_designation(
            session,
            e,
            tier="specialized_sme",
            designated_on=date(2023, 12, 1),
            valid_until=date(2026, 12, 31),  # due for review within 90 days of TODAY
        )
        make_figures(session, e, year=DATA_YEAR, revenue=str(REVENUE), net_profit=LOSS, employees=7)
        session.refresh(e)
        planted.append(Planted(e.credit_code, text, e.name, through_service))
    return planted


@pytest.fixture
def planted(session: Session) -> list[Planted]:
    return _plant(session)


def _rows_by_code(wb: Workbook, code_column: int) -> Iterator[tuple[str, tuple[Any, ...]]]:
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            if len(row) >= code_column and isinstance(row[code_column - 1].value, str):
                yield ws.title, row


def _check_rows(
    wb: Workbook, planted: list[Planted], *, code_column: int, text_columns: dict[str, int]
) -> set[str]:
    """Every planted row's text cells are safe text; returns the codes seen."""
    by_code = {p.credit_code: p for p in planted}
    seen = set()
    for _sheet, row in _rows_by_code(wb, code_column):
        p = by_code.get(row[code_column - 1].value)
        if p is None:
            continue
        seen.add(p.credit_code)
        for column in text_columns.values():
            assert_safe_text_cell(row[column - 1], p.stored)
    return seen


def _text_cells(wb: Workbook) -> Iterator[Any]:
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "s" and isinstance(cell.value, str):
                    yield cell


def _assert_triggers_quoted(wb: Workbook) -> None:
    """No text cell anywhere could turn into a formula when a user edits it."""
    for cell in _text_cells(wb):
        if needs_quote_prefix(cell.value):
            assert cell.quotePrefix, (cell.parent.title, cell.coordinate, cell.value)


# ---- what the ledger holds -------------------------------------------------------------------


def test_the_edge_strips_and_refuses_what_a_workbook_cannot_round_trip(
    app_for: Callable[..., TestClient], planted: list[Planted]
) -> None:
    stored = {p.text: p.stored for p in planted if p.through_service}
    assert stored == {text: text.strip() for text in HOSTILE}
    assert [p.stored for p in planted if not p.through_service] == [*HOSTILE, CONTROL]
    r = app_for(MANAGER).post(
        "/api/v1/enterprises",
        json={
            "credit_code": "91500104MA5UXXXX01",
            "name": REFUSED,
            "district_code": "500104",
            "subsector_code": "A1.02",
        },
    )
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert (error["field"], error["code"]) == ("name", "text.control_character")
    assert error["message"] == "不能包含控制字符（第3个字符为U+000B）"


# ---- ledger, zip, report, template: reopened with openpyxl -----------------------------------


def _ledger(session: Session, out: Path, *, as_zip: bool = False) -> None:
    ledger.export_ledger(
        session,
        MANAGER,
        str(out),
        ledger.LedgerRequest(subsectors=["A1"], district_code="500104", data_year=DATA_YEAR),
        today=TODAY,
        now=utcnow(),
        as_zip=as_zip,
    )


def _assert_ledger_book(wb: Workbook, planted: list[Planted]) -> set[str]:
    # Columns: B name, C credit code, G main products, U contact, Q revenue.
    seen = _check_rows(
        wb, planted, code_column=3, text_columns={"name": 2, "products": 7, "contact": 21}
    )
    for sheet, row in _rows_by_code(wb, 3):
        if row[2].value in seen:
            revenue = row[16]
            assert (revenue.data_type, revenue.value) == ("n", float(REVENUE)), sheet
    for ws in wb.worksheets:
        if ws.title == "汇总":
            continue
        # The totals row is the last one; it alone holds formulas, and only these.
        last = ws.max_row
        assert ws.cell(last, 1).value == "合计"
        formulas = {c: f for s, c, f in formula_cells(wb) if s == ws.title}
        assert formulas == {
            f"B{last}": f"=SUBTOTAL(103,B5:B{last - 1})",
            f"Q{last}": f"=SUBTOTAL(109,Q5:Q{last - 1})",
            f"R{last}": f"=SUBTOTAL(109,R5:R{last - 1})",
            f"S{last}": f'=IF(Q{last}>0,R{last}/Q{last},"")',
            f"T{last}": f"=SUBTOTAL(109,T5:T{last - 1})",
        }, ws.title
    assert not [c for c in formula_cells(wb) if c[0] == "汇总"]
    _assert_triggers_quoted(wb)
    return seen


def test_ledger_workbook(session: Session, planted: list[Planted], tmp_path: Path) -> None:
    out = tmp_path / "ledger.xlsx"
    _ledger(session, out)
    wb = load(out)
    assert _assert_ledger_book(wb, planted) == {p.credit_code for p in planted}


def test_each_workbook_of_the_zip(session: Session, planted: list[Planted], tmp_path: Path) -> None:
    out = tmp_path / "ledgers.zip"
    _ledger(session, out, as_zip=True)
    seen: set[str] = set()
    with zipfile.ZipFile(out) as archive:
        for name in archive.namelist():
            seen |= _assert_ledger_book(load(archive.read(name)), planted)
    assert seen == {p.credit_code for p in planted}


def test_tier_report(session: Session, planted: list[Planted], tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    tier_report.export_report(
        session, OFFICER_DADUKOU, str(out), tier_report.ReportRequest(), today=TODAY, now=utcnow()
    )
    wb = load(out)
    assert formula_cells(wb) == []
    _assert_triggers_quoted(wb)
    codes = {p.credit_code for p in planted}
    # 待复核 and 可晋级: B name, C credit code; 目标企业明细: C name, D credit code.
    assert _check_rows(wb, planted, code_column=3, text_columns={"name": 2}) == codes
    assert _check_rows(wb, planted, code_column=4, text_columns={"name": 3}) == codes


def test_prefilled_template(session: Session, planted: list[Planted]) -> None:
    data = imports.template(session, OFFICER_DADUKOU, today=TODAY, district="500104")
    wb = load(data)
    assert formula_cells(wb) == []
    _assert_triggers_quoted(wb)
    seen = _check_rows(
        wb,
        planted,
        code_column=TEMPLATE_COLUMN["credit_code"],
        text_columns={
            field: TEMPLATE_COLUMN[field]
            for field in ("name", "main_products", "contact_person", "notes")
        },
    )
    assert seen == {p.credit_code for p in planted}
    ws = wb["企业名单"]
    for field, value in (("operating_revenue", REVENUE), ("net_profit", LOSS)):
        cells = [
            ws.cell(r, TEMPLATE_COLUMN[field])
            for r in range(2, ws.max_row + 1)
            if ws.cell(r, TEMPLATE_COLUMN["credit_code"]).value in seen
        ]
        assert {(c.data_type, c.value) for c in cells} == {("n", float(value))}, field


# ---- the error workbook: the user's own upload, marked ---------------------------------------


def _control(kind: str) -> str:
    # A workbook can carry NUL (as an escape); a CSV with NUL is not text: see the test below.
    return CONTROL if kind == "csv" else REFUSED


def _upload_rows(kind: str) -> list[dict[str, Any]]:
    rows = [W.good_row(i, 企业名称=t, 备注=t) for i, t in enumerate(HOSTILE, start=1)]
    control = _control(kind)
    rows.append(W.good_row(len(rows) + 1, 企业名称=control, 备注=control))
    rows.append(W.good_row(len(rows) + 1, 所属区县="火星区", 营业收入=float(LOSS)))
    return rows


def _upload(kind: str) -> tuple[str, bytes]:
    rows = _upload_rows(kind)
    if kind == "csv":
        return "名单.csv", W.csv_bytes(rows)
    # openpyxl cannot put a raw control character into a file; the OOXML escape is how
    # Excel itself stores one, and how the reader sees it.
    escaped = [
        {
            k: v.replace("\x0b", "_x000B_").replace("\x00", "_x0000_") if isinstance(v, str) else v
            for k, v in r.items()
        }
        for r in rows
    ]
    return "名单.xlsx", W.roster_xlsx(escaped)


def _error_workbook(session: Session, uploads: Path, kind: str) -> tuple[bytes, bytes]:
    filename, data = _upload(kind)
    batch = imports.preview(
        session, MANAGER, filename=filename, data=data, today=TODAY, uploads_dir=uploads
    )
    assert batch.error_rows == 2, batch.errors  # the control character and 火星区
    return data, imports.error_workbook(batch, uploads)


@pytest.mark.parametrize("kind", ["xlsx", "xlsx-copy", "csv"])
def test_error_workbook(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    if kind == "xlsx-copy":  # what a workbook too large to edit in place comes back as
        monkeypatch.setattr(annotate, "OPENPYXL_CELL_BUDGET", 0)
    original, marked = _error_workbook(session, tmp_path / "uploads", kind.split("-")[0])
    wb = load(marked)
    assert formula_cells(wb) == []
    _assert_triggers_quoted(wb)
    ws = wb.worksheets[0]
    first = 4 if kind.startswith("xlsx") else 2  # below the title rows and the header
    texts = [*HOSTILE, _control(kind.split("-")[0])]
    if kind == "xlsx":
        # Edited in place: every cell keeps exactly what the user's file holds.
        source = load(original).worksheets[0]
        expected = [source.cell(r, 2).value for r in range(first, first + len(texts))]
    else:
        # Rewritten from the values read: the documented rule of exports.text.
        expected = [clean_control_chars(t) for t in texts]
        if kind == "xlsx-copy":
            expected[HOSTILE.index("\r=1")] = "\n=1"  # an XML reader already made it LF
    for r, want in enumerate(expected, start=first):
        for column in (2, 11):  # 企业名称, 备注
            cell = ws.cell(r, column)
            assert cell.data_type == "s", (kind, cell.coordinate)
            got = cell.value if kind == "xlsx" else read_text(cell.value)
            assert got == want, (kind, cell.coordinate, cell.value)
            assert bool(cell.quotePrefix) == needs_quote_prefix(want), (kind, cell.coordinate)
    bad = ws.cell(first + len(texts), 8)  # 营业收入 of the 火星区 row
    if kind == "csv":  # a CSV field is text, and stays the text the user wrote
        assert (bad.data_type, bad.value, bad.quotePrefix) == ("s", str(LOSS), True)
    else:
        assert (bad.data_type, bad.value) == ("n", float(LOSS))
    assert ws.cell(first - 1, len(W.HEADERS) + 1).value == annotate.ERROR_HEADER


def test_a_csv_holding_nul_is_refused_as_not_text(session: Session, tmp_path: Path) -> None:
    data = W.csv_bytes([W.good_row(1, 企业名称=REFUSED)])
    with pytest.raises(LedgerError) as refused:
        imports.preview(
            session, MANAGER, filename="名单.csv", data=data, today=TODAY, uploads_dir=tmp_path
        )
    assert (refused.value.code, refused.value.status) == ("CSV_ENCODING", 422)
    assert "CSV" in refused.value.detail


# ---- the round trip ------------------------------------------------------------------------


def test_an_exported_ledger_of_hostile_text_imports_back_unchanged(
    session: Session, planted: list[Planted], tmp_path: Path
) -> None:
    out = tmp_path / "ledger.xlsx"
    _ledger(session, out)
    # The roster importer reads one sheet per upload: the ledger goes back a subsector at a time.
    lines = []
    for sheet in load(out).sheetnames[1:]:
        batch = _preview(session, MANAGER, "ledger.xlsx", out.read_bytes(), tmp_path, sheet=sheet)
        assert batch.error_rows == 0, (sheet, batch.errors)
        page, total = imports.lines(session, batch, page_size=1000)
        assert total == batch.rows == len(page), sheet
        lines += page
    # Without a sheet named, the first subsector is read and the others are named, not dropped.
    subsectors = load(out).sheetnames[1:]
    unnamed = _preview(session, MANAGER, "ledger.xlsx", out.read_bytes(), tmp_path)
    assert len(subsectors) > 1
    [notice] = [n for n in unnamed.notices if "另有工作表" in n]
    assert all(f"“{name}”" in notice for name in subsectors[1:11]), notice
    assert sorted(line.credit_code for line in lines) == sorted(p.credit_code for p in planted)
    by_code = {p.credit_code: p for p in planted}
    changed = {line.credit_code: line for line in lines if line.action != "unchanged"}
    # Everything the service itself stored comes back unchanged ...
    assert not [c for c in changed if by_code[c].through_service]
    # ... and a row written past the edge changes only by the edge's own rules: surrounding
    # whitespace stripped, CR made LF, an unstorable character shown as U+FFFD.
    for code, p in by_code.items():
        normal = clean_control_chars(p.stored).strip()
        if normal == p.stored:
            assert code not in changed, p
        else:
            assert changed[code].action == "update", p
            assert changed[code].payload["enterprise"]["name"] == normal


def test_a_prefilled_template_imports_back_unchanged(
    session: Session, planted: list[Planted], tmp_path: Path
) -> None:
    for p in planted:
        if not p.through_service:  # only what the service stores; see the ledger's test
            session.delete(session.get(Enterprise, _id(session, p.credit_code)))
    session.flush()
    data = imports.template(session, OFFICER_DADUKOU, today=TODAY, district="500104")
    batch = _preview(session, OFFICER_DADUKOU, "template.xlsx", data, tmp_path)
    assert batch.error_rows == 0, batch.errors
    assert batch.unchanged == batch.rows >= len(HOSTILE)


def _preview(
    session: Session, actor: Actor, filename: str, data: bytes, tmp_path: Path, **kw: Any
) -> ImportBatch:
    return imports.preview(
        session,
        actor,
        filename=filename,
        data=data,
        today=TODAY,
        uploads_dir=tmp_path / "uploads",
        data_year=DATA_YEAR,
        **kw,
    )


def _id(session: Session, code: str) -> int:
    import sqlalchemy as sa

    return session.scalar(sa.select(Enterprise.id).where(Enterprise.credit_code == code)) or 0


# ---- LibreOffice -----------------------------------------------------------------------------


def test_libreoffice_converts_the_error_workbooks_the_template_and_each_zip_member(
    session: Session, planted: list[Planted], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _soffice()
    files = []
    for kind in ("xlsx", "csv"):
        _original, marked = _error_workbook(session, tmp_path / f"uploads-{kind}", kind)
        files.append(tmp_path / f"errors-{kind}.xlsx")
        files[-1].write_bytes(marked)
    monkeypatch.setattr(annotate, "OPENPYXL_CELL_BUDGET", 0)
    _original, marked = _error_workbook(session, tmp_path / "uploads-copy", "xlsx")
    files.append(tmp_path / "errors-copy.xlsx")
    files[-1].write_bytes(marked)
    files.append(tmp_path / "template.xlsx")
    files[-1].write_bytes(imports.template(session, MANAGER, today=TODAY, district="500104"))
    archive = tmp_path / "ledgers.zip"
    _ledger(session, archive, as_zip=True)
    with zipfile.ZipFile(archive) as z:
        for i, name in enumerate(z.namelist()):
            files.append(tmp_path / f"member-{i}.xlsx")
            files[-1].write_bytes(z.read(name))
    assert len(files) == 4 + len(SUBSECTORS)  # 先进有色金属材料 has these four subsectors
    out = tmp_path / "pdf"
    out.mkdir()
    try:
        _convert(out, "pdf", *files)
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"soffice failed: {exc.stderr!r}")
    for f in files:
        pdf = (out / f.with_suffix(".pdf").name).read_bytes()
        assert pdf.startswith(b"%PDF-"), f.name
        assert b"/Type /Page" in pdf or b"/Type/Page" in pdf, f.name
