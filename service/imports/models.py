"""Import batches and their plan lines: every upload kept, with what it did and how to undo it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from service.db import TimestampedTable, UTCDateTime, utcnow

BATCH_STATUSES = (
    "previewed",
    "pending_approval",
    "running",
    "committed",
    "rejected",
    "reverted",
    "failed",
)
LINE_ACTIONS = ("create", "update", "unchanged", "error")
# Plan lines are stored this many to a chunk row (compressed JSON, see packing.py).
CHUNK_LINES = 1000


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_type=sa.JSON, nullable=False)


class ImportBatch(TimestampedTable, table=True):
    """One uploaded roster: who, when, which file (stored under a generated name), its counts,
    its errors and where it stands."""

    __tablename__ = "import_batch"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('previewed', 'pending_approval', 'running', 'committed', 'rejected', "
            "'reverted', 'failed')",
            name="status",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    uploaded_by_id: int | None = Field(default=None, index=True)
    uploaded_by_name: str = Field(default="", max_length=100)
    uploaded_by_role: str = Field(default="", max_length=20)
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    filename: str = Field(default="", max_length=300)  # as the user named it; escape when shown
    stored_name: str = Field(default="", max_length=80)  # generated, inside data_dir/uploads
    sha256: str = Field(max_length=64, index=True)
    size: int = 0
    district_code: str | None = Field(
        default=None, foreign_key="district.code", index=True, max_length=8
    )
    data_year: int
    sheet: str = Field(default="", max_length=100)
    header_row: int = 0
    status: str = Field(default="previewed", max_length=20, index=True)
    mode: str = Field(default="", max_length=20)  # all_or_nothing / skip_invalid
    rows: int = 0
    skipped_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_rows: int = 0
    errors: list[dict[str, Any]] = _json(list)
    warnings: list[dict[str, Any]] = _json(list)
    notices: list[str] = _json(list)
    absent: list[dict[str, Any]] = _json(list)
    same_as_batch_id: int | None = None
    committed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    committed_by_id: int | None = None
    committed_by_name: str = Field(default="", max_length=100)
    decided_by_id: int | None = None  # the manager who approved or rejected
    decided_by_name: str = Field(default="", max_length=100)
    reverted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reverted_by_name: str = Field(default="", max_length=100)
    result: dict[str, Any] = _json(dict)
    # While a commit runs (status running): host|pid|process start|token of the process doing
    # it, so whoever opens the database next can tell a live commit from a killed one.
    runner: str = Field(default="", max_length=200)


class ImportBatchChunk(TimestampedTable, table=True):
    """Up to CHUNK_LINES consecutive lines of a batch's plan, in one compressed JSON blob.

    One row per roster row made 100 000 JSON rows per preview and one UPDATE each at commit;
    a chunk is written once at preview and once more at commit (its `undo`). `lines` holds
    [row, action, credit code, name, enterprise id, fingerprint, payload, diffs as JSON text]
    per line: `payload` is what commit writes (the workbook is never parsed again), `diffs`
    what the preview shows ({field: [old, new]}), `fingerprint` the ledger state it was planned
    against. `undo` is what commit changed, for revert. The counts let a reader skip chunks."""

    __tablename__ = "import_batch_chunk"
    __table_args__ = (sa.UniqueConstraint("batch_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="import_batch.id", index=True, ondelete="CASCADE")
    seq: int
    first_row: int
    last_row: int
    creates: int = 0
    updates: int = 0
    unchanged: int = 0
    errors: int = 0
    lines: bytes = Field(sa_type=sa.LargeBinary, nullable=False)
    undo: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
