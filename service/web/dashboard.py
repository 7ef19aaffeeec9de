"""Dashboard figures for the actor's scope, and a server-rendered SVG bar chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

import sqlalchemy as sa
from sqlmodel import Session

from service.access import scope
from service.access.actor import Actor
from service.enterprises.models import Enterprise
from service.ladder import service as ladder_service
from service.ladder.models import Designation
from service.reference.models import Target, Tier


@dataclass(frozen=True)
class TierCount:
    code: str
    name: str
    count: int


@dataclass(frozen=True)
class Dashboard:
    enterprises: int
    key_enterprises: int
    tiers: list[TierCount]
    untiered: int
    new_this_year: list[TierCount]
    due_reviews: int
    targets: list[tuple[str, int, int, str]]  # name, current, figure, unit
    open_needs: int
    overdue_needs: int
    candidates: int | None  # None: the scope is too large to evaluate on a page view


def build(session: Session, actor: Actor, today: date) -> Dashboard:
    visible = scope.enterprise_clause(actor)
    active = sa.and_(visible, Enterprise.status == "active")
    total = session.scalar(sa.select(sa.func.count()).select_from(Enterprise).where(active)) or 0
    key = (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Enterprise)
            .where(active, Enterprise.is_key.is_(True))  # type: ignore[attr-defined]
        )
        or 0
    )
    tiers = list(session.scalars(sa.select(Tier).order_by(Tier.rank)))
    current = ladder_service.current_rank_subquery(today)
    by_rank = dict(
        session.execute(
            sa.select(current.c.rank, sa.func.count())
            .select_from(Enterprise)
            .join(current, current.c.enterprise_id == Enterprise.id)
            .where(active)
            .group_by(current.c.rank)
        ).all()
    )
    counts = [TierCount(t.code, t.name, by_rank.get(t.rank, 0)) for t in tiers]
    start = date(today.year, 1, 1)
    new = dict(
        session.execute(
            sa.select(Designation.tier_code, sa.func.count())
            .join(Enterprise, Enterprise.id == Designation.enterprise_id)
            .where(visible, Designation.designated_on >= start, Designation.designated_on <= today)
            .group_by(Designation.tier_code)
        ).all()
    )
    due = (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Designation)
            .join(Enterprise, Enterprise.id == Designation.enterprise_id)
            .where(
                active,
                ladder_service.valid_clause(today),
                Designation.valid_until <= today + timedelta(days=90),  # type: ignore[operator]
            )
        )
        or 0
    )
    targets = []
    for t in session.scalars(sa.select(Target).where(Target.metric == "tier_holders")):
        tier_code = t.params.get("tier")
        tc = next((c for c in counts if c.code == tier_code), None)
        if tc is not None:
            targets.append((t.name, tc.count, int(t.figure), t.unit))
    from service.commissioners.models import Need

    needs = (
        sa.select(sa.func.count())
        .select_from(Need)
        .join(Enterprise, Enterprise.id == Need.enterprise_id)
        .where(visible, Need.status.in_(("open", "in_progress")))  # type: ignore[attr-defined]
    )
    open_needs = session.scalar(needs) or 0
    overdue = session.scalar(needs.where(Need.due_on < today)) or 0  # type: ignore[operator]
    return Dashboard(
        open_needs=open_needs,
        overdue_needs=overdue,
        candidates=_candidates(session, actor, today, total),
        enterprises=total,
        key_enterprises=key,
        tiers=counts,
        untiered=total - sum(c.count for c in counts),
        new_this_year=[TierCount(t.code, t.name, new.get(t.code, 0)) for t in tiers],
        due_reviews=due,
        targets=targets,
    )


CANDIDATES_ON_DASHBOARD = 5_000


def _candidates(session: Session, actor: Actor, today: date, in_scope: int) -> int | None:
    """可晋级 count for a scope small enough to evaluate while the page loads (a district);
    the city-wide pool is on the 梯度管理 page."""
    if in_scope > CANDIDATES_ON_DASHBOARD:
        return None
    from service.ladder import pool

    page = pool.candidates(session, actor, flt=pool.PoolFilter(), today=today, page_size=1)
    return page.total


def bar_chart(items: list[TierCount], *, title: str) -> str:
    """A horizontal bar chart as SVG markup, readable without JavaScript."""
    width, bar_h, gap, label_w = 560, 22, 10, 190
    top = max((i.count for i in items), default=0) or 1
    height = len(items) * (bar_h + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for n, item in enumerate(items):
        y = gap + n * (bar_h + gap)
        w = int((width - label_w - 70) * item.count / top)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(item.name)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{max(w, 1)}" height="{bar_h}" class="bar"/>'
            f'<text x="{label_w + w + 6}" y="{y + 16}">{item.count}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
