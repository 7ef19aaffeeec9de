"""What managers see across the ledger: candidates to step up (可晋级), designations due for
review (待复核), anomalies, and the key-enterprise suggestion — all scoped by the actor."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from service.access import scope
from service.access.actor import Actor
from service.enterprises.models import AnnualFigures, Enterprise, EnterpriseSubsector
from service.ladder import compliance
from service.ladder import facts as ledger_facts
from service.ladder import service as ladder_service
from service.ladder.lifecycle import ANOMALY_ZH
from service.ladder.models import Designation, KeySelection, LadderAnomaly
from service.ladder.rules import (
    TIER_RANK,
    TIERS,
    EnterpriseFacts,
    Evaluation,
    TierEvaluation,
    choose_version,
    evaluate_many,
    resolve_version,
)
from service.ladder.schemas import (
    AnomalyPage,
    AnomalyPublic,
    Candidate,
    CandidatePage,
    DueReview,
    DueReviewPage,
    KeySuggestion,
    KeySuggestionPage,
)
from service.reference.models import District, SubsectorNode, Tier
from service.reference.service import taxonomy


@dataclass(frozen=True)
class PoolFilter:
    """Narrowing shared by every view: district, subsector at any level, current tier
    ("none": holding no valid designation)."""

    district_code: str | None = None
    subsector_code: str | None = None
    tier_code: str | None = None


def default_year(today: date) -> int:
    """The last full fiscal year: what "上年度" means on `today`."""
    return today.year - 1


def _scoped(
    session: Session, actor: Actor, flt: PoolFilter, today: date, *, tier_column: Any = None
) -> tuple[sa.Select[Any], sa.Subquery]:
    """Active enterprises in the actor's scope with the filters applied, and their current rank."""
    current = ladder_service.current_rank_subquery(today)
    stmt = (
        sa.select(
            Enterprise.id,
            Enterprise.name,
            Enterprise.credit_code,
            Enterprise.district_code,
            Enterprise.subsector_code,
            current.c.rank,
        )
        .outerjoin(current, current.c.enterprise_id == Enterprise.id)
        .where(scope.enterprise_clause(actor), Enterprise.status == "active")
    )
    if flt.district_code:
        stmt = stmt.where(Enterprise.district_code == flt.district_code)
    if flt.subsector_code:
        codes = taxonomy(session).descendants(flt.subsector_code)
        further = sa.select(EnterpriseSubsector.enterprise_id).where(
            EnterpriseSubsector.subsector_code.in_(codes)  # type: ignore[attr-defined]
        )
        stmt = stmt.where(
            sa.or_(
                Enterprise.subsector_code.in_(codes),  # type: ignore[attr-defined]
                Enterprise.id.in_(further),  # type: ignore[union-attr]
            )
        )
    if flt.tier_code and tier_column is None:
        if flt.tier_code == "none":
            stmt = stmt.where(current.c.rank.is_(None))
        else:
            rank = sa.select(Tier.rank).where(Tier.code == flt.tier_code).scalar_subquery()
            stmt = stmt.where(current.c.rank == rank)
    elif flt.tier_code and tier_column is not None:
        stmt = stmt.where(tier_column == flt.tier_code)
    return stmt, current


class _Names:
    """Reference names, read once per request."""

    def __init__(self, session: Session) -> None:
        self.districts = dict(session.execute(sa.select(District.code, District.name)).all())
        self.subsectors = dict(
            session.execute(sa.select(SubsectorNode.code, SubsectorNode.name)).all()
        )
        tiers = list(session.scalars(sa.select(Tier)))
        self.tier_by_rank = {t.rank: t for t in tiers}
        self.tier_by_code = {t.code: t for t in tiers}

    def tier_name(self, code: str | None) -> str | None:
        return self.tier_by_code[code].name if code in self.tier_by_code else None

    def ref(
        self, eid: int, name: str, code: str, district: str, subsector: str, rank: int | None
    ) -> dict[str, Any]:
        tier = self.tier_by_rank.get(rank) if rank is not None else None
        return {
            "enterprise_id": eid,
            "name": name,
            "credit_code": code,
            "district_code": district,
            "district_name": self.districts.get(district, ""),
            "subsector_code": subsector,
            "subsector_name": self.subsectors.get(subsector, ""),
            "current_tier": tier.code if tier else None,
            "current_tier_name": tier.name if tier else None,
        }


def _page(items: Sequence[Any], page: int, page_size: int) -> list[Any]:
    return list(items[(page - 1) * page_size : page * page_size])


# ---- candidates ------------------------------------------------------------------------------


def _reasons(evaluation: TierEvaluation) -> list[str]:
    """Why it qualifies: every condition in words (for an 'any' rule, the route that was met)."""
    if evaluation.rule == "any":
        return list(evaluation.reasons_zh)
    return [c.note_zh for c in evaluation.conditions if c.verdict == "pass"]


def _title_prerequisites(today: date) -> dict[str, frozenset[str] | None]:
    """Per tier, the titles an applicant must hold when the criteria in force allow no other
    way (no same-year application). An enterprise that never held any of them cannot pass that
    tier, so the bulk run need not evaluate it: the verdicts are the engine's all the same."""
    out: dict[str, frozenset[str] | None] = {}
    for tier in TIERS:
        _, criteria = resolve_version(tier, choose_version(tier, today=today))
        rule = getattr(criteria, "prerequisite", None)
        if rule is None or rule.same_year_tier is not None or "application" not in rule.purposes:
            out[tier] = None
            continue
        ranks = [TIER_RANK[t] for t in rule.titles if t in TIER_RANK]
        higher = {t for t, r in TIER_RANK.items() if ranks and r > min(ranks)}
        out[tier] = frozenset(rule.titles) | higher
    return out


def _evaluate_above(
    facts: dict[int, Any],
    ranks: dict[int, int | None],
    ledger_rank: dict[str, int],
    *,
    year: int,
    today: date,
) -> Iterator[tuple[int, Evaluation]]:
    """Evaluate each enterprise only for the engine's tiers above the one it holds, grouping
    enterprises by that set so each group is one bulk `evaluate_many` run."""
    needs = _title_prerequisites(today)
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for eid, rank in ranks.items():
        held = {t.code for t in (facts[eid].titles or ())} if eid in facts else set()
        above = tuple(
            t
            for t in TIERS
            if t in ledger_rank
            and ledger_rank[t] > (rank or 0)
            and (needs.get(t) is None or held & needs[t])
        )
        if above:
            groups[above].append(eid)
    empty = EnterpriseFacts()
    for tiers, eids in groups.items():
        results = evaluate_many(
            (facts.get(eid, empty) for eid in eids), year=year, today=today, tiers=tiers
        )
        yield from zip(eids, results, strict=True)


def candidates(
    session: Session,
    actor: Actor,
    *,
    flt: PoolFilter,
    today: date,
    year: int | None = None,
    target: str | None = None,
    page: int = 1,
    page_size: int = 100,
) -> CandidatePage:
    """Enterprises that meet the criteria of a higher tier than they hold, highest first."""
    year = year or default_year(today)
    stmt, _ = _scoped(session, actor, flt, today)
    rows = session.execute(stmt).all()
    ids = stmt.with_only_columns(Enterprise.id)  # type: ignore[arg-type]
    facts = ledger_facts.load(session, ids, year=year)
    names = _Names(session)
    ledger_rank = {code: t.rank for code, t in names.tier_by_code.items()}
    by_id = {r[0]: r for r in rows}
    found: list[tuple[int, TierEvaluation]] = []
    for eid, evaluation in _evaluate_above(
        facts, {r[0]: r[5] for r in rows}, ledger_rank, year=year, today=today
    ):
        eligible = [t for t in evaluation.tiers if t.verdict == "eligible"]
        if target:
            eligible = [t for t in eligible if t.tier == target]
        if eligible:
            found.append((eid, max(eligible, key=lambda t: ledger_rank[t.tier])))
    found.sort(
        key=lambda p: (
            -ledger_rank[p[1].tier],
            -(p[1].total_points or Decimal(0)),
            by_id[p[0]][1],
            p[0],
        )
    )
    items = [
        Candidate(
            **names.ref(*by_id[eid]),
            target_tier=ev.tier,
            target_tier_name=names.tier_name(ev.tier) or ev.tier,
            rule_version=ev.version,
            total_points=format(ev.total_points, "f") if ev.total_points is not None else None,
            reasons=_reasons(ev),
        )
        for eid, ev in _page(found, page, page_size)
    ]
    return CandidatePage(
        year=year,
        as_of=today,
        evaluated=len(rows),
        total=len(found),
        by_target=dict(sorted(Counter(ev.tier for _, ev in found).items())),
        page=page,
        page_size=page_size,
        items=items,
    )


# ---- due reviews -----------------------------------------------------------------------------


def due_reviews(
    session: Session,
    actor: Actor,
    *,
    flt: PoolFilter,
    today: date,
    within_days: int = 90,
    page: int = 1,
    page_size: int = 100,
) -> DueReviewPage:
    """Valid designations whose last valid day falls within the next `within_days` days."""
    stmt, _ = _scoped(session, actor, flt, today, tier_column=Designation.tier_code)
    until = today + timedelta(days=within_days)
    stmt = (
        stmt.join(Designation, Designation.enterprise_id == Enterprise.id)
        .where(
            ladder_service.valid_clause(today),
            Designation.valid_until.is_not(None),  # type: ignore[union-attr]
            Designation.valid_until <= until,  # type: ignore[operator]
        )
        .add_columns(
            Designation.id,
            Designation.tier_code,
            Designation.designated_on,
            Designation.valid_until,
        )
    )
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(Designation.valid_until, Enterprise.name, Designation.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    names = _Names(session)
    # Whether each title may be reviewed: the relevant year's data update, major changes.
    reviewable = compliance.review_eligibility(
        session, [(r[0], r[8], r[9]) for r in rows], today=today
    )
    items = [
        DueReview(
            **names.ref(*r[:6]),
            designation_id=r[6],
            tier_code=r[7],
            tier_name=names.tier_name(r[7]) or r[7],
            designated_on=r[8],
            valid_until=r[9],
            days_left=(r[9] - today).days,
            review_status=e.status,
            review_eligible=e.eligible,
            review_reasons=list(e.reasons),
            data_update_year=e.data_year,
            data_update_deadline=e.data_deadline,
            data_update_rule_version=e.rule_version,
        )
        for r, e in zip(rows, reviewable, strict=True)
    ]
    return DueReviewPage(
        as_of=today,
        within_days=within_days,
        total=total,
        page=page,
        page_size=page_size,
        items=items,
    )


# ---- anomalies -------------------------------------------------------------------------------


def anomalies(
    session: Session,
    actor: Actor,
    *,
    flt: PoolFilter,
    today: date,
    kind: str | None = None,
    page: int = 1,
    page_size: int = 100,
) -> AnomalyPage:
    """Anomalies as recorded when they happened (the tier filter is the designation's tier)."""
    stmt, _ = _scoped(session, actor, flt, today, tier_column=LadderAnomaly.tier_code)
    stmt = stmt.join(LadderAnomaly, LadderAnomaly.enterprise_id == Enterprise.id)
    if kind:
        stmt = stmt.where(LadderAnomaly.kind == kind)
    sub = stmt.add_columns(LadderAnomaly.kind.label("anomaly_kind")).subquery()  # type: ignore[attr-defined]
    counts = dict(
        session.execute(
            sa.select(sub.c.anomaly_kind, sa.func.count()).group_by(sub.c.anomaly_kind)
        ).all()
    )
    rows = session.execute(
        stmt.add_columns(LadderAnomaly)
        .order_by(LadderAnomaly.occurred_on.desc(), LadderAnomaly.id.desc())  # type: ignore[attr-defined, union-attr]
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    names = _Names(session)
    items = [anomaly_public(r[6], names, r[1], r[2], r[3], r[4]) for r in rows]
    return AnomalyPage(
        total=sum(counts.values()),
        by_kind=dict(sorted(counts.items())),
        page=page,
        page_size=page_size,
        items=items,
    )


def anomaly_public(
    a: LadderAnomaly, names: Any, name: str, code: str, district: str, subsector: str
) -> AnomalyPublic:
    return AnomalyPublic(
        id=a.id or 0,
        enterprise_id=a.enterprise_id,
        enterprise_name=name,
        credit_code=code,
        district_code=district,
        subsector_code=subsector,
        designation_id=a.designation_id,
        tier_code=a.tier_code,
        tier_name=names.tier_name(a.tier_code) or a.tier_code,
        kind=a.kind,
        kind_name=ANOMALY_ZH.get(a.kind, a.kind),
        occurred_on=a.occurred_on,
        detail=a.detail,
        source=a.source,
    )


# ---- key-enterprise suggestion ---------------------------------------------------------------


def key_suggestions(
    session: Session,
    actor: Actor,
    *,
    flt: PoolFilter,
    today: date,
    year: int | None = None,
    limit: int = 50,
) -> KeySuggestionPage:
    """Enterprises not yet key, ranked by the engine: the highest tier held or met, then the
    evaluation score, then revenue. An enterprise a manager rejected for this year is left out."""
    year = year or default_year(today)
    stmt, _ = _scoped(session, actor, flt, today)
    stmt = stmt.where(Enterprise.is_key.is_(False)).add_columns(Enterprise.version)  # type: ignore[attr-defined]
    rejected = (
        sa.select(KeySelection.enterprise_id)
        .where(KeySelection.year == year, KeySelection.decision == "rejected")
        .scalar_subquery()
    )
    stmt = stmt.where(Enterprise.id.not_in(rejected))  # type: ignore[union-attr]
    rows = session.execute(stmt).all()
    ids = stmt.with_only_columns(Enterprise.id)  # type: ignore[arg-type]
    facts = ledger_facts.load(session, ids, year=year)
    revenue = dict(
        session.execute(
            sa.select(AnnualFigures.enterprise_id, AnnualFigures.operating_revenue).where(
                AnnualFigures.enterprise_id.in_(ids),  # type: ignore[attr-defined]
                AnnualFigures.year == year,
            )
        ).all()
    )
    names = _Names(session)
    ledger_rank = {code: t.rank for code, t in names.tier_by_code.items()}
    empty = EnterpriseFacts()
    scored = []
    evaluations = evaluate_many(
        (facts.get(r[0], empty) for r in rows), year=year, today=today, tiers=TIERS
    )
    for row, evaluation in zip(rows, evaluations, strict=True):
        eid, rank = row[0], row[5] or 0
        met = evaluation.highest_eligible
        met_rank = ledger_rank.get(met, 0) if met else 0
        points = max((t.total_points or Decimal(0) for t in evaluation.tiers), default=Decimal(0))
        if max(rank, met_rank) == 0:
            continue  # neither holds nor meets any rung: not a key-enterprise candidate
        money = revenue.get(eid) or Decimal(0)
        score = Decimal(max(rank, met_rank)) * 1000 + Decimal(met_rank) * 10 + points
        reasons = []
        if rank:
            reasons.append(f"现为{names.tier_by_rank[rank].name}")
        if met:
            version = evaluation.tier(met).version
            reasons.append(f"符合{names.tier_name(met) or met}认定条件（{version}）")
        for t in evaluation.tiers:
            if t.total_points is not None:
                reasons.append(
                    f"{names.tier_name(t.tier) or t.tier}评价得分{format(t.total_points, 'f')}分"
                )
        if money:
            reasons.append(f"{year}年营业收入{format(Decimal(money).normalize(), 'f')}万元")
        scored.append((score, Decimal(money), row, met, reasons))
    scored.sort(key=lambda s: (-s[0], -s[1], s[2][1], s[2][0]))
    decided = _last_decisions(session, [s[2][0] for s in scored[:limit]], year)
    items = [
        KeySuggestion(
            **names.ref(*row[:6]),
            rank=i + 1,
            score=format(score, "f"),
            version=row[6],
            highest_eligible=met,
            reasons=reasons,
            last_decision=decided.get(row[0]),  # type: ignore[arg-type]
        )
        for i, (score, _, row, met, reasons) in enumerate(scored[:limit])
    ]
    return KeySuggestionPage(year=year, as_of=today, total=len(scored), items=items)


def _last_decisions(session: Session, ids: list[int], year: int) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        sa.select(KeySelection.enterprise_id, KeySelection.decision)
        .where(KeySelection.enterprise_id.in_(ids), KeySelection.year == year)  # type: ignore[attr-defined]
        .order_by(KeySelection.id)
    )
    return dict(rows.all())


def enterprise_refs(session: Session) -> _Names:
    return _Names(session)
