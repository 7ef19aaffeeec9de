"""服务专员 pages: roster with load, coverage gaps, suggested assignments to accept, slots on the
enterprise file, service records with needs — each one service call, scoped like the API."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from service.access import scope
from service.commissioners import reports
from service.commissioners import service as commissioner_service
from service.commissioners.models import Assignment
from service.commissioners.schemas import (
    AcceptLine,
    AcceptSuggestions,
    AssignmentCreate,
    AssignmentEnd,
    NeedStatusChange,
    ServiceRecordCreate,
)
from service.db import SessionDep
from service.enterprises import service as enterprise_service
from service.enterprises.models import Enterprise
from service.enterprises.routes import today
from service.errors import LedgerError
from service.reference import service as reference_service
from service.web.ladder import file_with_errors, form_errors, ledger_errors, parse, text
from service.web.panels import NEED_NEXT, NEED_STATUS_ZH
from service.web.routes import _districts, render
from service.web.session import PageUser, page_require

router = APIRouter(include_in_schema=False)

RosterReader = Annotated[PageUser, page_require("commissioner.read")]
ReportReader = Annotated[PageUser, page_require("commissioner.report")]
Assigner = Annotated[PageUser, page_require("assignment.write")]
ServiceReader = Annotated[PageUser, page_require("service.read")]
ServiceWriter = Annotated[PageUser, page_require("service.write")]

PAGE_SIZE = 50
NEED_ROWS = 3  # need lines on the record form; more can be added in a second record


# ---- roster and coverage ---------------------------------------------------------------------


@router.get("/commissioners", response_class=HTMLResponse)
def roster_page(
    request: Request,
    session: SessionDep,
    me: RosterReader,
    specialty: Annotated[str | None, Query(max_length=32)] = None,
    district: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    rows = commissioner_service.list_commissioners(
        session, specialty=specialty or None, district=district or None
    )
    names = _districts(session)
    load = reports.load(session, me.actor, today=today(request), months=3)
    return render(
        request,
        "commissioners.html",
        {
            "me": me,
            "people": commissioner_service.to_public(session, rows),
            "services": {r.commissioner_id: r for r in load.rows},
            "months": load.months,
            "coverage": reports.coverage(session, me.actor),
            "specialties": commissioner_service.specialties(session),
            "districts": reference_service.districts(session),
            "district_names": names,
            "params": {"specialty": specialty or "", "district": district or ""},
            "_district_names": names,
        },
    )


@router.get("/commissioners/coverage", response_class=HTMLResponse)
def coverage_page(
    request: Request,
    session: SessionDep,
    me: ReportReader,
    district: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    names = _districts(session)
    return render(
        request,
        "commissioner_coverage.html",
        {
            "me": me,
            "coverage": reports.coverage(session, me.actor, district=district or None),
            "followup": reports.followup(session, me.actor, today=today(request)),
            "kinds": commissioner_service.service_kinds(session),
            "districts": reference_service.districts(session),
            "district": district or "",
            "district_names": names,
            "can_assign": me.actor.role in {"admin", "manager"},
            "_district_names": names,
        },
    )


# ---- suggested assignments -------------------------------------------------------------------


def _suggestions_page(
    request: Request,
    session: SessionDep,
    me: PageUser,
    *,
    district: str | None,
    specialty: str | None,
    alert: str = "",
    status: int = 200,
) -> HTMLResponse:
    names = _districts(session)
    return render(
        request,
        "commissioner_suggestions.html",
        {
            "me": me,
            "plan": commissioner_service.suggestions(
                session, me.actor, district=district or None, specialty=specialty or None
            ),
            "specialties": commissioner_service.specialties(session),
            "districts": reference_service.districts(session),
            "district_names": names,
            "params": {"district": district or "", "specialty": specialty or ""},
            "alert": alert,
            "_district_names": names,
        },
        status_code=status,
    )


@router.get("/commissioners/suggestions", response_class=HTMLResponse)
def suggestions_page(
    request: Request,
    session: SessionDep,
    me: Assigner,
    district: Annotated[str | None, Query(max_length=16)] = None,
    specialty: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    return _suggestions_page(request, session, me, district=district, specialty=specialty)


@router.post("/commissioners/suggestions/accept", response_class=HTMLResponse)
async def accept_suggestions(request: Request, session: SessionDep, me: Assigner) -> Response:
    """The whole plan (`all`) or one line; one conflict and nothing is assigned."""
    form = await request.form()
    district = text(form, "district", 16) or None
    specialty = text(form, "specialty", 32) or None
    try:
        if form.get("all") == "1":
            body = AcceptSuggestions(all=True, district_code=district, specialty_code=specialty)
        else:
            line = AcceptLine(
                enterprise_id=text(form, "enterprise_id", 12),  # type: ignore[arg-type]
                specialty_code=text(form, "specialty_code", 32),
                commissioner_id=text(form, "commissioner_id", 12),  # type: ignore[arg-type]
            )
            body = AcceptSuggestions(lines=[line])
    except ValidationError:
        return _suggestions_page(
            request, session, me, district=district, specialty=specialty,
            alert="提交的建议不完整，请刷新页面后重试", status=422,
        )  # fmt: skip
    try:
        rows = commissioner_service.accept(session, me.actor, body, today=today(request))
    except LedgerError as exc:
        if exc.status not in (404, 409, 422):
            raise
        session.rollback()
        message = exc.detail or exc.title
        if exc.fields:
            message = "；".join(f.message for f in exc.fields)
        return _suggestions_page(
            request, session, me, district=district, specialty=specialty,
            alert=f"未分配（建议已过时或有冲突，全部未保存）：{message}", status=exc.status,
        )  # fmt: skip
    query = {k: v for k, v in {"district": district, "specialty": specialty}.items() if v}
    return RedirectResponse(
        f"/commissioners/suggestions?{urlencode(query | {'accepted': len(rows)})}", 303
    )


# ---- slots on the enterprise file ------------------------------------------------------------


@router.post("/enterprises/{enterprise_id}/assignments", response_class=HTMLResponse)
async def assign(
    request: Request, session: SessionDep, me: Assigner, enterprise_id: int
) -> Response:
    form = await request.form()
    enterprise = enterprise_service.get(session, me.actor, enterprise_id)
    try:
        body = parse(
            AssignmentCreate,
            {
                "specialty_code": text(form, "specialty_code", 32),
                "commissioner_id": text(form, "commissioner_id", 12),
                "started_on": text(form, "started_on", 12),
                "replace": form.get("replace") == "on",
                "reason": text(form, "reason", 300),
            },
        )
    except ValidationError as exc:
        return file_with_errors(
            request, session, me, enterprise_id, form_id="assign", errors=form_errors(exc)
        )
    day = today(request)
    try:
        commissioner_service.assign(
            session,
            me.actor,
            enterprise=enterprise,
            specialty_code=body.specialty_code,
            commissioner_id=body.commissioner_id,
            started_on=body.started_on or day,
            today=day,
            replace=body.replace,
            reason=body.reason,
        )
    except LedgerError as exc:
        if exc.status not in (409, 422):
            raise
        session.rollback()
        return file_with_errors(
            request, session, me, enterprise_id, form_id="assign", errors=ledger_errors(exc),
            alert="" if exc.fields else (exc.detail or exc.title), status=exc.status,
        )  # fmt: skip
    return RedirectResponse(f"/enterprises/{enterprise_id}?saved=1#commissioners", 303)


@router.post("/enterprises/{enterprise_id}/assignments/end", response_class=HTMLResponse)
async def end_assignment(
    request: Request, session: SessionDep, me: Assigner, enterprise_id: int
) -> Response:
    form = await request.form()
    enterprise = enterprise_service.get(session, me.actor, enterprise_id)
    raw = text(form, "assignment_id", 12)
    form_id = f"end-{raw}"
    try:
        assignment_id = int(raw)
        body = parse(
            AssignmentEnd,
            {"ended_on": text(form, "ended_on", 12), "reason": text(form, "reason", 300)},
        )
    except ValidationError as exc:
        return file_with_errors(
            request, session, me, enterprise_id, form_id=form_id, errors=form_errors(exc)
        )
    except ValueError:
        return file_with_errors(
            request, session, me, enterprise_id, form_id=form_id, alert="未指定分配记录"
        )
    day = today(request)
    try:
        commissioner_service.end_assignment(
            session,
            me.actor,
            enterprise=enterprise,
            assignment_id=assignment_id,
            ended_on=body.ended_on or day,
            reason=body.reason,
            today=day,
        )
    except LedgerError as exc:
        if exc.status not in (409, 422):
            raise
        session.rollback()
        return file_with_errors(
            request, session, me, enterprise_id, form_id=form_id, errors=ledger_errors(exc),
            alert="" if exc.fields else (exc.detail or exc.title), status=exc.status,
        )  # fmt: skip
    return RedirectResponse(f"/enterprises/{enterprise_id}?saved=1#commissioners", 303)


# ---- service records and needs ---------------------------------------------------------------


@router.get("/services", response_class=HTMLResponse)
def services_page(
    request: Request,
    session: SessionDep,
    me: ServiceReader,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    since: date | None = None,
    until: date | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    day = today(request)
    rows, total = commissioner_service.list_records(
        session,
        me.actor,
        kind_code=kind or None,
        since=since,
        until=until,
        page=page,
        page_size=PAGE_SIZE,
    )
    params = {
        k: v
        for k, v in {
            "kind": kind,
            "since": since.isoformat() if since else "",
            "until": until.isoformat() if until else "",
        }.items()
        if v
    }
    names = _districts(session)
    return render(
        request,
        "services.html",
        {
            "me": me,
            "items": commissioner_service.records_public(session, rows, day),
            "total": total,
            "page": page,
            "pages": max(1, math.ceil(total / PAGE_SIZE)),
            "params": params,
            "query": urlencode(params),
            "kinds": commissioner_service.service_kinds(session),
            "need_status_zh": NEED_STATUS_ZH,
            "need_next": NEED_NEXT,
            "can_write": me.actor.role in {"admin", "manager", "commissioner"},
            "_district_names": names,
        },
    )


def _servable(session: SessionDep, me: PageUser) -> list[tuple[int, str]]:
    """Enterprises in scope with an active slot: those a record can be written for."""
    held = sa.select(Assignment.enterprise_id).where(Assignment.ended_on.is_(None))  # type: ignore[union-attr]
    if me.actor.role == "commissioner" and me.actor.commissioner_id is not None:
        held = scope.assigned_to(me.actor.commissioner_id)
    rows = session.execute(
        sa.select(Enterprise.id, Enterprise.name)
        .where(scope.enterprise_clause(me.actor), Enterprise.id.in_(held))  # type: ignore[union-attr]
        .order_by(Enterprise.name, Enterprise.id)
        .limit(2000)
    )
    return [(eid, name) for eid, name in rows]


def _record_form(
    request: Request,
    session: SessionDep,
    me: PageUser,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    alert: str = "",
    status: int = 200,
) -> HTMLResponse:
    names = _districts(session)
    people = []
    if me.actor.role != "commissioner":
        people = [
            (c.id, c.name) for c in commissioner_service.list_commissioners(session, active=True)
        ]
    return render(
        request,
        "service_new.html",
        {
            "me": me,
            "enterprises": _servable(session, me),
            "people": people,
            "kinds": commissioner_service.service_kinds(session),
            "values": values or {},
            "errors": errors or {},
            "alert": alert or ("提交的内容有误，请按提示修改（未保存）。" if errors else ""),
            "need_rows": range(NEED_ROWS),
            "today_iso": today(request).isoformat(),
            "_district_names": names,
        },
        status_code=status,
    )


@router.get("/services/new", response_class=HTMLResponse)
def new_record(
    request: Request,
    session: SessionDep,
    me: ServiceWriter,
    enterprise_id: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    return _record_form(request, session, me, values={"enterprise_id": str(enterprise_id or "")})


@router.post("/services", response_class=HTMLResponse)
async def add_record(request: Request, session: SessionDep, me: ServiceWriter) -> Response:
    form = await request.form()
    values = {k: text(form, k) for k in form if k != "csrf_token"}
    raw_id = values.get("enterprise_id", "")
    if not raw_id.isdigit():
        return _record_form(
            request, session, me, values=values, errors={"enterprise_id": "请选择企业"},
            status=422,
        )  # fmt: skip
    enterprise = enterprise_service.get(session, me.actor, int(raw_id))  # out of scope: 404
    needs = []
    for i in range(NEED_ROWS):
        description = values.get(f"need_text_{i}", "")
        due = values.get(f"need_due_{i}", "")
        if description or due:
            needs.append(
                {k: v for k, v in {"description": description, "due_on": due}.items() if v}
                | ({"kind_code": values[f"need_kind_{i}"]} if values.get(f"need_kind_{i}") else {})
            )
    try:
        data = parse(
            ServiceRecordCreate,
            {
                "served_on": values.get("served_on", ""),
                "kind_code": values.get("kind_code", ""),
                "summary": values.get("summary", ""),
                "commissioner_id": values.get("commissioner_id", "")
                if me.actor.role != "commissioner"
                else "",
                "financing_sought": values.get("financing_sought", ""),
                "financing_obtained": values.get("financing_obtained", ""),
                "needs": needs,
            },
        )
    except ValidationError as exc:
        errors = form_errors(exc)
        errors.pop("needs", None)
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            if len(loc) >= 3 and loc[0] == "needs":
                column = "need_due" if loc[2] == "due_on" else "need_text"
                errors[f"{column}_{_need_row(needs, int(loc[1]), values)}"] = (
                    "日期格式应为 年-月-日" if loc[2] == "due_on" else "请填写诉求内容"
                )
        return _record_form(request, session, me, values=values, errors=errors, status=422)
    try:
        commissioner_service.add_record(
            session, me.actor, enterprise=enterprise, data=data, today=today(request)
        )
    except LedgerError as exc:
        if exc.status not in (403, 409, 422):
            raise
        session.rollback()
        errors = {}
        for f in exc.fields:
            parts = f.field.split(".")
            if parts[0] == "needs" and len(parts) == 3:
                column = "need_due" if parts[2] == "due_on" else "need_kind"
                errors[f"{column}_{_need_row(needs, int(parts[1]), values)}"] = f.message
            else:
                errors[parts[0]] = f.message
        return _record_form(
            request, session, me, values=values, errors=errors,
            alert="" if errors else (exc.detail or exc.title), status=exc.status,
        )  # fmt: skip
    return RedirectResponse(f"/enterprises/{enterprise.id}?saved=1#services", 303)


def _need_row(needs: list[dict[str, Any]], index: int, values: dict[str, str]) -> int:
    """The form row of the index-th need given (blank rows are skipped when parsing)."""
    rows = [
        i for i in range(NEED_ROWS) if values.get(f"need_text_{i}") or values.get(f"need_due_{i}")
    ]
    return rows[index] if index < len(rows) else 0


@router.post("/enterprises/{enterprise_id}/needs/status", response_class=HTMLResponse)
async def change_need(
    request: Request, session: SessionDep, me: ServiceWriter, enterprise_id: int
) -> Response:
    form = await request.form()
    enterprise = enterprise_service.get(session, me.actor, enterprise_id)
    raw = text(form, "need_id", 12)
    back = text(form, "next", 300)
    back = back if back.startswith("/") and not back.startswith("//") else "/services"
    try:
        need_id = int(raw)
        body = parse(
            NeedStatusChange,
            {"status": text(form, "status", 16), "note": text(form, "note", 1000)},
        )
        day = today(request)
        commissioner_service.change_need(
            session,
            me.actor,
            enterprise=enterprise,
            need_id=need_id,
            status=body.status,
            note=body.note,
            on=day,
            today=day,
        )
    except (ValueError, ValidationError, LedgerError) as exc:
        if isinstance(exc, LedgerError) and exc.status not in (409, 422):
            raise
        session.rollback()
        # A code, not the message: a link must not be able to put words on our page.
        code = "transition" if isinstance(exc, LedgerError) and exc.status == 409 else "invalid"
        sep = "&" if "?" in back else "?"
        return RedirectResponse(f"{back}{sep}need_error={code}", 303)
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}need_saved=1", 303)
