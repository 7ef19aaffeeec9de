"""What keeps a title reviewable, in the database: each year's annual data update and the major
changes an enterprise reported (or did not), the review eligibility of due titles, and the scan
that records the anomalies bulk writes skipped."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from service.access.actor import Actor
from service.audit import service as audit_service
from service.bulk import insert_rows
from service.db import utcnow
from service.enterprises.models import Enterprise
from service.errors import FieldError, invalid
from service.ladder import lifecycle, obligations
from service.ladder.models import (
    DataUpdate,
    Designation,
    DesignationEvent,
    LadderAnomaly,
    MajorChange,
)
from service.ladder.schemas import (
    DataUpdateIn,
    DataUpdatePublic,
    MajorChangeIn,
    MajorChangePublic,
    ScanResult,
)
from service.reference.models import Tier

__all__ = [
    "DataUpdateIn",
    "MajorChangeIn",
    "list_data_updates",
    "list_major_changes",
    "put_data_update",
    "record_major_change",
    "review_eligibility",
    "scan",
]

FIRST_YEAR = 2018  # the national platform's annual updates start with the little giants of 2018

# ---- annual data update ----------------------------------------------------------------------


def _update_public(row: DataUpdate) -> DataUpdatePublic:
    rules = obligations.year_rules(row.year)
    assert rules.obligations is not None
    deadline = obligations.data_update_deadline(row.year, rules.obligations)
    return DataUpdatePublic(
        year=row.year,
        updated_on=row.updated_on,
        note=row.note,
        source=row.source,
        deadline=deadline,
        deadline_confirmed=rules.obligations.data_update_confirmed,
        rule_version=rules.version,
        on_time=row.updated_on <= deadline,
    )


def list_data_updates(session: Session, enterprise: Enterprise) -> list[DataUpdatePublic]:
    rows = session.scalars(
        sa.select(DataUpdate)
        .where(DataUpdate.enterprise_id == enterprise.id)
        .order_by(DataUpdate.year)  # type: ignore[arg-type]
    )
    return [_update_public(r) for r in rows]


def put_data_update(
    session: Session,
    actor: Actor,
    enterprise: Enterprise,
    *,
    year: int,
    data: DataUpdateIn,
    today: date,
    source: str = "manual",
) -> DataUpdatePublic:
    """Record the day `year`'s data was updated on the national platform (replaces it)."""
    errors = []
    if not FIRST_YEAR <= year <= today.year:
        errors.append(
            FieldError("year", "year.out_of_range", f"年份应在{FIRST_YEAR}至{today.year}之间", year)
        )
    if data.updated_on > today:
        errors.append(
            FieldError(
                "updated_on",
                "date.in_future",
                f"更新日期（{data.updated_on}）不能晚于今天（{today}）",
                data.updated_on,
            )
        )
    elif data.updated_on.year < year:
        errors.append(
            FieldError(
                "updated_on",
                "data_update.before_year",
                f"{year}年度数据更新的日期（{data.updated_on}）不能早于{year}年",
                data.updated_on,
            )
        )
    if errors:
        raise invalid(errors)
    row = session.scalar(
        sa.select(DataUpdate).where(
            DataUpdate.enterprise_id == enterprise.id, DataUpdate.year == year
        )
    )
    before = {"updated_on": row.updated_on, "note": row.note} if row else None
    if row is None:
        row = DataUpdate(enterprise_id=enterprise.id or 0, year=year, updated_on=data.updated_on)
    row.updated_on = data.updated_on
    row.note = data.note
    row.source = source
    session.add(row)
    session.flush()
    public = _update_public(row)
    audit_service.record(
        session,
        actor,
        action="data_update.put",
        entity="data_update",
        entity_id=f"{enterprise.id}:{year}",
        entity_repr=f"{enterprise.name} {year}年度数据更新",
        enterprise_id=enterprise.id,
        before=before,
        after={"updated_on": row.updated_on, "note": row.note, "on_time": public.on_time},
        source=source,
    )
    return public


# ---- major changes ---------------------------------------------------------------------------


def _window(occurred_on: date) -> tuple[str, Any]:
    rules = obligations.version_on(occurred_on)
    return rules.version, rules.obligations


def _change(row: MajorChange) -> obligations.Change:
    return obligations.Change(row.kind, row.occurred_on, row.reported_on)


def _change_public(row: MajorChange, today: date) -> MajorChangePublic:
    version, rules = _window(row.occurred_on)
    return MajorChangePublic(
        id=row.id or 0,
        kind=row.kind,  # type: ignore[arg-type]
        kind_name=obligations.MAJOR_CHANGE_ZH[row.kind],
        occurred_on=row.occurred_on,
        reported_on=row.reported_on,
        detail=row.detail,
        source=row.source,
        report_deadline=obligations.report_deadline(row.occurred_on, rules),
        rule_version=version,
        status=obligations.change_status(_change(row), rules, today),
    )


def list_major_changes(
    session: Session, enterprise: Enterprise, *, today: date
) -> list[MajorChangePublic]:
    rows = session.scalars(
        sa.select(MajorChange)
        .where(MajorChange.enterprise_id == enterprise.id)
        .order_by(MajorChange.occurred_on, MajorChange.id)  # type: ignore[arg-type]
    )
    return [_change_public(r, today) for r in rows]


def _change_anomaly(row: MajorChange, today: date) -> tuple[str, date, str] | None:
    """(kind, the day it became irregular, detail) for a late or unreported change."""
    _, rules = _window(row.occurred_on)
    status = obligations.change_status(_change(row), rules, today)
    what = f"{row.occurred_on}{obligations.MAJOR_CHANGE_ZH[row.kind]}"
    due = obligations.report_deadline(row.occurred_on, rules)
    if status == "late" and row.reported_on is not None:
        return "major_change_late", row.reported_on, f"{what}于{row.reported_on}报告，应在{due}前"
    if status == "unreported":
        return (
            "major_change_unreported",
            obligations.unreported_since(_change(row), rules),
            f"{what}未在{due}前报告",
        )
    return None


def _anomaly_rows(
    changes: Iterable[MajorChange],
    held: dict[int, list[tuple[lifecycle.Held, str]]],
    existing: set[tuple[int, str, date]],
    today: date,
    source: str,
) -> list[dict[str, Any]]:
    """One anomaly per title held when the change happened: the title is what is at risk."""
    out: list[dict[str, Any]] = []
    now = utcnow()
    for row in changes:
        found = _change_anomaly(row, today)
        if found is None:
            continue
        kind, on, detail = found
        for h, tier in held.get(row.enterprise_id, []):
            key = (h.id, kind, on)
            if not h.valid_on(row.occurred_on) or key in existing:
                continue
            existing.add(key)
            out.append(
                {
                    "enterprise_id": row.enterprise_id,
                    "designation_id": h.id,
                    "tier_code": tier,
                    "kind": kind,
                    "occurred_on": on,
                    "detail": detail[:500],
                    "source": source,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    return out


def _held_by_enterprise(
    session: Session, enterprise_ids: Sequence[int]
) -> dict[int, list[tuple[lifecycle.Held, str]]]:
    # Plain columns, no ORM objects: an import checks 100 000 designations through here.
    out: dict[int, list[tuple[lifecycle.Held, str]]] = defaultdict(list)
    d = Designation
    for start in range(0, len(enterprise_ids), 900):
        rows = session.execute(
            sa.select(
                d.id,
                d.enterprise_id,
                d.tier_code,
                Tier.rank,
                d.designated_on,
                d.valid_until,
                d.status,
                d.revoked_on,
            )
            .join(Tier, Tier.code == d.tier_code)
            .where(d.enterprise_id.in_(enterprise_ids[start : start + 900]))  # type: ignore[attr-defined]
            .order_by(d.designated_on, Tier.rank, d.id)
        )
        for did, eid, tier, rank, on, until, status, revoked_on in rows:
            out[eid].append((lifecycle.Held(did, tier, rank, on, until, status, revoked_on), tier))
    return out


def _existing(session: Session, designation_ids: Sequence[int]) -> set[tuple[int, str, date]]:
    found: set[tuple[int, str, date]] = set()
    for start in range(0, len(designation_ids), 900):
        rows = session.execute(
            sa.select(
                LadderAnomaly.designation_id, LadderAnomaly.kind, LadderAnomaly.occurred_on
            ).where(
                LadderAnomaly.designation_id.in_(designation_ids[start : start + 900])  # type: ignore[attr-defined]
            )
        )
        found.update((d, k, o) for d, k, o in rows)
    return found


def record_major_change(
    session: Session,
    actor: Actor,
    enterprise: Enterprise,
    data: MajorChangeIn,
    *,
    today: date,
    source: str = "manual",
) -> tuple[MajorChangePublic, bool]:
    """Record a major change, or its report: one row per kind and date. A late or (past the
    window) unreported change is kept and flagged on the titles held when it happened.
    Returns the change and whether it was new."""
    errors = []
    if data.occurred_on > today:
        errors.append(
            FieldError(
                "occurred_on",
                "date.in_future",
                f"发生日期（{data.occurred_on}）不能晚于今天（{today}）",
                data.occurred_on,
            )
        )
    if data.reported_on is not None and data.reported_on > today:
        errors.append(
            FieldError(
                "reported_on",
                "date.in_future",
                f"报告日期（{data.reported_on}）不能晚于今天（{today}）",
                data.reported_on,
            )
        )
    elif data.reported_on is not None and data.reported_on < data.occurred_on:
        errors.append(
            FieldError(
                "reported_on",
                "major_change.reported_before_occurred",
                f"报告日期（{data.reported_on}）早于发生日期（{data.occurred_on}）",
                data.reported_on,
            )
        )
    if errors:
        raise invalid(errors)
    row = session.scalar(
        sa.select(MajorChange).where(
            MajorChange.enterprise_id == enterprise.id,
            MajorChange.kind == data.kind,
            MajorChange.occurred_on == data.occurred_on,
        )
    )
    created = row is None
    before = None if row is None else {"reported_on": row.reported_on, "detail": row.detail}
    if row is None:
        row = MajorChange(
            enterprise_id=enterprise.id or 0, kind=data.kind, occurred_on=data.occurred_on
        )
    row.reported_on = data.reported_on
    row.detail = data.detail
    row.source = source
    session.add(row)
    session.flush()
    held = _held_by_enterprise(session, [enterprise.id or 0])
    ids = [h.id for h, _ in held.get(enterprise.id or 0, [])]
    new = _anomaly_rows([row], held, _existing(session, ids), today, source)
    if new:
        session.execute(sa.insert(LadderAnomaly), new)
        session.flush()
    public = _change_public(row, today)
    audit_service.record(
        session,
        actor,
        action="major_change.add" if created else "major_change.update",
        entity="major_change",
        entity_id=row.id,
        entity_repr=f"{enterprise.name}：{data.occurred_on}{public.kind_name}",
        enterprise_id=enterprise.id,
        before=before,
        after={
            "kind": row.kind,
            "occurred_on": row.occurred_on,
            "reported_on": row.reported_on,
            "detail": row.detail,
            "status": public.status,
        }
        | ({"anomalies": sorted({a["kind"] for a in new})} if new else {}),
        source=source,
    )
    return public, created


# ---- review eligibility of due titles --------------------------------------------------------


def review_eligibility(
    session: Session,
    titles: Sequence[tuple[int, date, date]],
    *,
    today: date,
) -> list[obligations.ReviewEligibility]:
    """For each (enterprise id, designated_on, valid_until): may it be reviewed?"""
    ids = sorted({t[0] for t in titles})
    updates: dict[int, dict[int, date]] = defaultdict(dict)
    changes: dict[int, list[obligations.Change]] = defaultdict(list)
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        for eid, year, on in session.execute(
            sa.select(DataUpdate.enterprise_id, DataUpdate.year, DataUpdate.updated_on).where(
                DataUpdate.enterprise_id.in_(chunk)  # type: ignore[attr-defined]
            )
        ):
            updates[eid][year] = on
        for row in session.scalars(
            sa.select(MajorChange).where(MajorChange.enterprise_id.in_(chunk))  # type: ignore[attr-defined]
        ):
            changes[row.enterprise_id].append(_change(row))
    return [
        obligations.review_eligibility(
            designated_on=designated_on,
            valid_until=valid_until,
            updates=updates.get(eid, {}),
            changes=changes.get(eid, []),
            today=today,
        )
        for eid, designated_on, valid_until in titles
    ]


# ---- designations written in bulk, and the scan -----------------------------------------------


def _designation_anomaly_rows(
    session: Session,
    held: dict[int, list[tuple[lifecycle.Held, str]]],
    wanted: set[int],
    existing: set[tuple[int, str, date]],
    *,
    source: str,
) -> list[dict[str, Any]]:
    """The anomalies of the `wanted` designations against the rest of each enterprise's ladder,
    as the per-write check finds them; what is already recorded is left out."""
    names = dict(session.execute(sa.select(Tier.code, Tier.name)).all())
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for eid, titles in held.items():
        others = [h for h, _ in titles]
        for h, tier in titles:
            if h.id not in wanted:
                continue
            for found in lifecycle.designation_anomalies(h, others, names):
                key = (h.id, found.kind, h.designated_on)
                if key in existing:
                    continue
                existing.add(key)
                rows.append(
                    {
                        "enterprise_id": eid,
                        "designation_id": h.id,
                        "tier_code": tier,
                        "kind": found.kind,
                        "occurred_on": h.designated_on,
                        "detail": found.detail[:500],
                        "source": source,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
    return rows


def _insert_many(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 1000):
        session.execute(sa.insert(model), rows[start : start + 1000])


_EVENT_COLUMNS = (
    "designation_id", "enterprise_id", "kind", "occurred_on", "valid_until_before",
    "valid_until_after", "reviewed_on", "reapply_not_before", "document_no", "reason", "source",
    "created_at", "updated_at",
)  # fmt: skip


def record_bulk_designations(
    session: Session, enterprise_ids: Sequence[int], *, source: str
) -> dict[str, int]:
    """What a designation made one by one gets, for those a roster import just wrote (the
    enterprises' designations with the batch as source): its designate event, and its anomalies
    checked against the rest of the ladder and recorded as they happened. One query per 900
    enterprises serves both. Returns the anomalies recorded, by kind."""
    d = Designation
    held: dict[int, list[tuple[lifecycle.Held, str]]] = defaultdict(list)
    new: list[tuple[Any, ...]] = []
    for start in range(0, len(enterprise_ids), 900):
        rows = session.execute(
            sa.select(
                d.id,
                d.enterprise_id,
                d.tier_code,
                Tier.rank,
                d.designated_on,
                d.valid_until,
                d.status,
                d.revoked_on,
                d.document_no,
                d.source,
            )
            .join(Tier, Tier.code == d.tier_code)
            .where(d.enterprise_id.in_(enterprise_ids[start : start + 900]))  # type: ignore[attr-defined]
            .order_by(d.designated_on, Tier.rank, d.id)
        )
        for did, eid, tier, rank, on, until, status, revoked_on, document_no, src in rows:
            held[eid].append((lifecycle.Held(did, tier, rank, on, until, status, revoked_on), tier))
            if src == source:
                new.append((did, eid, on, until, document_no))
    return _record_designated(session, held, new, source=source)


def record_first_designations(
    session: Session, designations: Sequence[Mapping[str, Any]], *, source: str
) -> dict[str, int]:
    """`record_bulk_designations` for enterprises a roster import just created, each with the
    one designation given here as written (id, enterprise_id, tier_code, designated_on,
    valid_until, status, revoked_on, document_no): that is each one's whole ladder, so nothing
    is read back (reading the designations back took about 0.8 s of 100 000, their ids alone
    0.4 s)."""
    ranks = dict(session.execute(sa.select(Tier.code, Tier.rank)).all())
    held: dict[int, list[tuple[lifecycle.Held, str]]] = {}
    new: list[tuple[Any, ...]] = []
    for row in designations:
        did, eid, tier, on, until = (
            row[k] for k in ("id", "enterprise_id", "tier_code", "designated_on", "valid_until")
        )
        h = lifecycle.Held(did, tier, ranks[tier], on, until, row["status"], row["revoked_on"])
        held[eid] = [(h, tier)]
        new.append((did, eid, on, until, row["document_no"]))
    return _record_designated(session, held, new, source=source)


def _record_designated(
    session: Session,
    held: dict[int, list[tuple[lifecycle.Held, str]]],
    new: list[tuple[Any, ...]],
    *,
    source: str,
) -> dict[str, int]:
    """The designate events of `new` (id, enterprise_id, designated_on, valid_until,
    document_no), and their anomalies against the ladders in `held`."""
    now = utcnow()
    insert_rows(
        session,
        DesignationEvent.__table__,  # type: ignore[attr-defined]
        _EVENT_COLUMNS,
        (
            (did, eid, "designate", on, None, until, None, None, document_no, "", source, now, now)
            for did, eid, on, until, document_no in new
        ),
    )
    # Just written, so nothing of theirs is recorded yet: no lookup of existing anomalies.
    found = _designation_anomaly_rows(session, held, {r[0] for r in new}, set(), source=source)
    if found:
        columns = tuple(found[0])
        insert_rows(
            session,
            LadderAnomaly.__table__,  # type: ignore[attr-defined]
            columns,
            (tuple(r[c] for c in columns) for r in found),
        )
    return dict(sorted(Counter(r["kind"] for r in found).items()))


def scan(session: Session, actor: Actor, *, today: date) -> ScanResult:
    """Record the anomalies the per-write checks never saw: designations written without one
    (demo data, ledgers from before imports checked theirs: no designate event) and major
    changes whose report window has closed since they were recorded. What is already
    recorded is never recorded again."""
    checked = sa.select(DesignationEvent.designation_id).where(DesignationEvent.kind == "designate")
    unchecked = session.execute(
        sa.select(Designation.id, Designation.enterprise_id).where(
            Designation.id.not_in(checked)  # type: ignore[union-attr]
        )
    ).all()
    pending_changes = list(
        session.scalars(
            sa.select(MajorChange).where(
                sa.or_(
                    MajorChange.reported_on.is_(None),  # type: ignore[union-attr]
                    MajorChange.reported_on > MajorChange.occurred_on,  # type: ignore[operator]
                )
            )
        )
    )
    enterprise_ids = sorted(
        {eid for _, eid in unchecked} | {c.enterprise_id for c in pending_changes}
    )
    held = _held_by_enterprise(session, enterprise_ids)
    existing = _existing(session, [h.id for hs in held.values() for h, _ in hs])
    rows = _designation_anomaly_rows(
        session, held, {did for did, _ in unchecked}, existing, source="scan"
    )
    rows += _anomaly_rows(pending_changes, held, existing, today, "scan")
    _insert_many(session, LadderAnomaly, rows)
    by_kind = dict(sorted(Counter(r["kind"] for r in rows).items()))
    if rows:
        session.flush()
        audit_service.record(
            session,
            actor,
            action="ladder.scan",
            entity="ladder_anomaly",
            entity_repr=f"梯度异常扫描：新记录 {len(rows)} 项",
            changes={
                "recorded": [None, len(rows)],
                "by_kind": [None, by_kind],
                "as_of": [None, today.isoformat()],
            },
            source="scan",
        )
    return ScanResult(
        as_of=today,
        designations_scanned=len(unchecked),
        changes_scanned=len(pending_changes),
        recorded=len(rows),
        by_kind=by_kind,
    )
