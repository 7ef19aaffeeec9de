"""One enterprise's ladder records: derived history, listing path, evaluator facts,
eligibility under the engine, and a manager's key-enterprise decision."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from service.access.actor import Actor
from service.audit import service as audit_service
from service.enterprises import service as enterprise_service
from service.enterprises.models import Enterprise
from service.enterprises.schemas import EnterpriseUpdate
from service.errors import FieldError, LedgerError, invalid
from service.ladder import facts as ledger_facts
from service.ladder import pool
from service.ladder import service as ladder_service
from service.ladder.models import (
    Designation,
    EvaluatorFacts,
    KeySelection,
    LadderAnomaly,
    ListingStep,
)
from service.ladder.rules import CONVENTIONS_ZH, TIERS, EnterpriseFacts, evaluate
from service.ladder.schemas import (
    BOARD_ZH,
    STAGE_ZH,
    EligibilityPublic,
    EvaluatorFactsIn,
    EvaluatorFactsPublic,
    EventPublic,
    KeyDecisionIn,
    KeyDecisionPublic,
    LadderHistory,
    ListingPath,
    ListingStepIn,
    ListingStepPublic,
    StepPublic,
)
from service.reference.models import Tier

# ---- derived history -------------------------------------------------------------------------


def history(session: Session, enterprise: Enterprise, today: date) -> LadderHistory:
    eid = enterprise.id or 0
    derived = ladder_service.history_of(session, eid, today)
    names = pool.enterprise_refs(session)
    tiers_of = dict(
        session.execute(
            sa.select(Designation.id, Designation.tier_code).where(Designation.enterprise_id == eid)
        ).all()
    )
    events = [
        EventPublic(
            id=e.id or 0,
            designation_id=e.designation_id,
            tier_code=tiers_of.get(e.designation_id, ""),
            kind=e.kind,  # type: ignore[arg-type]
            occurred_on=e.occurred_on,
            valid_until_before=e.valid_until_before,
            valid_until_after=e.valid_until_after,
            reviewed_on=e.reviewed_on,
            reapply_not_before=e.reapply_not_before,
            document_no=e.document_no,
            reason=e.reason,
            source=e.source,
        )
        for e in ladder_service.events_of(session, eid)
    ]
    anomalies = [
        pool.anomaly_public(
            a,
            names,
            enterprise.name,
            enterprise.credit_code,
            enterprise.district_code,
            enterprise.subsector_code,
        )
        for a in session.scalars(
            sa.select(LadderAnomaly)
            .where(LadderAnomaly.enterprise_id == eid)
            .order_by(LadderAnomaly.occurred_on, LadderAnomaly.id)
        )
    ]
    bar = session.scalar(
        sa.select(sa.func.max(Designation.reapply_not_before)).where(
            Designation.enterprise_id == eid, Designation.status == "revoked"
        )
    )
    return LadderHistory(
        enterprise_id=eid,
        as_of=today,
        current_tier=derived.current_tier,
        current_tier_name=names.tier_name(derived.current_tier),
        current_since=derived.current_since,
        days_in_tier=derived.days_in_tier,
        previous_tier=derived.previous_tier,
        previous_tier_name=names.tier_name(derived.previous_tier),
        first_reached=derived.first_reached,
        steps=[
            StepPublic(
                on=s.on,
                from_tier=s.from_tier,
                from_tier_name=names.tier_name(s.from_tier),
                to_tier=s.to_tier,
                to_tier_name=names.tier_name(s.to_tier),
                direction=s.direction,  # type: ignore[arg-type]
            )
            for s in derived.steps
        ],
        events=events,
        anomalies=anomalies,
        reapply_not_before=bar if bar and bar > today else None,
    )


LISTED_TIER = "listed"

# ---- listing path ----------------------------------------------------------------------------


def _listing_public(step: ListingStep) -> ListingStepPublic:
    return ListingStepPublic(
        id=step.id or 0,
        stage=step.stage,  # type: ignore[arg-type]
        stage_on=step.stage_on,
        intended_board=step.intended_board,  # type: ignore[arg-type]
        board=step.board,  # type: ignore[arg-type]
        security_code=step.security_code,
        short_name=step.short_name,
        sponsor=step.sponsor,
        note=step.note,
        stage_name=STAGE_ZH[step.stage],
        intended_board_name=BOARD_ZH.get(step.intended_board or ""),
        board_name=BOARD_ZH.get(step.board or ""),
    )


def listing_path(session: Session, enterprise: Enterprise) -> ListingPath:
    steps = [
        _listing_public(s)
        for s in session.scalars(
            sa.select(ListingStep)
            .where(ListingStep.enterprise_id == enterprise.id)
            .order_by(ListingStep.stage_on, ListingStep.id)
        )
    ]
    return ListingPath(
        enterprise_id=enterprise.id or 0, current=steps[-1] if steps else None, steps=steps
    )


_LISTING_FIELDS = (
    "stage",
    "stage_on",
    "intended_board",
    "board",
    "security_code",
    "short_name",
    "sponsor",
    "note",
)


def add_listing_step(
    session: Session, actor: Actor, enterprise: Enterprise, data: ListingStepIn, *, today: date
) -> ListingStep:
    """Record the next step of the listing path; dates never run backwards."""
    errors: list[FieldError] = []
    if data.stage_on > today:
        errors.append(
            FieldError(
                "stage_on", "date.in_future", f"日期（{data.stage_on}）不能晚于今天", data.stage_on
            )
        )
    last = session.scalars(
        sa.select(ListingStep)
        .where(ListingStep.enterprise_id == enterprise.id)
        .order_by(ListingStep.stage_on.desc(), ListingStep.id.desc())  # type: ignore[attr-defined, union-attr]
        .limit(1)
    ).first()
    if last is not None and data.stage_on < last.stage_on:
        errors.append(
            FieldError(
                "stage_on",
                "listing.date_before_previous",
                f"日期（{data.stage_on}）早于上一阶段“{STAGE_ZH[last.stage]}”的日期（{last.stage_on}）",
                data.stage_on,
            )
        )
    if last is not None and last.stage == "terminated" and data.stage != "reserve":
        errors.append(
            FieldError(
                "stage",
                "listing.terminated",
                "上市进程已终止；重新启动请从“后备库”开始登记",
                data.stage,
            )
        )
    if data.stage in ("listed", "quoted"):
        if data.board is None:
            errors.append(FieldError("board", "required", "上市或挂牌须填写板块", None))
        if not data.security_code:
            errors.append(FieldError("security_code", "required", "上市或挂牌须填写证券代码", ""))
    if errors:
        raise invalid(errors)
    step = ListingStep(enterprise_id=enterprise.id or 0, **data.model_dump())
    session.add(step)
    session.flush()
    listed = _listed_designation(session, actor, enterprise, step)
    audit_service.record(
        session,
        actor,
        action="listing.step",
        entity="listing_step",
        entity_id=step.id,
        entity_repr=f"{enterprise.name}：{STAGE_ZH[step.stage]}",
        enterprise_id=enterprise.id,
        after={f: getattr(step, f) for f in _LISTING_FIELDS}
        | ({"listed_designation_id": listed.id} if listed else {}),
    )
    return step


def _listed_designation(
    session: Session, actor: Actor, enterprise: Enterprise, step: ListingStep
) -> Designation | None:
    """Listing (上市) or quotation (挂牌) puts the enterprise on the `listed` rung, from the
    listing date, unless a listed designation is valid then already. Written through the
    designation service, so it carries its event, anomaly check and audit event."""
    if step.stage not in ("listed", "quoted") or session.get(Tier, LISTED_TIER) is None:
        return None
    already = session.scalar(
        sa.select(Designation.id).where(
            Designation.enterprise_id == enterprise.id,
            Designation.tier_code == LISTED_TIER,
            Designation.designated_on <= step.stage_on,
            ladder_service.valid_clause(step.stage_on),
        )
    )
    if already is not None:
        return None
    board = BOARD_ZH.get(step.board or "", "")
    return ladder_service.add(
        session,
        actor,
        enterprise_id=enterprise.id or 0,
        enterprise_repr=enterprise.name,
        tier_code=LISTED_TIER,
        designated_on=step.stage_on,
        authority=board,
        document_no=step.security_code,
        reason=f"{STAGE_ZH[step.stage]}：{board} {step.security_code} {step.short_name}".strip(),
        source="listing",
    )


def listing_step_public(step: ListingStep) -> ListingStepPublic:
    return _listing_public(step)


# ---- evaluator facts -------------------------------------------------------------------------


def _facts_public(row: EvaluatorFacts) -> EvaluatorFactsPublic:
    return EvaluatorFactsPublic.model_validate(
        {
            "year": row.year,
            "source": row.source,
            "niche_since": row.niche_since,
            "judgements": row.judgements,
            "ip": row.ip,
            "rd_institution": row.rd_institution,
            "awards": row.awards,
            "contests": row.contests,
            "titles": row.titles,
            "development_score": row.development_score,
            "digital_level": row.digital_level,
            "local_distinctive_points": row.local_distinctive_points,
        }
    )


def list_facts(session: Session, enterprise: Enterprise) -> list[EvaluatorFactsPublic]:
    rows = session.scalars(
        sa.select(EvaluatorFacts)
        .where(EvaluatorFacts.enterprise_id == enterprise.id)
        .order_by(EvaluatorFacts.year)
    )
    return [_facts_public(r) for r in rows]


def _stored(data: EvaluatorFactsIn) -> dict[str, Any]:
    dumped = data.model_dump(mode="json")
    return {
        "niche_since": data.niche_since,
        "judgements": dumped["judgements"],
        "ip": dumped["ip"],
        "rd_institution": data.rd_institution,
        "awards": dumped["awards"],
        "contests": dumped["contests"],
        "titles": dumped["titles"],
        "development_score": data.development_score,
        "digital_level": data.digital_level,
        "local_distinctive_points": data.local_distinctive_points,
    }


def put_facts(
    session: Session,
    actor: Actor,
    enterprise: Enterprise,
    *,
    year: int,
    data: EvaluatorFactsIn,
    today: date,
    source: str = "manual",
) -> EvaluatorFactsPublic:
    """Set one year's evaluator facts (all of them: a field left out is cleared)."""
    errors = []
    if not 1949 <= year <= today.year:
        errors.append(
            FieldError("year", "year.out_of_range", f"年份应在1949至{today.year}之间", year)
        )
    if data.niche_since is not None and data.niche_since > today:
        errors.append(
            FieldError(
                "niche_since", "date.in_future", "进入细分市场的时间不能晚于今天", data.niche_since
            )
        )
    for i, t in enumerate(data.titles):
        if t.designated_on and t.valid_until and t.valid_until < t.designated_on:
            errors.append(
                FieldError(
                    f"titles.{i}.valid_until",
                    "title.valid_until_before_designated_on",
                    "有效期至早于认定日期",
                    t.valid_until,
                )
            )
    if errors:
        raise invalid(errors)
    row = session.scalar(
        sa.select(EvaluatorFacts).where(
            EvaluatorFacts.enterprise_id == enterprise.id, EvaluatorFacts.year == year
        )
    )
    before = _stored(_facts_public(row)) if row else None
    if row is None:
        row = EvaluatorFacts(enterprise_id=enterprise.id or 0, year=year)
    values = _stored(data)
    for k, v in values.items():
        setattr(row, k, v)
    row.source = source
    session.add(row)
    session.flush()
    audit_service.record(
        session,
        actor,
        action="evaluator_facts.put",
        entity="evaluator_facts",
        entity_id=f"{enterprise.id}:{year}",
        entity_repr=f"{enterprise.name} {year}年评价信息",
        enterprise_id=enterprise.id,
        before=before,
        after=values,
        source=source,
    )
    return _facts_public(row)


# ---- eligibility -----------------------------------------------------------------------------


def eligibility(
    session: Session,
    enterprise: Enterprise,
    *,
    year: int | None,
    today: date,
    purpose: str = "application",
) -> EligibilityPublic:
    """The engine's verdict on every tier for one enterprise, from the ledger's records."""
    year = year or pool.default_year(today)
    if not 1949 <= year <= today.year:
        raise invalid(
            [FieldError("year", "year.out_of_range", f"年份应在1949至{today.year}之间", year)]
        )
    eid = enterprise.id or 0
    facts = ledger_facts.load(session, [eid], year=year).get(eid) or EnterpriseFacts()
    tiers = TIERS
    if purpose == "review":
        # A review re-checks a title held, under the rules of its own designation date: only
        # the tiers the enterprise holds a dated title of can be reviewed.
        held = {t.code for t in facts.titles or () if t.designated_on is not None}
        tiers = tuple(t for t in TIERS if t in held)
        if not tiers:
            raise invalid(
                [
                    FieldError(
                        "purpose",
                        "review.no_title",
                        "该企业没有可复核的梯度认定，请按申报（application）评估",
                        purpose,
                    )
                ]
            )
    result = evaluate(
        facts,
        year=year,
        today=today,
        purpose=purpose,  # type: ignore[arg-type]
        tiers=tiers,
    )
    current = ladder_service.current_tiers(session, [eid], today).get(eid)
    used = sorted({c for t in result.tiers for c in t.conventions})
    return EligibilityPublic(
        enterprise_id=eid,
        year=year,
        as_of=today,
        purpose=purpose,  # type: ignore[arg-type]
        current_tier=current.code if current else None,
        highest_eligible=result.highest_eligible,
        rule_versions={t.tier: t.version for t in result.tiers},
        conventions={c: CONVENTIONS_ZH[c] for c in used},
        inputs=dict(ledger_facts.inputs_summary(facts)),
        evaluation=result.to_dict(),
    )


# ---- key-enterprise decision -----------------------------------------------------------------


def _evidence(session: Session, enterprise: Enterprise, year: int, today: date) -> list[str]:
    """The engine's reasons at the time of the decision, kept with it."""
    found = eligibility(session, enterprise, year=year, today=today)
    names = pool.enterprise_refs(session)
    out = []
    if found.current_tier:
        out.append(f"现为{names.tier_name(found.current_tier)}")
    best = found.highest_eligible
    if best:
        out.append(f"符合{names.tier_name(best) or best}认定条件（{found.rule_versions[best]}）")
    for tier in found.evaluation["tiers"]:
        if tier.get("total_points") is not None:
            name = names.tier_name(tier["tier"]) or tier["tier"]
            out.append(f"{name}评价得分{tier['total_points']}分")
    return out


def decide_key(
    session: Session,
    actor: Actor,
    enterprise: Enterprise,
    data: KeyDecisionIn,
    *,
    expected_version: int | None,
    today: date,
) -> KeyDecisionPublic:
    """Confirm or reject a suggested key enterprise. A confirmation sets the key flag and reason
    through the enterprise service (version bump, audited there); a rejection is audited here."""
    year = data.year or pool.default_year(today)
    if not 1949 <= year <= today.year:
        raise invalid(
            [FieldError("year", "year.out_of_range", f"年份应在1949至{today.year}之间", year)]
        )
    if data.decision == "confirmed" and expected_version is None:
        raise LedgerError(
            "precondition.required",
            "缺少版本号",
            428,
            "确认重点企业会修改企业档案，须在 If-Match 头中带上读取时的 ETag",
        )
    evidence = _evidence(session, enterprise, year, today)
    selection = KeySelection(
        enterprise_id=enterprise.id or 0,
        year=year,
        decision=data.decision,
        reason=data.reason,
        suggested_rank=data.suggested_rank,
        evidence=evidence,
        decided_by=actor.name,
    )
    session.add(selection)
    if data.decision == "confirmed":
        enterprise = enterprise_service.update(
            session,
            actor,
            enterprise.id or 0,
            EnterpriseUpdate(is_key=True, key_reason=data.reason),
            expected_version=expected_version or 0,
        )
        session.flush()
    else:
        session.flush()
        audit_service.record(
            session,
            actor,
            action="key_selection.reject",
            entity="key_selection",
            entity_id=selection.id,
            entity_repr=f"{enterprise.name}：不列为重点企业",
            enterprise_id=enterprise.id,
            after={"decision": "rejected", "reason": data.reason, "year": year},
        )
    return KeyDecisionPublic(
        id=selection.id or 0,
        enterprise_id=enterprise.id or 0,
        year=year,
        decision=data.decision,
        reason=data.reason,
        suggested_rank=data.suggested_rank,
        evidence=evidence,
        decided_by=actor.name,
        is_key=enterprise.is_key,
        enterprise_version=enterprise.version,
    )
