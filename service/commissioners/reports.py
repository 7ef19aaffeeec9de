"""Commissioner reports: slot coverage, load against capacity, and follow-up of needs.

Every query is limited by `scope.enterprise_clause`, so a district officer's report holds
their district only and a commissioner's their own enterprises.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from service.access import scope
from service.access.actor import Actor
from service.commissioners.models import (
    OPEN_NEED_STATUSES,
    Assignment,
    Commissioner,
    Need,
    ServiceRecord,
)
from service.commissioners.schemas import (
    AgeRow,
    CoverageEnterprise,
    CoverageReport,
    CoverageRow,
    FollowupReport,
    LoadReport,
    LoadRow,
    OverdueNeed,
    QuietEnterprise,
)
from service.commissioners.service import service_kinds, specialties
from service.enterprises.models import Enterprise
from service.reference.models import District

AGE_BUCKETS = (("0-30", 0, 30), ("31-90", 31, 90), ("91-180", 91, 180), ("180+", 181, None))


def _in_scope(actor: Actor) -> sa.Select[tuple[int]]:
    return sa.select(Enterprise.id).where(scope.enterprise_clause(actor))


def coverage(session: Session, actor: Actor, *, district: str | None = None) -> CoverageReport:
    """Active key enterprises with an empty slot, counted per specialty and per district."""
    specs = specialties(session)
    stmt = sa.select(Enterprise.id, Enterprise.name, Enterprise.district_code).where(
        Enterprise.is_key.is_(True),  # type: ignore[attr-defined]
        Enterprise.status == "active",
        scope.enterprise_clause(actor),
    )
    if district:
        stmt = stmt.where(Enterprise.district_code == district)
    firms = {eid: (name, dc) for eid, name, dc in session.execute(stmt.order_by(Enterprise.id))}
    filled: dict[int, set[str]] = {}
    for eid, code in session.execute(
        sa.select(Assignment.enterprise_id, Assignment.specialty_code).where(
            Assignment.ended_on.is_(None),  # type: ignore[union-attr]
            Assignment.enterprise_id.in_(stmt.with_only_columns(Enterprise.id)),  # type: ignore[attr-defined]
        )
    ):
        filled.setdefault(eid, set()).add(code)
    names = dict(session.execute(sa.select(District.code, District.name)).all())
    order = {
        code: i
        for i, code in enumerate(
            session.scalars(sa.select(District.code).order_by(District.sort_order, District.code))
        )
    }

    def blank(code: str, name: str) -> CoverageRow:
        return CoverageRow(
            district_code=code,
            district_name=name,
            key_enterprises=0,
            with_empty_slot=0,
            empty=dict.fromkeys(specs, 0),
        )

    rows: dict[str, CoverageRow] = {}
    total = blank("", "合计")
    listed = []
    for eid, (name, dc) in firms.items():
        empty = [s for s in specs if s not in filled.get(eid, set())]
        row = rows.setdefault(dc, blank(dc, names.get(dc, dc)))
        for r in (row, total):
            r.key_enterprises += 1
            r.with_empty_slot += bool(empty)
            for s in empty:
                r.empty[s] += 1
        if empty:
            listed.append(
                CoverageEnterprise(
                    enterprise_id=eid, enterprise_name=name, district_code=dc, empty=empty
                )
            )
    return CoverageReport(
        specialties=specs,
        rows=sorted(rows.values(), key=lambda r: order.get(r.district_code, 999)),
        total=total,
        enterprises=listed,
    )


def month_keys(today: date, months: int) -> list[str]:
    """The last `months` calendar months up to today's, oldest first, as YYYY-MM."""
    y, m = today.year, today.month
    keys = []
    for _ in range(months):
        keys.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return keys[::-1]


def load(session: Session, actor: Actor, *, today: date, months: int = 12) -> LoadReport:
    """Enterprises carried against capacity, and services given per month."""
    keys = month_keys(today, months)
    first = date.fromisoformat(keys[0] + "-01")
    scoped = _in_scope(actor)
    carried: dict[int, set[int]] = {}
    for cid, eid in session.execute(
        sa.select(Assignment.commissioner_id, Assignment.enterprise_id).where(
            Assignment.ended_on.is_(None),  # type: ignore[union-attr]
            Assignment.enterprise_id.in_(scoped),  # type: ignore[attr-defined]
        )
    ):
        carried.setdefault(cid, set()).add(eid)
    services: dict[int, dict[str, int]] = {}
    for cid, served_on in session.execute(
        sa.select(ServiceRecord.commissioner_id, ServiceRecord.served_on).where(
            ServiceRecord.served_on >= first,
            ServiceRecord.served_on <= today,
            ServiceRecord.enterprise_id.in_(scoped),  # type: ignore[attr-defined]
        )
    ):
        by_month = services.setdefault(cid, {})
        key = served_on.strftime("%Y-%m")
        by_month[key] = by_month.get(key, 0) + 1
    people = session.scalars(sa.select(Commissioner).order_by(Commissioner.name, Commissioner.id))
    rows = []
    for c in people:
        cid = c.id or 0
        visible = actor.role in scope.SEE_ALL or cid in carried or cid in services
        if actor.role == "commissioner":
            visible = cid == actor.commissioner_id
        if not visible:
            continue
        n = len(carried.get(cid, set()))
        counts = [services.get(cid, {}).get(k, 0) for k in keys]
        rows.append(
            LoadRow(
                commissioner_id=cid,
                commissioner_name=c.name,
                active=c.active,
                capacity=c.capacity,
                enterprises=n,
                free=max(c.capacity - n, 0),
                over_capacity=n > c.capacity,
                services=counts,
                services_total=sum(counts),
            )
        )
    return LoadReport(months=keys, rows=rows)


def _bucket(age: int) -> str:
    for name, low, high in AGE_BUCKETS:
        if age >= low and (high is None or age <= high):
            return name
    return AGE_BUCKETS[0][0]  # raised in the future: counts as new


def followup(session: Session, actor: Actor, *, today: date, days: int = 90) -> FollowupReport:
    """Open needs by age and kind; overdue needs; served enterprises with no recent service."""
    kinds = service_kinds(session)
    open_needs = session.execute(
        sa.select(Need, Enterprise.name)
        .join(Enterprise, Enterprise.id == Need.enterprise_id)
        .where(
            Need.status.in_(OPEN_NEED_STATUSES),  # type: ignore[attr-defined]
            scope.enterprise_clause(actor),
        )
        .order_by(Need.due_on, Need.id)  # type: ignore[arg-type]
    ).all()
    by_kind: dict[str, dict[str, int]] = {}
    overdue = []
    for need, firm in open_needs:
        buckets = by_kind.setdefault(need.kind_code, {name: 0 for name, _, _ in AGE_BUCKETS})
        buckets[_bucket((today - need.raised_on).days)] += 1
        if need.due_on is not None and need.due_on < today:
            overdue.append(
                OverdueNeed(
                    need_id=need.id or 0,
                    enterprise_id=need.enterprise_id,
                    enterprise_name=firm,
                    kind_code=need.kind_code,
                    description=need.description,
                    status=need.status,  # type: ignore[arg-type]
                    raised_on=need.raised_on,
                    due_on=need.due_on,
                    days_overdue=(today - need.due_on).days,
                )
            )
    overdue.sort(key=lambda n: (-n.days_overdue, n.need_id))
    age_rows = [
        AgeRow(
            kind_code=code,
            kind_name=name,
            buckets=by_kind[code],
            total=sum(by_kind[code].values()),
        )
        for code, name in kinds.items()
        if code in by_kind
    ]
    last = (
        sa.select(
            ServiceRecord.enterprise_id.label("eid"),  # type: ignore[attr-defined]
            sa.func.max(ServiceRecord.served_on).label("last_on"),
        )
        .group_by(ServiceRecord.enterprise_id)
        .subquery()
    )
    served = (
        sa.select(Assignment.enterprise_id)
        .where(Assignment.ended_on.is_(None))  # type: ignore[union-attr]
        .distinct()
    )
    cutoff = today - timedelta(days=days)
    quiet_rows = session.execute(
        sa.select(Enterprise.id, Enterprise.name, Enterprise.district_code, last.c.last_on)
        .outerjoin(last, last.c.eid == Enterprise.id)
        .where(
            Enterprise.id.in_(served),  # type: ignore[union-attr]
            scope.enterprise_clause(actor),
            sa.or_(last.c.last_on.is_(None), last.c.last_on < cutoff),
        )
        .order_by(last.c.last_on.is_not(None), last.c.last_on, Enterprise.id)
    ).all()
    quiet = [
        QuietEnterprise(
            enterprise_id=eid,
            enterprise_name=name,
            district_code=dc,
            last_served_on=last_on,
            days_since=(today - last_on).days if last_on else None,
        )
        for eid, name, dc, last_on in quiet_rows
    ]
    return FollowupReport(
        as_of=today,
        days=days,
        buckets=[name for name, _, _ in AGE_BUCKETS],
        open_needs=age_rows,
        overdue=overdue,
        quiet=quiet,
    )
