"""API shapes for import batches (table models never leave the service)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from service.inputs import Input


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RowErrorOut(_Out):
    row: int
    column: str
    value: str
    code: str
    message: str


class AbsentEnterprise(_Out):
    id: int
    credit_code: str
    name: str


class LineOut(_Out):
    row: int
    action: str
    credit_code: str
    name: str
    enterprise_id: int | None
    diffs: dict[str, Any]


class BatchSummary(_Out):
    id: int
    filename: str
    status: str
    mode: str
    uploaded_by_name: str
    uploaded_at: datetime
    sha256: str
    district_code: str | None
    data_year: int
    sheet: str
    header_row: int
    rows: int
    skipped_rows: int
    created: int
    updated: int
    unchanged: int
    error_rows: int
    same_as_batch_id: int | None
    committed_at: datetime | None
    committed_by_name: str
    decided_by_name: str
    reverted_at: datetime | None


class BatchOut(BatchSummary):
    errors: list[RowErrorOut]
    warnings: list[RowErrorOut]
    notices: list[str]
    absent: list[AbsentEnterprise]
    result: dict[str, Any]


class BatchPreview(BatchOut):
    """A batch with the first page of its lines."""

    lines: list[LineOut]
    lines_total: int


class BatchPage(BaseModel):
    items: list[BatchSummary]
    total: int


class LinePage(BaseModel):
    items: list[LineOut]
    total: int
    page: int
    page_size: int


class ProgressOut(BaseModel):
    status: str
    phase: str
    done: int
    total: int


class CommitIn(Input):
    skip_invalid: bool = False


class RejectIn(Input):
    reason: Annotated[str, Field(max_length=500)] = ""
