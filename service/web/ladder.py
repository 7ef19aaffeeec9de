"""梯度管理 pages: candidates, due reviews, anomalies, key-enterprise selection, and the renew and
revoke forms of the enterprise file — each one service call, scoped like the API."""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from service.db import SessionDep
from service.enterprises import service as enterprise_service
from service.enterprises.routes import today
from service.errors import LedgerError
from service.ladder import pool, records
from service.ladder import service as ladder_service
from service.ladder.lifecycle import ANOMALY_ZH
from service.ladder.models import ANOMALY_KINDS
from service.ladder.schemas import DesignationRenew, DesignationRevoke, KeyDecisionIn
from service.reference import service as reference_service
from service.web.routes import _districts, _file_context, render
from service.web.session import PageUser, page_require

router = APIRouter(include_in_schema=False)

Reader = Annotated[PageUser, page_require("enterprise.read")]
KeySelector = Annotated[PageUser, page_require("key.select")]
Designator = Annotated[PageUser, page_require("designation.write")]

PAGE_SIZE = 50
VIEWS = {"candidates": "可晋级", "due": "待复核", "anomalies": "梯度异常"}
# 复核资格 of a due title: the relevant year's data update, major changes reported in time.
REVIEW_ZH = {"eligible": "可复核", "not_eligible": "不具备复核资格", "pending": "待年度数据更新"}
KIND_PATTERN = "^(|" + "|".join(ANOMALY_KINDS) + ")$"


def form_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's complaints in words, keyed by field, for messages next to the fields."""
    out: dict[str, str] = {}
    for err in exc.errors():
        field = str(err["loc"][0]) if err.get("loc") else "form"
        kind = err["type"]
        if kind == "string_too_long":
            out[field] = f"长度不能超过{err.get('ctx', {}).get('max_length')}个字符"
        elif kind in ("string_too_short", "missing"):
            out[field] = "不能为空"
        elif kind.startswith("date"):
            out[field] = "日期格式应为 年-月-日"
        elif kind.startswith(("int", "decimal", "float")):
            out[field] = "应填写数字"
        elif kind in ("greater_than_equal", "greater_than"):
            out[field] = "不能为负数"
        else:
            out[field] = "取值无效"
    return out


def ledger_errors(exc: LedgerError) -> dict[str, str]:
    return {f.field.split(".")[0]: f.message for f in exc.fields}


def parse(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """Blank form fields mean "not given", as the API's absent keys do."""
    return model.model_validate({k: v for k, v in data.items() if v not in ("", None)})


def text(form: Any, name: str, limit: int = 2000) -> str:
    return str(form.get(name, "")).strip()[:limit]


# ---- candidates, due reviews, anomalies ------------------------------------------------------


@router.get("/ladder", response_class=HTMLResponse)
def ladder_page(
    request: Request,
    session: SessionDep,
    me: Reader,
    view: Annotated[str, Query(pattern="^(candidates|due|anomalies)$")] = "candidates",
    district: Annotated[str | None, Query(max_length=16)] = None,
    subsector: Annotated[str | None, Query(max_length=32)] = None,
    tier: Annotated[str | None, Query(max_length=32)] = None,
    within_days: Annotated[int, Query(ge=0, le=3650)] = 90,
    kind: Annotated[str, Query(pattern=KIND_PATTERN)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    day = today(request)
    flt = pool.PoolFilter(
        district_code=district or None, subsector_code=subsector or None, tier_code=tier or None
    )
    result: Any
    if view == "candidates":
        result = pool.candidates(
            session, me.actor, flt=flt, today=day, page=page, page_size=PAGE_SIZE
        )
    elif view == "due":
        result = pool.due_reviews(
            session,
            me.actor,
            flt=flt,
            today=day,
            within_days=within_days,
            page=page,
            page_size=PAGE_SIZE,
        )
    else:
        result = pool.anomalies(
            session, me.actor, flt=flt, today=day, kind=kind or None, page=page, page_size=PAGE_SIZE
        )
    params = {
        k: v
        for k, v in {
            "view": view,
            "district": district,
            "subsector": subsector,
            "tier": tier,
            "within_days": str(within_days) if view == "due" else "",
            "kind": kind if view == "anomalies" else "",
        }.items()
        if v
    }
    tree = reference_service.taxonomy(session)
    names = _districts(session)
    return render(
        request,
        "ladder.html",
        {
            "me": me,
            "view": view,
            "views": VIEWS,
            "result": result,
            "params": params,
            "query": urlencode(params),
            "within_days": within_days,
            "kind": kind,
            "anomaly_zh": ANOMALY_ZH,
            "review_zh": REVIEW_ZH,
            "page": page,
            "pages": max(1, math.ceil(result.total / PAGE_SIZE)),
            "districts": reference_service.districts(session),
            "taxonomy": [tree.nodes[c] for c in tree.nodes],
            "tiers": reference_service.tiers(session),
            "district_names": names,
            "can_select_key": me.actor.role in {"admin", "manager"},
            "_district_names": names,
        },
    )


# ---- key-enterprise selection ----------------------------------------------------------------


def _key_page(
    request: Request,
    session: SessionDep,
    me: PageUser,
    *,
    district: str | None = None,
    subsector: str | None = None,
    tier: str | None = None,
    errors: dict[str, str] | None = None,
    error_for: int | None = None,
    conflict: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    flt = pool.PoolFilter(
        district_code=district or None, subsector_code=subsector or None, tier_code=tier or None
    )
    result = pool.key_suggestions(session, me.actor, flt=flt, today=today(request), limit=100)
    tree = reference_service.taxonomy(session)
    names = _districts(session)
    params = {
        k: v for k, v in {"district": district, "subsector": subsector, "tier": tier}.items() if v
    }
    return render(
        request,
        "ladder_key.html",
        {
            "me": me,
            "result": result,
            "params": params,
            "query": urlencode(params),
            "errors": errors or {},
            "error_for": error_for,
            "conflict": conflict,
            "districts": reference_service.districts(session),
            "taxonomy": [tree.nodes[c] for c in tree.nodes],
            "tiers": reference_service.tiers(session),
            "_district_names": names,
        },
        status_code=status,
    )


@router.get("/ladder/key", response_class=HTMLResponse)
def key_page(
    request: Request,
    session: SessionDep,
    me: KeySelector,
    district: Annotated[str | None, Query(max_length=16)] = None,
    subsector: Annotated[str | None, Query(max_length=32)] = None,
    tier: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    return _key_page(request, session, me, district=district, subsector=subsector, tier=tier)


@router.post("/ladder/key/{enterprise_id}", response_class=HTMLResponse)
async def decide_key(
    request: Request, session: SessionDep, me: KeySelector, enterprise_id: int
) -> Response:
    form = await request.form()  # parsed (and CSRF-checked) by page_require
    back = {k: text(form, k, 32) for k in ("district", "subsector", "tier")}
    enterprise = enterprise_service.get(session, me.actor, enterprise_id)  # out of scope: 404
    try:
        version = int(text(form, "version", 12))
        data = parse(
            KeyDecisionIn,
            {
                "decision": text(form, "decision", 16),
                "reason": text(form, "reason", 400),
                "year": text(form, "year", 8),
                "suggested_rank": text(form, "suggested_rank", 8),
            },
        )
    except ValidationError as exc:
        return _key_page(
            request, session, me, **back, errors=form_errors(exc), error_for=enterprise_id,
            status=422,
        )  # fmt: skip
    except ValueError:
        return _key_page(
            request, session, me, **back, errors={"reason": "版本号缺失，请刷新页面后重试"},
            error_for=enterprise_id, status=422,
        )  # fmt: skip

    def conflict_page() -> HTMLResponse:
        current = enterprise_service.get(session, me.actor, enterprise_id)
        return _key_page(
            request,
            session,
            me,
            **back,
            conflict={
                "enterprise_id": enterprise_id,
                "name": current.name,
                "version": current.version,
                "your_version": version,
                "is_key": current.is_key,
                "key_reason": current.key_reason,
                "decision": data.decision,
                "reason": data.reason,
            },
            status=409,
        )

    if data.decision == "confirmed" and enterprise.version != version:
        # The file changed since the suggestion was read: show it rather than overwrite it.
        return conflict_page()
    try:
        records.decide_key(
            session,
            me.actor,
            enterprise,
            data,
            expected_version=version if data.decision == "confirmed" else None,
            today=today(request),
        )
    except LedgerError as exc:
        session.rollback()
        if exc.code == "enterprise.version_conflict":
            return conflict_page()
        if exc.status != 422:
            raise
        return _key_page(
            request, session, me, **back, errors=ledger_errors(exc), error_for=enterprise_id,
            status=422,
        )  # fmt: skip
    done = "confirmed" if data.decision == "confirmed" else "rejected"
    query = urlencode({k: v for k, v in back.items() if v} | {"done": done, "id": enterprise_id})
    return RedirectResponse(f"/ladder/key?{query}", 303)


# ---- renew and revoke on the enterprise file -------------------------------------------------


def file_with_errors(
    request: Request,
    session: SessionDep,
    me: PageUser,
    enterprise_id: int,
    *,
    form_id: str,
    errors: dict[str, str] | None = None,
    alert: str = "",
    status: int = 422,
) -> HTMLResponse:
    """The file page again, the refused form open with its messages; nothing was written."""
    ctx = _file_context(request, session, me, enterprise_id)
    ctx.update(panel_form=form_id, panel_errors=errors or {}, panel_alert=alert)
    if errors and not alert:
        ctx["panel_alert"] = "提交的内容有误，请按提示修改（未保存）。"
    return render(request, "enterprise.html", ctx, status_code=status)


async def _designation_form(request: Request) -> tuple[Any, int | None]:
    form = await request.form()
    raw = text(form, "designation_id", 12)
    return form, int(raw) if raw.isdigit() else None


@router.post("/enterprises/{enterprise_id}/designations/renew", response_class=HTMLResponse)
async def renew(
    request: Request, session: SessionDep, me: Designator, enterprise_id: int
) -> Response:
    form, designation_id = await _designation_form(request)
    enterprise = enterprise_service.get(session, me.actor, enterprise_id)
    form_id = f"renew-{designation_id}"
    if designation_id is None:
        return file_with_errors(
            request, session, me, enterprise_id, form_id=form_id, alert="未指定认定记录"
        )
    try:
        body = parse(
            DesignationRenew,
            {k: text(form, k, 600) for k in ("reviewed_on", "renewed_on", "document_no", "note")},
        )
    except ValidationError as exc:
        return file_with_errors(
            request, session, me, enterprise_id, form_id=form_id, errors=form_errors(exc)
        )
    day = today(request)
    try:
        ladder_service.renew(
            session,
            me.actor,
            enterprise_id=enterprise_id,
            enterprise_repr=enterprise.name,
            designation_id=designation_id,
            renewed_on=body.renewed_on or day,
            reviewed_on=body.reviewed_on,
            document_no=body.document_no,
            note=body.note,
            today=day,
        )
    except LedgerError as exc:
        if exc.status not in (409, 422):
            raise
        session.rollback()
        return file_with_errors(
            request,
            session,
            me,
            enterprise_id,
            form_id=form_id,
            errors=ledger_errors(exc),
            alert="" if exc.fields else (exc.detail or exc.title),
            status=exc.status,
        )
    return RedirectResponse(f"/enterprises/{enterprise_id}?saved=1", 303)


@router.post("/enterprises/{enterprise_id}/designations/revoke", response_class=HTMLResponse)
async def revoke(
    request: Request, session: SessionDep, me: Designator, enterprise_id: int
) -> Response:
    form, designation_id = await _designation_form(request)
    enterprise = enterprise_service.get(session, me.actor, enterprise_id)
    form_id = f"revoke-{designation_id}"
    if designation_id is None:
        return file_with_errors(
            request, session, me, enterprise_id, form_id=form_id, alert="未指定认定记录"
        )
    try:
        body = parse(DesignationRevoke, {k: text(form, k, 600) for k in ("reason", "revoked_on")})
    except ValidationError as exc:
        return file_with_errors(
            request, session, me, enterprise_id, form_id=form_id, errors=form_errors(exc)
        )
    day = today(request)
    try:
        ladder_service.revoke(
            session,
            me.actor,
            enterprise_id=enterprise_id,
            enterprise_repr=enterprise.name,
            designation_id=designation_id,
            reason=body.reason,
            revoked_on=body.revoked_on or day,
            today=day,
        )
    except LedgerError as exc:
        if exc.status not in (409, 422):
            raise
        session.rollback()
        return file_with_errors(
            request,
            session,
            me,
            enterprise_id,
            form_id=form_id,
            errors=ledger_errors(exc),
            alert="" if exc.fields else (exc.detail or exc.title),
            status=exc.status,
        )
    return RedirectResponse(f"/enterprises/{enterprise_id}?saved=1", 303)
