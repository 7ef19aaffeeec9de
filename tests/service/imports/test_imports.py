"""Roster import in the service: preview, all-or-nothing commit, idempotence, revert, scope,
approval, the error workbook, and the API and CLI contracts (issue 6, RELIABILITY 7, 8, 22)."""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.access.actor import Actor
from service.access.deps import current_actor
from service.app import create_app
from service.audit.models import AuditEvent
from service.cli import main
from service.config import Settings
from service.db import get_session, utcnow
from service.enterprises import service as enterprise_service
from service.enterprises.models import AnnualFigures, Enterprise
from service.enterprises.schemas import EnterpriseUpdate
from service.errors import LedgerError
from service.imports import service as imports
from service.imports.models import ImportBatch
from service.ladder import compliance
from service.ladder.models import Designation, DesignationEvent, LadderAnomaly
from service.reports import ledger
from tests import workbooks as W
from tests.conftest import MANAGER, OFFICER_DADUKOU, TODAY
from tests.dbutil import digest, fresh_database
from tests.factories import make_designation, make_enterprise, make_figures
from tests.importers.reference import make_code

OFFICER_2 = Actor(id=4, name="大渡口区另一用户", role="district_officer", district_code="500104")
SERIAL = iter(range(40_000_000, 50_000_000, 7))


def rows(n: int, **overrides: Any) -> list[dict[str, Any]]:
    out = []
    for i in range(1, n + 1):
        code = make_code("500104", next(SERIAL))
        out.append(
            W.good_row(i, 统一社会信用代码=code, 企业名称=f"重庆导入测试{code[-6:]}有限公司")
        )
        out[-1].update(overrides)
    return out


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


def preview(session: Session, actor: Actor, data: bytes, uploads: Path, **kw: Any) -> Any:
    return imports.preview(
        session,
        actor,
        filename=kw.pop("filename", "名单.xlsx"),
        data=data,
        today=TODAY,
        uploads_dir=uploads,
        **kw,
    )


def by_code(session: Session, code: str) -> Enterprise | None:
    session.expire_all()
    return session.scalar(sa.select(Enterprise).where(Enterprise.credit_code == code))


# ---- reading messy rosters and writing them --------------------------------------------------


def test_a_messy_roster_imports_as_written(session: Session, uploads: Path) -> None:
    data_rows = rows(6)
    data_rows[1]["所属区县"] = "大渡口"  # without 区
    data_rows[2]["统一社会信用代码"] = " " + data_rows[2]["统一社会信用代码"].lower() + " "
    data_rows[3]["企业梯度"] = "小巨人"
    data_rows[4]["营业收入"] = "1,234.5"
    data_rows[5]["成立日期"] = "2019年3月5日"
    data = W.roster_xlsx(
        data_rows,
        two_row_header=True,
        blank_rows_after=[2],
        notes=["注：以上数据由企业填报", "填报人：张三  联系电话：023-12345678"],
    )
    batch = preview(session, MANAGER, data, uploads, data_year=2024)
    assert (batch.rows, batch.error_rows, batch.created) == (6, 0, 6)
    assert batch.skipped_rows >= 3
    done = imports.commit(session, MANAGER, batch.id)
    assert done.status == "committed"
    e = by_code(session, data_rows[2]["统一社会信用代码"].strip().upper())
    assert e is not None
    assert e.district_code == "500104"
    assert e.subsector_code == "A1.02"
    figures = session.scalar(
        sa.select(AnnualFigures).where(
            AnnualFigures.enterprise_id == by_code(session, data_rows[4]["统一社会信用代码"]).id
        )
    )
    assert figures.year == 2024
    assert figures.operating_revenue == Decimal("1234.5")
    assert figures.source == f"import:{batch.id}"
    giant = by_code(session, data_rows[3]["统一社会信用代码"])
    tiers = session.scalars(
        sa.select(Designation.tier_code).where(Designation.enterprise_id == giant.id)
    )
    assert list(tiers) == ["little_giant"]
    born = by_code(session, data_rows[5]["统一社会信用代码"])
    assert born.established_on == date(2019, 3, 5)
    events = session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.source == f"import:{batch.id}")
    )
    assert sorted(events).count("import.create") == 6


def test_a_commit_gives_the_connection_its_page_cache_back(session: Session, uploads: Path) -> None:
    # The commit writes with a larger SQLite page cache; the pooled connection must not keep it.
    conn = session.connection()
    sqlite = conn.dialect.name == "sqlite"
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar() if sqlite else None
    data_rows = rows(3)
    batch = preview(session, MANAGER, W.roster_xlsx(data_rows), uploads)
    assert imports.commit(session, MANAGER, batch.id).created == 3
    after = conn.exec_driver_sql("PRAGMA cache_size").scalar() if sqlite else None
    assert after == before
    for r in data_rows:
        r["备注"] = "改过的备注"
    stale = preview(session, MANAGER, W.roster_xlsx(data_rows), uploads)
    assert stale.updated == 3
    session.execute(sa.update(Enterprise).values(version=Enterprise.version + 1))
    with pytest.raises(LedgerError) as caught:  # a write that stops midway puts it back too
        imports.commit(session, MANAGER, stale.id)
    assert caught.value.code == "import.stale_preview"
    again = conn.exec_driver_sql("PRAGMA cache_size").scalar() if sqlite else None
    assert again == before


def test_planted_errors_name_exactly_their_rows_and_write_nothing(
    session: Session, uploads: Path
) -> None:
    data_rows = rows(8)
    data_rows[2]["统一社会信用代码"] = "91500104MA5U7XXXX1"  # check digit wrong
    data_rows[5]["细分领域"] = "镁合金金"  # near miss
    data = W.roster_xlsx(data_rows)
    before = digest(session)
    batch = preview(session, MANAGER, data, uploads)
    assert sorted({e["row"] for e in batch.errors}) == [4 + 2, 4 + 5]
    assert all(e["message"] for e in batch.errors)
    with pytest.raises(LedgerError) as caught:
        imports.commit(session, MANAGER, batch.id)
    assert caught.value.status == 422
    assert caught.value.code == "import.has_errors"
    assert digest(session) == before


def test_the_same_file_twice_changes_nothing_and_says_so(session: Session, uploads: Path) -> None:
    data = W.roster_xlsx(rows(5))
    first = preview(session, MANAGER, data, uploads)
    imports.commit(session, MANAGER, first.id)
    state = digest(session)
    second = preview(session, MANAGER, data, uploads)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 5)
    assert second.same_as_batch_id == first.id
    assert f"文件内容与批次{first.id}相同，无变化" in second.notices
    imports.commit(session, MANAGER, second.id)
    assert digest(session) == state


def test_skip_invalid_writes_exactly_the_valid_rows(session: Session, uploads: Path) -> None:
    data_rows = rows(5)
    data_rows[1]["统一社会信用代码"] = "123"
    data_rows[3]["企业名称"] = None
    batch = preview(session, MANAGER, W.roster_xlsx(data_rows), uploads)
    imports.commit(session, MANAGER, batch.id, skip_invalid=True)
    written = {r["统一社会信用代码"] for i, r in enumerate(data_rows) if i in (0, 2, 4)}
    found = set(
        session.scalars(
            sa.select(Enterprise.credit_code).where(
                Enterprise.credit_code.in_([r["统一社会信用代码"] for r in data_rows])
            )
        )
    )
    assert found == written


def test_formula_looking_text_is_stored_as_that_text(session: Session, uploads: Path) -> None:
    texts = ['=HYPERLINK("http://x","点我")', "@SUM(A1)", "+1+2", "-3"]
    data_rows = rows(len(texts))
    for row, text in zip(data_rows, texts, strict=True):
        row["备注"] = text
    batch = preview(session, MANAGER, W.roster_xlsx(data_rows), uploads)
    assert batch.error_rows == 0, batch.errors
    imports.commit(session, MANAGER, batch.id)
    for row, text in zip(data_rows, texts, strict=True):
        assert by_code(session, row["统一社会信用代码"]).notes == text


def test_an_update_shows_field_diffs_and_absent_enterprises(
    session: Session, uploads: Path
) -> None:
    e = make_enterprise(session, name="旧名称导入公司", district="500104", subsector="A1.02")
    absent = make_enterprise(session, name="不在名单上的公司", district="500104")
    row = W.good_row(1, 统一社会信用代码=e.credit_code, 企业名称="新名称导入公司")
    batch = preview(session, MANAGER, W.roster_xlsx([row]), uploads, district="大渡口区")
    assert batch.updated == 1
    lines, _ = imports.lines(session, batch)
    assert lines[0].diffs["name"] == ["旧名称导入公司", "新名称导入公司"]
    assert absent.credit_code in {a["credit_code"] for a in batch.absent}
    version = e.version
    imports.commit(session, MANAGER, batch.id)
    assert by_code(session, e.credit_code).version == version + 1
    assert by_code(session, absent.credit_code) is not None  # reported, never deleted


def test_a_stale_preview_is_refused(session: Session, uploads: Path) -> None:
    e = make_enterprise(session, name="预览后被改的公司", district="500104")
    row = W.good_row(1, 统一社会信用代码=e.credit_code, 企业名称="导入的新名称")
    batch = preview(session, MANAGER, W.roster_xlsx([row]), uploads)
    enterprise_service.update(
        session, MANAGER, e.id, EnterpriseUpdate(notes="预览后修改"), expected_version=e.version
    )
    state = digest(session)
    with pytest.raises(LedgerError) as caught:
        imports.commit(session, MANAGER, batch.id)
    assert caught.value.status == 409
    assert "请重新预览" in caught.value.title
    assert digest(session) == state  # raised before writing; the edge rolls the claim back


def test_committing_twice_writes_once(session: Session, uploads: Path) -> None:
    batch = preview(session, MANAGER, W.roster_xlsx(rows(3)), uploads)
    first = imports.commit(session, MANAGER, batch.id)
    again = imports.commit(session, MANAGER, batch.id)
    assert first.id == again.id
    count = session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.source == f"import:{batch.id}", AuditEvent.action == "import.create")
    )
    assert count == 3


# ---- revert ---------------------------------------------------------------------------------


def test_revert_restores_the_ledger_exactly(session: Session, uploads: Path) -> None:
    old = make_enterprise(session, name="撤销前的名称公司", district="500104", subsector="A1.02")
    make_designation(session, old, tier="innovative_sme", designated_on=date(2024, 5, 1))
    make_figures(session, old, year=2025, revenue="100")
    before = digest(session)
    update = W.good_row(1, 统一社会信用代码=old.credit_code, 企业名称="导入后的名称公司")
    update["营业收入"] = 200
    data = W.roster_xlsx([update, *rows(3)])
    batch = preview(session, MANAGER, data, uploads)
    assert (batch.created, batch.updated) == (3, 1)
    imports.commit(session, MANAGER, batch.id)
    assert digest(session) != before
    reverted = imports.revert(session, MANAGER, batch.id)
    assert reverted.status == "reverted"
    assert reverted.result["kept"] == []
    assert digest(session) == before


def test_revert_keeps_a_row_edited_after_the_import(session: Session, uploads: Path) -> None:
    data_rows = rows(3)
    batch = preview(session, MANAGER, W.roster_xlsx(data_rows), uploads)
    imports.commit(session, MANAGER, batch.id)
    edited = by_code(session, data_rows[1]["统一社会信用代码"])
    enterprise_service.update(
        session, MANAGER, edited.id, EnterpriseUpdate(notes="导入后走访"), expected_version=1
    )
    result = imports.revert(session, MANAGER, batch.id).result
    assert [k["credit_code"] for k in result["kept"]] == [edited.credit_code]
    assert by_code(session, edited.credit_code).notes == "导入后走访"
    assert by_code(session, data_rows[0]["统一社会信用代码"]) is None


def test_a_reverted_imports_ids_are_never_given_out_again(session: Session, uploads: Path) -> None:
    # SQLite gave a new row the largest id plus one: after a revert, the next import's
    # enterprises took the reverted ones' ids, and each showed the other's history.
    first_rows = rows(3)
    first = preview(session, MANAGER, W.roster_xlsx(first_rows), uploads)
    imports.commit(session, MANAGER, first.id)
    gone = [by_code(session, r["统一社会信用代码"]).id for r in first_rows]  # type: ignore[union-attr]
    imports.revert(session, MANAGER, first.id)

    for way in ("review", "direct"):
        new_rows = rows(3)
        data = W.roster_xlsx(new_rows)
        if way == "review":
            imports.commit(session, MANAGER, preview(session, MANAGER, data, uploads).id)
        else:
            imports.import_now(
                session, MANAGER, filename="名单.xlsx", data=data, today=TODAY, uploads_dir=uploads
            )
        for r in new_rows:
            firm = by_code(session, r["统一社会信用代码"])
            assert firm is not None
            assert firm.id > max(gone)
            history = session.scalars(
                sa.select(AuditEvent).where(AuditEvent.enterprise_id == firm.id)
            ).all()
            assert [(h.action, h.entity_repr) for h in history] == [("import.create", firm.name)]
    manual = make_enterprise(session)
    assert (manual.id or 0) > max(gone)


# ---- scope and approval ---------------------------------------------------------------------


def test_officer_rows_outside_their_district_are_row_errors(
    session: Session, uploads: Path
) -> None:
    data_rows = rows(3)
    data_rows[1]["所属区县"] = "长寿区"
    batch = preview(session, OFFICER_DADUKOU, W.roster_xlsx(data_rows), uploads)
    assert [(e["row"], e["code"]) for e in batch.errors] == [(5, "DISTRICT_OUT_OF_SCOPE")]
    assert batch.district_code == "500104"
    outsider = make_enterprise(session, district="500115")
    before = digest(session)
    row = W.good_row(1, 统一社会信用代码=outsider.credit_code)
    batch = preview(session, OFFICER_DADUKOU, W.roster_xlsx([row]), uploads)
    assert [e["code"] for e in batch.errors] == ["ENTERPRISE_OUT_OF_SCOPE"]
    with pytest.raises(LedgerError):
        imports.commit(session, OFFICER_DADUKOU, batch.id)
    assert by_code(session, outsider.credit_code).district_code == "500115"
    assert digest(session) == before


def test_approval_flow(session: Session, uploads: Path) -> None:
    data_rows = rows(2)
    batch = preview(session, OFFICER_DADUKOU, W.roster_xlsx(data_rows), uploads)
    pending = imports.commit(session, OFFICER_DADUKOU, batch.id, requires_approval=True)
    assert pending.status == "pending_approval"
    assert by_code(session, data_rows[0]["统一社会信用代码"]) is None
    with pytest.raises(LedgerError) as own:
        imports.approve(session, Actor(id=3, name="x", role="manager"), batch.id)
    assert own.value.status == 403
    approved = imports.approve(session, MANAGER, batch.id)
    assert approved.status == "committed"
    assert approved.decided_by_name == MANAGER.name
    assert by_code(session, data_rows[0]["统一社会信用代码"]) is not None
    other = preview(session, OFFICER_DADUKOU, W.roster_xlsx(rows(1)), uploads)
    imports.commit(session, OFFICER_DADUKOU, other.id, requires_approval=True)
    assert imports.reject(session, MANAGER, other.id, reason="数据不全").status == "rejected"
    with pytest.raises(LedgerError):
        imports.approve(session, MANAGER, other.id)


def test_out_of_scope_batches_are_missing(session: Session, uploads: Path) -> None:
    data_rows = rows(1, 所属区县="长寿区")
    batch = preview(session, MANAGER, W.roster_xlsx(data_rows), uploads, district="长寿区")
    with pytest.raises(LedgerError) as caught:
        imports.get_batch(session, OFFICER_DADUKOU, batch.id)
    assert caught.value.status == 404
    assert imports.get_batch(session, MANAGER, batch.id).id == batch.id
    mine = preview(session, OFFICER_DADUKOU, W.roster_xlsx(rows(1)), uploads)
    assert imports.get_batch(session, OFFICER_2, mine.id).id == mine.id


# ---- export → import round trip ------------------------------------------------------------


def test_an_exported_ledger_imports_with_zero_changes(
    session: Session, uploads: Path, tmp_path: Path
) -> None:
    a = make_enterprise(
        session,
        name="往返甲公司",
        district="500104",
        subsector="A1.02",
        is_key=True,
        contact_person="李四",
        contact_phone="023-1234",
    )
    make_enterprise(session, name="往返乙公司", district="500104", subsector="A1.02")
    make_designation(session, a, tier="specialized_sme", designated_on=date(2024, 3, 1))
    make_figures(session, a, year=2025, revenue="12345.6", employees=120)
    out = tmp_path / "ledger.xlsx"
    ledger.export_ledger(
        session,
        MANAGER,
        str(out),
        ledger.LedgerRequest(subsectors=["A1.02"], district_code="500104", data_year=2025),
        today=TODAY,
        now=utcnow(),
    )
    batch = preview(session, MANAGER, out.read_bytes(), uploads, data_year=2025)
    assert batch.error_rows == 0, batch.errors
    assert (batch.created, batch.updated) == (0, 0), imports.lines(session, batch)[0]
    assert batch.unchanged == batch.rows >= 2


# ---- the API --------------------------------------------------------------------------------


@pytest.fixture
def api(engine: Engine, session: Session, tmp_path: Path) -> Callable[..., TestClient]:
    def build(actor: Actor, **settings: Any) -> TestClient:
        app = create_app(
            Settings(data_dir=tmp_path, **settings), engine=engine, today=lambda: TODAY
        )

        def _session() -> Iterator[Session]:
            yield session
            session.commit()

        app.dependency_overrides[get_session] = _session
        app.dependency_overrides[current_actor] = lambda: actor
        return TestClient(app, raise_server_exceptions=False)

    return build


def upload(client: TestClient, data: bytes, name: str = "名单.xlsx", **params: Any) -> Any:
    return client.post("/api/v1/imports", files={"file": (name, data)}, params=params)


@pytest.mark.parametrize("reader", ["in-process", "child"])
def test_api_upload_preview_commit_and_error_workbook(
    api: Callable[..., TestClient], session: Session, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    if reader == "child":  # as a roster of 1 MB or more is read, from the request's thread
        monkeypatch.setattr(imports, "OFFLOAD_BYTES", 0)
    client = api(MANAGER)
    data_rows = rows(3)
    data_rows[1]["细分领域"] = "不存在的领域"
    r = upload(client, W.roster_xlsx(data_rows), name="../../etc/passwd.xlsx")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["error_rows"] == 1
    assert body["created"] == 2
    assert {"row", "column", "value", "code", "message"} <= set(body["errors"][0])
    assert len(body["lines"]) == 3
    bid = body["id"]
    stored = session.get(ImportBatch, bid)
    assert "/" not in stored.stored_name
    assert stored.stored_name.endswith(".xlsx")
    assert (
        client.get(f"/api/v1/imports/{bid}/lines", params={"action": "error"}).json()["total"] == 1
    )
    refused = client.post(f"/api/v1/imports/{bid}/commit")
    assert refused.status_code == 422
    assert refused.json()["code"] == "import.has_errors"
    marked = client.get(f"/api/v1/imports/{bid}/errors.xlsx")
    assert marked.status_code == 200
    assert marked.headers["content-disposition"].startswith("attachment;")
    assert marked.headers["x-content-type-options"] == "nosniff"
    wb = openpyxl.load_workbook(io.BytesIO(marked.content))
    assert any(c.value == "错误说明" for row in wb.active.iter_rows() for c in row)
    ok = client.post(f"/api/v1/imports/{bid}/commit", json={"skip_invalid": True})
    assert ok.status_code == 200
    assert ok.json()["status"] == "committed"
    assert client.get(f"/api/v1/imports/{bid}/progress").json()["status"] == "committed"
    listed = client.get("/api/v1/imports").json()
    assert bid in [b["id"] for b in listed["items"]]
    assert client.post(f"/api/v1/imports/{bid}/revert").json()["status"] == "reverted"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (W.zip_bomb(), "ZIP_BOMB"),
        (b"name,code\n1,2\n", "NOT_XLSX"),
        (b"", "EMPTY_FILE"),
        (W.encrypted_xlsx(), "WORKBOOK_ENCRYPTED"),
    ],
    ids=["zip-bomb", "csv-renamed", "empty", "encrypted"],
)
@pytest.mark.parametrize("reader", ["in-process", "child"])
def test_api_refuses_unusable_files_with_their_code(
    api: Callable[..., TestClient],
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    data: bytes,
    code: str,
    reader: str,
) -> None:
    if reader == "child":
        monkeypatch.setattr(imports, "OFFLOAD_BYTES", 0)
    before = digest(session)
    r = upload(api(MANAGER), data, name="坏名单\r\n.xlsx")
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code
    assert r.json()["detail"]
    assert "Traceback" not in r.text
    assert digest(session) == before
    assert session.scalar(sa.select(sa.func.count()).select_from(ImportBatch)) == 0
    [refused] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "import.refused"))
    assert (refused.actor_name, refused.actor_role) == (MANAGER.name, MANAGER.role)
    assert refused.changes["code"] == [None, code]
    assert refused.changes["bytes"] == [None, len(data)]
    assert refused.entity_repr.startswith("拒收的名单：坏名单")
    assert refused.entity_repr.isprintable()  # no control character is ever stored


def test_api_refuses_a_header_less_sheet_and_an_oversized_upload(
    api: Callable[..., TestClient],
) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["随便", "什么", "内容"])
    buf = io.BytesIO()
    wb.save(buf)
    r = upload(api(MANAGER), buf.getvalue())
    assert r.status_code == 422
    assert r.json()["code"] == "NO_ROSTER_FOUND"
    small = api(MANAGER, upload_max_bytes=100 * 1024)
    assert upload(small, b"x" * (300 * 1024)).status_code == 413


def test_api_approval_requires_another_manager(
    api: Callable[..., TestClient], session: Session
) -> None:
    officer = api(OFFICER_DADUKOU, import_requires_approval=True)
    bid = upload(officer, W.roster_xlsx(rows(2))).json()["id"]
    r = officer.post(f"/api/v1/imports/{bid}/commit")
    assert r.json()["status"] == "pending_approval"
    assert officer.post(f"/api/v1/imports/{bid}/approve").status_code == 403
    manager = api(MANAGER, import_requires_approval=True)
    assert manager.post(f"/api/v1/imports/{bid}/approve").json()["status"] == "committed"


def test_api_template_is_an_attachment_prefilled_in_scope(
    api: Callable[..., TestClient], session: Session
) -> None:
    make_enterprise(session, name="模板里的本区公司", district="500104")
    make_enterprise(session, name="模板里的外区公司", district="500115")
    r = api(OFFICER_DADUKOU).get("/api/v1/imports/template.xlsx", params={"district": "500104"})
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment;")
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    names = {c.value for c in wb["企业名单"]["A"]}
    assert "模板里的本区公司" in names
    assert "模板里的外区公司" not in names
    other = api(OFFICER_DADUKOU).get("/api/v1/imports/template.xlsx", params={"district": "500115"})
    assert other.status_code == 403


# ---- the CLI contract -----------------------------------------------------------------------


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    with fresh_database(tmp_path) as engine:
        monkeypatch.setenv(
            "TIERLEDGER_DATABASE_URL", engine.url.render_as_string(hide_password=False)
        )
        monkeypatch.setenv("TIERLEDGER_DATA_DIR", str(tmp_path))
        yield engine


KEYS = {
    "file",
    "sheet",
    "header_row",
    "rows",
    "skipped_rows",
    "created",
    "updated",
    "unchanged",
    "errors",
    "committed",
    "batch_id",
}


def _run(args: list[str]) -> tuple[int, Any]:
    result = CliRunner().invoke(main, args)
    return result.exit_code, result


def test_cli_json_shape_exit_codes_and_revert(cli_db: Engine, tmp_path: Path) -> None:
    good = tmp_path / "good.xlsx"
    good.write_bytes(W.roster_xlsx(rows(3)))
    code, result = _run(["roster", "import", str(good), "--json"])
    assert code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == KEYS
    assert out["created"] == 3
    assert out["committed"] is False
    with cli_db.connect() as conn:
        before = digest(conn)
    code, result = _run(["roster", "import", str(good), "--commit", "--json"])
    out = json.loads(result.stdout)
    assert code == 0
    assert out["committed"] is True
    assert isinstance(out["batch_id"], int)
    code, result = _run(["roster", "import", str(good), "--commit", "--json"])
    assert json.loads(result.stdout)["unchanged"] == 3
    code, result = _run(["roster", "batches"])
    assert code == 0
    assert "committed" in result.output
    code, result = _run(["roster", "revert", str(out["batch_id"])])
    assert code == 0, result.output
    with cli_db.connect() as conn:
        assert digest(conn) == before

    bad_rows = rows(3)
    bad_rows[0]["统一社会信用代码"] = "123"
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(W.roster_xlsx(bad_rows))
    code, result = _run(["roster", "import", str(bad), "--commit", "--json"])
    out = json.loads(result.stdout)
    assert code == 1
    assert out["committed"] is False
    assert out["batch_id"] is None
    assert [(e["row"], e["column"]) for e in out["errors"]] == [(4, "统一社会信用代码")]
    with cli_db.connect() as conn:
        assert digest(conn) == before
    code, result = _run(["roster", "import", str(bad), "--commit", "--skip-invalid", "--json"])
    out = json.loads(result.stdout)
    assert code == 1
    assert out["committed"] is True
    assert out["created"] == 2


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (W.zip_bomb(), "ZIP_BOMB"),
        (b"name,code\n1,2\n", "NOT_XLSX"),
        (b"", "EMPTY_FILE"),
    ],
    ids=["zip-bomb", "csv-renamed", "empty"],
)
def test_cli_exit_2_for_unusable_files(
    cli_db: Engine, tmp_path: Path, data: bytes, code: str
) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(data)
    status, result = _run(["roster", "import", str(path), "--json"])
    assert status == 2
    out = json.loads(result.stdout)
    assert set(out) == KEYS
    assert out["errors"][0]["code"] == code
    status, result = _run(["roster", "import", str(path)])
    assert status == 2
    assert code in result.stderr


def test_cli_empty_workbook_and_no_header(cli_db: Engine, tmp_path: Path) -> None:
    empty = openpyxl.Workbook()
    empty.create_sheet("Sheet2")
    path = tmp_path / "empty.xlsx"
    empty.save(path)
    status, result = _run(["roster", "import", str(path), "--json"])
    assert status == 2, result.output
    [error] = json.loads(result.stdout)["errors"]
    assert error["code"] == "EMPTY_WORKBOOK"
    assert "工作簿是空的" in error["message"]
    status, result = _run(["roster", "import", str(path)])
    assert (status, "EMPTY_WORKBOOK" in result.stderr) == (2, True)
    wb = openpyxl.Workbook()
    wb.active.append(["随便", "什么"])
    wb.save(path)
    status, result = _run(["roster", "import", str(path), "--json"])
    assert status == 2
    assert json.loads(result.stdout)["errors"][0]["code"] == "NO_ROSTER_FOUND"


def test_a_commit_running_in_this_process_is_alive_only_while_it_runs() -> None:
    """A second thread's `fail_stale_batches` must not fail a commit this process still runs
    (PostgreSQL runs two districts' commits at once), and must fail it once it has ended."""
    runner = imports._runner_token()
    assert imports._runner_alive(runner) is False
    imports._live_runs.add(runner)
    try:
        assert imports._runner_alive(runner) is True
    finally:
        imports._live_runs.discard(runner)
    assert imports._runner_alive(runner) is False
    assert imports._runner_alive("another-host|1|1|" + "0" * 32) is None
    assert imports._runner_alive("not a runner") is False


def test_imported_designations_get_their_events_and_anomalies_as_they_happened(
    session: Session, uploads: Path
) -> None:
    """A roster's designations are ladder events like manual ones: each gets its designate
    event, and what is irregular (here a little giant with no specialized-SME title before it)
    is recorded at the import, with the batch as its source, not left for a later scan."""
    giant = W.good_row(1, 企业梯度="专精特新“小巨人”企业")
    batch = preview(session, MANAGER, W.roster_xlsx([giant, W.good_row(2)]), uploads)
    imports.commit(session, MANAGER, batch.id)
    source = f"import:{batch.id}"
    events = session.execute(
        sa.select(DesignationEvent.kind, DesignationEvent.source, Enterprise.credit_code)
        .join(Enterprise, Enterprise.id == DesignationEvent.enterprise_id)
        .order_by(Enterprise.credit_code)
    ).all()
    assert sorted(events) == sorted(
        [
            ("designate", source, giant["统一社会信用代码"]),
            ("designate", source, W.good_row(2)["统一社会信用代码"]),
        ]
    )
    anomalies = session.execute(
        sa.select(LadderAnomaly.kind, LadderAnomaly.source, Enterprise.credit_code).join(
            Enterprise, Enterprise.id == LadderAnomaly.enterprise_id
        )
    ).all()
    assert sorted(anomalies) == sorted(
        [
            ("little_giant_without_specialized", source, giant["统一社会信用代码"]),
            ("skipped_rung", source, W.good_row(2)["统一社会信用代码"]),  # no innovative SME
        ]
    )
    assert compliance.scan(session, MANAGER, today=TODAY).recorded == 0  # nothing left over
    imports.revert(session, MANAGER, batch.id)
    assert session.scalar(sa.select(sa.func.count()).select_from(DesignationEvent)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(LadderAnomaly)) == 0


def test_a_new_title_of_a_ledger_enterprise_is_checked_against_its_whole_ladder(
    session: Session, uploads: Path
) -> None:
    """In one chunk: a created enterprise's designation is its whole ladder, an enterprise the
    ledger holds has its earlier titles read; each gets its event and its own anomalies."""
    held = W.good_row(1, 企业梯度="创新型中小企业")
    first = preview(session, MANAGER, W.roster_xlsx([held]), uploads)
    imports.commit(session, MANAGER, first.id)
    promoted = held | {"企业梯度": "专精特新“小巨人”企业", "认定日期": "2024-06-01"}
    giant = W.good_row(2, 企业梯度="专精特新“小巨人”企业")
    batch = preview(session, MANAGER, W.roster_xlsx([promoted, giant]), uploads)
    assert (batch.created, batch.updated) == (1, 1)
    imports.commit(session, MANAGER, batch.id)
    source = f"import:{batch.id}"
    events = session.execute(
        sa.select(DesignationEvent.kind, Designation.tier_code, Enterprise.credit_code)
        .join(Designation, Designation.id == DesignationEvent.designation_id)
        .join(Enterprise, Enterprise.id == DesignationEvent.enterprise_id)
        .where(DesignationEvent.source == source)
    ).all()
    assert sorted(events) == sorted(
        [
            ("designate", "little_giant", held["统一社会信用代码"]),
            ("designate", "little_giant", giant["统一社会信用代码"]),
        ]
    )
    anomalies = session.execute(
        sa.select(LadderAnomaly.kind, Enterprise.credit_code)
        .join(Enterprise, Enterprise.id == LadderAnomaly.enterprise_id)
        .where(LadderAnomaly.source == source)
    ).all()
    # Neither held the specialized-SME title before it, the held one with its innovative one.
    assert sorted(anomalies) == sorted(
        [
            ("little_giant_without_specialized", held["统一社会信用代码"]),
            ("little_giant_without_specialized", giant["统一社会信用代码"]),
        ]
    )
    assert compliance.scan(session, MANAGER, today=TODAY).recorded == 0


ROOT = Path(__file__).resolve().parents[3]
BOUNDED_API_CHILD = r"""
import json, resource, sys, time
limit = int(sys.argv[1]) * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from pathlib import Path
from fastapi.testclient import TestClient
from service.access.deps import current_actor
from service.app import create_app
from service.config import Settings
from tests.conftest import MANAGER
app = create_app(Settings(data_dir=Path(sys.argv[3])))
app.dependency_overrides[current_actor] = lambda: MANAGER
data = Path(sys.argv[2]).read_bytes()
started = time.perf_counter()
r = TestClient(app).post(
    "/api/v1/imports", files={"file": ("名单.xlsx", data, "application/octet-stream")}
)
print(json.dumps({"status": r.status_code, "code": r.json()["code"],
                  "seconds": time.perf_counter() - started}))
"""


def _limited(megabytes: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))

    return apply


def test_a_zip_bomb_is_refused_in_bounds_through_the_cli_and_the_api(
    cli_db: Engine, tmp_path: Path
) -> None:
    """RELIABILITY 1 end to end: a 1 GiB zip bomb, refused by the real command and the real
    upload in a child limited to 512 MB of address space (its test bound), writing nothing."""
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(W.zip_bomb())
    started = time.monotonic()
    cli = subprocess.run(
        [sys.executable, "-m", "service.cli", "roster", "import", str(bomb), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        preexec_fn=_limited(512),
        check=False,
    )
    assert time.monotonic() - started < 15  # with interpreter start and imports
    assert cli.returncode == 2, cli.stderr[-2000:]
    assert json.loads(cli.stdout)["errors"][0]["code"] == "ZIP_BOMB"
    with cli_db.connect() as conn:  # the command migrated the database, and wrote nothing else
        assert conn.scalar(sa.text("SELECT count(*) FROM enterprise")) == 0
        before = digest(conn)
    api = subprocess.run(
        [sys.executable, "-c", BOUNDED_API_CHILD, "512", str(bomb), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        check=False,
    )
    assert api.returncode == 0, api.stderr[-2000:]
    answer = json.loads(api.stdout.strip().splitlines()[-1])
    assert (answer["status"], answer["code"]) == (422, "ZIP_BOMB")
    assert answer["seconds"] < 10
    with cli_db.connect() as conn:
        assert digest(conn) == before
