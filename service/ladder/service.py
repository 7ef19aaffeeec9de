"""Designations in the database: each enterprise's current tier and its lifecycle events
(designate, renew after review, revoke, expire), with anomalies recorded as they happen."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from service.access.actor import Actor
from service.audit import service as audit_service
from service.errors import FieldError, LedgerError, invalid, not_found
from service.ladder import lifecycle
from service.ladder.models import Designation, DesignationEvent, LadderAnomaly
from service.ladder.validity import validity_end
from service.reference.models import Tier

REAPPLY_AFTER_YEARS = 3  # a revoked title: no new application for at least 3 years


def is_valid_on(designation: Designation, today: date) -> bool:
    """Valid means not revoked or superseded and not past its last valid day — no job needed."""
    return designation.status == "valid" and (
        designation.valid_until is None or designation.valid_until >= today
    )


def effective_status(designation: Designation, today: date) -> str:
    if designation.status == "valid" and not is_valid_on(designation, today):
        return "expired"
    return designation.status


def valid_clause(today: date) -> ColumnElement[bool]:
    """SQL twin of `is_valid_on`."""
    return sa.and_(
        # A literal, not a bound parameter: only then can SQLite use the partial index
        # ix_designation_valid (WHERE status = 'valid'), which answers from the index alone.
        Designation.status == sa.literal_column("'valid'"),
        sa.or_(Designation.valid_until.is_(None), Designation.valid_until >= today),  # type: ignore[union-attr]
    )


def current_rank_subquery(today: date) -> sa.Subquery:
    """enterprise_id → rank of its highest valid designation."""
    return (
        sa.select(
            Designation.enterprise_id.label("enterprise_id"),  # type: ignore[attr-defined]
            sa.func.max(Tier.rank).label("rank"),
        )
        .join(Tier, Tier.code == Designation.tier_code)
        .where(valid_clause(today))
        .group_by(Designation.enterprise_id)
        .subquery("current_rank")
    )


def current_tiers(session: Session, enterprise_ids: Iterable[int], today: date) -> dict[int, Tier]:
    """The current tier of each enterprise that has one."""
    ids = list(enterprise_ids)
    if not ids:
        return {}
    by_rank = {t.rank: t for t in session.scalars(sa.select(Tier))}
    out: dict[int, Tier] = {}
    # Chunked: some backends cap the number of bound parameters.
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        rows = session.execute(
            sa.select(Designation.enterprise_id, sa.func.max(Tier.rank))
            .join(Tier, Tier.code == Designation.tier_code)
            .where(valid_clause(today), Designation.enterprise_id.in_(chunk))  # type: ignore[attr-defined]
            .group_by(Designation.enterprise_id)
        )
        for eid, rank in rows:
            out[eid] = by_rank[rank]
    return out


def designations_of(session: Session, enterprise_id: int) -> list[tuple[Designation, Tier]]:
    rows = session.execute(
        sa.select(Designation, Tier)
        .join(Tier, Tier.code == Designation.tier_code)
        .where(Designation.enterprise_id == enterprise_id)
        .order_by(Designation.designated_on, Tier.rank, Designation.id)
    )
    return [(d, t) for d, t in rows]


def _designation_values(d: Designation) -> dict[str, object]:
    return {
        "tier_code": d.tier_code,
        "batch": d.batch,
        "authority": d.authority,
        "document_no": d.document_no,
        "designated_on": d.designated_on,
        "valid_until": d.valid_until,
        "status": d.status,
        "reason": d.reason,
        "revoked_on": d.revoked_on,
        "reapply_not_before": d.reapply_not_before,
    }


def add(
    session: Session,
    actor: Actor,
    *,
    enterprise_id: int,
    enterprise_repr: str,
    tier_code: str,
    designated_on: date,
    valid_until: date | None = None,
    batch: str = "",
    authority: str = "",
    document_no: str = "",
    reason: str = "",
    source: str = "manual",
) -> Designation:
    """Record a designation; valid_until defaults to the tier's validity period."""
    tier = session.get(Tier, tier_code)
    if tier is None:
        raise invalid(
            [FieldError("tier_code", "tier.unknown", f"梯度“{tier_code}”不存在", tier_code)]
        )
    if valid_until is None and tier.validity_years:
        valid_until = validity_end(designated_on, tier.validity_years)
    if valid_until is not None and valid_until < designated_on:
        raise invalid(
            [
                FieldError(
                    "valid_until",
                    "designation.valid_until_before_designated_on",
                    f"有效期至（{valid_until}）早于认定日期（{designated_on}）",
                    valid_until,
                )
            ]
        )
    designation = Designation(
        enterprise_id=enterprise_id,
        tier_code=tier_code,
        designated_on=designated_on,
        valid_until=valid_until,
        batch=batch,
        authority=authority or tier.designated_by,
        document_no=document_no,
        reason=reason,
        source=source,
    )
    session.add(designation)
    session.flush()
    _event(session, designation, "designate", designated_on, source=source, document_no=document_no)
    found = _record_anomalies(
        session,
        designation,
        lifecycle.designation_anomalies(
            held(designation, tier.rank), _held_of(session, enterprise_id), _tier_names(session)
        ),
        occurred_on=designated_on,
        source=source,
    )
    audit_service.record(
        session,
        actor,
        action="designation.add",
        entity="designation",
        entity_id=designation.id,
        entity_repr=f"{enterprise_repr}：{tier.name}",
        enterprise_id=enterprise_id,
        after=_designation_values(designation) | _anomaly_values(found),
        source=source,
    )
    return designation


def _tier_names(session: Session) -> dict[str, str]:
    return dict(session.execute(sa.select(Tier.code, Tier.name)).all())


def held(d: Designation, rank: int) -> lifecycle.Held:
    return lifecycle.Held(
        id=d.id or 0,
        tier_code=d.tier_code,
        rank=rank,
        designated_on=d.designated_on,
        valid_until=d.valid_until,
        status=d.status,
        revoked_on=d.revoked_on,
    )


def _held_of(session: Session, enterprise_id: int) -> list[lifecycle.Held]:
    return [held(d, t.rank) for d, t in designations_of(session, enterprise_id)]


def _event(
    session: Session,
    d: Designation,
    kind: str,
    occurred_on: date,
    *,
    valid_until_before: date | None = None,
    reviewed_on: date | None = None,
    reapply_not_before: date | None = None,
    document_no: str = "",
    reason: str = "",
    source: str = "manual",
) -> DesignationEvent:
    event = DesignationEvent(
        designation_id=d.id or 0,
        enterprise_id=d.enterprise_id,
        kind=kind,
        occurred_on=occurred_on,
        valid_until_before=valid_until_before,
        valid_until_after=d.valid_until,
        reviewed_on=reviewed_on,
        reapply_not_before=reapply_not_before,
        document_no=document_no,
        reason=reason,
        source=source,
    )
    session.add(event)
    return event


def _record_anomalies(
    session: Session,
    d: Designation,
    found: list[lifecycle.Anomaly],
    *,
    occurred_on: date,
    source: str,
) -> list[lifecycle.Anomaly]:
    """Keep what was irregular as it happened; nothing is corrected."""
    for a in found:
        session.add(
            LadderAnomaly(
                enterprise_id=d.enterprise_id,
                designation_id=d.id or 0,
                tier_code=d.tier_code,
                kind=a.kind,
                occurred_on=occurred_on,
                detail=a.detail[:500],
                source=source,
            )
        )
    if found:
        session.flush()
    return found


def _anomaly_values(found: list[lifecycle.Anomaly]) -> dict[str, object]:
    return {"anomalies": [a.kind for a in found]} if found else {}


def _get_designation(session: Session, enterprise_id: int, designation_id: int) -> Designation:
    designation = session.get(Designation, designation_id)
    if designation is None or designation.enterprise_id != enterprise_id:
        raise not_found("认定记录", "designation.not_found")
    return designation


def _not_after_today(field: str, label: str, value: date, today: date) -> FieldError | None:
    if value > today:
        return FieldError(
            field, "date.in_future", f"{label}（{value}）不能晚于今天（{today}）", value
        )
    return None


def revoke(
    session: Session,
    actor: Actor,
    *,
    enterprise_id: int,
    enterprise_repr: str,
    designation_id: int,
    reason: str,
    revoked_on: date,
    today: date,
    reapply_not_before: date | None = None,
) -> Designation:
    """Cancel a title (撤销) with its reason; the enterprise may reapply only after 3 years."""
    designation = _get_designation(session, enterprise_id, designation_id)
    if designation.status == "revoked":
        raise LedgerError(
            "designation.already_revoked",
            "该认定已撤销",
            409,
            f"该认定已于{designation.revoked_on}撤销",
        )
    earliest = validity_end(revoked_on, REAPPLY_AFTER_YEARS) + timedelta(days=1)
    errors = [
        e for e in (_not_after_today("revoked_on", "撤销日期", revoked_on, today),) if e is not None
    ]
    if revoked_on < designation.designated_on:
        errors.append(
            FieldError(
                "revoked_on",
                "designation.revoked_before_designated",
                f"撤销日期（{revoked_on}）早于认定日期（{designation.designated_on}）",
                revoked_on,
            )
        )
    if reapply_not_before is not None and reapply_not_before < earliest:
        errors.append(
            FieldError(
                "reapply_not_before",
                "designation.reapply_too_early",
                f"撤销后至少3年内不得再次申报：可再次申报日期不能早于{earliest}",
                reapply_not_before,
            )
        )
    if errors:
        raise invalid(errors)
    before = _designation_values(designation)
    designation.status = "revoked"
    designation.reason = reason
    designation.revoked_on = revoked_on
    designation.reapply_not_before = reapply_not_before or earliest
    session.add(designation)
    session.flush()
    _event(
        session,
        designation,
        "revoke",
        revoked_on,
        valid_until_before=designation.valid_until,
        reapply_not_before=designation.reapply_not_before,
        reason=reason,
    )
    audit_service.record(
        session,
        actor,
        action="designation.revoke",
        entity="designation",
        entity_id=designation.id,
        entity_repr=enterprise_repr,
        enterprise_id=enterprise_id,
        before=before,
        after=_designation_values(designation),
    )
    return designation


def renew(
    session: Session,
    actor: Actor,
    *,
    enterprise_id: int,
    enterprise_repr: str,
    designation_id: int,
    renewed_on: date,
    reviewed_on: date | None,
    document_no: str = "",
    note: str = "",
    today: date,
    source: str = "manual",
) -> Designation:
    """Passing review (复核) extends a title by the tier's validity: its own event, not a new
    designation. A renewal without a recorded review is kept, and flagged as an anomaly."""
    designation = _get_designation(session, enterprise_id, designation_id)
    tier = session.get(Tier, designation.tier_code)
    if designation.status in ("revoked", "superseded"):
        raise LedgerError(
            "designation.not_renewable",
            "该认定不能续期",
            409,
            "已撤销或已被替代的认定不能续期",
        )
    if tier is None or not tier.validity_years or designation.valid_until is None:
        raise LedgerError(
            "designation.not_renewable",
            "该认定不能续期",
            409,
            f"“{tier.name if tier else designation.tier_code}”没有有效期，无需复核续期",
        )
    last_renewed = session.scalar(
        sa.select(sa.func.max(DesignationEvent.occurred_on)).where(
            DesignationEvent.designation_id == designation.id,
            DesignationEvent.kind == "renew",
        )
    )
    if last_renewed is not None and renewed_on <= last_renewed:
        # One review extends one validity period: a second renewal on the same day (a form sent
        # twice) or an earlier one would extend it again from the already extended end.
        raise LedgerError(
            "designation.already_renewed",
            "该认定已续期",
            409,
            f"该认定已于{last_renewed}复核续期至{designation.valid_until}，"
            f"续期日期（{renewed_on}）须晚于上次续期",
            extra={"last_renewed_on": last_renewed, "valid_until": designation.valid_until},
        )
    errors = [
        e
        for e in (
            _not_after_today("renewed_on", "续期日期", renewed_on, today),
            _not_after_today("reviewed_on", "复核日期", reviewed_on, today)
            if reviewed_on
            else None,
        )
        if e is not None
    ]
    if reviewed_on is not None and reviewed_on > renewed_on:
        errors.append(
            FieldError(
                "reviewed_on",
                "designation.reviewed_after_renewed",
                f"复核日期（{reviewed_on}）不能晚于续期日期（{renewed_on}）",
                reviewed_on,
            )
        )
    if renewed_on < designation.designated_on:
        errors.append(
            FieldError(
                "renewed_on",
                "designation.renewed_before_designated",
                f"续期日期（{renewed_on}）早于认定日期（{designation.designated_on}）",
                renewed_on,
            )
        )
    if errors:
        raise invalid(errors)
    before = _designation_values(designation)
    old_until = designation.valid_until
    designation.valid_until = validity_end(old_until + timedelta(days=1), tier.validity_years)
    designation.status = "valid"  # an expiry the job recorded is lifted by the renewal
    session.add(designation)
    session.flush()
    _event(
        session,
        designation,
        "renew",
        renewed_on,
        valid_until_before=old_until,
        reviewed_on=reviewed_on,
        document_no=document_no,
        reason=note,
        source=source,
    )
    found = []
    if reviewed_on is None:
        found.append(
            lifecycle.Anomaly(
                "renewal_without_review",
                f"{renewed_on}续期{tier.name}至{designation.valid_until}，未见复核记录",
            )
        )
    _record_anomalies(session, designation, found, occurred_on=renewed_on, source=source)
    audit_service.record(
        session,
        actor,
        action="designation.renew",
        entity="designation",
        entity_id=designation.id,
        entity_repr=f"{enterprise_repr}：{tier.name}",
        enterprise_id=enterprise_id,
        before=before,
        after=_designation_values(designation)
        | {"reviewed_on": reviewed_on, "renewed_on": renewed_on}
        | _anomaly_values(found),
        source=source,
    )
    return designation


def expire(session: Session, actor: Actor, *, today: date) -> int:
    """Record the expiry of every designation past its valid-until date (they already count
    as expired in every query from that day on; this writes the events down)."""
    rows = session.execute(
        sa.select(Designation.id, Designation.enterprise_id, Designation.valid_until).where(
            Designation.status == "valid",
            Designation.valid_until.is_not(None),  # type: ignore[union-attr]
            Designation.valid_until < today,  # type: ignore[operator]
        )
    ).all()
    if not rows:
        return 0
    now_events = [
        {
            "designation_id": did,
            "enterprise_id": eid,
            "kind": "expire",
            "occurred_on": until + timedelta(days=1),
            "valid_until_before": until,
            "valid_until_after": until,
            "document_no": "",
            "reason": "有效期届满",
            "source": "expire",
        }
        for did, eid, until in rows
    ]
    ids = [r[0] for r in rows]
    for start in range(0, len(ids), 900):
        session.execute(
            sa.update(Designation)
            .where(Designation.id.in_(ids[start : start + 900]))  # type: ignore[union-attr]
            .values(status="expired")
            .execution_options(synchronize_session=False)
        )
    session.execute(sa.insert(DesignationEvent), now_events)
    session.flush()
    audit_service.record(
        session,
        actor,
        action="designation.expire",
        entity="designation",
        entity_repr=f"{len(ids)} 项认定有效期届满",
        changes={
            "expired": [None, len(ids)],
            "ids": [None, ids[:200]],
            "as_of": [None, today.isoformat()],
        },
        source="expire",
    )
    return len(ids)


def events_of(session: Session, enterprise_id: int) -> list[DesignationEvent]:
    return list(
        session.scalars(
            sa.select(DesignationEvent)
            .where(DesignationEvent.enterprise_id == enterprise_id)
            .order_by(DesignationEvent.occurred_on, DesignationEvent.id)
        )
    )


def history_of(session: Session, enterprise_id: int, today: date) -> lifecycle.History:
    return lifecycle.history(_held_of(session, enterprise_id), today)
