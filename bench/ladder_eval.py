"""Throughput of the eligibility engine on generated enterprises: prints enterprises per second."""

from __future__ import annotations

import argparse
import itertools
import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from service.ladder.rules import (
    Award,
    ContestPlacing,
    EnterpriseFacts,
    IpCounts,
    Judgements,
    Title,
    YearFigures,
    evaluate_many,
)

YEAR = 2025
# One date under each rule version: specialized SME and little giant switch on 2026-04-01.
DAYS = {"MIIT-2022": date(2025, 9, 1), "MIIT-2026": date(2026, 5, 1)}
_FLAGS = (True, True, False, None)  # mostly recorded, sometimes unknown


def _money(rng: random.Random, low: float, high: float) -> Decimal:
    # Log-uniform, as enterprise sizes are; two decimals, as 万元 figures are reported.
    return Decimal(f"{low * (high / low) ** rng.random():.2f}")


def _figures(rng: random.Random) -> tuple[YearFigures, ...]:
    revenue = _money(rng, 300, 200_000)
    years = []
    for year in range(YEAR - 3, YEAR + 1):
        revenue = (revenue * Decimal(f"{rng.uniform(0.85, 1.35):.4f}")).quantize(Decimal("0.01"))
        assets = _money(rng, 500, 300_000)
        employees = rng.randint(20, 2000)
        years.append(
            YearFigures(
                year,
                operating_revenue=revenue,
                main_business_revenue=(revenue * Decimal(rng.randint(40, 100)) / 100).quantize(
                    Decimal("0.01")
                ),
                rd_expense=(revenue * Decimal(rng.randint(0, 150)) / 1000).quantize(
                    Decimal("0.01")
                ),
                employees=employees,
                rd_staff=rng.randint(0, employees // 2),
                total_assets=assets,
                total_liabilities=(assets * Decimal(rng.randint(10, 95)) / 100).quantize(
                    Decimal("0.01")
                ),
                net_profit=(revenue * Decimal(rng.randint(-10, 20)) / 100).quantize(
                    Decimal("0.01")
                ),
                new_equity_financing=rng.choice((Decimal(0), Decimal(0), _money(rng, 100, 9000))),
            )
        )
    if rng.random() < 0.05:  # some enterprises lack a year
        years.pop(rng.randrange(len(years)))
    return tuple(years)


def _facts(rng: random.Random) -> EnterpriseFacts:
    flags = {name: rng.choice(_FLAGS) for name in Judgements.__dataclass_fields__}
    titles = [
        Title(code, date(YEAR - rng.randint(0, 2), 6, 1), date(YEAR + 2, 5, 31))
        for code in ("innovative_sme", "specialized_sme", "high_tech", "tech_sme")
        if rng.random() < 0.3
    ]
    class_i = rng.randint(0, 12)
    return EnterpriseFacts(
        figures=_figures(rng),
        niche_since=date(rng.randint(2000, 2024), rng.randint(1, 12), 1),
        ip=IpCounts(
            class_i_high_value=rng.randint(0, 1) if class_i else 0,
            class_i_self_developed=rng.randint(0, class_i),
            class_i=class_i,
            class_ii=rng.randint(0, 20),
            class_i_applied=rng.randint(0, class_i),
            class_i_applied_own=rng.randint(0, class_i),
        ),
        judgements=Judgements(**flags),
        rd_institution=rng.choice(
            ("national", "provincial", "municipal", "below_municipal", "none", "none")
        ),
        awards=tuple(
            Award(
                rng.choice(("national", "provincial")),
                rng.randint(YEAR - 4, YEAR),
                rng.randint(1, 9),
            )
            for _ in range(rng.choice((0, 0, 0, 1, 2)))
        ),
        contests=tuple(
            ContestPlacing(rng.randint(YEAR - 4, YEAR), rng.choice((50, 500, 1000)))
            for _ in range(rng.choice((0, 0, 0, 1)))
        ),
        titles=tuple(titles),
        development_scores={YEAR + 1: Decimal(rng.randint(20, 95))},
        digital_level=rng.randint(1, 4),
        local_distinctive_points=Decimal(rng.randint(0, 15)),
    )


def generate(count: int, seed: int) -> Iterator[EnterpriseFacts]:
    """`count` fact sets, the same for the same seed."""
    rng = random.Random(seed)
    for _ in range(count):
        yield _facts(rng)


def run(count: int, seed: int, today: date) -> tuple[float, float, Counter[tuple[str, str]]]:
    """Wall and CPU seconds spent in `evaluate_many` alone, and the verdicts it gave.

    The facts are generated in chunks between timed stretches, as a bulk job streams them from
    the database: holding all 100 000 in memory would time the garbage collector re-scanning
    them, which a real run does not pay.
    """
    verdicts: Counter[tuple[str, str]] = Counter()
    wall = cpu = 0.0
    facts = generate(count, seed)
    while chunk := list(itertools.islice(facts, 1000)):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        for evaluation in evaluate_many(chunk, year=YEAR, today=today):
            for tier in evaluation.tiers:
                verdicts[tier.tier, tier.verdict] += 1
        wall += time.perf_counter() - wall_start
        cpu += time.process_time() - cpu_start
    return wall, cpu, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=20260401)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    for version, today in DAYS.items():
        for size in args.sizes:
            wall, cpu, verdicts = run(size, args.seed, today)
            print(
                f"{version} (today {today}): {size:>7,} enterprises × 3 tiers in {wall:6.2f} s"
                f" = {size / wall:>7,.0f} enterprises/s (CPU {cpu:6.2f} s = {size / cpu:>7,.0f}/s)"
            )
        print("  verdicts:", dict(sorted(verdicts.items())))


if __name__ == "__main__":
    main()
