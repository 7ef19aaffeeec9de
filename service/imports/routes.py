"""HTTP edge for roster imports: upload → preview → commit / approve / reject → revert."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from importers.errors import FILE_ERROR_CODES
from service.access.deps import CanApproveImports, CanImport, CanReadImports
from service.config import Settings
from service.db import SessionDep
from service.downloads import XLSX, content_disposition
from service.enterprises.routes import today
from service.errors import FieldError, LedgerError, invalid
from service.imports import service
from service.imports.models import ImportBatch
from service.imports.schemas import (
    BatchOut,
    BatchPage,
    BatchPreview,
    BatchSummary,
    CommitIn,
    LineOut,
    LinePage,
    ProgressOut,
    RejectIn,
)

router = APIRouter(prefix="/api/v1/imports", tags=["名单导入"])
READ_CHUNK = 1024 * 1024


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _uploads(request: Request) -> Path:
    return _settings(request).data_dir / "uploads"


def _limits(request: Request) -> Any:
    from importers.safety import Limits

    settings = _settings(request)
    return Limits(max_upload_bytes=settings.upload_max_bytes, max_rows=settings.import_max_rows)


def _too_large(limit: int) -> LedgerError:
    return LedgerError(
        "http.too_large",
        "上传内容过大",
        413,
        f"上传文件不能超过 {limit // (1024 * 1024)} MB",
    )


def _preview(session: Any, batch: ImportBatch) -> BatchPreview:
    lines, total = service.lines(session, batch, page=1, page_size=100)
    return BatchPreview(
        **BatchOut.model_validate(batch).model_dump(),
        lines=[LineOut.model_validate(line) for line in lines],
        lines_total=total,
    )


@router.post(
    "",
    response_model=BatchPreview,
    status_code=201,
    summary="上传企业名单并预览",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "district": {"type": "string"},
                            "data_year": {"type": "integer"},
                            "sheet": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
)
async def upload(
    request: Request,
    session: SessionDep,
    actor: CanImport,
    district: Annotated[str | None, Query(max_length=40)] = None,
    data_year: Annotated[int | None, Query(ge=1949, le=2100)] = None,
    sheet: Annotated[str | None, Query(max_length=100)] = None,
) -> BatchPreview:
    limit = _settings(request).upload_max_bytes
    # Refused before the body is read: a declared size over the limit, or none at all.
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit():
        raise LedgerError("http.length_required", "缺少 Content-Length", 411, "请随文件声明大小")
    if int(declared) > limit + 64 * 1024:
        raise _too_large(limit)
    form = await request.form(max_files=1, max_fields=10, max_part_size=64 * 1024)
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise invalid([FieldError("file", "required", "请选择要上传的名单文件")])
    chunks, size = [], 0
    while block := await file.read(READ_CHUNK):
        size += len(block)
        if size > limit:
            raise _too_large(limit)
        chunks.append(block)
    data = b"".join(chunks)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if data_year is None and fields.get("data_year", "").strip().isdigit():
        data_year = int(fields["data_year"])
    district = district or fields.get("district") or None
    sheet = sheet or fields.get("sheet") or None
    day = today(request)

    def run() -> BatchPreview:
        try:
            batch = service.preview(
                session,
                actor,
                filename=file.filename or "roster.xlsx",
                data=data,
                today=day,
                district=district,
                data_year=data_year,
                sheet=sheet,
                limits=_limits(request),
                uploads_dir=_uploads(request),
            )
        except LedgerError as exc:
            if exc.code in FILE_ERROR_CODES:
                session.commit()  # the refusal's audit entry, as a failed login's
            raise
        return _preview(session, batch)

    return await run_in_threadpool(run)


@router.get("", response_model=BatchPage, summary="导入批次列表")
def list_batches(
    session: SessionDep,
    actor: CanReadImports,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> BatchPage:
    items, total = service.list_batches(session, actor, page=page, page_size=page_size)
    return BatchPage(items=[BatchSummary.model_validate(b) for b in items], total=total)


@router.get(
    "/template.xlsx",
    summary="下载名单模板",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def template(
    request: Request,
    session: SessionDep,
    actor: CanReadImports,
    district: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    data = service.template(session, actor, today=today(request), district=district)
    return Response(
        data,
        media_type=XLSX,
        headers={
            "Content-Disposition": content_disposition("企业名单模板.xlsx"),
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/{batch_id}", response_model=BatchPreview, summary="导入批次（预览）")
def get_batch(session: SessionDep, actor: CanReadImports, batch_id: int) -> BatchPreview:
    return _preview(session, service.get_batch(session, actor, batch_id))


@router.get("/{batch_id}/lines", response_model=LinePage, summary="导入批次的逐行结果")
def get_lines(
    session: SessionDep,
    actor: CanReadImports,
    batch_id: int,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
    action: Annotated[str, Query(pattern="^(|create|update|unchanged|error)$")] = "",
) -> LinePage:
    batch = service.get_batch(session, actor, batch_id)
    items, total = service.lines(session, batch, page=page, page_size=page_size, action=action)
    return LinePage(
        items=[LineOut.model_validate(line) for line in items],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/{batch_id}/progress", response_model=ProgressOut, summary="导入进度")
def get_progress(session: SessionDep, actor: CanReadImports, batch_id: int) -> ProgressOut:
    return ProgressOut(**service.progress_of(service.get_batch(session, actor, batch_id)))


@router.get(
    "/{batch_id}/errors.xlsx",
    summary="下载标注了错误的名单",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def errors_xlsx(
    request: Request, session: SessionDep, actor: CanReadImports, batch_id: int
) -> Response:
    batch = service.get_batch(session, actor, batch_id)
    data = service.error_workbook(batch, _uploads(request), limits=_limits(request))
    return Response(
        data,
        media_type=XLSX,
        headers={
            "Content-Disposition": content_disposition(f"错误标注_批次{batch.id}.xlsx"),
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/{batch_id}/commit", response_model=BatchOut, summary="确认导入")
def commit(
    request: Request,
    session: SessionDep,
    actor: CanImport,
    batch_id: int,
    body: CommitIn | None = None,
) -> BatchOut:
    batch = service.commit(
        session,
        actor,
        batch_id,
        skip_invalid=bool(body and body.skip_invalid),
        requires_approval=_settings(request).import_requires_approval,
        checkpoint=session.commit,  # the running marker is durable before the long write
    )
    return BatchOut.model_validate(batch)


@router.post("/{batch_id}/approve", response_model=BatchOut, summary="审批通过并导入")
def approve(session: SessionDep, actor: CanApproveImports, batch_id: int) -> BatchOut:
    return BatchOut.model_validate(
        service.approve(session, actor, batch_id, checkpoint=session.commit)
    )


@router.post("/{batch_id}/reject", response_model=BatchOut, summary="驳回")
def reject(
    session: SessionDep, actor: CanApproveImports, batch_id: int, body: RejectIn | None = None
) -> BatchOut:
    return BatchOut.model_validate(
        service.reject(session, actor, batch_id, reason=body.reason if body else "")
    )


@router.post("/{batch_id}/revert", response_model=BatchOut, summary="撤销导入")
def revert(session: SessionDep, actor: CanApproveImports, batch_id: int) -> BatchOut:
    return BatchOut.model_validate(service.revert(session, actor, batch_id))
