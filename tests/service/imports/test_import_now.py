"""`import_now`, the one pass behind `roster import --commit`: each part written as soon as it
is planned leaves the ledger, the batch and its audit trail as preview-then-commit leaves them;
an error found after parts were written writes nothing; a refusal leaves only itself; the
batch reverts exactly (issue 6)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from importers import errors as E
from importers import roster
from importers.safety import Limits
from service.audit.models import AuditEvent
from service.errors import LedgerError
from service.imports import guess, lines, plan
from service.imports import service as imports
from service.imports.models import ImportBatch, ImportBatchChunk
from service.reference import service as reference_service
from tests import workbooks as W
from tests.conftest import MANAGER, OFFICER_DADUKOU, TODAY
from tests.dbutil import DIGEST_TABLES, digest
from tests.reliability.import_helpers import content_digest
from tests.service.imports.test_streamed_preview import _batch_view, _refusals, _roster, _rows

IN_PROCESS, CHILD = 1 << 40, 0  # OFFLOAD_BYTES: read here, or in a child process


def _clean_roster() -> bytes:
    rows = _rows(30)
    rows[7]["营业收入"] = 99.5  # an update of a row the ledger holds
    return W.roster_xlsx(rows, blank_rows_after=[4], notes=["填报人：张三"])


def _hold_rows_6_to_10(session: Session) -> None:
    held = _rows(12)[5:10]
    first = imports.preview(
        session, MANAGER, filename="旧.xlsx", data=W.roster_xlsx(held), today=TODAY
    )
    imports.commit(session, MANAGER, first.id or 0)


def _outcome(session: Session, batch: ImportBatch) -> dict[str, Any]:
    """What an import leaves: the ledger's content, the batch as the API shows it, its events."""
    conn = session.connection()
    counts = {
        t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar()
        for t in ("designation_event", "ladder_anomaly")
    }
    actions = Counter(
        session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.source == f"import:{batch.id}")
        )
    )
    undone = session.scalars(
        sa.select(ImportBatchChunk.undo.is_not(None)).where(  # type: ignore[union-attr]
            ImportBatchChunk.batch_id == batch.id
        )
    ).all()
    view = _batch_view(session, batch)
    # A created enterprise's id is the database's to give (PostgreSQL never reuses one).
    view["lines"] = [
        (*ln[:4], None if ln[1] == "create" else ln[4], *ln[5:]) for ln in view["lines"]
    ]
    return {
        "content": content_digest(conn),
        "counts": counts,
        "batch": view,
        "status": (batch.status, batch.mode, batch.committed_by_name),
        "actions": actions,
        "undo": sorted(undone),
    }


@pytest.mark.parametrize(
    ("chunk_lines", "offload_bytes", "skip_invalid"),
    [(1, IN_PROCESS, False), (4, CHILD, False), (1000, IN_PROCESS, False), (3, CHILD, True)],
)
def test_one_pass_leaves_what_preview_then_commit_leaves(
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    chunk_lines: int,
    offload_bytes: int,
    skip_invalid: bool,
) -> None:
    _hold_rows_6_to_10(session)
    data = _roster() if skip_invalid else _clean_roster()
    monkeypatch.setattr(imports, "CHUNK_LINES", chunk_lines)
    monkeypatch.setattr(imports, "OFFLOAD_BYTES", offload_bytes)
    before = digest(session)

    with session.begin_nested() as two_steps:
        batch = imports.preview(session, MANAGER, filename="名单.xlsx", data=data, today=TODAY)
        batch = imports.commit(session, MANAGER, batch.id or 0, skip_invalid=skip_invalid)
        expected = _outcome(session, batch)
        two_steps.rollback()
    assert digest(session) == before

    batch = imports.import_now(
        session, MANAGER, filename="名单.xlsx", data=data, today=TODAY, skip_invalid=skip_invalid
    )
    got = _outcome(session, batch)
    assert got == expected
    assert got["status"] == (
        "committed",
        "skip_invalid" if skip_invalid else "all_or_nothing",
        MANAGER.name,
    )
    created, updated = (21, 1) if skip_invalid else (25, 1)
    assert (batch.created, batch.updated, batch.unchanged) == (created, updated, 4 - skip_invalid)
    assert got["actions"] == {
        "import.preview": 1,
        "import.create": created,
        "import.update": updated,
        "import.commit": 1,
    }
    assert batch.error_rows == (5 if skip_invalid else 0)

    # Each chunk kept what revert needs: the ledger goes back exactly.
    imports.revert(session, MANAGER, batch.id or 0)
    assert digest(session) == before


@pytest.mark.parametrize("offload_bytes", [IN_PROCESS, CHILD])
def test_an_error_found_after_parts_were_written_writes_nothing(
    session: Session, monkeypatch: pytest.MonkeyPatch, offload_bytes: int
) -> None:
    _hold_rows_6_to_10(session)
    rows = _rows(30)
    rows[7]["营业收入"] = 99.5
    rows[26]["成立日期"] = "2021-02-30"  # in the ninth part of three rows: eight were written
    data = W.roster_xlsx(rows)
    monkeypatch.setattr(imports, "CHUNK_LINES", 3)
    monkeypatch.setattr(imports, "OFFLOAD_BYTES", offload_bytes)
    before = digest(session)
    batches = session.scalar(sa.select(sa.func.count()).select_from(ImportBatch))

    batch = imports.import_now(session, MANAGER, filename="名单.xlsx", data=data, today=TODAY)

    assert digest(session) == before
    assert batch.status == "previewed"
    assert (batch.created, batch.updated, batch.unchanged, batch.error_rows) == (24, 1, 4, 1)
    assert [(e["row"], e["code"]) for e in batch.errors] == [(30, "DATE_INVALID")]
    assert session.scalar(sa.select(sa.func.count()).select_from(ImportBatch)) == batches + 1
    actions = set(
        session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.source == f"import:{batch.id}")
        )
    )
    assert actions == {"import.preview"}
    assert not session.scalars(
        sa.select(ImportBatchChunk.id).where(
            ImportBatchChunk.batch_id == batch.id,
            ImportBatchChunk.undo.is_not(None),  # type: ignore[union-attr]
        )
    ).all()
    # It is an ordinary preview: the valid rows can still be committed.
    committed = imports.commit(session, MANAGER, batch.id or 0, skip_invalid=True)
    assert (committed.status, committed.created, committed.updated) == ("committed", 24, 1)


@pytest.mark.parametrize("offload_bytes", [IN_PROCESS, CHILD])
def test_a_file_refused_half_way_leaves_only_its_refusal(
    session: Session, monkeypatch: pytest.MonkeyPatch, offload_bytes: int
) -> None:
    # Only the 21st row shows that the file is over the limit: six parts were written by then.
    monkeypatch.setattr(imports, "CHUNK_LINES", 3)
    monkeypatch.setattr(imports, "OFFLOAD_BYTES", offload_bytes)
    tables = (*DIGEST_TABLES, "import_batch", "import_batch_chunk")
    before = digest(session, tables)
    refusals = _refusals(session)
    with pytest.raises(LedgerError) as caught:
        imports.import_now(
            session,
            MANAGER,
            filename="名单.xlsx",
            data=W.roster_xlsx(_rows(30)),
            today=TODAY,
            limits=Limits(max_rows=20),
        )
    assert caught.value.code == E.TOO_MANY_ROWS
    assert _refusals(session) == refusals + 1
    assert digest(session, tables) == before
    assert not session.scalars(
        sa.select(AuditEvent.id).where(AuditEvent.action == "import.create")
    ).all()


@pytest.mark.parametrize("offload_bytes", [IN_PROCESS, CHILD])
def test_the_same_file_again_changes_nothing_and_says_so(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offload_bytes: int
) -> None:
    # In a child, the reader guesses each part new until the caller finds it in the ledger.
    monkeypatch.setattr(imports, "CHUNK_LINES", 4)
    monkeypatch.setattr(imports, "OFFLOAD_BYTES", offload_bytes)
    data = _clean_roster()
    first = imports.import_now(
        session, MANAGER, filename="名单.xlsx", data=data, today=TODAY, uploads_dir=tmp_path
    )
    assert (first.status, first.created) == ("committed", 30)
    assert (tmp_path / first.stored_name).read_bytes() == data
    before = digest(session)
    again = imports.import_now(session, MANAGER, filename="名单.xlsx", data=data, today=TODAY)
    assert (again.status, again.created, again.updated, again.unchanged) == ("committed", 0, 0, 30)
    assert again.same_as_batch_id == first.id
    assert again.notices[0] == f"文件内容与批次{first.id}相同，无变化"
    assert digest(session) == before


def test_an_officer_whose_imports_need_approval_is_sent_for_it(session: Session) -> None:
    before = digest(session)
    batch = imports.import_now(
        session,
        OFFICER_DADUKOU,
        filename="名单.xlsx",
        data=_clean_roster(),
        today=TODAY,
        requires_approval=True,
    )
    assert (batch.status, batch.created) == ("pending_approval", 30)
    assert digest(session) == before


@pytest.mark.parametrize("chunk_lines", [1, 7])
def test_enterprises_in_the_ledger_and_new_ones_mixed_are_planned_each_once(
    session: Session, monkeypatch: pytest.MonkeyPatch, chunk_lines: int
) -> None:
    # The reader plans the new enterprises, the caller those the ledger holds: in parts of one
    # row each part is one or the other, in parts of seven some hold both.
    rows = _rows(40)
    for i in range(0, 40, 3):
        rows[i]["营业收入"] = 50 + i  # updates among the unchanged
    held = W.roster_xlsx([r for i, r in enumerate(_rows(40)) if i % 5 != 2])
    first = imports.preview(session, MANAGER, filename="旧.xlsx", data=held, today=TODAY)
    imports.commit(session, MANAGER, first.id or 0)
    monkeypatch.setattr(imports, "CHUNK_LINES", chunk_lines)
    monkeypatch.setattr(imports, "OFFLOAD_BYTES", CHILD)
    data = W.roster_xlsx(rows)
    with session.begin_nested() as two_steps:
        batch = imports.preview(session, MANAGER, filename="名单.xlsx", data=data, today=TODAY)
        batch = imports.commit(session, MANAGER, batch.id or 0)
        expected = _outcome(session, batch)
        two_steps.rollback()

    batch = imports.import_now(session, MANAGER, filename="名单.xlsx", data=data, today=TODAY)
    assert (batch.created, batch.updated, batch.unchanged) == (8, 12, 20)
    assert _outcome(session, batch) == expected


def test_an_enterprise_entered_while_the_import_ran_fails_it_whole(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reader plans as new the enterprises the ledger did not hold when the import began.
    # One entered since (on PostgreSQL another transaction can) is found when its part is
    # written: the import stops with a conflict and writes nothing, never a second enterprise.
    _hold_rows_6_to_10(session)
    monkeypatch.setattr(imports.enterprise_service, "all_credit_codes", lambda _session: [])
    monkeypatch.setattr(imports, "CHUNK_LINES", 3)
    monkeypatch.setattr(imports, "OFFLOAD_BYTES", CHILD)
    tables = (*DIGEST_TABLES, "import_batch", "import_batch_chunk")
    before = digest(session, tables)
    with pytest.raises(LedgerError) as caught, session.begin_nested():
        imports.import_now(
            session, MANAGER, filename="名单.xlsx", data=_clean_roster(), today=TODAY
        )
    assert (caught.value.code, caught.value.status) == ("import.concurrent_create", 409)
    # Rows 10-14 hold them; the part of rows 7, 9 and 10 is the first to show one.
    assert caught.value.extra == {"rows": [10]}
    assert "第10行的企业已由他人录入台账" in (caught.value.detail or "")
    assert digest(session, tables) == before


@pytest.mark.parametrize(
    ("known", "planned_by_reader"),
    [
        (range(0), [1, 2, 3, 4, 5, 6]),  # a first import: the reader plans every row
        (range(1, 7), []),  # a re-import: none, the part comes as read
        (range(2, 5), [1, 5, 6]),  # a part of both
    ],
)
def test_the_reader_plans_only_enterprises_the_ledger_did_not_hold(
    session: Session, known: range, planned_by_reader: list[int]
) -> None:
    rows = _rows(6)
    rows[2]["成立日期"] = "2021-02-30"  # a parse error in the part
    items = list(
        roster.stream(
            W.roster_xlsx(rows),
            "名单.xlsx",
            reference_service.vocabulary(session),
            data_year=2024,
            part_rows=10,
        )
    )
    found, part = items[0], items[1]
    assert isinstance(found, roster.Found)
    assert isinstance(part, roster.Part)
    tiers = {
        t.code: plan.TierInfo(t.code, t.name, t.validity_years)
        for t in reference_service.tiers(session)
    }
    base = plan.Context(
        data_year=2024,
        tiers=tiers,
        district_names={d.code: d.name for d in reference_service.vocabulary(session).districts},
        lengths=imports._text_lengths(),
    )
    codes = guess.CodeSet(rows[i - 1]["统一社会信用代码"] for i in known)
    by_row = {r.row - 3: r for r in part.rows}  # data row i is sheet row i + 3

    got = guess.guess(found, part, guess.Guessing(base, codes))

    if not planned_by_reader:
        assert got is part
        return
    assert isinstance(got, guess.GuessedPart)
    assert got.keys == guess.keys(part)
    assert got.known == [r for r in part.rows if r.row - 3 in known]
    assert got.error_rows == [6]
    # Its lines are what the caller's planning of those rows as new enterprises gives.
    new = [by_row[i] for i in planned_by_reader if i in by_row]
    expected = [
        lines.from_plan(p) for p in plan.build(new, {}, plan.with_header(base, found)).lines
    ]
    assert [ln.row for ln in expected] == [i + 3 for i in planned_by_reader if i != 3]
    assert got.lines == expected
    assert [(ln.row, ln.action) for ln in lines.decode(got.blob)] == sorted(
        [(ln.row, ln.action) for ln in expected] + [(6, "error")]
    )
