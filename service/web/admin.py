"""Admin pages for reference data: districts, taxonomy, tiers and targets, edited as data."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.db import SessionDep
from service.errors import LedgerError
from service.reference import admin as reference_admin
from service.reference import service as reference_service
from service.reference.models import District, SubsectorNode, Target, Tier
from service.web.routes import render
from service.web.session import PageUser, page_require

router = APIRouter(include_in_schema=False)
Admin = Annotated[PageUser, page_require("reference.write")]

KINDS: dict[str, tuple[str, type[Any]]] = {
    "districts": ("区县", District),
    "taxonomy": ("细分领域", SubsectorNode),
    "tiers": ("梯度层级", Tier),
    "targets": ("目标任务", Target),
}


def _aliases(text: str) -> list[str]:
    return [a for a in text.replace("，", ",").replace("、", ",").split(",") if a.strip()]


@router.get("/admin/reference", response_class=HTMLResponse)
def reference_page(request: Request, session: SessionDep, me: Admin) -> HTMLResponse:
    return render(
        request,
        "admin_reference.html",
        {
            "me": me,
            "districts": reference_service.districts(session),
            "taxonomy": reference_service.subsectors(session),
            "tiers": reference_service.tiers(session),
            "targets": reference_service.targets(session),
            "saved": request.query_params.get("saved"),
        },
    )


def _edit_page(
    request: Request,
    me: PageUser,
    kind: str,
    row: Any,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "admin_reference_edit.html",
        {"me": me, "kind": kind, "kind_zh": KINDS[kind][0], "row": row, "errors": errors or {}},
        status_code=status,
    )


@router.get("/admin/reference/{kind}/{code}", response_class=HTMLResponse)
def edit_form(
    request: Request, session: SessionDep, me: Admin, kind: str, code: str
) -> HTMLResponse:
    if kind not in KINDS:
        raise LedgerError("http.not_found", "页面不存在", 404, "没有这类基础数据")
    row = session.get(KINDS[kind][1], code)
    if row is None:
        raise LedgerError("reference.not_found", "基础数据不存在", 404, f"找不到代码“{code}”")
    return _edit_page(request, me, kind, row)


@router.post("/admin/reference/{kind}/{code}", response_class=HTMLResponse)
async def edit(request: Request, session: SessionDep, me: Admin, kind: str, code: str) -> Response:
    if kind not in KINDS:
        raise LedgerError("http.not_found", "页面不存在", 404, "没有这类基础数据")
    form = await request.form()
    text = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    try:
        if kind == "districts":
            reference_admin.update_district(
                session,
                me.actor,
                code,
                name=text.get("name") or None,
                aliases=_aliases(text.get("aliases", "")),
            )
        elif kind == "taxonomy":
            reference_admin.update_subsector(
                session,
                me.actor,
                code,
                name=text.get("name") or None,
                aliases=_aliases(text.get("aliases", "")),
            )
        elif kind == "tiers":
            rank = text.get("rank", "")
            validity = text.get("validity_years", "")
            if rank and not rank.isdigit():
                raise _field("rank", "位次应为正整数", rank)
            if validity and not validity.isdigit():
                raise _field("validity_years", "有效期应为整数年", validity)
            reference_admin.update_tier(
                session,
                me.actor,
                code,
                name=text.get("name") or None,
                rank=int(rank) if rank else None,
                validity_years=int(validity) if validity else None,
                aliases=_aliases(text.get("aliases", "")),
                active=text.get("active") == "on",
            )
        else:
            try:
                figure = Decimal(text["figure"]) if text.get("figure") else None
            except InvalidOperation:
                raise _field("figure", "目标值应为数字", text.get("figure")) from None
            year = text.get("year", "")
            reference_admin.update_target(
                session,
                me.actor,
                code,
                name=text.get("name") or None,
                figure=figure,
                year=int(year) if year.isdigit() else None,
                source=text.get("source"),
            )
    except LedgerError as exc:
        if exc.status != 422:
            raise
        session.rollback()
        row = session.get(KINDS[kind][1], code)
        errors = {f.field: f.message for f in exc.fields}
        return _edit_page(request, me, kind, row, errors=errors, status=422)
    return RedirectResponse(f"/admin/reference?saved={kind}#{kind}", 303)


def _field(field: str, message: str, value: object) -> LedgerError:
    from service.errors import FieldError, invalid

    return invalid([FieldError(field, "invalid", message, value)])


# ---- users ------------------------------------------------------------------------------------

UserAdmin = Annotated[PageUser, page_require("users.manage")]
ROLES = ("admin", "manager", "district_officer", "commissioner", "viewer")


def _users_page(
    request: Request,
    session: SessionDep,
    me: PageUser,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    from service.access import service as access_service

    return render(
        request,
        "users.html",
        {
            "me": me,
            "users": access_service.list_users(session),
            "districts": reference_service.districts(session),
            "district_names": {d.code: d.name for d in reference_service.districts(session)},
            "roles": ROLES,
            "errors": errors or {},
            "form": form or {},
            "saved": request.query_params.get("saved"),
        },
        status_code=status,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, me: UserAdmin) -> HTMLResponse:
    return _users_page(request, session, me)


@router.post("/admin/users", response_class=HTMLResponse)
async def add_user(request: Request, session: SessionDep, me: UserAdmin) -> Response:
    from service.access import service as access_service

    form = {k: str(v).strip() for k, v in (await request.form()).items() if isinstance(v, str)}
    errors: dict[str, str] = {}
    if form.get("role") not in ROLES:
        errors["role"] = "请选择角色"
    if not form.get("username"):
        errors["username"] = "用户名不能为空"
    if not errors:
        try:
            access_service.add_user(
                session,
                me.actor,
                username=form["username"],
                display_name=form.get("display_name") or form["username"],
                role=form["role"],
                password=form.get("password", ""),
                district_code=form.get("district_code") or None,
                must_change_password=True,
            )
        except LedgerError as exc:
            if exc.status not in (409, 422):
                raise
            session.rollback()
            errors = {f.field: f.message for f in exc.fields} or {"username": exc.detail}
    if errors:
        form.pop("password", None)
        return _users_page(request, session, me, errors=errors, form=form, status=422)
    return RedirectResponse("/admin/users?saved=1", 303)


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
def user_form(request: Request, session: SessionDep, me: UserAdmin, user_id: int) -> HTMLResponse:
    from service.access import service as access_service

    return render(
        request,
        "user_edit.html",
        {
            "me": me,
            "u": access_service.get_user(session, user_id),
            "districts": reference_service.districts(session),
            "roles": ROLES,
            "errors": {},
        },
    )


@router.post("/admin/users/{user_id}", response_class=HTMLResponse)
async def edit_user(request: Request, session: SessionDep, me: UserAdmin, user_id: int) -> Response:
    from service.access import service as access_service

    form = {k: str(v).strip() for k, v in (await request.form()).items() if isinstance(v, str)}
    user = access_service.get_user(session, user_id)
    try:
        access_service.update_user(
            session,
            me.actor,
            user,
            display_name=form.get("display_name") or None,
            role=form.get("role") if form.get("role") in ROLES else None,
            district_code=form.get("district_code") or None,
            active=form.get("active") == "on",
        )
        if form.get("password"):
            access_service.set_password(session, me.actor, user, form["password"], must_change=True)
    except LedgerError as exc:
        if exc.status != 422:
            raise
        session.rollback()
        return render(
            request,
            "user_edit.html",
            {
                "me": me,
                "u": access_service.get_user(session, user_id),
                "districts": reference_service.districts(session),
                "roles": ROLES,
                "errors": {f.field: f.message for f in exc.fields},
            },
            status_code=422,
        )
    return RedirectResponse("/admin/users?saved=1", 303)
