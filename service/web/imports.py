"""Import pages: upload → preview → confirm → progress → result, batch history, template."""

from __future__ import annotations

import contextlib
import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from service.db import SessionDep
from service.downloads import XLSX, content_disposition
from service.enterprises.routes import today
from service.errors import LedgerError
from service.imports import service as import_service
from service.reference import service as reference_service
from service.web.routes import render
from service.web.session import PageUser, page_require

router = APIRouter(include_in_schema=False)

Reader = Annotated[PageUser, page_require("import.read")]
Importer = Annotated[PageUser, page_require("import.write")]
Approver = Annotated[PageUser, page_require("import.approve")]

STATUS_ZH = {
    "previewed": "待确认",
    "pending_approval": "待审批",
    "committed": "已导入",
    "rejected": "已驳回",
    "reverted": "已撤销",
    "failed": "失败",
    "running": "导入中",
}
# The id the upload page gives each upload, to poll its preview's progress by.
_UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
ACTION_ZH = {"create": "新增", "update": "更新", "unchanged": "无变化", "error": "有错误"}


def _uploads(request: Request) -> Any:
    return request.app.state.settings.data_dir / "uploads"


def _limits(request: Request) -> Any:
    from importers.safety import Limits

    settings = request.app.state.settings
    return Limits(max_upload_bytes=settings.upload_max_bytes, max_rows=settings.import_max_rows)


def _districts(session: SessionDep) -> dict[str, str]:
    return {d.code: d.name for d in reference_service.districts(session)}


def _index(
    request: Request, session: SessionDep, me: PageUser, *, error: str = "", status: int = 200
) -> HTMLResponse:
    batches, total = import_service.list_batches(session, me.actor, page=1, page_size=50)
    names = _districts(session)
    return render(
        request,
        "imports.html",
        {
            "me": me,
            "batches": batches,
            "total": total,
            "districts": reference_service.districts(session),
            "district_names": names,
            "status_zh": STATUS_ZH,
            "year": today(request).year - 1,
            "error": error,
            "upload_id": secrets.token_urlsafe(16),
            "_district_names": names,
        },
        status_code=status,
    )


@router.get("/imports", response_class=HTMLResponse)
def imports_page(request: Request, session: SessionDep, me: Reader) -> HTMLResponse:
    return _index(request, session, me)


@router.post("/imports", response_class=HTMLResponse)
async def upload(request: Request, session: SessionDep, me: Importer) -> Response:
    form = await request.form()  # already parsed (and size-checked) by the CSRF check
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _index(request, session, me, error="请选择要上传的名单文件", status=422)
    data = await file.read()
    year_text = str(form.get("data_year", "")).strip()
    district = str(form.get("district", "")).strip() or None
    sheet = str(form.get("sheet", "")).strip() or None
    day = today(request)
    upload_id = str(form.get("upload_id", ""))
    watched = (
        import_service.watched_preview(me.actor.id, upload_id)
        if _UPLOAD_ID.fullmatch(upload_id)
        else contextlib.nullcontext(None)
    )

    def run() -> int:
        with watched as progress:
            batch = import_service.preview(
                session,
                me.actor,
                filename=file.filename or "roster.xlsx",
                data=data,
                today=day,
                district=district,
                data_year=int(year_text) if year_text.isdigit() else None,
                sheet=sheet,
                limits=_limits(request),
                uploads_dir=_uploads(request),
                progress=progress,
            )
        return batch.id or 0

    try:
        batch_id = await run_in_threadpool(run)
    except LedgerError as exc:
        if exc.status not in (400, 413, 422):
            raise
        message = exc.detail or exc.title
        if exc.fields:
            message = "；".join(f.message for f in exc.fields)
        return _index(request, session, me, error=message, status=exc.status)
    return RedirectResponse(f"/imports/{batch_id}", 303)


@router.get("/imports/uploads/{upload_id}/progress")
def upload_progress(
    me: Importer, upload_id: Annotated[str, Path(pattern=_UPLOAD_ID.pattern)]
) -> JSONResponse:
    """How far the preview of this user's upload has got, for the upload page's progress bar."""
    return JSONResponse(import_service.preview_progress(me.actor.id, upload_id))


@router.get("/imports/template.xlsx")
def template(
    request: Request,
    session: SessionDep,
    me: Reader,
    district: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    data = import_service.template(
        session, me.actor, today=today(request), district=district or None
    )
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": content_disposition("企业名单模板.xlsx")},
    )


@router.get("/imports/{batch_id}", response_class=HTMLResponse)
def batch_page(
    request: Request,
    session: SessionDep,
    me: Reader,
    batch_id: int,
    action: Annotated[str, Query(pattern="^(|create|update|unchanged|error)$")] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    batch = import_service.get_batch(session, me.actor, batch_id)
    lines, total = import_service.lines(session, batch, page=page, page_size=100, action=action)
    names = _districts(session)
    return render(
        request,
        "import_batch.html",
        {
            "me": me,
            "b": batch,
            "lines": lines,
            "lines_total": total,
            "action": action,
            "page": page,
            "pages": max(1, -(-total // 100)),
            "status_zh": STATUS_ZH,
            "action_zh": ACTION_ZH,
            "district_names": names,
            "names": {
                "district": names,
                "subsector": {n.code: n.name for n in reference_service.subsectors(session)},
                "tier": {t.code: t.name for t in reference_service.tiers(session)},
            },
            "can_commit": me.actor.role in {"admin", "manager", "district_officer"},
            "can_approve": me.actor.role in {"admin", "manager"}
            and batch.uploaded_by_id != me.actor.id,
            "_district_names": names,
        },
    )


@router.get("/imports/{batch_id}/progress")
def progress(session: SessionDep, me: Reader, batch_id: int) -> JSONResponse:
    batch = import_service.get_batch(session, me.actor, batch_id)
    return JSONResponse(import_service.progress_of(batch))


@router.get("/imports/{batch_id}/errors.xlsx")
def errors_xlsx(request: Request, session: SessionDep, me: Reader, batch_id: int) -> Response:
    batch = import_service.get_batch(session, me.actor, batch_id)
    data = import_service.error_workbook(batch, _uploads(request), limits=_limits(request))
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": content_disposition(f"错误标注_批次{batch.id}.xlsx")},
    )


@router.post("/imports/{batch_id}/commit", response_class=HTMLResponse)
async def commit(request: Request, session: SessionDep, me: Importer, batch_id: int) -> Response:
    form = await request.form()
    skip_invalid = form.get("skip_invalid") == "on"
    requires_approval = request.app.state.settings.import_requires_approval
    try:
        await run_in_threadpool(
            import_service.commit,
            session,
            me.actor,
            batch_id,
            skip_invalid=skip_invalid,
            requires_approval=requires_approval,
            checkpoint=session.commit,  # the running marker is durable before the long write
        )
    except LedgerError as exc:
        if exc.status not in (409, 422):
            raise
        # Nothing was written: show the batch again with the reason on top.
        session.rollback()
        page = batch_page(request, session, me, batch_id)
        page.status_code = exc.status
        return _with_alert(page, exc.detail or exc.title)
    return RedirectResponse(f"/imports/{batch_id}", 303)


def _with_alert(page: HTMLResponse, message: str) -> HTMLResponse:
    from html import escape

    body = bytes(page.body).replace(
        b"</h1>", f'</h1>\n<p class="error" role="alert">{escape(message)}</p>'.encode(), 1
    )
    response = HTMLResponse(body, status_code=page.status_code)
    return response


@router.post("/imports/{batch_id}/approve")
async def approve(session: SessionDep, me: Approver, batch_id: int) -> Response:
    await run_in_threadpool(
        import_service.approve, session, me.actor, batch_id, checkpoint=session.commit
    )
    return RedirectResponse(f"/imports/{batch_id}", 303)


@router.post("/imports/{batch_id}/reject")
async def reject(request: Request, session: SessionDep, me: Approver, batch_id: int) -> Response:
    form = await request.form()
    reason = str(form.get("reason", ""))[:500]
    import_service.reject(session, me.actor, batch_id, reason=reason)
    return RedirectResponse(f"/imports/{batch_id}", 303)


@router.post("/imports/{batch_id}/cancel")
def cancel(session: SessionDep, me: Importer, batch_id: int) -> Response:
    import_service.cancel(session, me.actor, batch_id)
    return RedirectResponse(f"/imports/{batch_id}", 303)


@router.post("/imports/{batch_id}/revert")
async def revert(session: SessionDep, me: Approver, batch_id: int) -> Response:
    await run_in_threadpool(import_service.revert, session, me.actor, batch_id)
    return RedirectResponse(f"/imports/{batch_id}", 303)
