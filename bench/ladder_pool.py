"""Time the candidate pool (可晋级) over a generated ledger: 100 000 enterprises by default.

    python bench/ladder_pool.py [--enterprises 100000] [--db /tmp/pool.sqlite3] [--reuse]

Fills a SQLite database with `service.demo.generate` plus one evaluator record per enterprise
(judgements, IP, titles, awards, development score), then times `pool.candidates` as the API
runs it for the whole city: every query, the facts built in bulk and the engine's verdicts.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from service import demo, migrate
from service.access.actor import SYSTEM
from service.db import make_engine, session_scope, utcnow
from service.enterprises.models import Enterprise
from service.ladder import pool
from service.ladder.models import EvaluatorFacts
from service.ladder.rules import Judgements
from service.reference import service as reference_service

TODAY = date(2026, 11, 23)
YEAR = TODAY.year - 1


def _facts_rows(ids: list[int], rng: random.Random) -> list[dict[str, Any]]:
    now = utcnow()
    rows = []
    for eid in ids:
        class_i = rng.randint(0, 10)
        rows.append(
            {
                "enterprise_id": eid,
                "year": YEAR,
                "niche_since": date(rng.randint(2000, 2023), rng.randint(1, 12), 1),
                "judgements": {
                    name: rng.choice((True, True, False, None))
                    for name in Judgements.__dataclass_fields__
                },
                "ip": {
                    "class_i_high_value": rng.randint(0, 1) if class_i else 0,
                    "class_i_self_developed": rng.randint(0, class_i),
                    "class_i": class_i,
                    "class_ii": rng.randint(0, 20),
                    "class_i_applied": rng.randint(0, class_i),
                    "class_i_applied_own": rng.randint(0, class_i),
                },
                "rd_institution": rng.choice(
                    ("national", "provincial", "municipal", "below_municipal", "none", "none")
                ),
                "awards": [],
                "contests": [],
                "titles": (
                    [
                        {
                            "code": "high_tech",
                            "designated_on": "2024-01-01",
                            "valid_until": "2026-12-31",
                        }
                    ]
                    if rng.random() < 0.2
                    else []
                ),
                "development_score": Decimal(rng.randint(30, 90)),
                "digital_level": rng.randint(1, 4),
                "local_distinctive_points": Decimal(rng.randint(0, 15)),
                "source": "bench",
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def fill(url: str, enterprises: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_scope(engine) as s:
        reference_service.load(s)
    started = time.perf_counter()
    with session_scope(engine) as s:
        demo.generate(s, SYSTEM, enterprises=enterprises, seed=4, today=TODAY)
    with session_scope(engine) as s:
        ids = list(s.scalars(sa.select(Enterprise.id)))
        rng = random.Random(4)
        for start in range(0, len(ids), 5000):
            s.execute(sa.insert(EvaluatorFacts), _facts_rows(ids[start : start + 5000], rng))
    print(f"filled {enterprises:,} enterprises in {time.perf_counter() - started:.1f} s")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="Time an existing --db as it is.")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp()) / "ladder_pool.sqlite3"
    url = f"sqlite:///{path}"
    if not args.reuse:
        path.unlink(missing_ok=True)
        fill(url, args.enterprises)
    engine = make_engine(url)
    for run in range(args.runs):
        with Session(engine) as s:
            wall, cpu = time.perf_counter(), time.process_time()
            page = pool.candidates(s, SYSTEM, flt=pool.PoolFilter(), today=TODAY)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"run {run + 1}: candidate pool over {page.evaluated:,} active enterprises in "
            f"{wall:.2f} s (CPU {cpu:.2f} s): {page.total:,} candidates {page.by_target}"
        )
    with Session(engine) as s:
        wall = time.perf_counter()
        due = pool.due_reviews(s, SYSTEM, flt=pool.PoolFilter(), today=TODAY, within_days=90)
        print(f"due reviews (90 days): {due.total:,} in {time.perf_counter() - wall:.2f} s")
    engine.dispose()


if __name__ == "__main__":
    main()
