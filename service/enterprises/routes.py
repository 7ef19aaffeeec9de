"""HTTP edge for enterprises and annual figures: parse, one service call, a schema out."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from sqlmodel import Session

from service import readcache
from service.access.actor import Actor
from service.access.deps import (
    CanChangeStatus,
    CanCreateEnterprise,
    CanReadEnterprises,
    CanUpdateEnterprise,
    CanWriteFigures,
)
from service.clock import today as china_today
from service.db import SessionDep
from service.enterprises import service
from service.enterprises.schemas import (
    EnterpriseCreate,
    EnterpriseDetail,
    EnterprisePage,
    EnterprisePublic,
    EnterpriseUpdate,
    FiguresIn,
    FiguresPublic,
    StatusChange,
)
from service.errors import LedgerError

router = APIRouter(prefix="/api/v1/enterprises", tags=["企业"])

_ETAG = re.compile(r'^(?:W/)?"?(\d+)"?$')


def today(request: Request) -> date:
    clock = getattr(request.app.state, "today", None)
    return clock() if clock else china_today()


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int:
    """The version the client last saw, from If-Match; writes without one are refused."""
    if not if_match:
        raise LedgerError(
            "precondition.required",
            "缺少版本号",
            428,
            "修改企业档案须在 If-Match 头中带上读取时的 ETag，以免覆盖他人的修改",
        )
    m = _ETAG.match(if_match.strip())
    if not m:
        raise LedgerError(
            "precondition.malformed", "版本号格式错误", 400, f"无法识别的 If-Match：{if_match}"
        )
    return int(m.group(1))


def cached_reference(request: Request, session: Session, actor: Actor) -> service.Reference:
    """The names a list needs (districts, subsectors, tiers): three queries on every uncached
    list, yet they change only by an admin's edit, which bumps the ledger version."""
    ref: service.Reference = readcache.remember(
        request,
        session,
        actor,
        ("enterprise.reference",),
        lambda: service.reference(session),
        approx_bytes=16 * 1024,
    )
    return ref


# The two cached reads are async: a hit is answered on the event loop, a miss runs its
# queries in the thread pool (service.readcache).
@router.get("", response_model=EnterprisePage, summary="企业列表")
async def list_enterprises(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CanReadEnterprises,
    district: str | None = None,
    subsector: str | None = None,
    tier: str | None = None,
    is_key: bool | None = None,
    status: Literal["active", "moved_out", "deregistered"] | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    sort: Annotated[
        str, Query(pattern=r"^-?(name|credit_code|district|established_on|updated_at|tier|id)$")
    ] = "name",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    on = today(request)
    flt = service.EnterpriseFilter(
        district_code=district,
        subsector_code=subsector,
        tier_code=tier,
        is_key=is_key,
        status=status,
        q=q,
    )

    def produce() -> tuple[EnterprisePage, dict[str, str]]:
        items, total = service.list_enterprises(
            session,
            actor,
            flt=flt,
            sort=sort,
            page=page,
            page_size=page_size,
            today=on,
            ref=cached_reference(request, session, actor),
        )
        return EnterprisePage(items=items, total=total, page=page, page_size=page_size), {}

    key = ("enterprise.list", flt, sort, page, page_size, on)
    return await readcache.respond(request, response, session, actor, key, produce)


@router.post("", response_model=EnterpriseDetail, status_code=201, summary="登记企业")
def create_enterprise(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CanCreateEnterprise,
    body: EnterpriseCreate,
) -> EnterpriseDetail:
    enterprise = service.create(session, actor, body)
    response.headers["ETag"] = etag(enterprise.version)
    response.headers["Location"] = f"/api/v1/enterprises/{enterprise.id}"
    return service.detail(session, enterprise, today(request))


@router.get("/{enterprise_id}", response_model=EnterpriseDetail, summary="企业档案")
async def get_enterprise(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CanReadEnterprises,
    enterprise_id: int,
) -> Any:
    on = today(request)

    def produce() -> tuple[EnterpriseDetail, dict[str, str]]:
        enterprise = service.get(session, actor, enterprise_id)
        return service.detail(session, enterprise, on), {"etag": etag(enterprise.version)}

    return await readcache.respond(
        request, response, session, actor, ("enterprise.file", enterprise_id, on), produce
    )


@router.patch("/{enterprise_id}", response_model=EnterprisePublic, summary="修改企业档案")
def update_enterprise(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CanUpdateEnterprise,
    enterprise_id: int,
    body: EnterpriseUpdate,
    if_match: Annotated[str | None, Header()] = None,
) -> EnterprisePublic:
    enterprise = service.update(
        session, actor, enterprise_id, body, expected_version=expected_version(if_match)
    )
    response.headers["ETag"] = etag(enterprise.version)
    return service.to_public(session, [enterprise], today(request))[0]


@router.post("/{enterprise_id}/status", response_model=EnterprisePublic, summary="变更企业状态")
def change_status(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CanChangeStatus,
    enterprise_id: int,
    body: StatusChange,
    if_match: Annotated[str | None, Header()] = None,
) -> EnterprisePublic:
    enterprise = service.change_status(
        session,
        actor,
        enterprise_id,
        status=body.status,
        reason=body.reason,
        expected_version=expected_version(if_match),
    )
    response.headers["ETag"] = etag(enterprise.version)
    return service.to_public(session, [enterprise], today(request))[0]


@router.get("/{enterprise_id}/figures", response_model=list[FiguresPublic], summary="历年经营数据")
def list_figures(
    session: SessionDep, actor: CanReadEnterprises, enterprise_id: int
) -> list[FiguresPublic]:
    return service.list_figures(session, service.get(session, actor, enterprise_id))


@router.put(
    "/{enterprise_id}/figures/{year}", response_model=FiguresPublic, summary="填报某年经营数据"
)
def put_figures(
    request: Request,
    session: SessionDep,
    actor: CanWriteFigures,
    enterprise_id: int,
    year: int,
    body: FiguresIn,
) -> FiguresPublic:
    enterprise = service.get(session, actor, enterprise_id)
    row = service.put_figures(
        session, actor, enterprise, year=year, data=body, today=today(request)
    )
    return service.figures_public(row)
