"""Page routes: thin like the API's — parse the form, one service call, render a template."""

from __future__ import annotations

import math
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from service import readcache
from service.access import service as access_service
from service.access.policy import COMMISSIONER_FIELDS
from service.audit.models import AuditEvent
from service.db import SessionDep, utcnow
from service.downloads import stream_workbook
from service.enterprises import saved_filters
from service.enterprises import service as enterprise_service
from service.enterprises.routes import cached_reference, today
from service.enterprises.schemas import EnterpriseUpdate
from service.errors import LedgerError
from service.reference import service as reference_service
from service.reports import ledger as ledger_report
from service.reports import tier_report
from service.web import dashboard as dashboard_view
from service.web import labels, panels
from service.web.session import (
    LOGIN_CSRF_COOKIE,
    PageUser,
    check_csrf,
    clear_session_cookie,
    current_page_user,
    new_login_csrf,
    open_page_session,
    page_require,
    session_row,
    set_session_cookie,
    user_row,
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["field_zh"] = labels.field_zh
templates.env.filters["action_zh"] = labels.action_zh
templates.env.filters["beijing"] = labels.beijing
templates.env.globals["value_zh"] = labels.value_zh

ROLE_ZH = {
    "admin": "系统管理员",
    "manager": "市级管理员",
    "district_officer": "区县用户",
    "commissioner": "服务专员",
    "viewer": "只读用户",
}
SORT_PATTERN = r"^-?(name|credit_code|district|tier|updated_at)$"
STATUS_ZH = {"active": "在库", "moved_out": "已迁出", "deregistered": "已注销"}

Viewer = Annotated[PageUser, page_require("enterprise.read")]
Editor = Annotated[PageUser, page_require("enterprise.update")]
Exporter = Annotated[PageUser, page_require("export.read")]
Self = Annotated[PageUser, page_require("account.self")]


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    page_user: PageUser | None = context.get("me")
    district_names = context.pop("_district_names", None)
    scope = "全市"
    if page_user and page_user.actor.role == "district_officer":
        scope = (district_names or {}).get(page_user.actor.district_code, "本区县")
    elif page_user and page_user.actor.role == "commissioner":
        scope = "我服务的企业"
    base = {
        "role_zh": ROLE_ZH,
        "status_zh": STATUS_ZH,
        "scope_zh": scope,
        "csrf_token": page_user.record.csrf_token if page_user else "",
    }
    return templates.TemplateResponse(request, name, base | context, status_code=status_code)


def _districts(session: SessionDep) -> dict[str, str]:
    return {d.code: d.name for d in reference_service.districts(session)}


def _set_login_cookie(response: Response, token: str) -> None:
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")


# ---- signing in and out ---------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    token = new_login_csrf()
    response = render(request, "login.html", {"next": next, "login_csrf": token, "error": ""})
    _set_login_cookie(response, token)
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=60)],
    password: Annotated[str, Form(max_length=128)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    await check_csrf(request, request.cookies.get(LOGIN_CSRF_COOKIE) or "\x00missing")
    settings = request.app.state.settings
    address = request.client.host if request.client else "unknown"
    try:
        user = access_service.authenticate(
            session, username=username, password=password, address=address
        )
    except LedgerError as exc:
        if exc.status not in (401, 429):
            raise
        token = new_login_csrf()
        response = render(
            request,
            "login.html",
            {"next": next, "login_csrf": token, "error": exc.detail, "username": username},
            status_code=exc.status,
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login"
        )
        for key, value in exc.headers.items():
            response.headers[key] = value
        return response
    # A fresh session id on every login: a cookie planted before login is worth nothing.
    secret = open_page_session(session, settings, user)
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse("/password" if user.must_change_password else target, 303)
    set_session_cookie(response, settings, secret)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, me: Self) -> Response:
    access_service.close_session(session, me.actor, session_row(session, me))
    response = RedirectResponse("/login", 303)
    clear_session_cookie(response, request.app.state.settings)
    return response


@router.get("/password", response_class=HTMLResponse)
def password_form(
    request: Request, me: Annotated[PageUser, page_require("account.self")]
) -> HTMLResponse:
    return render(request, "password.html", {"me": me, "errors": {}})


@router.post("/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    session: SessionDep,
    me: Self,
    old_password: Annotated[str, Form(max_length=128)],
    new_password: Annotated[str, Form(max_length=128)],
    confirm_password: Annotated[str, Form(max_length=128)],
) -> Response:
    errors: dict[str, str] = {}
    from service.access import passwords

    user = user_row(session, me)
    if not passwords.verify(old_password, user.password_hash)[0]:
        errors["old_password"] = "原密码不正确"
    elif new_password != confirm_password:
        errors["confirm_password"] = "两次输入的新密码不一致"
    else:
        try:
            access_service.set_password(session, me.actor, user, new_password)
        except LedgerError as exc:
            errors["new_password"] = exc.fields[0].message if exc.fields else exc.detail
    if errors:
        return render(request, "password.html", {"me": me, "errors": errors}, status_code=422)
    # The password change bumped the epoch: sign in again with a fresh session.
    settings = request.app.state.settings
    session.refresh(user)
    secret = open_page_session(session, settings, user)
    response = RedirectResponse("/", 303)
    set_session_cookie(response, settings, secret)
    return response


# ---- dashboard and enterprises ----------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, me: Viewer) -> HTMLResponse:
    data = dashboard_view.build(
        session, me.actor, today(request), recount=request.app.state.candidate_recount
    )
    return render(
        request,
        "dashboard.html",
        {
            "me": me,
            "data": data,
            "tier_chart": dashboard_view.bar_chart(data.tiers, title="各梯度企业数"),
            "new_chart": dashboard_view.bar_chart(data.new_this_year, title="今年新认定"),
            "movement_zh": dashboard_view.MOVEMENT_ZH,
            "year": today(request).year,
            "_district_names": _districts(session),
        },
    )


@router.get("/enterprises", response_class=HTMLResponse)
async def enterprise_list(
    request: Request,
    session: SessionDep,
    me: Viewer,
    district: str | None = None,
    subsector: str | None = None,
    tier: str | None = None,
    key: Annotated[str | None, Query(pattern="^(|yes|no)$")] = None,
    status: Annotated[str | None, Query(pattern="^(|active|moved_out|deregistered)$")] = "active",
    q: Annotated[str | None, Query(max_length=100)] = None,
    sort: Annotated[
        str, Query(pattern=r"^-?(name|credit_code|district|tier|updated_at)$")
    ] = "name",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    page_size = 50
    flt = enterprise_service.EnterpriseFilter(
        district_code=district or None,
        subsector_code=subsector or None,
        tier_code=tier or None,
        is_key={"yes": True, "no": False}.get(key or ""),
        status=status or None,
        q=q or None,
    )
    params = {
        k: v
        for k, v in {
            "district": district,
            "subsector": subsector,
            "tier": tier,
            "key": key,
            "status": status,
            "q": q,
        }.items()
        if v
    }
    on = today(request)
    # The whole page, per page session (its HTML carries the session's CSRF token), query, day
    # and ledger version: paging back and forth through a filter is the hot path.
    # Async: a cached page is answered on the event loop; a miss renders in the thread pool.
    return await readcache.page(
        request,
        session,
        me.actor,
        ("enterprises", me.user, me.record.id, me.record.csrf_token, request.url.query, on),
        lambda: _enterprise_list_page(
            request, session, me, flt, params, sort=sort, page=page, page_size=page_size, on=on
        ),
    )


def _enterprise_list_page(
    request: Request,
    session: SessionDep,
    me: PageUser,
    flt: enterprise_service.EnterpriseFilter,
    params: dict[str, str],
    *,
    sort: str,
    page: int,
    page_size: int,
    on: date,
) -> HTMLResponse:
    subsector, district, tier = flt.subsector_code, flt.district_code, flt.tier_code
    items, total = readcache.remember(
        request,
        session,
        me.actor,
        ("enterprise.list", flt, sort, page, page_size, on),
        lambda: enterprise_service.list_enterprises(
            session,
            me.actor,
            flt=flt,
            sort=sort,
            page=page,
            page_size=page_size,
            today=on,
            ref=cached_reference(request, session, me.actor),
        ),
        approx_bytes=page_size * 1024,  # an API page of 50 is about 50 KB of JSON
    )
    # The filter and bulk-action choices: reference data, the same for everyone of a scope
    # until a write. Read each time, they cost more than the rest of the page.
    choices = readcache.remember(
        request,
        session,
        me.actor,
        ("enterprise.list.choices",),
        lambda: _list_choices(session, me),
        approx_bytes=64 * 1024,
    )
    return render(
        request,
        "enterprises.html",
        {
            "me": me,
            "items": items,
            "total": total,
            "page": page,
            "pages": max(1, math.ceil(total / page_size)),
            "params": params,
            "query": urlencode(params),
            "sort": sort,
            **choices,
            "export_query": urlencode(
                [("subsector", subsector)] * bool(subsector)
                + [("district", district)] * bool(district)
                + [("tier", tier)] * bool(tier)
                + [("key_only", "true")] * (params.get("key") == "yes")
            ),
            "bulk_message": request.query_params.get("bulk", ""),
            "saved_filters": saved_filters.list_for(session, me.actor),
            "current_query": urlencode(params | ({"sort": sort} if sort != "name" else {})),
        },
    )


def _list_choices(session: SessionDep, me: PageUser) -> dict[str, Any]:
    tree = reference_service.taxonomy(session)
    districts = reference_service.districts(session)
    return {
        "districts": districts,
        "taxonomy": [tree.nodes[c] for c in tree.nodes],
        "tiers": reference_service.tiers(session),
        "_district_names": {d.code: d.name for d in districts},
        **_bulk_choices(session, me),
    }


@router.post("/enterprises/filters")
async def save_filter(request: Request, session: SessionDep, me: Viewer) -> Response:
    form = await request.form()
    query = str(form.get("query", ""))
    try:
        saved_filters.save(session, me.actor, name=str(form.get("name", "")), query=query)
    except LedgerError as exc:
        if exc.status != 422:
            raise
        session.rollback()
        message = exc.fields[0].message if exc.fields else exc.detail
        return RedirectResponse(f"/enterprises?{query}&{urlencode({'bulk': message})}", 303)
    return RedirectResponse(f"/enterprises?{saved_filters.clean_query(query)}", 303)


@router.post("/enterprises/filters/{filter_id}/delete")
def delete_filter(session: SessionDep, me: Viewer, filter_id: int) -> Response:
    saved_filters.delete(session, me.actor, filter_id)
    return RedirectResponse("/enterprises", 303)


def _bulk_choices(session: SessionDep, me: PageUser) -> dict[str, Any]:
    """Commissioners and specialties for the bulk-assign form, for those who may use it."""
    if me.actor.role not in {"admin", "manager"}:
        return {"bulk_commissioners": [], "bulk_specialties": {}}
    from service.commissioners import service as commissioner_service

    return {
        "bulk_commissioners": commissioner_service.list_commissioners(session, active=True),
        "bulk_specialties": commissioner_service.specialties(session),
    }


def _file_context(
    request: Request, session: SessionDep, me: PageUser, enterprise_id: int
) -> dict[str, Any]:
    enterprise = enterprise_service.get(session, me.actor, enterprise_id)
    detail = enterprise_service.detail(session, enterprise, today(request))
    history = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.enterprise_id == enterprise_id)
        .order_by(AuditEvent.id.desc())  # type: ignore[union-attr]
        .limit(50)
    ).all()
    return {
        "me": me,
        "e": detail,
        "figures": enterprise_service.list_figures(session, enterprise),
        "history": history,
        "chain_positions": reference_service.chain_positions(session),
        "can_edit_all": me.actor.role in {"admin", "manager", "district_officer"},
        "can_edit": me.actor.role != "viewer",
        "commissioner_editable": COMMISSIONER_EDITABLE,
        "errors": {},
        "conflict": None,
        "_district_names": _districts(session),
    } | panels.file_panels(session, me.actor, enterprise, today(request))


@router.get("/enterprises/{enterprise_id}", response_class=HTMLResponse)
def enterprise_file(
    request: Request, session: SessionDep, me: Viewer, enterprise_id: int
) -> HTMLResponse:
    return render(request, "enterprise.html", _file_context(request, session, me, enterprise_id))


EDITABLE = (
    "name",
    "main_products",
    "address",
    "legal_representative",
    "contact_person",
    "contact_phone",
    "notes",
    "key_reason",
)
# The form's share of the policy's field rights, so the page never offers what the service refuses.
COMMISSIONER_EDITABLE = tuple(f for f in EDITABLE if f in COMMISSIONER_FIELDS)


@router.post("/enterprises/{enterprise_id}", response_class=HTMLResponse)
async def enterprise_edit(
    request: Request, session: SessionDep, me: Editor, enterprise_id: int
) -> Response:
    form = await request.form()
    fields = EDITABLE if me.actor.role != "commissioner" else COMMISSIONER_EDITABLE
    changes: dict[str, Any] = {f: str(form.get(f, "")).strip() for f in fields if f in form}
    if me.actor.role != "commissioner":
        changes["is_key"] = form.get("is_key") == "on"
    try:
        version = int(str(form.get("version", "")))
        data = EnterpriseUpdate(**changes)
    except (ValueError, ValidationError) as exc:
        ctx = _file_context(request, session, me, enterprise_id)
        ctx["errors"] = _form_errors(exc)
        return render(request, "enterprise.html", ctx, status_code=422)
    current = enterprise_service.get(session, me.actor, enterprise_id)
    if current.version != version:
        # Show what changed meanwhile instead of overwriting it.
        ctx = _file_context(request, session, me, enterprise_id)
        ctx["conflict"] = {
            f: (getattr(current, f), changes[f])
            for f in changes
            if getattr(current, f) != changes[f]
        }
        return render(request, "enterprise.html", ctx, status_code=409)
    try:
        enterprise_service.update(session, me.actor, enterprise_id, data, expected_version=version)
    except LedgerError as exc:
        if exc.status != 422:
            raise
        ctx = _file_context(request, session, me, enterprise_id)
        ctx["errors"] = {f.field: f.message for f in exc.fields}
        return render(request, "enterprise.html", ctx, status_code=422)
    return RedirectResponse(f"/enterprises/{enterprise_id}?saved=1", 303)


def _form_errors(exc: Exception) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        out = {}
        for err in exc.errors():
            field = str(err["loc"][0]) if err.get("loc") else "form"
            if err["type"] == "string_too_long":
                out[field] = f"长度不能超过{err.get('ctx', {}).get('max_length')}个字符"
            elif err["type"] == "string_too_short":
                out[field] = "不能为空"
            else:
                out[field] = "取值无效"
        return out
    return {"version": "版本号缺失，请刷新页面后重试"}


# ---- exports ----------------------------------------------------------------------------------


@router.get("/exports", response_class=HTMLResponse)
def exports_page(request: Request, session: SessionDep, me: Exporter) -> HTMLResponse:
    tree = reference_service.taxonomy(session)
    return render(
        request,
        "exports.html",
        {
            "me": me,
            "taxonomy": [tree.nodes[c] for c in tree.nodes],
            "districts": reference_service.districts(session),
            "tiers": reference_service.tiers(session),
            "today": today(request).isoformat(),
            "_district_names": _districts(session),
        },
    )


@router.get("/exports/ledger.xlsx")
def export_ledger_download(
    request: Request,
    session: SessionDep,
    me: Exporter,
    subsector: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006
    district: str | None = None,
    tier: str | None = None,
    key_only: bool = False,
    as_of: date | None = None,
) -> StreamingResponse:
    day = today(request)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    ledger_report.export_ledger(
        session,
        me.actor,
        spool,  # type: ignore[arg-type]
        ledger_report.LedgerRequest(
            subsectors=[s for s in subsector if s],
            district_code=district or None,
            tier_code=tier or None,
            key_only=key_only,
            as_of=as_of,
        ),
        today=day,
        now=utcnow(),
    )
    return stream_workbook(
        spool, f"重庆市优质中小企业梯度培育台账_{(as_of or day).isoformat()}.xlsx"
    )


@router.get("/exports/report.xlsx")
def export_report_download(
    request: Request,
    session: SessionDep,
    me: Exporter,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    as_of: date | None = None,
) -> StreamingResponse:
    day = today(request)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    tier_report.export_report(
        session,
        me.actor,
        spool,  # type: ignore[arg-type]
        tier_report.ReportRequest(period_start=start, period_end=end, as_of=as_of),
        today=day,
        now=utcnow(),
    )
    return stream_workbook(spool, f"梯度培育情况报表_{(as_of or day).isoformat()}.xlsx")


# ---- admin -----------------------------------------------------------------------------------


__all__ = ["current_page_user", "router"]
