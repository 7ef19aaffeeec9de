"""A preview planned part by part while the roster is read in a child process gives the very
batch an in-process preview gives; a file refused half-way, or a reader that dies, leaves
nothing but the refusal's audit entry (issue 6)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from importers import errors as E
from importers import roster
from importers.errors import ImportFileError
from importers.safety import Limits
from service.audit.models import AuditEvent
from service.errors import LedgerError
from service.imports import service as imports
from service.imports.models import ImportBatch, ImportBatchChunk
from tests import workbooks as W
from tests.conftest import MANAGER, TODAY
from tests.dbutil import DIGEST_TABLES, digest
from tests.importers.reference import make_code


def _rows(n: int) -> list[dict[str, Any]]:
    return [
        W.good_row(i, 统一社会信用代码=make_code("500104", 60_000_000 + 7 * i))
        | {"企业名称": f"重庆分段导入{i:03d}有限公司"}
        for i in range(1, n + 1)
    ]


def _roster() -> bytes:
    """Creates, updates, unchanged rows and errors, with errors before, between and after
    the good rows of every part."""
    rows = _rows(30)
    rows[0]["所属区县"] = "火星区"
    rows[7]["营业收入"] = 99.5  # an update of a row the ledger holds
    rows[8]["细分领域"] = "镁合金金"
    rows[16]["统一社会信用代码"] = rows[3]["统一社会信用代码"]  # a duplicate, parts apart
    rows[21]["成立日期"] = "2021-02-30"
    rows[29]["企业名称"] = None
    return W.roster_xlsx(rows, blank_rows_after=[4], notes=["填报人：张三"])


def _batch_view(session: Session, batch: ImportBatch) -> dict[str, Any]:
    lines, total = imports.lines(session, batch, page_size=1000)
    return {
        "counts": (batch.rows, batch.skipped_rows, batch.created, batch.updated, batch.unchanged),
        "error_rows": batch.error_rows,
        "errors": batch.errors,
        "warnings": batch.warnings,
        "notices": batch.notices,
        "absent": batch.absent,
        "header": (batch.sheet, batch.header_row),
        "lines": [
            (
                ln.row,
                ln.action,
                ln.credit_code,
                ln.name,
                ln.enterprise_id,
                ln.fingerprint,
                ln.payload,
                ln.diffs,
            )
            for ln in lines
        ],
        "total": total,
    }


@pytest.mark.parametrize("chunk_lines", [1, 4, 1000])
def test_a_streamed_preview_plans_what_an_in_process_one_plans(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_lines: int
) -> None:
    held = _rows(12)[5:10]  # rows 6–10 are in the ledger already
    first = imports.preview(
        session, MANAGER, filename="旧.xlsx", data=W.roster_xlsx(held), today=TODAY
    )
    imports.commit(session, MANAGER, first.id or 0)
    data = _roster()
    monkeypatch.setattr(imports, "CHUNK_LINES", chunk_lines)
    views = []
    for offload_bytes in (1 << 40, 0):  # in this process, then in a child
        monkeypatch.setattr(imports, "OFFLOAD_BYTES", offload_bytes)
        batch = imports.preview(
            session, MANAGER, filename="名单.xlsx", data=data, today=TODAY, uploads_dir=tmp_path
        )
        views.append(_batch_view(session, batch))
    here, child = views
    assert child == here
    assert here["counts"][2:] == (21, 1, 3)
    assert here["error_rows"] == 5
    assert [ln[1] for ln in here["lines"]].count("error") == 5
    rows = [ln[0] for ln in here["lines"]]
    assert rows == sorted(rows)
    chunks = session.scalars(
        sa.select(ImportBatchChunk).where(ImportBatchChunk.batch_id == batch.id)
    ).all()
    good = [c.creates + c.updates + c.unchanged for c in chunks]
    assert all(n <= chunk_lines for n in good)
    # And the streamed preview commits.
    committed = imports.commit(session, MANAGER, batch.id or 0, skip_invalid=True)
    assert (committed.status, committed.created, committed.updated) == ("committed", 21, 1)


def _refusals(session: Session) -> int:
    return (
        session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "import.refused")) or 0
    )


@pytest.mark.parametrize("offload_bytes", [1 << 40, 0])
def test_a_file_refused_half_way_leaves_only_its_refusal(
    session: Session, monkeypatch: pytest.MonkeyPatch, offload_bytes: int
) -> None:
    # Only the 21st row shows that the file is over the limit: parts were planned by then.
    monkeypatch.setattr(imports, "CHUNK_LINES", 3)
    monkeypatch.setattr(imports, "OFFLOAD_BYTES", offload_bytes)
    data = W.roster_xlsx(_rows(30))
    before = digest(session, (*DIGEST_TABLES, "import_batch", "import_batch_chunk"))
    refusals = _refusals(session)
    with pytest.raises(LedgerError) as caught:
        imports.preview(
            session,
            MANAGER,
            filename="名单.xlsx",
            data=data,
            today=TODAY,
            limits=Limits(max_rows=20),
        )
    assert caught.value.status == 422
    assert caught.value.code == E.TOO_MANY_ROWS
    assert _refusals(session) == refusals + 1
    assert digest(session, (*DIGEST_TABLES, "import_batch", "import_batch_chunk")) == before


def test_a_reader_that_dies_half_way_refuses_the_file(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = imports.offload.stream

    def dies(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for item in real(*args, **kwargs):
            yield item
            if isinstance(item, roster.Part):
                raise ImportFileError(E.READER_FAILED, "读取文件时读取进程意外退出（退出码 -9）")

    monkeypatch.setattr(imports.offload, "stream", dies)
    monkeypatch.setattr(imports, "OFFLOAD_BYTES", 0)
    monkeypatch.setattr(imports, "CHUNK_LINES", 3)
    refusals = _refusals(session)
    with pytest.raises(LedgerError) as caught:
        imports.preview(
            session, MANAGER, filename="名单.xlsx", data=W.roster_xlsx(_rows(12)), today=TODAY
        )
    assert caught.value.code == E.READER_FAILED
    assert "退出码" in str(caught.value.detail)
    assert _refusals(session) == refusals + 1
    assert session.scalar(sa.select(sa.func.count()).select_from(ImportBatch)) == 0
