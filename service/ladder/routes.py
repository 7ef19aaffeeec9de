"""HTTP edge for the ladder: designations and their lifecycle, an enterprise's derived history,
listing path, evaluator facts and eligibility, and the managers' pool views."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response

from service.access import scope
from service.access.deps import (
    CanReadEnterprises,
    CanSelectKey,
    CanWriteDesignations,
    CanWriteEvaluatorFacts,
    CanWriteListing,
)
from service.db import SessionDep
from service.enterprises import service as enterprise_service
from service.enterprises.routes import etag, expected_version, today
from service.enterprises.schemas import DesignationPublic
from service.ladder import compliance, pool, records, service
from service.ladder.models import ANOMALY_KINDS
from service.ladder.schemas import (
    AnomalyPage,
    CandidatePage,
    DataUpdateIn,
    DataUpdatePublic,
    DesignationCreate,
    DesignationRenew,
    DesignationRevoke,
    DueReviewPage,
    EligibilityPublic,
    EvaluatorFactsIn,
    EvaluatorFactsPublic,
    KeyDecisionIn,
    KeyDecisionPublic,
    KeySuggestionPage,
    LadderHistory,
    ListingPath,
    ListingStepIn,
    ListingStepPublic,
    MajorChangeIn,
    MajorChangePublic,
)

router = APIRouter()
designations = APIRouter(
    prefix="/api/v1/enterprises/{enterprise_id}/designations", tags=["梯度认定"]
)
enterprise_ladder = APIRouter(prefix="/api/v1/enterprises/{enterprise_id}", tags=["梯度认定"])
managers = APIRouter(prefix="/api/v1/ladder", tags=["梯度培育"])

Page = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=1000)]
TierFilter = Annotated[str | None, Query(max_length=32, description="当前梯度代码；none 为无")]


def _public(request: Request, session: SessionDep, enterprise_id: int) -> list[DesignationPublic]:
    return enterprise_service.detail(
        session, enterprise_service.get_unscoped(session, enterprise_id), today(request)
    ).designations


@designations.get("", response_model=list[DesignationPublic], summary="认定记录")
def list_designations(
    request: Request, session: SessionDep, actor: CanReadEnterprises, enterprise_id: int
) -> list[DesignationPublic]:
    enterprise_service.get(session, actor, enterprise_id)
    return _public(request, session, enterprise_id)


@designations.post("", response_model=DesignationPublic, status_code=201, summary="新增认定")
def add_designation(
    request: Request,
    session: SessionDep,
    actor: CanWriteDesignations,
    enterprise_id: int,
    body: DesignationCreate,
) -> DesignationPublic:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    scope.require_field_rights(actor, enterprise, {"designations"})
    d = service.add(
        session,
        actor,
        enterprise_id=enterprise_id,
        enterprise_repr=enterprise.name,
        **body.model_dump(),
    )
    return next(p for p in _public(request, session, enterprise_id) if p.id == d.id)


@designations.post(
    "/{designation_id}/renew", response_model=DesignationPublic, summary="复核通过，续期认定"
)
def renew_designation(
    request: Request,
    session: SessionDep,
    actor: CanWriteDesignations,
    enterprise_id: int,
    designation_id: int,
    body: DesignationRenew,
) -> DesignationPublic:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    scope.require_field_rights(actor, enterprise, {"designations"})
    d = service.renew(
        session,
        actor,
        enterprise_id=enterprise_id,
        enterprise_repr=enterprise.name,
        designation_id=designation_id,
        renewed_on=body.renewed_on or today(request),
        reviewed_on=body.reviewed_on,
        document_no=body.document_no,
        note=body.note,
        today=today(request),
    )
    return next(p for p in _public(request, session, enterprise_id) if p.id == d.id)


@designations.post("/{designation_id}/revoke", response_model=DesignationPublic, summary="撤销认定")
def revoke_designation(
    request: Request,
    session: SessionDep,
    actor: CanWriteDesignations,
    enterprise_id: int,
    designation_id: int,
    body: DesignationRevoke,
) -> DesignationPublic:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    scope.require_field_rights(actor, enterprise, {"designations"})
    d = service.revoke(
        session,
        actor,
        enterprise_id=enterprise_id,
        enterprise_repr=enterprise.name,
        designation_id=designation_id,
        reason=body.reason,
        revoked_on=body.revoked_on or today(request),
        reapply_not_before=body.reapply_not_before,
        today=today(request),
    )
    return next(p for p in _public(request, session, enterprise_id) if p.id == d.id)


# ---- one enterprise --------------------------------------------------------------------------


@enterprise_ladder.get("/ladder", response_model=LadderHistory, summary="梯度历程")
def ladder_history(
    request: Request, session: SessionDep, actor: CanReadEnterprises, enterprise_id: int
) -> LadderHistory:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    return records.history(session, enterprise, today(request))


@enterprise_ladder.get("/listing", response_model=ListingPath, summary="上市进程")
def listing_path(session: SessionDep, actor: CanReadEnterprises, enterprise_id: int) -> ListingPath:
    return records.listing_path(session, enterprise_service.get(session, actor, enterprise_id))


@enterprise_ladder.post(
    "/listing", response_model=ListingStepPublic, status_code=201, summary="登记上市进程"
)
def add_listing_step(
    request: Request,
    session: SessionDep,
    actor: CanWriteListing,
    enterprise_id: int,
    body: ListingStepIn,
) -> ListingStepPublic:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    scope.require_field_rights(actor, enterprise, {"listing"})
    step = records.add_listing_step(session, actor, enterprise, body, today=today(request))
    return records.listing_step_public(step)


@enterprise_ladder.get(
    "/evaluator-facts", response_model=list[EvaluatorFactsPublic], summary="评价信息"
)
def list_evaluator_facts(
    session: SessionDep, actor: CanReadEnterprises, enterprise_id: int
) -> list[EvaluatorFactsPublic]:
    return records.list_facts(session, enterprise_service.get(session, actor, enterprise_id))


@enterprise_ladder.put(
    "/evaluator-facts/{year}", response_model=EvaluatorFactsPublic, summary="录入某年评价信息"
)
def put_evaluator_facts(
    request: Request,
    session: SessionDep,
    actor: CanWriteEvaluatorFacts,
    enterprise_id: int,
    year: int,
    body: EvaluatorFactsIn,
) -> EvaluatorFactsPublic:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    scope.require_field_rights(actor, enterprise, {"evaluator_facts"})
    return records.put_facts(session, actor, enterprise, year=year, data=body, today=today(request))


@enterprise_ladder.get(
    "/data-updates", response_model=list[DataUpdatePublic], summary="年度数据更新记录"
)
def list_data_updates(
    session: SessionDep, actor: CanReadEnterprises, enterprise_id: int
) -> list[DataUpdatePublic]:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    return compliance.list_data_updates(session, enterprise)


@enterprise_ladder.put(
    "/data-updates/{year}", response_model=DataUpdatePublic, summary="登记某年度数据更新日期"
)
def put_data_update(
    request: Request,
    session: SessionDep,
    actor: CanWriteEvaluatorFacts,
    enterprise_id: int,
    year: int,
    body: DataUpdateIn,
) -> DataUpdatePublic:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    scope.require_field_rights(actor, enterprise, {"evaluator_facts"})
    return compliance.put_data_update(
        session, actor, enterprise, year=year, data=body, today=today(request)
    )


@enterprise_ladder.get(
    "/major-changes", response_model=list[MajorChangePublic], summary="重大变化及报告"
)
def list_major_changes(
    request: Request, session: SessionDep, actor: CanReadEnterprises, enterprise_id: int
) -> list[MajorChangePublic]:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    return compliance.list_major_changes(session, enterprise, today=today(request))


@enterprise_ladder.post(
    "/major-changes",
    response_model=MajorChangePublic,
    status_code=201,
    summary="登记重大变化（同类型同日期再次提交即更新，如补登报告日期）",
    responses={200: {"model": MajorChangePublic, "description": "同类型同日期已登记：已更新"}},
)
def record_major_change(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CanWriteEvaluatorFacts,
    enterprise_id: int,
    body: MajorChangeIn,
) -> MajorChangePublic:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    scope.require_field_rights(actor, enterprise, {"evaluator_facts"})
    change, created = compliance.record_major_change(
        session, actor, enterprise, body, today=today(request)
    )
    if not created:
        response.status_code = 200
    return change


@enterprise_ladder.get("/eligibility", response_model=EligibilityPublic, summary="梯度条件评估")
def eligibility(
    request: Request,
    session: SessionDep,
    actor: CanReadEnterprises,
    enterprise_id: int,
    year: Annotated[int | None, Query(ge=1949, le=2100)] = None,
    purpose: Literal["application", "review"] = "application",
) -> EligibilityPublic:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    return records.eligibility(
        session, enterprise, year=year, today=today(request), purpose=purpose
    )


@enterprise_ladder.post(
    "/key-selection", response_model=KeyDecisionPublic, status_code=201, summary="重点企业遴选决定"
)
def decide_key(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CanSelectKey,
    enterprise_id: int,
    body: KeyDecisionIn,
    if_match: Annotated[str | None, Header()] = None,
) -> KeyDecisionPublic:
    enterprise = enterprise_service.get(session, actor, enterprise_id)
    decision = records.decide_key(
        session,
        actor,
        enterprise,
        body,
        expected_version=expected_version(if_match) if if_match else None,
        today=today(request),
    )
    response.headers["ETag"] = etag(decision.enterprise_version)
    return decision


# ---- across the ledger -----------------------------------------------------------------------


def _flt(district: str | None, subsector: str | None, tier: str | None) -> pool.PoolFilter:
    return pool.PoolFilter(district_code=district, subsector_code=subsector, tier_code=tier)


@managers.get("/candidates", response_model=CandidatePage, summary="可晋级企业")
def candidates(
    request: Request,
    session: SessionDep,
    actor: CanReadEnterprises,
    district: str | None = None,
    subsector: str | None = None,
    tier: TierFilter = None,
    target: str | None = None,
    year: Annotated[int | None, Query(ge=1949, le=2100)] = None,
    page: Page = 1,
    page_size: PageSize = 100,
) -> CandidatePage:
    return pool.candidates(
        session,
        actor,
        flt=_flt(district, subsector, tier),
        today=today(request),
        year=year,
        target=target,
        page=page,
        page_size=page_size,
    )


@managers.get("/due-reviews", response_model=DueReviewPage, summary="待复核认定")
def due_reviews(
    request: Request,
    session: SessionDep,
    actor: CanReadEnterprises,
    district: str | None = None,
    subsector: str | None = None,
    tier: TierFilter = None,
    within_days: Annotated[int, Query(ge=0, le=3650)] = 90,
    page: Page = 1,
    page_size: PageSize = 100,
) -> DueReviewPage:
    return pool.due_reviews(
        session,
        actor,
        flt=_flt(district, subsector, tier),
        today=today(request),
        within_days=within_days,
        page=page,
        page_size=page_size,
    )


@managers.get("/anomalies", response_model=AnomalyPage, summary="梯度异常")
def anomalies(
    request: Request,
    session: SessionDep,
    actor: CanReadEnterprises,
    district: str | None = None,
    subsector: str | None = None,
    tier: TierFilter = None,
    kind: Literal[ANOMALY_KINDS] | None = None,  # type: ignore[valid-type]
    page: Page = 1,
    page_size: PageSize = 100,
) -> AnomalyPage:
    return pool.anomalies(
        session,
        actor,
        flt=_flt(district, subsector, tier),
        today=today(request),
        kind=kind,
        page=page,
        page_size=page_size,
    )


@managers.get("/key-suggestions", response_model=KeySuggestionPage, summary="重点企业遴选建议")
def key_suggestions(
    request: Request,
    session: SessionDep,
    actor: CanSelectKey,
    district: str | None = None,
    subsector: str | None = None,
    tier: TierFilter = None,
    year: Annotated[int | None, Query(ge=1949, le=2100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> KeySuggestionPage:
    return pool.key_suggestions(
        session,
        actor,
        flt=_flt(district, subsector, tier),
        today=today(request),
        year=year,
        limit=limit,
    )


router.include_router(designations)
router.include_router(enterprise_ladder)
router.include_router(managers)
