"""Dashboard figures for the actor's scope, and a server-rendered SVG bar chart."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from exports.report import MOVEMENT_KINDS
from service.access import scope
from service.access.actor import Actor
from service.db import session_scope, utcnow
from service.enterprises.models import Enterprise
from service.ladder import pool, pool_counts
from service.ladder import service as ladder_service
from service.ladder.models import Designation
from service.reference.models import Target, Tier
from service.reports import tier_report

log = logging.getLogger(__name__)
MOVEMENT_ZH = dict(MOVEMENT_KINDS)  # the report's kinds and words, in its column order


@dataclass(frozen=True)
class TierCount:
    code: str
    name: str
    count: int


@dataclass(frozen=True)
class TierMovements:
    code: str
    name: str
    counts: dict[str, int]  # movement kind -> count


@dataclass(frozen=True)
class Dashboard:
    enterprises: int
    key_enterprises: int
    tiers: list[TierCount]
    untiered: int
    new_this_year: list[TierCount]
    movements: list[TierMovements]  # this year, per tier, counted as the tier report counts
    due_reviews: int
    targets: list[tuple[str, int, int, str]]  # name, current, figure, unit
    open_needs: int
    overdue_needs: int
    candidates: Candidates


def build(
    session: Session, actor: Actor, today: date, *, recount: Recount | None = None
) -> Dashboard:
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
    moved: dict[str, dict[str, int]] = {t.code: dict.fromkeys(MOVEMENT_ZH, 0) for t in tiers}
    start = date(today.year, 1, 1)
    for m in tier_report.movements(session, actor, tier_report.ReportRequest(), start, today):
        moved.setdefault(m.tier_code, dict.fromkeys(MOVEMENT_ZH, 0))[m.kind] += m.count
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
    ranks = {t.code: t.rank for t in tiers}
    for t in session.scalars(sa.select(Target).where(Target.metric == "tier_holders")):
        rank = ranks.get(t.params.get("tier"))
        if rank is not None:
            held = tier_report.tier_holders(by_rank, rank)
            targets.append((t.name, held, int(t.figure), t.unit))
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
        candidates=_candidates(session, actor, today, total, recount),
        enterprises=total,
        key_enterprises=key,
        tiers=counts,
        untiered=total - sum(c.count for c in counts),
        new_this_year=[TierCount(t.code, t.name, moved[t.code]["new"]) for t in tiers],
        movements=[TierMovements(t.code, t.name, moved[t.code]) for t in tiers],
        due_reviews=due,
        targets=targets,
    )


CANDIDATES_ON_DASHBOARD = 5_000


@dataclass(frozen=True)
class Candidates:
    """可晋级 as the card shows it: counted for this page, or the kept count with its time."""

    count: int | None  # None: not counted yet; the first count is running
    computed_at: datetime | None = None  # None: counted while this page loaded
    stale: bool = False  # the ledger changed after the kept count, or it is from an earlier day
    recounting: bool = False


class Recount:
    """Counts the pool again in a thread of its own, one count at a time per process: the page
    that finds the kept figure stale must not wait ~23 s for it, nor start a second count."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, *, today: date) -> bool:
        """Start a count unless one runs; True when this call started it."""
        with self._lock:
            if self.running:
                return False
            self._thread = threading.Thread(
                target=self.run, kwargs={"today": today}, name="candidate-recount", daemon=True
            )
            self._thread.start()
            return True

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self, *, today: date) -> None:
        """This thread is its own edge: it reads as a reader (a 23 s write transaction would
        hold SQLite's lock against every edit), then stores the rows in a short write."""
        try:
            with Session(self.engine) as reading:
                rows = pool_counts.count(reading, today=today, now=utcnow())
            with session_scope(self.engine) as writing:
                pool_counts.store(writing, rows)
        except Exception:  # a failed count leaves the kept one; the next view tries again
            log.exception("counting the candidate pool failed")


def _candidates(
    session: Session, actor: Actor, today: date, in_scope: int, recount: Recount | None
) -> Candidates:
    """可晋级 counted while the page loads when the scope is small (a district, a commissioner's
    enterprises); for a larger one the kept count, with a recount started when it is stale."""
    if in_scope <= CANDIDATES_ON_DASHBOARD or actor.role == "commissioner":
        page = pool.candidates(session, actor, flt=pool.PoolFilter(), today=today, page_size=1)
        return Candidates(page.total)
    kept = pool_counts.kept(session, actor, today=today)
    age = (utcnow() - kept.computed_at).total_seconds() if kept else None
    due = kept is None or (kept.stale and (age or 0) > pool_counts.RECOUNT_AFTER_SECONDS)
    if recount is not None and due:
        recount.start(today=today)
    running = recount is not None and recount.running
    if kept is None:
        return Candidates(None, recounting=running)
    return Candidates(kept.candidates, kept.computed_at, stale=kept.stale, recounting=running)


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
