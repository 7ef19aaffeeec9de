"""Ledger exports through the API and the CLI: right sheets, right rows, scoped, formula-safe."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.conftest import MANAGER, OFFICER_DADUKOU
from tests.factories import (
    make_assignment,
    make_commissioner,
    make_designation,
    make_enterprise,
    make_figures,
)

URL = "/api/v1/exports/ledger.xlsx"


def _data_rows(ws: openpyxl.worksheet.worksheet.Worksheet) -> list[tuple[object, ...]]:
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r and r[0] == "序号")
    body = []
    for r in rows[start + 1 :]:
        if isinstance(r[0], int):
            body.append(r)
    return body


def test_ledger_for_an_industry_has_a_sheet_per_subsector(
    app_for: Callable[..., TestClient], session: Session
) -> None:
    glass = make_enterprise(
        session, name="甲玻纤台账公司", district="500104", subsector="A4.01", is_key=True
    )
    make_enterprise(session, name="乙碳纤台账公司", district="500115", subsector="A4.03")
    make_designation(session, glass, tier="specialized_sme", designated_on=date(2025, 3, 1))
    make_figures(session, glass, year=2025, revenue="12345.6")
    response = app_for(MANAGER).get(URL, params={"subsector": "先进绿色建材", "data_year": 2025})
    assert response.status_code == 200, response.text
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    assert "\n" not in response.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames[0] == "汇总"
    assert len(wb.sheetnames) == 1 + 10  # every subsector of 先进绿色建材
    ws = wb["玻璃纤维及制品"]
    assert "玻璃纤维及制品" in str(ws["A1"].value)
    rows = [r for r in _data_rows(ws) if "台账公司" in str(r[1])]
    assert len(rows) == 1
    assert rows[0][1] == "甲玻纤台账公司"
    assert rows[0][2] == glass.credit_code
    assert "专精特新中小企业" in rows[0]
    assert Decimal(
        str(next(v for v in rows[0] if isinstance(v, float | int) and v > 1000))
    ) == Decimal("12345.6")
    carbon_rows = [r for r in _data_rows(wb["碳纤维及复合材料"]) if "台账公司" in str(r[1])]
    assert [r[1] for r in carbon_rows] == ["乙碳纤台账公司"]


def _column(ws: openpyxl.worksheet.worksheet.Worksheet, header: str) -> int:
    for row in ws.iter_rows(max_row=6):
        for cell in row:
            if cell.value == header:
                return cell.column - 1
    raise AssertionError(f"no column {header}")


@pytest.mark.parametrize(
    ("as_of", "shown"),
    [
        ("2026-11-23", {"科技专员": "张科技", "融资专员": "李融资", "法务专员": None}),
        ("2026-02-01", {"科技专员": "张科技", "融资专员": None, "媒体专员": None}),
    ],
)  # fmt: skip
def test_ledger_names_each_slots_commissioner_as_of_the_day(
    app_for: Callable[..., TestClient], session: Session, as_of: str, shown: dict[str, str | None]
) -> None:
    e = make_enterprise(session, name="专员台账公司", subsector="A4.01", is_key=True)
    tech = make_commissioner(session, name="张科技", specialties=("tech",))
    finance = make_commissioner(session, name="李融资", specialties=("finance",))
    make_assignment(session, e, tech, specialty="tech", started_on=date(2026, 1, 5))
    make_assignment(session, e, finance, specialty="finance", started_on=date(2026, 6, 1))
    response = app_for(MANAGER).get(URL, params={"subsector": "A4.01", "as_of": as_of})
    assert response.status_code == 200, response.text
    ws = openpyxl.load_workbook(io.BytesIO(response.content))["玻璃纤维及制品"]
    (row,) = [r for r in _data_rows(ws) if r[1] == "专员台账公司"]
    assert {header: row[_column(ws, header)] for header in shown} == shown


def test_district_officer_export_holds_their_district_only(
    app_for: Callable[..., TestClient], session: Session
) -> None:
    make_enterprise(session, name="本区导出公司", district="500104", subsector="A4.01")
    make_enterprise(session, name="外区导出公司", district="500115", subsector="A4.01")
    response = app_for(OFFICER_DADUKOU).get(URL, params={"subsector": "A4.01"})
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    names = [r[1] for r in _data_rows(wb["玻璃纤维及制品"])]
    assert "本区导出公司" in names
    assert "外区导出公司" not in names
    assert "大渡口区" in str(wb["玻璃纤维及制品"]["A2"].value)


@pytest.mark.parametrize(
    ("status", "names"),
    [
        (None, ["在册导出公司"]),  # the default: enterprises still in the ledger
        ("moved_out", ["迁出导出公司"]),
        ("all", ["在册导出公司", "迁出导出公司"]),
    ],
)
def test_the_status_filter(
    app_for: Callable[..., TestClient], session: Session, status: str | None, names: list[str]
) -> None:
    make_enterprise(session, name="在册导出公司", subsector="A4.06")
    moved = make_enterprise(session, name="迁出导出公司", subsector="A4.06")
    moved.status = "moved_out"
    session.flush()
    params = {"subsector": "A4.06"} | ({"status": status} if status else {})
    response = app_for(MANAGER).get(URL, params=params)
    assert response.status_code == 200, response.text
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[1]
    assert sorted(r[1] for r in _data_rows(ws) if "导出公司" in str(r[1])) == names


def test_user_text_never_becomes_a_formula(
    app_for: Callable[..., TestClient], session: Session
) -> None:
    make_enterprise(
        session, name='=HYPERLINK("http://evil","x")', subsector="A4.05", main_products="+1+2"
    )
    response = app_for(MANAGER).get(URL, params={"subsector": "A4.05"})
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    ws = wb["陶瓷纤维"]
    texts = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    cell = texts['=HYPERLINK("http://evil","x")']
    assert cell.data_type == "s"
    assert cell.quotePrefix
    assert texts["+1+2"].data_type == "s"


def test_unknown_subsector_is_422(app_for: Callable[..., TestClient]) -> None:
    r = app_for(MANAGER).get(URL, params={"subsector": "不存在的领域"})
    assert r.status_code == 422
    assert r.json()["errors"][0] == {
        "field": "subsector",
        "code": "subsector.unknown",
        "message": "细分领域“不存在的领域”不存在",
        "value": "不存在的领域",
    }


def test_cli_export_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.cli import main
    from tests.dbutil import fresh_database

    with fresh_database(tmp_path) as engine:
        monkeypatch.setenv(
            "TIERLEDGER_DATABASE_URL", engine.url.render_as_string(hide_password=False)
        )
        runner = CliRunner()
        assert (
            runner.invoke(main, ["demo-data", "--enterprises", "200", "--seed", "5"]).exit_code == 0
        )
        out = tmp_path / "台账.xlsx"
        result = runner.invoke(main, ["export", "ledger", "--out", str(out), "--subsector", "A"])
        assert result.exit_code == 0, result.output
        wb = openpyxl.load_workbook(out, read_only=True)
        assert len(wb.sheetnames) == 1 + 28
        bad = runner.invoke(main, ["export", "ledger", "--out", str(out), "--subsector", "乱写"])
        assert bad.exit_code == 1
        assert "细分领域“乱写”不存在" in bad.output


def test_one_workbook_per_subsector_in_a_zip(
    app_for: Callable[..., TestClient], session: Session
) -> None:
    import zipfile

    make_enterprise(session, name="分册玻纤公司", district="500104", subsector="A4.01")
    r = app_for(MANAGER).get("/api/v1/exports/ledger.zip", params={"subsector": "A4"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert ".zip" in r.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        names = archive.namelist()
        assert len(names) == 10
        assert all(n.endswith(".xlsx") for n in names)
        glass = next(n for n in names if "玻璃纤维及制品" in n)
        wb = openpyxl.load_workbook(io.BytesIO(archive.read(glass)))
    rows = [r for ws in wb.worksheets for r in _data_rows(ws)]
    assert "分册玻纤公司" in [r[1] for r in rows]


@pytest.mark.parametrize("params", [{"as_of": "0"}, {"as_of": "20261123"}])
def test_export_dates_are_iso_days(app_for: Callable[..., TestClient], params: dict) -> None:
    """Found by schemathesis: `as_of=0` exported the ledger as of 1970-01-01."""
    r = app_for(MANAGER).get(URL, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "as_of"
