"""HTTP edge for commissioners: roster, slots, suggestions, service records, needs, reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from service.access.deps import (
    CanAssign,
    CanManageCommissioners,
    CanReadAssignments,
    CanReadCommissionerReports,
    CanReadCommissioners,
    CanReadServices,
    CanWriteServices,
)
from service.clock import IsoDate
from service.commissioners import reports, service
from service.commissioners.schemas import (
    AcceptSuggestions,
    AssignmentCreate,
    AssignmentEnd,
    AssignmentPublic,
    BulkAssign,
    BulkResult,
    CommissionerCreate,
    CommissionerPublic,
    CommissionerUpdate,
    CoverageReport,
    EnterpriseSlots,
    FollowupReport,
    LoadReport,
    NeedPublic,
    NeedStatusChange,
    ServiceRecordCreate,
    ServiceRecordPage,
    ServiceRecordPublic,
    SuggestionPlan,
)
from service.db import SessionDep
from service.enterprises import service as enterprise_service
from service.enterprises.routes import today

roster = APIRouter(prefix="/api/v1/commissioners", tags=["服务专员"])
per_enterprise = APIRouter(prefix="/api/v1/enterprises/{enterprise_id}", tags=["服务专员"])
assignments = APIRouter(prefix="/api/v1/assignments", tags=["服务专员"])
records = APIRouter(prefix="/api/v1/service-records", tags=["服务专员"])
report_routes = APIRouter(prefix="/api/v1/commissioner-reports", tags=["服务专员"])


# ---- roster -----------------------------------------------------------------------------------


@roster.get("", response_model=list[CommissionerPublic], summary="服务专员名册")
def list_commissioners(
    session: SessionDep,
    actor: CanReadCommissioners,
    specialty: str | None = None,
    district: str | None = None,
    active: bool | None = None,
) -> list[CommissionerPublic]:
    rows = service.list_commissioners(
        session, specialty=specialty, district=district, active=active
    )
    return service.to_public(session, rows)


@roster.post("", response_model=CommissionerPublic, status_code=201, summary="登记服务专员")
def create_commissioner(
    response: Response, session: SessionDep, actor: CanManageCommissioners, body: CommissionerCreate
) -> CommissionerPublic:
    c = service.create_commissioner(session, actor, body)
    response.headers["Location"] = f"/api/v1/commissioners/{c.id}"
    return service.to_public(session, [c])[0]


@roster.get("/{commissioner_id}", response_model=CommissionerPublic, summary="服务专员")
def get_commissioner(
    session: SessionDep, actor: CanReadCommissioners, commissioner_id: int
) -> CommissionerPublic:
    return service.to_public(session, [service.get_commissioner(session, commissioner_id)])[0]


@roster.patch("/{commissioner_id}", response_model=CommissionerPublic, summary="修改服务专员")
def update_commissioner(
    session: SessionDep,
    actor: CanManageCommissioners,
    commissioner_id: int,
    body: CommissionerUpdate,
) -> CommissionerPublic:
    c = service.update_commissioner(session, actor, commissioner_id, body)
    return service.to_public(session, [c])[0]


@roster.delete("/{commissioner_id}", status_code=204, summary="删除无历史的服务专员")
def delete_commissioner(
    session: SessionDep, actor: CanManageCommissioners, commissioner_id: int
) -> Response:
    service.delete_commissioner(session, actor, commissioner_id)
    return Response(status_code=204)


# ---- one enterprise's slots, service records and needs ----------------------------------------


@per_enterprise.get("/assignments", response_model=EnterpriseSlots, summary="企业的服务专员")
def enterprise_slots(
    session: SessionDep, actor: CanReadAssignments, enterprise_id: int
) -> EnterpriseSlots:
    return service.slots(session, enterprise_service.get(session, actor, enterprise_id))


@per_enterprise.post(
    "/assignments", response_model=AssignmentPublic, status_code=201, summary="分配或更换专员"
)
def assign(
    request: Request,
    session: SessionDep,
    actor: CanAssign,
    enterprise_id: int,
    body: AssignmentCreate,
) -> AssignmentPublic:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    day = today(request)
    row = service.assign(
        session,
        actor,
        enterprise=enterprise,
        specialty_code=body.specialty_code,
        commissioner_id=body.commissioner_id,
        started_on=body.started_on or day,
        today=day,
        replace=body.replace,
        reason=body.reason,
    )
    return service.assignments_public(session, [row])[0]


@per_enterprise.post(
    "/assignments/{assignment_id}/end", response_model=AssignmentPublic, summary="结束分配"
)
def end_assignment(
    request: Request,
    session: SessionDep,
    actor: CanAssign,
    enterprise_id: int,
    assignment_id: int,
    body: AssignmentEnd,
) -> AssignmentPublic:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    day = today(request)
    row = service.end_assignment(
        session,
        actor,
        enterprise=enterprise,
        assignment_id=assignment_id,
        ended_on=body.ended_on or day,
        reason=body.reason,
        today=day,
    )
    return service.assignments_public(session, [row])[0]


@per_enterprise.get(
    "/service-records", response_model=list[ServiceRecordPublic], summary="企业的服务记录"
)
def enterprise_records(
    request: Request, session: SessionDep, actor: CanReadServices, enterprise_id: int
) -> list[ServiceRecordPublic]:
    enterprise_service.get(session, actor, enterprise_id)
    rows, _ = service.list_records(session, actor, enterprise_id=enterprise_id, page_size=10_000)
    return service.records_public(session, rows, today(request))


@per_enterprise.post(
    "/service-records",
    response_model=ServiceRecordPublic,
    status_code=201,
    summary="登记服务记录",
)
def add_record(
    request: Request,
    session: SessionDep,
    actor: CanWriteServices,
    enterprise_id: int,
    body: ServiceRecordCreate,
) -> ServiceRecordPublic:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    day = today(request)
    row = service.add_record(session, actor, enterprise=enterprise, data=body, today=day)
    return service.records_public(session, [row], day)[0]


@per_enterprise.post(
    "/needs/{need_id}/status", response_model=NeedPublic, summary="更新诉求办理状态"
)
def change_need(
    request: Request,
    session: SessionDep,
    actor: CanWriteServices,
    enterprise_id: int,
    need_id: int,
    body: NeedStatusChange,
) -> NeedPublic:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    day = today(request)
    need = service.change_need(
        session,
        actor,
        enterprise=enterprise,
        need_id=need_id,
        status=body.status,
        note=body.note,
        on=body.on or day,
        today=day,
    )
    return service.need_public(need, day)


# ---- across enterprises -----------------------------------------------------------------------


@assignments.post("/bulk", response_model=BulkResult, summary="批量分配专员")
def bulk_assign(
    request: Request, session: SessionDep, actor: CanAssign, body: BulkAssign
) -> BulkResult:
    day = today(request)
    return service.bulk_assign(
        session,
        actor,
        flt=enterprise_service.EnterpriseFilter(**body.filter.model_dump()),
        specialty_code=body.specialty_code,
        commissioner_id=body.commissioner_id,
        started_on=body.started_on or day,
        replace=body.replace,
        today=day,
    )


@assignments.get("/suggestions", response_model=SuggestionPlan, summary="建议分配方案")
def suggestions(
    session: SessionDep,
    actor: CanAssign,
    district: str | None = None,
    specialty: str | None = None,
) -> SuggestionPlan:
    return service.suggestions(session, actor, district=district, specialty=specialty)


@assignments.post(
    "/suggestions/accept", response_model=list[AssignmentPublic], summary="采纳建议分配"
)
def accept_suggestions(
    request: Request, session: SessionDep, actor: CanAssign, body: AcceptSuggestions
) -> list[AssignmentPublic]:
    rows = service.accept(session, actor, body, today=today(request))
    return service.assignments_public(session, rows)


@records.get("", response_model=ServiceRecordPage, summary="服务记录")
def list_records(
    request: Request,
    session: SessionDep,
    actor: CanReadServices,
    enterprise_id: int | None = None,
    commissioner_id: int | None = None,
    kind: str | None = None,
    since: IsoDate | None = None,
    until: IsoDate | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ServiceRecordPage:
    rows, total = service.list_records(
        session,
        actor,
        enterprise_id=enterprise_id,
        commissioner_id=commissioner_id,
        kind_code=kind,
        since=since,
        until=until,
        page=page,
        page_size=page_size,
    )
    return ServiceRecordPage(
        items=service.records_public(session, rows, today(request)),
        total=total,
        page=page,
        page_size=page_size,
    )


@report_routes.get("/coverage", response_model=CoverageReport, summary="专员覆盖情况")
def coverage(
    session: SessionDep, actor: CanReadCommissionerReports, district: str | None = None
) -> CoverageReport:
    return reports.coverage(session, actor, district=district)


@report_routes.get("/load", response_model=LoadReport, summary="专员工作量")
def load(
    request: Request,
    session: SessionDep,
    actor: CanReadCommissionerReports,
    months: Annotated[int, Query(ge=1, le=60)] = 12,
) -> LoadReport:
    return reports.load(session, actor, today=today(request), months=months)


@report_routes.get("/followup", response_model=FollowupReport, summary="诉求跟踪")
def followup(
    request: Request,
    session: SessionDep,
    actor: CanReadCommissionerReports,
    days: Annotated[int, Query(ge=1, le=3650)] = 90,
) -> FollowupReport:
    return reports.followup(session, actor, today=today(request), days=days)


router = APIRouter()
for _part in (roster, per_enterprise, assignments, records, report_routes):
    router.include_router(_part)
