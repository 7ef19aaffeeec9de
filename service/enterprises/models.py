"""The enterprise file and its annual figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar

import sqlalchemy as sa
from sqlmodel import Field

from service.db import NEVER_REUSED_IDS, TimestampedTable, money_column

ENTERPRISE_STATUSES = ("active", "moved_out", "deregistered")
_VERSION = sa.Column("version", sa.Integer, nullable=False, default=1)


class Enterprise(TimestampedTable, table=True):
    """An enterprise in the ledger; never deleted, only moved out or deregistered."""

    __tablename__ = "enterprise"
    __table_args__ = (
        sa.CheckConstraint("status IN ('active', 'moved_out', 'deregistered')", name="status"),
        # The list pages' filters with their name order (see the 2026-12-04 migration).
        sa.Index("ix_enterprise_status_name", "status", "name", "id"),
        sa.Index("ix_enterprise_district_status_name", "district_code", "status", "name", "id"),
        NEVER_REUSED_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    credit_code: str = Field(max_length=18, unique=True)
    name: str = Field(max_length=200, index=True)
    district_code: str = Field(foreign_key="district.code", max_length=8)
    subsector_code: str = Field(foreign_key="subsector.code", index=True, max_length=16)
    chain_position: str | None = Field(default=None, foreign_key="chain_position.code")
    main_products: str = Field(default="", max_length=500)
    established_on: date | None = None
    address: str = Field(default="", max_length=300)
    legal_representative: str = Field(default="", max_length=60)
    contact_person: str = Field(default="", max_length=60)
    contact_phone: str = Field(default="", max_length=40)
    is_key: bool = Field(default=False, index=True)
    key_reason: str = Field(default="", max_length=300)
    status: str = Field(default="active", max_length=16)
    notes: str = Field(default="", max_length=2000)
    version: int = Field(default=1, sa_column=_VERSION)

    # SQLAlchemy adds "AND version = :seen" to every UPDATE, so a stale write can never land.
    __mapper_args__: ClassVar = {"version_id_col": _VERSION}


class EnterpriseSubsector(TimestampedTable, table=True):
    """A further subsector an enterprise works in, beside its primary one."""

    __tablename__ = "enterprise_subsector"
    enterprise_id: int = Field(foreign_key="enterprise.id", primary_key=True, ondelete="CASCADE")
    subsector_code: str = Field(foreign_key="subsector.code", primary_key=True, index=True)


FIGURE_MONEY_FIELDS = (
    "operating_revenue",
    "main_business_revenue",
    "rd_expense",
    "total_assets",
    "total_liabilities",
    "net_profit",
    "new_equity_financing",
)
FIGURE_COUNT_FIELDS = ("employees", "rd_staff", "ip_class1", "ip_class2")


class AnnualFigures(TimestampedTable, table=True):
    """One enterprise's figures for one fiscal year, in 万元: the inputs the criteria need."""

    __tablename__ = "annual_figures"
    # The unique key's index serves lookups by enterprise: no index of its own.
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "year"), NEVER_REUSED_IDS)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", ondelete="CASCADE")
    year: int
    operating_revenue: Decimal | None = money_column()
    main_business_revenue: Decimal | None = money_column()
    rd_expense: Decimal | None = money_column()
    total_assets: Decimal | None = money_column()
    total_liabilities: Decimal | None = money_column()
    net_profit: Decimal | None = money_column()
    new_equity_financing: Decimal | None = money_column()
    employees: int | None = None
    rd_staff: int | None = None
    ip_class1: int | None = None
    ip_class2: int | None = None
    source: str = Field(default="manual", max_length=40)


class SavedFilter(TimestampedTable, table=True):
    """A user's named enterprise-list filter (the list page's query string)."""

    __tablename__ = "saved_filter"
    __table_args__ = (sa.UniqueConstraint("user_id", "name"), NEVER_REUSED_IDS)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=60)
    query: str = Field(max_length=1000)
