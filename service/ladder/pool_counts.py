"""The 可晋级 pool counted per district and kept in candidate_count, for scopes too large to
evaluate while a page loads; `tierledger ladder scan` and the dashboard (in the background)
count it again. Any scope that is whole districts sums its figure from these rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session

from service.access import scope
from service.access.actor import SYSTEM, Actor
from service.audit import service as audit_service
from service.ladder import pool
from service.ladder.models import CandidateCount
from service.reference.models import District

# A kept figure this old is counted again on the next dashboard view that finds it stale; a
# busier ledger must not keep two cores evaluating 97 000 enterprises back to back.
RECOUNT_AFTER_SECONDS = 600


@dataclass(frozen=True)
class PoolCount:
    """The kept figure for one scope, and whether the ledger has moved on since."""

    candidates: int
    by_target: dict[str, int]
    computed_at: datetime  # the oldest district's count: when the ledger was read
    evaluated_on: date
    stale: bool  # the ledger changed since, or it was evaluated on an earlier day


def ledger_version(session: Session) -> int:
    return audit_service.ledger_version(session.connection())


def count(session: Session, *, today: date, now: datetime) -> list[CandidateCount]:
    """Evaluate the whole pool once, as the ladder page does, and split it by district; every
    district gets a row, so a district with no candidate reads 0 rather than "not counted".
    Reads only: the caller stores the rows in a short write of its own."""
    # The version first: what is read after it is never older, so "stale" is never missed.
    version = ledger_version(session)
    found = pool.candidates(session, SYSTEM, flt=pool.PoolFilter(), today=today, page_size=10**9)
    by_district: dict[str, Counter[str]] = defaultdict(Counter)
    for c in found.items:
        by_district[c.district_code][c.target_tier] += 1
    return [
        CandidateCount(
            district_code=code,
            candidates=sum(by_district[code].values()),
            by_target=dict(sorted(by_district[code].items())),
            evaluated_on=today,
            data_year=found.year,
            ledger_version=version,
            computed_at=now,
        )
        for code in session.scalars(sa.select(District.code).order_by(District.code))
    ]


def store(session: Session, rows: list[CandidateCount]) -> None:
    """Replace the kept counts whole. No audit entry: a derived figure is not a ledger change,
    and recording one would bump the ledger version and make the new count stale at once."""
    session.execute(sa.delete(CandidateCount))
    session.add_all(rows)
    session.flush()


def kept(session: Session, actor: Actor, *, today: date) -> PoolCount | None:
    """The kept figure for the actor's scope when it is whole districts (the city, or an
    officer's district); None when nothing was counted yet or the scope is not districts."""
    stmt = sa.select(CandidateCount)
    if actor.role == "district_officer":
        stmt = stmt.where(CandidateCount.district_code == actor.district_code)
    elif actor.role not in scope.SEE_ALL:
        return None  # a commissioner's enterprises are no sum of districts
    rows = list(session.scalars(stmt))
    if not rows:
        return None
    targets: Counter[str] = Counter()
    for r in rows:
        targets.update(r.by_target)
    version = ledger_version(session)
    return PoolCount(
        candidates=sum(r.candidates for r in rows),
        by_target=dict(sorted(targets.items())),
        computed_at=min(r.computed_at for r in rows),
        evaluated_on=min(r.evaluated_on for r in rows),
        stale=any(r.ledger_version < version or r.evaluated_on != today for r in rows),
    )
