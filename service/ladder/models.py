"""Designations: the events that move an enterprise along the ladder."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from service.db import NEVER_REUSED_IDS, TimestampedTable, UTCDateTime

DESIGNATION_STATUSES = ("valid", "expired", "revoked", "superseded")


class Designation(TimestampedTable, table=True):
    """One designation of one tier; the current tier is derived from these, never stored."""

    __tablename__ = "designation"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('valid', 'expired', 'revoked', 'superseded')", name="status"
        ),
        sa.Index("ix_designation_enterprise_tier", "enterprise_id", "tier_code"),
        # Covers the "holds a valid designation of these tiers" probes of the enterprise list
        # from the index alone; the predicate must be written 'valid' (a literal) to match.
        sa.Index(
            "ix_designation_valid",
            "enterprise_id",
            "tier_code",
            "valid_until",
            sqlite_where=sa.text("status = 'valid'"),
            postgresql_where=sa.text("status = 'valid'"),
        ),
        NEVER_REUSED_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", ondelete="CASCADE")
    tier_code: str = Field(foreign_key="tier.code", max_length=32, index=True)
    batch: str = Field(default="", max_length=60)  # e.g. 2024年第二批
    authority: str = Field(default="", max_length=100)
    document_no: str = Field(default="", max_length=100)  # 文号
    designated_on: date
    valid_until: date | None = Field(default=None, index=True)
    status: str = Field(default="valid", max_length=16)
    reason: str = Field(default="", max_length=500)
    revoked_on: date | None = None
    reapply_not_before: date | None = None  # after a revocation: no new application before
    source: str = Field(default="manual", max_length=40)  # manual / import:<batch id> / demo


# ---- lifecycle, anomalies, listing path, evaluator facts, key selection ---------------------

DESIGNATION_EVENT_KINDS = ("designate", "renew", "revoke", "expire")


class DesignationEvent(TimestampedTable, table=True):
    """What happened to a designation and when: designated, renewed after review, revoked,
    expired. Appended, never edited; the designation row holds the resulting state."""

    __tablename__ = "designation_event"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('designate', 'renew', 'revoke', 'expire')", name="kind"),
        NEVER_REUSED_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    designation_id: int = Field(foreign_key="designation.id", index=True, ondelete="CASCADE")
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=16)
    occurred_on: date
    valid_until_before: date | None = None
    valid_until_after: date | None = None
    reviewed_on: date | None = None  # 复核 passed on this day (renewals)
    reapply_not_before: date | None = None  # revocations: may not apply again before this day
    document_no: str = Field(default="", max_length=100)
    reason: str = Field(default="", max_length=500)
    source: str = Field(default="manual", max_length=40)


ANOMALY_KINDS = (
    "little_giant_without_specialized",
    "skipped_rung",
    "renewal_without_review",
    "duplicate_valid",
    "major_change_late",
    "major_change_unreported",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class LadderAnomaly(TimestampedTable, table=True):
    """An irregular step on the ladder, recorded as it happened; reported, never corrected."""

    __tablename__ = "ladder_anomaly"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", ANOMALY_KINDS), name="kind"),
        # Its index serves lookups by designation: no index of its own.
        sa.UniqueConstraint("designation_id", "kind", "occurred_on"),
        NEVER_REUSED_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True, ondelete="CASCADE")
    designation_id: int = Field(foreign_key="designation.id", ondelete="CASCADE")
    tier_code: str = Field(foreign_key="tier.code", max_length=32)
    kind: str = Field(max_length=40, index=True)
    occurred_on: date
    detail: str = Field(default="", max_length=500)
    source: str = Field(default="manual", max_length=40)


LISTING_STAGES = (
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
)
LISTING_BOARDS = (
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
)


class ListingStep(TimestampedTable, table=True):
    """One step of an enterprise's listing path (后备库 → … → 上市/挂牌, or 终止), with its date."""

    __tablename__ = "listing_step"
    __table_args__ = (
        sa.CheckConstraint(_in("stage", LISTING_STAGES), name="stage"),
        sa.CheckConstraint(
            f"intended_board IS NULL OR {_in('intended_board', LISTING_BOARDS)}",
            name="intended_board",
        ),
        sa.CheckConstraint(f"board IS NULL OR {_in('board', LISTING_BOARDS)}", name="board"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True, ondelete="CASCADE")
    stage: str = Field(max_length=24, index=True)
    stage_on: date
    intended_board: str | None = Field(default=None, max_length=24)
    board: str | None = Field(default=None, max_length=24)  # where it listed / is quoted
    security_code: str = Field(default="", max_length=20)
    short_name: str = Field(default="", max_length=40)
    sponsor: str = Field(default="", max_length=100)  # 保荐机构 / 主办券商
    note: str = Field(default="", max_length=500)
    source: str = Field(default="manual", max_length=40)


class EvaluatorFacts(TimestampedTable, table=True):
    """What an evaluator records for one enterprise and year beside the audited figures:
    judgements (是/否), IP by class, R&D institution, awards, contests, other titles and the
    专精特新发展评价得分. `year` is the fiscal year; the development score is the one the
    national platform gave in that calendar year."""

    __tablename__ = "evaluator_facts"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True, ondelete="CASCADE")
    year: int
    niche_since: date | None = None
    judgements: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    ip: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    rd_institution: str | None = Field(default=None, max_length=20)
    awards: list[Any] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    contests: list[Any] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    titles: list[Any] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    development_score: Decimal | None = Field(default=None, sa_type=sa.Numeric(6, 2))
    digital_level: int | None = None
    local_distinctive_points: Decimal | None = Field(default=None, sa_type=sa.Numeric(6, 2))
    source: str = Field(default="manual", max_length=40)


class KeySelection(TimestampedTable, table=True):
    """A manager's decision on a suggested key enterprise (重点企业遴选); the latest one counts."""

    __tablename__ = "key_selection"
    __table_args__ = (sa.CheckConstraint("decision IN ('confirmed', 'rejected')", name="decision"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True, ondelete="CASCADE")
    year: int  # the fiscal year whose evaluation suggested it
    decision: str = Field(max_length=12)
    reason: str = Field(default="", max_length=300)
    suggested_rank: int | None = None
    evidence: list[Any] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    decided_by: str = Field(default="", max_length=100)


# ---- obligations that keep a title reviewable ------------------------------------------------


class DataUpdate(TimestampedTable, table=True):
    """The day an enterprise updated its data on the national platform for one year (年度数据
    更新). `year` is the calendar year of the update, whose deadline the rule version sets."""

    __tablename__ = "data_update"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True, ondelete="CASCADE")
    year: int
    updated_on: date
    note: str = Field(default="", max_length=500)
    source: str = Field(default="manual", max_length=40)


MAJOR_CHANGE_KINDS = ("rename", "merger", "restructuring", "relocation", "foreign_branch")


class MajorChange(TimestampedTable, table=True):
    """A major change (更名、合并、重组、迁址、设立境外分支机构) and the day it was reported;
    `reported_on` empty: not reported (yet)."""

    __tablename__ = "major_change"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", MAJOR_CHANGE_KINDS), name="kind"),
        sa.UniqueConstraint("enterprise_id", "kind", "occurred_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=20)
    occurred_on: date
    reported_on: date | None = None
    detail: str = Field(default="", max_length=500)
    source: str = Field(default="manual", max_length=40)


# ---- derived figures kept for pages --------------------------------------------------------


class CandidateCount(TimestampedTable, table=True):
    """可晋级 per district as the ladder engine last counted them, so the dashboard can show a
    city-wide figure: evaluating the whole pool takes ~23 s for 97 000 enterprises, too long for
    a page view. Derived from the ledger and replaced whole on each count; never edited."""

    __tablename__ = "candidate_count"

    district_code: str = Field(
        primary_key=True, foreign_key="district.code", max_length=8, ondelete="CASCADE"
    )
    candidates: int
    by_target: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    evaluated_on: date  # the day the criteria were applied on
    data_year: int  # the fiscal year whose figures were evaluated
    ledger_version: int  # ledger_state.version when the ledger was read: later writes = stale
    computed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
