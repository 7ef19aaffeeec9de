"""Keyword-only builders of enterprise facts for the ladder tests: a strong baseline to perturb."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

from service.ladder.rules import (
    EnterpriseFacts,
    IpCounts,
    Judgements,
    Title,
    YearFigures,
)

YEAR = 2025  # the fiscal year evaluated ("上年度")
UNDER_2022 = date(2025, 9, 1)  # an application date under MIIT-2022
UNDER_2026 = date(2026, 5, 1)  # an application date under MIIT-2026


def D(value: str | int) -> Decimal:
    return Decimal(value)


def figures(year: int, **values: Any) -> YearFigures:
    """One year's figures; numbers given as str or int become Decimal (ints stay for headcount)."""
    converted = {
        k: (v if v is None or k in ("employees", "rd_staff") else Decimal(v))
        for k, v in values.items()
    }
    return YearFigures(year, **converted)


def strong_figures() -> tuple[YearFigures, ...]:
    """Three years that pass every tier: revenue above 1亿, R&D 5–6 %, liabilities 40 %."""
    common = {"employees": 200, "rd_staff": 50, "new_equity_financing": 0}
    return (
        figures(
            2023, operating_revenue=20000, main_business_revenue=19000, rd_expense=1000,
            total_assets=18000, total_liabilities=7200, net_profit=2000, **common,
        ),
        figures(
            2024, operating_revenue=22000, main_business_revenue=20900, rd_expense=1100,
            total_assets=19000, total_liabilities=7600, net_profit=2200, **common,
        ),
        figures(
            2025, operating_revenue=25000, main_business_revenue=23750, rd_expense=1500,
            total_assets=20000, total_liabilities=8000, net_profit=2500, **common,
        ),
    )  # fmt: skip


def strong_facts(**overrides: Any) -> EnterpriseFacts:
    """An enterprise that qualifies for every tier under both versions, unless overridden."""
    base = EnterpriseFacts(
        figures=strong_figures(),
        niche_since=date(2010, 1, 1),
        ip=IpCounts(
            class_i_high_value=1,
            class_i_self_developed=3,
            class_i=5,
            class_ii=3,
            class_i_applied=5,
            class_i_applied_own=5,
        ),
        judgements=Judgements(**dict.fromkeys(Judgements.__dataclass_fields__, True)),
        rd_institution="provincial",
        awards=(),
        contests=(),
        titles=(
            Title("innovative_sme", date(2024, 6, 1), date(2027, 5, 31)),
            Title("specialized_sme", date(2024, 6, 1), date(2027, 5, 31)),
        ),
        development_scores={2026: Decimal(75), 2025: Decimal(70)},
        digital_level=3,
        local_distinctive_points=Decimal(12),
    )
    return dataclasses.replace(base, **overrides)


def with_figures(facts: EnterpriseFacts, year: int, **values: Any) -> EnterpriseFacts:
    """The facts with some figures of one year replaced (the year is added if absent)."""
    by_year = {f.year: f for f in facts.figures}
    current = by_year.get(year, YearFigures(year))
    converted = {
        k: (v if v is None or k in ("employees", "rd_staff") else Decimal(v))
        for k, v in values.items()
    }
    by_year[year] = dataclasses.replace(current, **converted)
    return dataclasses.replace(facts, figures=tuple(by_year[y] for y in sorted(by_year)))


def with_judgements(facts: EnterpriseFacts, **values: bool | None) -> EnterpriseFacts:
    return dataclasses.replace(facts, judgements=dataclasses.replace(facts.judgements, **values))


def with_ip(facts: EnterpriseFacts, **values: int | None) -> EnterpriseFacts:
    return dataclasses.replace(facts, ip=dataclasses.replace(facts.ip, **values))


def weak_facts(**overrides: Any) -> EnterpriseFacts:
    """An enterprise that scores low everywhere and has no direct route, unless overridden."""
    base = strong_facts(
        figures=(
            figures(
                2023, operating_revenue=1000, main_business_revenue=400, rd_expense=0,
                total_assets=1000, total_liabilities=900, net_profit=0, employees=50, rd_staff=0,
                new_equity_financing=0,
            ),
            figures(
                2024, operating_revenue=1000, main_business_revenue=400, rd_expense=0,
                total_assets=1000, total_liabilities=900, net_profit=0, employees=50, rd_staff=0,
                new_equity_financing=0,
            ),
            figures(
                2025, operating_revenue=1000, main_business_revenue=380, rd_expense=0,
                total_assets=1000, total_liabilities=900, net_profit=0, employees=50, rd_staff=0,
                new_equity_financing=0,
            ),
        ),
        niche_since=date(2024, 6, 1),
        ip=IpCounts(0, 0, 0, 0, 0, 0),
        judgements=Judgements(**dict.fromkeys(Judgements.__dataclass_fields__, False)),
        rd_institution="none",
        titles=(),
        development_scores={},
        digital_level=1,
        local_distinctive_points=Decimal(0),
    )  # fmt: skip
    return dataclasses.replace(base, **overrides)
