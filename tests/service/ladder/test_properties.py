"""Properties the engine keeps for any enterprise: points stay within the table, totals add up,
and missing data is reported only where it could change the verdict."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.ladder.rules import (
    Award,
    ContestPlacing,
    EnterpriseFacts,
    IpCounts,
    Judgements,
    Title,
    YearFigures,
    evaluate,
)
from tests.service.ladder.builders import YEAR

DAYS = (date(2025, 9, 1), date(2026, 5, 1))  # one under each rule version
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

money = st.decimals(min_value=0, max_value=200_000, places=2, allow_nan=False)
flags = st.sampled_from([True, False, None])
JUDGEMENT_NAMES = tuple(Judgements.__dataclass_fields__)


@st.composite
def year_figures(draw: st.DrawFn, year: int, complete: bool) -> YearFigures:
    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(strategy if complete else st.one_of(st.none(), strategy))

    revenue = draw(st.decimals(min_value=1, max_value=200_000, places=2))
    employees = draw(st.integers(min_value=1, max_value=3000))
    assets = draw(st.decimals(min_value=1, max_value=300_000, places=2))
    return YearFigures(
        year,
        operating_revenue=maybe(st.just(revenue)),
        main_business_revenue=maybe(
            st.decimals(min_value=0, max_value=revenue, places=2).filter(lambda v: v > 0)
        ),
        rd_expense=maybe(st.decimals(min_value=0, max_value=revenue / 4, places=2)),
        employees=maybe(st.just(employees)),
        rd_staff=maybe(st.integers(min_value=0, max_value=employees)),
        total_assets=maybe(st.just(assets)),
        total_liabilities=maybe(st.decimals(min_value=0, max_value=assets, places=2)),
        net_profit=maybe(st.decimals(min_value=-revenue / 5, max_value=revenue / 4, places=2)),
        new_equity_financing=maybe(money),
    )


@st.composite
def enterprises(draw: st.DrawFn, complete: bool = False) -> EnterpriseFacts:
    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(strategy if complete else st.one_of(st.none(), strategy))

    counts = st.integers(min_value=0, max_value=8)
    judgement = st.booleans() if complete else flags
    return EnterpriseFacts(
        figures=tuple(draw(year_figures(y, complete)) for y in (YEAR - 2, YEAR - 1, YEAR)),
        niche_since=maybe(st.dates(min_value=date(2000, 1, 1), max_value=date(2025, 12, 31))),
        ip=IpCounts(*(maybe(counts) for _ in range(6))),
        judgements=Judgements(**{n: draw(judgement) for n in JUDGEMENT_NAMES}),
        rd_institution=maybe(
            st.sampled_from(["national", "provincial", "municipal", "below_municipal", "none"])
        ),
        awards=maybe(
            st.lists(
                st.builds(
                    Award,
                    st.sampled_from(["national", "provincial"]),
                    st.integers(min_value=YEAR - 4, max_value=YEAR),
                    st.integers(min_value=1, max_value=9),
                ),
                max_size=2,
            ).map(tuple)
        ),
        contests=maybe(
            st.lists(
                st.builds(
                    ContestPlacing,
                    st.integers(min_value=YEAR - 4, max_value=YEAR),
                    st.sampled_from([50, 500, 1000]),
                ),
                max_size=1,
            ).map(tuple)
        ),
        titles=maybe(
            st.lists(
                st.builds(
                    Title,
                    st.sampled_from(["innovative_sme", "specialized_sme", "tech_sme", "high_tech"]),
                    st.just(date(2024, 6, 1)),
                    st.just(date(2027, 5, 31)),
                ),
                max_size=2,
            ).map(tuple)
        ),
        development_scores={YEAR + 1: draw(st.decimals(min_value=0, max_value=100, places=1))},
        digital_level=maybe(st.integers(min_value=1, max_value=4)),
        local_distinctive_points=maybe(st.decimals(min_value=0, max_value=15, places=1)),
    )


@SETTINGS
@given(facts=enterprises(), today=st.sampled_from(DAYS))
def test_points_stay_within_the_table_and_totals_add_up(
    facts: EnterpriseFacts, today: date
) -> None:
    for tier in evaluate(facts, year=YEAR, today=today).tiers:
        by_group: dict[str, Decimal] = {}
        for score in tier.indicators:
            if score.points is not None:
                assert 0 <= score.points <= score.max_points
                by_group[score.group] = by_group.get(score.group, Decimal(0)) + score.points
            else:
                assert score.possible is not None
                assert score.missing_inputs
                low, high = score.possible
                assert 0 <= low < high <= score.max_points
        if tier.indicators:
            assert tier.total_points is not None
            assert tier.total_points <= 100
            assert {g: p for g, p in tier.group_points.items() if p} == {
                g: p for g, p in by_group.items() if p
            }
            assert tier.total_points == sum(tier.group_points.values(), Decimal(0))
            known = [s.points for s in tier.indicators if s.points is not None]
            assert tier.total_points == sum(known, Decimal(0))


@SETTINGS
@given(facts=enterprises(), today=st.sampled_from(DAYS))
def test_the_verdict_follows_from_the_conditions(facts: EnterpriseFacts, today: date) -> None:
    for tier in evaluate(facts, year=YEAR, today=today).tiers:
        verdicts = {c.verdict for c in tier.conditions}
        if tier.rule == "all":
            expected = (
                "not_eligible"
                if "fail" in verdicts
                else "missing_data"
                if "missing" in verdicts
                else "eligible"
            )
        else:
            expected = (
                "eligible"
                if "pass" in verdicts
                else "missing_data"
                if "missing" in verdicts
                else "not_eligible"
            )
        assert tier.verdict == expected
        assert tier.reasons_zh
        if tier.verdict == "missing_data":
            assert any(c.missing_inputs for c in tier.conditions if c.verdict == "missing")
    json.dumps(evaluate(facts, year=YEAR, today=today).to_dict(), ensure_ascii=False)


def blank(facts: EnterpriseFacts, choice: int) -> EnterpriseFacts:
    """The facts with one recorded input forgotten, chosen by number."""
    figure_names = [f.name for f in dataclasses.fields(YearFigures) if f.name != "year"]
    options: list[Any] = [("figure", index, name) for index in range(3) for name in figure_names]
    options += [("judgement", name) for name in JUDGEMENT_NAMES]
    options += [("ip", f.name) for f in dataclasses.fields(IpCounts)]
    options += [
        ("fact", name)
        for name in (
            "niche_since",
            "rd_institution",
            "awards",
            "contests",
            "titles",
            "digital_level",
            "local_distinctive_points",
        )
    ]
    option = options[choice % len(options)]
    if option[0] == "figure":
        _, index, name = option
        year = list(facts.figures)
        year[index] = dataclasses.replace(year[index], **{name: None})
        return dataclasses.replace(facts, figures=tuple(year))
    if option[0] == "judgement":
        judgements = dataclasses.replace(facts.judgements, **{option[1]: None})
        return dataclasses.replace(facts, judgements=judgements)
    if option[0] == "ip":
        return dataclasses.replace(facts, ip=dataclasses.replace(facts.ip, **{option[1]: None}))
    return dataclasses.replace(facts, **{option[1]: None})


@SETTINGS
@given(
    facts=enterprises(complete=True),
    choice=st.integers(min_value=0, max_value=10_000),
    today=st.sampled_from(DAYS),
)
def test_a_definite_verdict_on_partial_data_is_the_verdict_on_full_data(
    facts: EnterpriseFacts, choice: int, today: date
) -> None:
    full = evaluate(facts, year=YEAR, today=today)
    partial = evaluate(blank(facts, choice), year=YEAR, today=today)

    for whole, part in zip(full.tiers, partial.tiers, strict=True):
        assert whole.verdict != "missing_data"
        if part.verdict != "missing_data":
            assert part.verdict == whole.verdict, (whole.tier, part.reasons_zh)
