"""API shapes for enterprises and their annual figures (table models never leave the service)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.clock import IsoDate
from service.inputs import Input

# ≤ 10 integer digits and 4 places: exact in every backend (SQLite keeps 15 significant digits).
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=4)]
NonNegativeMoney = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]
Status = Literal["active", "moved_out", "deregistered"]


class EnterpriseBase(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    district_code: Annotated[str, Field(min_length=1, max_length=40)]
    subsector_code: Annotated[str, Field(min_length=1, max_length=60)]
    further_subsectors: list[str] = []
    chain_position: str | None = None
    main_products: Annotated[str, Field(max_length=500)] = ""
    established_on: IsoDate | None = None
    address: Annotated[str, Field(max_length=300)] = ""
    legal_representative: Annotated[str, Field(max_length=60)] = ""
    contact_person: Annotated[str, Field(max_length=60)] = ""
    contact_phone: Annotated[str, Field(max_length=40)] = ""
    is_key: bool = False
    key_reason: Annotated[str, Field(max_length=300)] = ""
    notes: Annotated[str, Field(max_length=2000)] = ""


class EnterpriseCreate(EnterpriseBase):
    credit_code: Annotated[str, Field(min_length=1, max_length=40)]


class EnterpriseUpdate(Input):
    """A partial update: only the fields sent are changed."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    district_code: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    subsector_code: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    further_subsectors: list[str] | None = None
    chain_position: str | None = None
    main_products: Annotated[str, Field(max_length=500)] | None = None
    established_on: IsoDate | None = None
    address: Annotated[str, Field(max_length=300)] | None = None
    legal_representative: Annotated[str, Field(max_length=60)] | None = None
    contact_person: Annotated[str, Field(max_length=60)] | None = None
    contact_phone: Annotated[str, Field(max_length=40)] | None = None
    is_key: bool | None = None
    key_reason: Annotated[str, Field(max_length=300)] | None = None
    notes: Annotated[str, Field(max_length=2000)] | None = None


class StatusChange(Input):
    status: Status
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class TierRef(BaseModel):
    code: str
    name: str
    rank: int


class EnterprisePublic(BaseModel):
    id: int
    credit_code: str
    name: str
    district_code: str
    district_name: str
    subsector_code: str
    subsector_name: str
    further_subsectors: list[str]
    chain_position: str | None
    main_products: str
    established_on: date | None
    address: str
    legal_representative: str
    contact_person: str
    contact_phone: str
    is_key: bool
    key_reason: str
    status: Status
    notes: str
    version: int
    current_tier: TierRef | None
    created_at: datetime
    updated_at: datetime


class FiguresIn(Input):
    operating_revenue: NonNegativeMoney | None = None
    main_business_revenue: NonNegativeMoney | None = None
    rd_expense: NonNegativeMoney | None = None
    total_assets: NonNegativeMoney | None = None
    total_liabilities: NonNegativeMoney | None = None
    net_profit: Money | None = None  # a loss is a negative profit
    new_equity_financing: NonNegativeMoney | None = None
    employees: Count | None = None
    rd_staff: Count | None = None
    ip_class1: Count | None = None
    ip_class2: Count | None = None


class FiguresPublic(FiguresIn):
    model_config = ConfigDict(extra="ignore")
    year: int
    source: str
    updated_at: datetime


class DesignationPublic(BaseModel):
    id: int
    tier_code: str
    tier_name: str
    tier_rank: int
    batch: str
    authority: str
    document_no: str
    designated_on: date
    valid_until: date | None
    status: str
    effective_status: str  # "expired" from the day after valid_until, whatever is stored
    reason: str
    revoked_on: date | None
    source: str


class EnterpriseDetail(EnterprisePublic):
    designations: list[DesignationPublic]
    latest_figures: FiguresPublic | None


class EnterprisePage(BaseModel):
    items: list[EnterprisePublic]
    total: int
    page: int
    page_size: int
