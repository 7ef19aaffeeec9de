"""Bulk actions on exactly the filtered list: mark key enterprises, assign a commissioner."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.db import SessionDep
from service.enterprises import service as enterprise_service
from service.enterprises.routes import today
from service.enterprises.schemas import EnterpriseUpdate
from service.errors import LedgerError
from service.web.session import PageUser, page_require

router = APIRouter(include_in_schema=False)
Marker = Annotated[PageUser, page_require("key.select")]
Assigner = Annotated[PageUser, page_require("assignment.write")]

FILTER_FIELDS = ("district", "subsector", "tier", "key", "status", "q")
MAX_BULK = 5000  # a bulk edit larger than a district's whole ledger is a mistake


def _filter(form: Any) -> tuple[enterprise_service.EnterpriseFilter, dict[str, str]]:
    params = {f: str(form.get(f, "")).strip() for f in FILTER_FIELDS if form.get(f)}
    flt = enterprise_service.EnterpriseFilter(
        district_code=params.get("district"),
        subsector_code=params.get("subsector"),
        tier_code=params.get("tier"),
        is_key={"yes": True, "no": False}.get(params.get("key", "")),
        status=params.get("status"),
        q=params.get("q"),
    )
    return flt, params


def _back(params: dict[str, str], message: str) -> Response:
    query = urlencode(params | {"bulk": message})
    return RedirectResponse(f"/enterprises?{query}", 303)


@router.post("/enterprises/bulk/key", response_class=HTMLResponse)
async def mark_key(request: Request, session: SessionDep, me: Marker) -> Response:
    form = await request.form()
    flt, params = _filter(form)
    reason = str(form.get("key_reason", "")).strip()[:300]
    ids = enterprise_service.matching_ids(session, me.actor, flt, today(request))
    if len(ids) > MAX_BULK:
        raise LedgerError(
            "bulk.too_many",
            "一次选中的企业过多",
            422,
            f"共{len(ids)}家，请先缩小筛选范围（不超过{MAX_BULK}家）",
        )
    changed = 0
    for eid in ids:
        enterprise = enterprise_service.get(session, me.actor, eid)
        if enterprise.is_key:
            continue
        enterprise_service.update(
            session,
            me.actor,
            eid,
            EnterpriseUpdate(is_key=True, key_reason=reason or enterprise.key_reason),
            expected_version=enterprise.version,
        )
        changed += 1
    return _back(params, f"已将{changed}家企业标为重点企业（共筛选出{len(ids)}家）")


@router.post("/enterprises/bulk/assign", response_class=HTMLResponse)
async def assign(request: Request, session: SessionDep, me: Assigner) -> Response:
    from service.commissioners import service as commissioner_service

    form = await request.form()
    flt, params = _filter(form)
    specialty = str(form.get("specialty_code", ""))
    commissioner = str(form.get("commissioner_id", ""))
    if not commissioner.isdigit() or not specialty:
        return _back(params, "请选择专业方向和服务专员")
    try:
        result = commissioner_service.bulk_assign(
            session,
            me.actor,
            flt=flt,
            specialty_code=specialty,
            commissioner_id=int(commissioner),
            started_on=today(request),
            replace=form.get("replace") == "on",
            today=today(request),
        )
    except LedgerError as exc:
        if exc.status not in (404, 409, 422):
            raise
        session.rollback()
        return _back(params, f"未分配：{exc.detail or exc.title}")
    return _back(params, f"已为{len(result.assigned)}家企业分配专员（共筛选出{result.matched}家）")
