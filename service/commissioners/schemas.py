"""API shapes for commissioners, assignments, service records, needs and their reports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool

from service.clock import IsoDate
from service.inputs import Input

NonNegativeMoney = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4)]
NeedStatus = Literal["open", "in_progress", "resolved", "cannot_resolve"]
Code = Annotated[str, Field(min_length=1, max_length=32)]


# ---- roster -----------------------------------------------------------------------------------


class CommissionerCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=60)]
    specialties: Annotated[list[Code], Field(min_length=1, max_length=4)]
    organisation: Annotated[str, Field(max_length=120)] = ""
    phone: Annotated[str, Field(max_length=40)] = ""
    district_codes: list[Code] = []
    cluster_codes: list[Code] = []
    capacity: Annotated[int, Field(ge=0, le=10_000)] = 10
    active: StrictBool = True
    user_id: int | None = None


class CommissionerUpdate(Input):
    """A partial update; `user_id: null` unlinks the account."""

    name: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    specialties: Annotated[list[Code], Field(min_length=1, max_length=4)] | None = None
    organisation: Annotated[str, Field(max_length=120)] | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None
    district_codes: list[Code] | None = None
    cluster_codes: list[Code] | None = None
    capacity: Annotated[int, Field(ge=0, le=10_000)] | None = None
    active: StrictBool | None = None
    user_id: int | None = None


class CommissionerPublic(BaseModel):
    id: int
    name: str
    organisation: str
    phone: str
    specialties: list[str]
    specialty_names: list[str]
    district_codes: list[str]
    cluster_codes: list[str]
    covered_districts: list[str]
    capacity: int
    load: int
    active: bool
    user_id: int | None
    username: str | None
    created_at: datetime
    updated_at: datetime


# ---- assignments ------------------------------------------------------------------------------


class AssignmentCreate(Input):
    specialty_code: Code
    commissioner_id: int
    started_on: IsoDate | None = None
    replace: bool = False  # end the slot's current commissioner on `started_on` first
    reason: Annotated[str, Field(max_length=200)] = ""


class AssignmentEnd(Input):
    ended_on: IsoDate | None = None
    reason: Annotated[str, Field(max_length=200)] = ""


class AssignmentPublic(BaseModel):
    id: int
    enterprise_id: int
    enterprise_name: str
    specialty_code: str
    specialty_name: str
    commissioner_id: int
    commissioner_name: str
    started_on: date
    ended_on: date | None
    end_reason: str
    source: str
    active: bool


class SlotPublic(BaseModel):
    specialty_code: str
    specialty_name: str
    current: AssignmentPublic | None


class EnterpriseSlots(BaseModel):
    enterprise_id: int
    slots: list[SlotPublic]
    history: list[AssignmentPublic]


class EnterpriseFilterIn(Input):
    """The enterprise list's filters, for choosing a set to act on."""

    district_code: str | None = None
    subsector_code: str | None = None
    tier_code: str | None = None
    is_key: StrictBool | None = None
    status: Literal["active", "moved_out", "deregistered"] | None = "active"
    q: Annotated[str, Field(max_length=100)] | None = None


class BulkAssign(Input):
    filter: EnterpriseFilterIn
    specialty_code: Code
    commissioner_id: int
    started_on: IsoDate | None = None
    replace: StrictBool = False


class BulkResult(BaseModel):
    matched: int
    assigned: list[int]
    already_held: list[int]  # the slot already held by this commissioner
    skipped_taken: list[int]  # held by someone else and `replace` not asked


class SuggestionLine(BaseModel):
    enterprise_id: int
    enterprise_name: str
    district_code: str
    specialty_code: str
    commissioner_id: int
    commissioner_name: str
    load_before: int
    load_after: int
    capacity: int


class UnfilledSlot(BaseModel):
    enterprise_id: int
    enterprise_name: str
    district_code: str
    specialty_code: str
    reason: Literal["no_commissioner", "full"]
    message: str


class SuggestionPlan(BaseModel):
    lines: list[SuggestionLine]
    unfilled: list[UnfilledSlot]


class AcceptLine(Input):
    enterprise_id: int
    specialty_code: Code
    commissioner_id: int


class AcceptSuggestions(Input):
    """Accept named lines, or (`all`) the whole current proposal for the same filters."""

    lines: list[AcceptLine] = []
    all: StrictBool = False
    district_code: str | None = None
    specialty_code: str | None = None
    started_on: IsoDate | None = None


# ---- service records and needs ----------------------------------------------------------------


class NeedIn(Input):
    description: Annotated[str, Field(min_length=1, max_length=1000)]
    kind_code: Code | None = None  # default: the record's kind
    due_on: IsoDate | None = None


class ServiceRecordCreate(Input):
    served_on: IsoDate
    kind_code: Code
    summary: Annotated[str, Field(min_length=1, max_length=2000)]
    commissioner_id: int | None = None  # a commissioner records as themselves
    financing_sought: NonNegativeMoney | None = None
    financing_obtained: NonNegativeMoney | None = None
    attachments: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=20)
    ] = []
    needs: Annotated[list[NeedIn], Field(max_length=20)] = []


class NeedPublic(BaseModel):
    id: int
    service_record_id: int
    enterprise_id: int
    kind_code: str
    description: str
    status: NeedStatus
    raised_on: date
    due_on: date | None
    closed_on: date | None
    resolution: str
    overdue: bool


class ServiceRecordPublic(BaseModel):
    id: int
    enterprise_id: int
    enterprise_name: str
    commissioner_id: int
    commissioner_name: str
    kind_code: str
    kind_name: str
    served_on: date
    summary: str
    financing_sought: Decimal | None
    financing_obtained: Decimal | None
    attachments: list[str]
    needs: list[NeedPublic]
    created_at: datetime


class ServiceRecordPage(BaseModel):
    items: list[ServiceRecordPublic]
    total: int
    page: int
    page_size: int


class NeedStatusChange(Input):
    status: NeedStatus
    note: Annotated[str, Field(max_length=1000)] = ""
    on: IsoDate | None = None


# ---- reports ----------------------------------------------------------------------------------


class CoverageRow(BaseModel):
    district_code: str
    district_name: str
    key_enterprises: int
    with_empty_slot: int
    empty: dict[str, int]  # specialty code → key enterprises with that slot empty


class CoverageEnterprise(BaseModel):
    enterprise_id: int
    enterprise_name: str
    district_code: str
    empty: list[str]


class CoverageReport(BaseModel):
    specialties: dict[str, str]
    rows: list[CoverageRow]
    total: CoverageRow
    enterprises: list[CoverageEnterprise]


class LoadRow(BaseModel):
    commissioner_id: int
    commissioner_name: str
    active: bool
    capacity: int
    enterprises: int
    free: int
    over_capacity: bool
    services: list[int]  # one count per month of `months`
    services_total: int


class LoadReport(BaseModel):
    months: list[str]
    rows: list[LoadRow]


class AgeRow(BaseModel):
    kind_code: str
    kind_name: str
    buckets: dict[str, int]
    total: int


class OverdueNeed(BaseModel):
    need_id: int
    enterprise_id: int
    enterprise_name: str
    kind_code: str
    description: str
    status: NeedStatus
    raised_on: date
    due_on: date
    days_overdue: int


class QuietEnterprise(BaseModel):
    enterprise_id: int
    enterprise_name: str
    district_code: str
    last_served_on: date | None
    days_since: int | None


class FollowupReport(BaseModel):
    as_of: date
    days: int
    buckets: list[str]
    open_needs: list[AgeRow]
    overdue: list[OverdueNeed]
    quiet: list[QuietEnterprise]
