"""The tier report (梯度培育情况报表): counts, movements, reviews and targets for a scope."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, BinaryIO

import sqlalchemy as sa
from sqlmodel import Session

from exports.report import (
    CandidateRow,
    CoverageRow,
    DistrictCount,
    DueReviewRow,
    MovementCount,
    OpenNeed,
    SubsectorCount,
    TargetEnterprise,
    TargetRow,
    TierRef,
    TierReport,
    write_report,
)
from service.access import scope
from service.access.actor import Actor
from service.audit import service as audit_service
from service.clock import CHINA
from service.enterprises.models import AnnualFigures, Enterprise
from service.errors import FieldError, invalid
from service.ladder import compliance
from service.ladder import service as ladder_service
from service.ladder.models import Designation, DesignationEvent
from service.reference.models import District, Target, Tier
from service.reference.service import taxonomy

DUE_WITHIN_DAYS = 90
NEED_STATUS_ZH = {"open": "待办", "in_progress": "办理中"}
REVIEW_ZH = {"eligible": "可复核", "not_eligible": "不具备复核资格", "pending": "待年度数据更新"}


@dataclass(frozen=True)
class ReportRequest:
    period_start: date | None = None  # default: 1 January of the as-of year
    period_end: date | None = None  # default: as of
    as_of: date | None = None
    district_code: str | None = None


def _scoped(actor: Actor, req: ReportRequest) -> Any:
    clause = sa.and_(scope.enterprise_clause(actor), Enterprise.status == "active")
    if req.district_code:
        clause = sa.and_(clause, Enterprise.district_code == req.district_code)
    return clause


def _current_counts(
    session: Session, actor: Actor, req: ReportRequest, as_of: date, by: Any
) -> dict[str, dict[str, int]]:
    current = ladder_service.current_rank_subquery(as_of)
    rows = session.execute(
        sa.select(by, Tier.code, sa.func.count())
        .select_from(Enterprise)
        .join(current, current.c.enterprise_id == Enterprise.id)
        .join(Tier, Tier.rank == current.c.rank)
        .where(_scoped(actor, req))
        .group_by(by, Tier.code)
    )
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for key, tier, n in rows:
        out[key][tier] = n
    return out


def movements(
    session: Session, actor: Actor, req: ReportRequest, start: date, end: date
) -> list[MovementCount]:
    """New designations, promotions, renewals after review, expiries and revocations per month
    and tier: the one rule for what counts as a movement (the report and the dashboard)."""
    visible = _scoped(actor, req)
    tiers = {t.code: t.rank for t in session.scalars(sa.select(Tier))}
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    rows = session.execute(
        sa.select(Designation.enterprise_id, Designation.tier_code, Designation.designated_on)
        .join(Enterprise, Enterprise.id == Designation.enterprise_id)
        .where(visible, Designation.designated_on <= end)
        .order_by(Designation.enterprise_id, Designation.designated_on)
    )
    highest: dict[int, int] = {}
    for eid, tier, on in rows:
        rank = tiers[tier]
        if on >= start:
            counts[(on.strftime("%Y-%m"), "new", tier)] += 1
            if eid in highest and rank > highest[eid]:
                counts[(on.strftime("%Y-%m"), "promotion", tier)] += 1
        highest[eid] = max(highest.get(eid, 0), rank)
    expiries = session.execute(
        sa.select(Designation.tier_code, Designation.valid_until)
        .join(Enterprise, Enterprise.id == Designation.enterprise_id)
        .where(
            visible,
            Designation.status.in_(("valid", "expired")),  # type: ignore[attr-defined]
            Designation.valid_until >= start - timedelta(days=1),  # type: ignore[operator]
            Designation.valid_until < end,  # type: ignore[operator]
        )
    )
    for tier, until in expiries:
        counts[((until + timedelta(days=1)).strftime("%Y-%m"), "expiry", tier)] += 1
    revoked = session.execute(
        sa.select(Designation.tier_code, Designation.revoked_on)
        .join(Enterprise, Enterprise.id == Designation.enterprise_id)
        .where(visible, Designation.status == "revoked", Designation.revoked_on.between(start, end))  # type: ignore[union-attr]
    )
    for tier, on in revoked:
        counts[(on.strftime("%Y-%m"), "revocation", tier)] += 1
    renewed = session.execute(
        sa.select(Designation.tier_code, DesignationEvent.occurred_on)
        .join(Designation, Designation.id == DesignationEvent.designation_id)
        .join(Enterprise, Enterprise.id == Designation.enterprise_id)
        .where(
            visible,
            DesignationEvent.kind == "renew",
            DesignationEvent.occurred_on.between(start, end),
        )  # type: ignore[attr-defined]
    )
    for tier, on in renewed:
        counts[(on.strftime("%Y-%m"), "renewal", tier)] += 1
    return [
        MovementCount(period, kind, tier, n)  # type: ignore[arg-type]
        for (period, kind, tier), n in sorted(counts.items())
    ]


def _months(start: date, end: date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def review_note(status: str, reasons: Sequence[str]) -> str:
    """The 备注 of a due review: the ladder's verdict on it and why."""
    return f"{REVIEW_ZH.get(status, status)}：{'；'.join(reasons)}"[:500]


def _due_reviews(
    session: Session,
    actor: Actor,
    req: ReportRequest,
    as_of: date,
    names: dict[str, dict[str, str]],
) -> list[DueReviewRow]:
    rows = session.execute(
        sa.select(Enterprise, Designation)
        .join(Designation, Designation.enterprise_id == Enterprise.id)
        .where(
            _scoped(actor, req),
            ladder_service.valid_clause(as_of),
            Designation.valid_until <= as_of + timedelta(days=DUE_WITHIN_DAYS),  # type: ignore[operator]
        )
        .order_by(Designation.valid_until, Enterprise.name)
    ).all()
    # The ladder's own verdict (the due-reviews API shows the same): without it the sheet's
    # 年度数据已更新 column could only ever say 未知.
    verdicts = compliance.review_eligibility(
        session,
        [(e.id or 0, d.designated_on, d.valid_until) for e, d in rows],
        today=as_of,
    )
    out = []
    for (e, d), verdict in zip(rows, verdicts, strict=True):
        no_update_due = verdict.data_deadline is None or verdict.data_deadline < d.designated_on
        out.append(
            DueReviewRow(
                name=e.name,
                credit_code=e.credit_code,
                district=names["district"].get(e.district_code, e.district_code),
                subsector=names["subsector"].get(e.subsector_code, e.subsector_code),
                tier=names["tier"].get(d.tier_code, d.tier_code),
                designated_on=d.designated_on,
                valid_until=d.valid_until,
                data_updated=None if no_update_due else verdict.data_updated_on is not None,
                note=review_note(verdict.status, verdict.reasons),
            )
        )
    return out


def tier_holders(by_rank: Mapping[int | None, int], rank: int) -> int:
    """A `tier_holders` target counts the enterprises whose current tier is that one or a
    higher one: a 小巨人 is still a 专精特新 enterprise, and the target list names them all."""
    return sum(n for r, n in by_rank.items() if r is not None and r >= rank)


def _target_rows(
    session: Session,
    actor: Actor,
    req: ReportRequest,
    as_of: date,
    names: dict[str, dict[str, str]],
) -> list[TargetRow]:
    """Each target measured the way its data says (metric + params), with its enterprises."""
    visible = _scoped(actor, req)
    year = as_of.year - 1
    current = ladder_service.current_rank_subquery(as_of)
    tiers = {t.code: t for t in session.scalars(sa.select(Tier))}
    out = []

    def entry(e: Enterprise, value: Decimal | None = None) -> TargetEnterprise:
        return TargetEnterprise(
            name=e.name,
            credit_code=e.credit_code,
            district=names["district"].get(e.district_code, e.district_code),
            value=value,
        )

    for t in session.scalars(sa.select(Target).order_by(Target.sort_order, Target.code)):
        params = t.params or {}
        people: list[TargetEnterprise] = []
        note = ""
        if t.metric == "tier_holders" and params.get("tier") in tiers:
            rank = tiers[params["tier"]].rank
            found = session.scalars(
                sa.select(Enterprise)
                .join(current, current.c.enterprise_id == Enterprise.id)
                .where(visible, current.c.rank >= rank)  # as `tier_holders` counts
                .order_by(Enterprise.name)
            )
            people = [entry(e) for e in found]
            value = Decimal(len(people))
        elif t.metric == "new_designations" and params.get("tier") in tiers:
            since = date.fromisoformat(params.get("since", f"{as_of.year}-01-01"))
            found = session.scalars(
                sa.select(Enterprise)
                .join(Designation, Designation.enterprise_id == Enterprise.id)
                .where(
                    visible,
                    Designation.tier_code == params["tier"],
                    Designation.designated_on.between(since, as_of),  # type: ignore[attr-defined]
                )
                .distinct()
                .order_by(Enterprise.name)
            )
            people = [entry(e) for e in found]
            value = Decimal(len(people))
        elif t.metric in {"enterprises_with_revenue", "revenue_total"}:
            stmt = (
                sa.select(Enterprise, AnnualFigures.operating_revenue)
                .join(AnnualFigures, AnnualFigures.enterprise_id == Enterprise.id)
                .where(
                    visible,
                    AnnualFigures.year == year,
                    AnnualFigures.operating_revenue.is_not(None),
                )  # type: ignore[union-attr]
                .order_by(AnnualFigures.operating_revenue.desc())  # type: ignore[union-attr]
            )
            if t.metric == "enterprises_with_revenue":
                stmt = stmt.where(AnnualFigures.operating_revenue >= Decimal(params["min_revenue"]))  # type: ignore[operator]
            if params.get("subsectors"):
                stmt = stmt.where(Enterprise.subsector_code.in_(params["subsectors"]))  # type: ignore[attr-defined]
            rows = session.execute(stmt).all()
            people = [entry(e, v) for e, v in rows]
            total = sum((v for _, v in rows), Decimal(0))
            value = Decimal(len(rows)) if t.metric == "enterprises_with_revenue" else total
            note = f"{year}年营业收入"
        else:
            value = Decimal(0)
            note = "台账不跟踪此项，请另行填报"
        out.append(
            TargetRow(
                name=t.name,
                year=t.year,
                measure=t.kind,  # type: ignore[arg-type]
                unit=t.unit,
                target=t.figure,
                current=value,
                source=(t.source + (f"；{note}" if note else "")),
                enterprises=people[:5000],
            )
        )
    return out


def _candidates(
    session: Session, actor: Actor, req: ReportRequest, as_of: date
) -> list[CandidateRow]:
    """可晋级 from the ladder engine, over the same scope (no paging: the report lists all)."""
    from service.ladder import pool

    page = pool.candidates(
        session,
        actor,
        flt=pool.PoolFilter(district_code=req.district_code),
        today=as_of,
        page=1,
        page_size=100_000,
    )
    return [
        CandidateRow(
            name=c.name,
            credit_code=c.credit_code,
            district=c.district_name,
            subsector=c.subsector_name,
            current_tier=c.current_tier_name or "未认定",
            next_tier=c.target_tier_name,
            rule_version=c.rule_version,
            basis=f"{c.total_points}分" if c.total_points else "",
            note="；".join(c.reasons)[:500],
        )
        for c in page.items
    ]


def _coverage(
    session: Session, actor: Actor, req: ReportRequest
) -> tuple[list[CoverageRow], list[str]]:
    """Key enterprises' commissioner slots per district (covered = slot filled)."""
    from service.commissioners import reports as commissioner_reports

    report = commissioner_reports.coverage(session, actor, district=req.district_code)
    specialties = list(report.specialties.values())
    rows = [
        CoverageRow(
            district_code=r.district_code,
            district_name=r.district_name,
            key_enterprises=r.key_enterprises,
            covered={
                name: r.key_enterprises - r.empty.get(code, 0)
                for code, name in report.specialties.items()
            },
            fully_covered=r.key_enterprises - r.with_empty_slot,
        )
        for r in report.rows
    ]
    return rows, specialties


def _open_needs(
    session: Session, actor: Actor, req: ReportRequest, names: dict[str, dict[str, str]]
) -> list[OpenNeed]:
    from service.commissioners.models import Commissioner, Need, ServiceRecord
    from service.reference.models import ServiceKind

    kinds = dict(session.execute(sa.select(ServiceKind.code, ServiceKind.name)).all())
    rows = session.execute(
        sa.select(Enterprise, Need, Commissioner.name)
        .join(Need, Need.enterprise_id == Enterprise.id)
        .join(ServiceRecord, ServiceRecord.id == Need.service_record_id)
        .join(Commissioner, Commissioner.id == ServiceRecord.commissioner_id)
        .where(_scoped(actor, req), Need.status.in_(tuple(NEED_STATUS_ZH)))  # type: ignore[attr-defined]
        .order_by(Need.raised_on, Need.id)
    )
    return [
        OpenNeed(
            name=e.name,
            credit_code=e.credit_code,
            district=names["district"].get(e.district_code, e.district_code),
            service_kind=kinds.get(n.kind_code, n.kind_code),
            description=n.description,
            raised_on=n.raised_on,
            commissioner=commissioner,
            status=NEED_STATUS_ZH.get(n.status, n.status),
        )
        for e, n, commissioner in rows
    ]


def build(
    session: Session, actor: Actor, req: ReportRequest, *, today: date, now: datetime
) -> TierReport:
    as_of = req.as_of or today
    start = req.period_start or date(as_of.year, 1, 1)
    end = req.period_end or as_of
    if start > end:
        raise invalid(
            [
                FieldError(
                    "from", "report.period_reversed", f"起始日期{start}晚于截止日期{end}", start
                )
            ]
        )
    tree = taxonomy(session)
    districts = list(session.scalars(sa.select(District).order_by(District.code)))
    tiers = list(session.scalars(sa.select(Tier).order_by(Tier.rank)))
    names = {
        "district": {d.code: d.name for d in districts},
        "subsector": {c: n.name for c, n in tree.nodes.items()},
        "tier": {t.code: t.name for t in tiers},
    }
    by_district = _current_counts(session, actor, req, as_of, Enterprise.district_code)
    by_subsector = _current_counts(session, actor, req, as_of, Enterprise.subsector_code)
    if actor.role == "district_officer" or req.district_code:
        code = req.district_code or actor.district_code or ""
        districts = [d for d in districts if d.code == code]
    scope_zh = scope.scope_label(actor, names["district"], req.district_code)
    subsectors = []
    for code, node in tree.nodes.items():
        if node.level != 3:
            continue
        industry = tree.nodes[node.parent_code or ""]
        category = tree.nodes[industry.parent_code or ""]
        subsectors.append(
            SubsectorCount(
                category_code=category.code,
                category_name=category.name,
                industry_code=industry.code,
                industry_name=industry.name,
                subsector_code=code,
                subsector_name=node.name,
                counts=by_subsector.get(code, {}),
            )
        )
    coverage, specialties = _coverage(session, actor, req)
    return TierReport(
        scope_zh=scope_zh,
        as_of=as_of,
        exported_at=now.astimezone(CHINA),
        period_start=start,
        period_end=end,
        tiers=[TierRef(t.code, t.name) for t in tiers],
        districts=[DistrictCount(d.code, d.name, by_district.get(d.code, {})) for d in districts],
        subsectors=subsectors,
        movements=movements(session, actor, req, start, end),
        periods=_months(start, end),
        candidates=_candidates(session, actor, req, as_of),
        due_reviews=_due_reviews(session, actor, req, as_of, names),
        targets=_target_rows(session, actor, req, as_of, names),
        coverage=coverage,
        open_needs=_open_needs(session, actor, req, names),
        specialties=specialties,
    )


def export_report(
    session: Session,
    actor: Actor,
    out: BinaryIO | str,
    req: ReportRequest,
    *,
    today: date,
    now: datetime,
) -> TierReport:
    report = build(session, actor, req, today=today, now=now)
    write_report(out, report)
    audit_service.record(
        session,
        actor,
        action="export.report",
        entity="report",
        entity_repr=f"梯度培育情况报表（{report.scope_zh}）",
        changes={
            "period": [None, f"{report.period_start}~{report.period_end}"],
            "as_of": [None, report.as_of.isoformat()],
        },
    )
    return report
