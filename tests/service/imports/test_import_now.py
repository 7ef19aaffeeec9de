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
from importers.safety import Limits
from service.audit.models import AuditEvent
from service.errors import LedgerError
from service.imports import service as imports
from service.imports.models import ImportBatch, ImportBatchChunk
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


def test_new_rows_after_the_reader_stopped_guessing_are_written(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two hundred rows the ledger holds make the caller tell the reader to stop guessing (in
    # parts of one row, the reader is at most a pipe's worth of parts ahead); the ten new rows
    # after them then come unguessed, and the caller must plan them itself.
    rows = _rows(210)
    held = W.roster_xlsx(rows[:200])
    first = imports.preview(session, MANAGER, filename="旧.xlsx", data=held, today=TODAY)
    imports.commit(session, MANAGER, first.id or 0)
    monkeypatch.setattr(imports, "CHUNK_LINES", 1)
    monkeypatch.setattr(imports, "OFFLOAD_BYTES", CHILD)
    data = W.roster_xlsx(rows)
    with session.begin_nested() as two_steps:
        batch = imports.preview(session, MANAGER, filename="名单.xlsx", data=data, today=TODAY)
        batch = imports.commit(session, MANAGER, batch.id or 0)
        expected = _outcome(session, batch)
        two_steps.rollback()

    batch = imports.import_now(session, MANAGER, filename="名单.xlsx", data=data, today=TODAY)
    assert (batch.created, batch.unchanged) == (10, 200)
    assert _outcome(session, batch) == expected
