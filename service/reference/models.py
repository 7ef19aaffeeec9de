"""Reference tables; codes are stable, names and aliases are what people read and type."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from service.db import TimestampedTable


def aliases_field() -> Any:
    return Field(default_factory=list, sa_type=sa.JSON, nullable=False)


class District(TimestampedTable, table=True):
    """One of Chongqing's 41 district-level units (区县 and functional zones)."""

    __tablename__ = "district"
    code: str = Field(primary_key=True, max_length=8)
    name: str = Field(max_length=40, unique=True)
    kind: str = Field(max_length=10)  # district / county / zone
    aliases: list[str] = aliases_field()
    sort_order: int = 0


class SubsectorNode(TimestampedTable, table=True):
    """A node of the 细分领域 taxonomy: category (1) → industry (2) → subsector (3)."""

    __tablename__ = "subsector"
    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=60)
    level: int
    parent_code: str | None = Field(default=None, foreign_key="subsector.code", index=True)
    aliases: list[str] = aliases_field()
    sort_order: int = 0


class Cluster(TimestampedTable, table=True):
    """An industry cluster (产业集群) named by the action plans."""

    __tablename__ = "cluster"
    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=60, unique=True)
    sort_order: int = 0


class ClusterDistrict(TimestampedTable, table=True):
    """A cluster's key district."""

    __tablename__ = "cluster_district"
    cluster_code: str = Field(foreign_key="cluster.code", primary_key=True, ondelete="CASCADE")
    district_code: str = Field(foreign_key="district.code", primary_key=True)


class Tier(TimestampedTable, table=True):
    """A rung of the ladder; the order comes from `rank`, never from code."""

    __tablename__ = "tier"
    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=60, unique=True)
    rank: int = Field(unique=True)
    validity_years: int | None = None  # None: valid while the fact holds (listed)
    designated_by: str = Field(default="", max_length=60)
    aliases: list[str] = aliases_field()
    active: bool = True


class Target(TimestampedTable, table=True):
    """A figure the plans set for a year; `metric` and `params` say how the ledger measures it."""

    __tablename__ = "target"
    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=80)
    metric: str = Field(max_length=40)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    kind: str = Field(max_length=8)  # stock / flow
    figure: Decimal = Field(sa_type=sa.Numeric(18, 4))
    unit: str = Field(max_length=8)
    year: int
    since_on: date | None = None
    source: str = Field(default="", max_length=200)
    sort_order: int = 0


class ChainPosition(TimestampedTable, table=True):
    """An industry-chain position (产业链环节)."""

    __tablename__ = "chain_position"
    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=40, unique=True)
    sort_order: int = 0


class Specialty(TimestampedTable, table=True):
    """A commissioner specialty (科技, 融资, 法务, 媒体)."""

    __tablename__ = "specialty"
    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=20, unique=True)
    sort_order: int = 0


class ServiceKind(TimestampedTable, table=True):
    """A kind of service a commissioner records (把脉问诊 …)."""

    __tablename__ = "service_kind"
    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=40, unique=True)
    sort_order: int = 0
