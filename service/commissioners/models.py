"""Commissioners, what they cover, their assignments to enterprises and their service records."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field

from service.db import NEVER_REUSED_IDS, TimestampedTable, money_column

NEED_STATUSES = ("open", "in_progress", "resolved", "cannot_resolve")
OPEN_NEED_STATUSES = ("open", "in_progress")


class Commissioner(TimestampedTable, table=True):
    """A person on the roster; never deleted once they have history, only made inactive."""

    __tablename__ = "commissioner"
    __table_args__ = (sa.CheckConstraint("capacity >= 0", name="capacity"), NEVER_REUSED_IDS)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60, index=True)
    organisation: str = Field(default="", max_length=120)
    phone: str = Field(default="", max_length=40)
    capacity: int = 10  # how many enterprises they can carry
    active: bool = True


class CommissionerSpecialty(TimestampedTable, table=True):
    """One of a commissioner's specialties (科技, 融资, 法务, 媒体)."""

    __tablename__ = "commissioner_specialty"
    commissioner_id: int = Field(
        foreign_key="commissioner.id", primary_key=True, ondelete="CASCADE"
    )
    specialty_code: str = Field(foreign_key="specialty.code", primary_key=True, max_length=16)


class CommissionerDistrict(TimestampedTable, table=True):
    """A district a commissioner covers directly."""

    __tablename__ = "commissioner_district"
    commissioner_id: int = Field(
        foreign_key="commissioner.id", primary_key=True, ondelete="CASCADE"
    )
    district_code: str = Field(foreign_key="district.code", primary_key=True, max_length=8)


class CommissionerCluster(TimestampedTable, table=True):
    """A cluster a commissioner covers: every key district of the cluster."""

    __tablename__ = "commissioner_cluster"
    commissioner_id: int = Field(
        foreign_key="commissioner.id", primary_key=True, ondelete="CASCADE"
    )
    cluster_code: str = Field(foreign_key="cluster.code", primary_key=True, max_length=16)


class Assignment(TimestampedTable, table=True):
    """A commissioner holding one specialty slot of an enterprise from one day to another.

    Rows are never deleted: ending or replacing sets `ended_on`, so the history stays.
    """

    __tablename__ = "assignment"
    __table_args__ = (
        # The database itself keeps one active commissioner per slot, whatever races above it.
        sa.Index(
            "ix_assignment_active_slot",
            "enterprise_id",
            "specialty_code",
            unique=True,
            sqlite_where=sa.text("ended_on IS NULL"),
            postgresql_where=sa.text("ended_on IS NULL"),
        ),
        sa.CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="dates"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    specialty_code: str = Field(foreign_key="specialty.code", max_length=16)
    commissioner_id: int = Field(foreign_key="commissioner.id", index=True)
    started_on: date
    ended_on: date | None = None
    end_reason: str = Field(default="", max_length=200)
    source: str = Field(default="manual", max_length=20)  # manual / bulk / suggestion / replace


class ServiceRecord(TimestampedTable, table=True):
    """One service a commissioner gave an enterprise on one day."""

    __tablename__ = "service_record"

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    commissioner_id: int = Field(foreign_key="commissioner.id", index=True)
    kind_code: str = Field(foreign_key="service_kind.code", max_length=32)
    served_on: date = Field(index=True)
    summary: str = Field(default="", max_length=2000)
    financing_sought: Decimal | None = money_column()
    financing_obtained: Decimal | None = money_column()
    attachments: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)


class Need(TimestampedTable, table=True):
    """An enterprise's need (诉求) raised during a service, followed up until it is closed."""

    __tablename__ = "service_need"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'resolved', 'cannot_resolve')", name="status"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    service_record_id: int = Field(foreign_key="service_record.id", index=True, ondelete="CASCADE")
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    kind_code: str = Field(foreign_key="service_kind.code", max_length=32)
    description: str = Field(max_length=1000)
    status: str = Field(default="open", max_length=16, index=True)
    raised_on: date
    due_on: date | None = None
    closed_on: date | None = None
    resolution: str = Field(default="", max_length=1000)
