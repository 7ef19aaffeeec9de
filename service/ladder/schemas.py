"""API shapes for designations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.clock import IsoDate
from service.inputs import Input


class DesignationCreate(Input):
    tier_code: Annotated[str, Field(min_length=1, max_length=32)]
    designated_on: IsoDate
    valid_until: IsoDate | None = None  # default: the tier's validity period
    batch: Annotated[str, Field(max_length=60)] = ""
    authority: Annotated[str, Field(max_length=100)] = ""
    document_no: Annotated[str, Field(max_length=100)] = ""
    reason: Annotated[str, Field(max_length=500)] = ""


class DesignationRevoke(Input):
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    revoked_on: IsoDate | None = None  # default: today
    reapply_not_before: IsoDate | None = None  # default: 3 years after revoked_on


class DesignationRenew(Input):
    """A renewal after review (复核): extends valid-until by the tier's validity period."""

    reviewed_on: IsoDate | None = None  # None is kept, and reported as an anomaly
    renewed_on: IsoDate | None = None  # default: today
    document_no: Annotated[str, Field(max_length=100)] = ""
    note: Annotated[str, Field(max_length=500)] = ""


class EventPublic(BaseModel):
    id: int
    designation_id: int
    tier_code: str
    kind: Literal["designate", "renew", "revoke", "expire"]
    occurred_on: date
    valid_until_before: date | None
    valid_until_after: date | None
    reviewed_on: date | None
    reapply_not_before: date | None
    document_no: str
    reason: str
    source: str


class StepPublic(BaseModel):
    on: date
    from_tier: str | None
    from_tier_name: str | None
    to_tier: str | None
    to_tier_name: str | None
    direction: Literal["up", "down", "lapse"]


class AnomalyPublic(BaseModel):
    id: int
    enterprise_id: int
    enterprise_name: str
    credit_code: str
    district_code: str
    subsector_code: str
    designation_id: int
    tier_code: str
    tier_name: str
    kind: str
    kind_name: str
    occurred_on: date
    detail: str
    source: str


class LadderHistory(BaseModel):
    """Derived from the designations: nothing here is stored."""

    enterprise_id: int
    as_of: date
    current_tier: str | None
    current_tier_name: str | None
    current_since: date | None
    days_in_tier: int | None
    previous_tier: str | None
    previous_tier_name: str | None
    first_reached: dict[str, date]
    steps: list[StepPublic]
    events: list[EventPublic]
    anomalies: list[AnomalyPublic]
    reapply_not_before: date | None  # the latest date a revocation bars a new application until


# ---- listing path ----------------------------------------------------------------------------

ListingStage = Literal[
    "reserve",
    "priority",
    "joint_stock",
    "tutoring_agreement",
    "tutoring_filed",
    "tutoring_accepted",
    "filing_accepted",
    "review_registration",
    "listed",
    "broker_review",
    "quoted",
    "terminated",
]
ListingBoard = Literal[
    "sse_main",
    "szse_main",
    "chinext",
    "star",
    "bse",
    "neeq_basic",
    "neeq_innovation",
    "cq_equity_star",
    "cq_equity_growth",
    "cq_equity_specialized",
    "overseas_hk",
    "overseas_other",
]
STAGE_ZH: dict[str, str] = {
    "reserve": "后备库",
    "priority": "重点库",
    "joint_stock": "股改完成",
    "tutoring_agreement": "辅导协议",
    "tutoring_filed": "辅导备案",
    "tutoring_accepted": "辅导验收",
    "filing_accepted": "申报受理",
    "review_registration": "审核/注册",
    "listed": "上市",
    "broker_review": "券商内核",
    "quoted": "挂牌",
    "terminated": "终止",
}
BOARD_ZH: dict[str, str] = {
    "sse_main": "上交所主板",
    "szse_main": "深交所主板",
    "chinext": "创业板",
    "star": "科创板",
    "bse": "北交所",
    "neeq_basic": "新三板基础层",
    "neeq_innovation": "新三板创新层",
    "cq_equity_star": "重庆股份转让中心科创板",
    "cq_equity_growth": "重庆股份转让中心成长板",
    "cq_equity_specialized": "重庆股份转让中心专精特新板",
    "overseas_hk": "境外（港股）",
    "overseas_other": "境外（其他）",
}


class ListingStepIn(Input):
    stage: ListingStage
    stage_on: IsoDate
    intended_board: ListingBoard | None = None
    board: ListingBoard | None = None
    security_code: Annotated[str, Field(max_length=20, pattern=r"^[0-9A-Za-z.]*$")] = ""
    short_name: Annotated[str, Field(max_length=40)] = ""
    sponsor: Annotated[str, Field(max_length=100)] = ""
    note: Annotated[str, Field(max_length=500)] = ""


class ListingStepPublic(ListingStepIn):
    model_config = ConfigDict(extra="ignore")

    id: int
    stage_name: str
    intended_board_name: str | None
    board_name: str | None


class ListingPath(BaseModel):
    enterprise_id: int
    current: ListingStepPublic | None
    steps: list[ListingStepPublic]


# ---- evaluator facts -------------------------------------------------------------------------

JudgementCode = Literal[
    "strategic_emerging_field",
    "chain_gap_filler",
    "six_foundations_field",
    "time_honoured_brand",
    "serves_chain_leader",
    "provincial_quality_award",
    "quality_certification",
    "own_brand",
    "standards_participation",
    "sound_governance_and_credit",
    "core_business_on_info_system",
    "management_or_market_certification",
    "domestic_share_10pct",
    "foreign_share_10pct",
    "domestic_top3",
    "market_share_fairly_high",
    "little_giant_field_2022",
    "little_giant_field_2026",
    "key_chain_link",
]
IpCode = Literal[
    "class_i_high_value",
    "class_i_self_developed",
    "class_i",
    "class_ii",
    "class_i_applied",
    "class_i_applied_own",
]
TitleCode = Literal["tech_sme", "high_tech", "tech_innovation_demo", "ip_advantage", "ip_demo"]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
Year = Annotated[int, Field(ge=1949, le=2100)]


class AwardIn(Input):
    level: Literal["national", "provincial"]
    year: Year
    unit_rank: Annotated[int, Field(ge=1, le=100)] | None = None


class ContestIn(Input):
    year: Year
    national_top: Annotated[int, Field(ge=1, le=100_000)]


class TitleIn(Input):
    code: TitleCode
    designated_on: IsoDate | None = None
    valid_until: IsoDate | None = None


class EvaluatorFactsIn(Input):
    """What an evaluator records for a year (all of it: a field left out is cleared)."""

    niche_since: IsoDate | None = None
    judgements: dict[JudgementCode, bool | None] = {}
    ip: dict[IpCode, Count | None] = {}
    rd_institution: (
        Literal["national", "provincial", "municipal", "below_municipal", "none"] | None
    ) = None
    awards: list[AwardIn] = []
    contests: list[ContestIn] = []
    titles: list[TitleIn] = []
    development_score: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)] | None = None
    digital_level: Annotated[int, Field(ge=1, le=4)] | None = None
    local_distinctive_points: Annotated[Decimal, Field(ge=0, le=15, decimal_places=2)] | None = None


class EvaluatorFactsPublic(EvaluatorFactsIn):
    model_config = ConfigDict(extra="ignore")

    year: int
    source: str


class EligibilityPublic(BaseModel):
    """The engine's verdicts for one enterprise and fiscal year, with the rules it applied."""

    enterprise_id: int
    year: int
    as_of: date
    purpose: Literal["application", "review"]
    current_tier: str | None
    highest_eligible: str | None
    rule_versions: dict[str, str]
    conventions: dict[str, str]
    inputs: dict[str, Any]
    evaluation: dict[str, Any]


# ---- manager views ---------------------------------------------------------------------------


class EnterpriseRef(BaseModel):
    enterprise_id: int
    name: str
    credit_code: str
    district_code: str
    district_name: str
    subsector_code: str
    subsector_name: str
    current_tier: str | None
    current_tier_name: str | None


class Candidate(EnterpriseRef):
    target_tier: str
    target_tier_name: str
    rule_version: str
    total_points: str | None
    reasons: list[str]


class CandidatePage(BaseModel):
    year: int
    as_of: date
    evaluated: int
    total: int
    by_target: dict[str, int]
    page: int
    page_size: int
    items: list[Candidate]


class DueReview(EnterpriseRef):
    designation_id: int
    tier_code: str
    tier_name: str
    designated_on: date
    valid_until: date
    days_left: int
    # 复核资格: the annual data update of the relevant year and unreported major changes.
    review_status: Literal["eligible", "not_eligible", "pending"] = "eligible"
    review_eligible: bool | None = True  # None: the relevant update is not due yet
    review_reasons: list[str] = []
    data_update_year: int | None = None
    data_update_deadline: date | None = None
    data_update_rule_version: str = ""


class DueReviewPage(BaseModel):
    as_of: date
    within_days: int
    total: int
    page: int
    page_size: int
    items: list[DueReview]


class AnomalyPage(BaseModel):
    total: int
    by_kind: dict[str, int]
    page: int
    page_size: int
    items: list[AnomalyPublic]


class KeySuggestion(EnterpriseRef):
    rank: int
    score: str
    version: int
    highest_eligible: str | None
    reasons: list[str]
    last_decision: Literal["confirmed", "rejected"] | None


class KeySuggestionPage(BaseModel):
    year: int
    as_of: date
    total: int
    items: list[KeySuggestion]


class KeyDecisionIn(Input):
    decision: Literal["confirmed", "rejected"]
    reason: Annotated[str, Field(min_length=1, max_length=300)]
    year: Year | None = None  # the fiscal year evaluated; default last year
    suggested_rank: Annotated[int, Field(ge=1)] | None = None


class KeyDecisionPublic(BaseModel):
    id: int
    enterprise_id: int
    year: int
    decision: Literal["confirmed", "rejected"]
    reason: str
    suggested_rank: int | None
    evidence: list[str]
    decided_by: str
    is_key: bool
    enterprise_version: int


# ---- annual data update and major changes ----------------------------------------------------


class DataUpdateIn(Input):
    updated_on: IsoDate
    note: Annotated[str, Field(max_length=500)] = ""


class DataUpdatePublic(BaseModel):
    year: int
    updated_on: date
    note: str
    source: str
    deadline: date
    deadline_confirmed: bool
    rule_version: str
    on_time: bool


MajorChangeKind = Literal["rename", "merger", "restructuring", "relocation", "foreign_branch"]


class MajorChangeIn(Input):
    """A major change; posting the same kind and date again updates it (e.g. its report)."""

    kind: MajorChangeKind
    occurred_on: IsoDate
    reported_on: IsoDate | None = None  # None: not reported (yet)
    detail: Annotated[str, Field(max_length=500)] = ""


class MajorChangePublic(BaseModel):
    id: int
    kind: MajorChangeKind
    kind_name: str
    occurred_on: date
    reported_on: date | None
    detail: str
    source: str
    report_deadline: date
    rule_version: str
    status: Literal["on_time", "late", "unreported", "pending"]


class ScanResult(BaseModel):
    """What `tierledger ladder scan` found and recorded (nothing twice)."""

    as_of: date
    designations_scanned: int
    changes_scanned: int
    recorded: int
    by_kind: dict[str, int]
