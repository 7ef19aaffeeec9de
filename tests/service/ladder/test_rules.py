"""The eligibility engine against LADDER.md: band edges, conditions, direct routes, missing data,
rule versions and every worked example, each read straight from the standard."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal, localcontext
from typing import Any

import pytest

from service.ladder.rules import (
    Award,
    ContestPlacing,
    EnterpriseFacts,
    IpCounts,
    Judgements,
    TierEvaluation,
    Title,
    choose_version,
    evaluate,
    evaluate_many,
    evaluate_tier,
)
from tests.service.ladder.builders import (
    UNDER_2022,
    UNDER_2026,
    YEAR,
    D,
    figures,
    strong_facts,
    weak_facts,
    with_figures,
    with_ip,
    with_judgements,
)


def innovative(facts: EnterpriseFacts, **kwargs: Any) -> TierEvaluation:
    return evaluate_tier("innovative_sme", facts, year=YEAR, today=UNDER_2022, **kwargs)


def specialized(facts: EnterpriseFacts, today: date = UNDER_2022, **kw: Any) -> TierEvaluation:
    return evaluate_tier("specialized_sme", facts, year=YEAR, today=today, **kw)


def giant(facts: EnterpriseFacts, today: date = UNDER_2022, **kw: Any) -> TierEvaluation:
    return evaluate_tier("little_giant", facts, year=YEAR, today=today, **kw)


# --- The baseline ----------------------------------------------------------------------------


@pytest.mark.parametrize("today", [UNDER_2022, UNDER_2026], ids=["MIIT-2022", "MIIT-2026"])
def test_the_strong_baseline_qualifies_for_every_tier(today: date) -> None:
    result = evaluate(strong_facts(), year=YEAR, today=today)

    assert [(t.tier, t.verdict) for t in result.tiers] == [
        ("innovative_sme", "eligible"),
        ("specialized_sme", "eligible"),
        ("little_giant", "eligible"),
    ]
    assert result.highest_eligible == "little_giant"


def test_the_weak_baseline_qualifies_for_none() -> None:
    result = evaluate(weak_facts(), year=YEAR, today=UNDER_2022)

    assert {t.verdict for t in result.tiers} == {"not_eligible"}
    assert result.highest_eligible is None
    assert result.tier("innovative_sme").total_points == 5  # only "other field": 5


# --- Worked examples (LADDER.md, "Worked examples (each is a test)") ---------------------------


def example_one() -> EnterpriseFacts:
    """Class I IP (not high-value, not self-developed), R&D 3.0 %, growth 12 %, liabilities 60 %,
    strategic emerging field, main business 65 %."""
    return strong_facts(
        figures=(
            figures(2023, new_equity_financing=0),
            figures(
                2024,
                operating_revenue=10000,
                main_business_revenue="5803.57",
                new_equity_financing=0,
            ),
            figures(
                2025,
                operating_revenue=10000,
                main_business_revenue=6500,
                rd_expense=300,
                total_assets=10000,
                total_liabilities=6000,
                new_equity_financing=0,
            ),
        ),
        ip=IpCounts(class_i_high_value=0, class_i_self_developed=0, class_i=1, class_ii=0),
        judgements=Judgements(strategic_emerging_field=True),
        rd_institution="none",  # no direct route: the score alone decides
        titles=(),
    )


def test_worked_example_innovative_sme_scores_70_and_qualifies() -> None:
    result = innovative(example_one())

    points = {s.code: s.points for s in result.indicators}
    assert points == {
        "ip": 10,
        "rd_ratio": 15,
        "main_revenue_growth": 15,
        "liability_ratio": 5,
        "field": 10,
        "main_business_share": 15,
    }
    assert result.total_points == 70
    assert result.group_points == {"innovation": 25, "growth": 20, "specialisation": 25}
    assert result.condition("score_route").verdict == "pass"
    assert result.verdict == "eligible"
    assert result.version == "MIIT-2022"


def example_two(**overrides: Any) -> EnterpriseFacts:
    """20 (IP) + 20 (R&D 6 %) + 0 (growth −3 %) + 10 (liabilities 40 %) + 10 + 20 = 80."""
    facts = strong_facts(
        figures=(
            figures(2023, new_equity_financing=0),
            figures(
                2024, operating_revenue=10000, main_business_revenue=10000, new_equity_financing=0
            ),
            figures(
                2025,
                operating_revenue=10000,
                main_business_revenue=9700,
                rd_expense=600,
                total_assets=10000,
                total_liabilities=4000,
                new_equity_financing=0,
            ),
        ),
        rd_institution="none",
        titles=(),
        awards=(),
    )
    return dataclasses.replace(facts, **overrides)


def test_worked_example_innovative_sme_80_points_but_growth_below_15_does_not_qualify() -> None:
    result = innovative(example_two())

    assert result.total_points == 80
    assert result.group_points == {"innovation": 40, "growth": 10, "specialisation": 30}
    assert result.indicator("main_revenue_growth").points == 0
    growth_check = result.condition("group_growth")
    assert (growth_check.verdict, growth_check.value, growth_check.threshold) == ("fail", 10, 15)
    assert result.condition("score_route").verdict == "fail"
    assert result.verdict == "not_eligible"


def test_worked_example_innovative_sme_80_points_still_qualifies_by_a_direct_condition() -> None:
    titles = (Title("high_tech", date(2024, 1, 1), date(2026, 12, 31)),)

    result = innovative(example_two(titles=titles))

    assert result.condition("score_route").verdict == "fail"
    assert result.condition("direct_title").verdict == "pass"
    assert result.verdict == "eligible"


def test_worked_example_liability_exactly_55_percent_scores_10_flagged_on_edge() -> None:
    facts = with_figures(strong_facts(), YEAR, total_assets=10000, total_liabilities=5500)

    score = innovative(facts).indicator("liability_ratio")

    assert (score.value, score.points, score.on_edge) == (55, 10, True)
    assert "边界" in score.note_zh


def test_worked_example_specialized_sme_900_revenue_120_rd_fails_condition_3_only() -> None:
    facts = with_figures(strong_facts(), YEAR, operating_revenue=900, rd_expense=120)

    result = specialized(facts)

    rd = result.condition("rd_expense")
    assert rd.verdict == "pass"
    assert result.condition("rd_expense_ratio").value.quantize(D("0.1")) == D("13.3")
    assert result.condition("revenue").verdict == "fail"
    assert result.verdict == "not_eligible"
    assert [c.code for c in result.conditions if c.verdict == "fail"] == ["revenue"]


def test_worked_example_specialized_sme_900_revenue_passes_with_2000_equity_in_2_years() -> None:
    facts = with_figures(strong_facts(), YEAR, operating_revenue=900, rd_expense=120)
    facts = with_figures(facts, YEAR - 1, new_equity_financing=1200)
    facts = with_figures(facts, YEAR, new_equity_financing=800)

    result = specialized(facts)

    equity = result.condition("revenue_alt_equity")
    assert (equity.verdict, equity.value, equity.on_edge) == ("pass", 2000, True)
    assert result.condition("revenue").verdict == "pass"


def test_worked_example_little_giant_8000_revenue_with_6_5_and_5_9_percent_rd_fails() -> None:
    facts = with_figures(strong_facts(), YEAR - 1, operating_revenue=8000, rd_expense=520)
    facts = with_figures(facts, YEAR, operating_revenue=8000, rd_expense=472)

    result = giant(facts)

    rd = result.condition("innovation_rd")
    assert rd.verdict == "fail"
    assert [(p.code, p.verdict) for p in rd.parts] == [
        ("rd_ratio_2024", "pass"),
        ("rd_ratio_2025", "fail"),
    ]
    assert result.condition("rd_ratio_2025").threshold == 6  # the 5000万–1亿 band
    assert result.condition("innovation").verdict == "fail"
    assert result.verdict == "not_eligible"


# --- Innovative SME: every band edge of the 100-point table ------------------------------------


def innovative_score(code: str, facts: EnterpriseFacts) -> tuple[Any, bool]:
    score = innovative(facts).indicator(code)
    return score.points, score.on_edge


@pytest.mark.parametrize(
    ("rd_expense", "points", "on_edge"),
    [
        ("600", 20, False),
        ("500", 20, True),
        ("499.99", 15, False),
        ("300", 15, True),  # exactly 3 % of 1亿
        ("299.99", 10, False),
        ("200", 10, True),
        ("100", 5, True),
        ("99.99", 0, False),
        ("0", 0, False),
    ],
)
def test_innovative_rd_ratio_bands(rd_expense: str, points: int, on_edge: bool) -> None:
    facts = with_figures(strong_facts(), YEAR, operating_revenue=10000, rd_expense=rd_expense)
    assert innovative_score("rd_ratio", facts) == (points, on_edge)


@pytest.mark.parametrize(
    ("main_revenue", "points", "on_edge"),
    [
        ("1200", 20, False),
        ("1150", 20, True),  # +15 %
        ("1149.99", 15, False),
        ("1100", 15, True),
        ("1050", 10, True),
        ("1000", 5, True),  # 0 % growth is the edge of "0–5 %" and "<0"
        ("999.99", 0, False),
    ],
)
def test_innovative_growth_bands(main_revenue: str, points: int, on_edge: bool) -> None:
    facts = with_figures(strong_facts(), YEAR - 1, main_business_revenue=1000)
    facts = with_figures(facts, YEAR, main_business_revenue=main_revenue, operating_revenue=1300)
    assert innovative_score("main_revenue_growth", facts) == (points, on_edge)


@pytest.mark.parametrize(
    ("liabilities", "points", "on_edge"),
    [
        ("5499", 10, False),
        ("5500", 10, True),  # 55 %: the higher band
        ("5501", 5, False),
        ("7500", 5, True),  # 75 %: 5, not 0
        ("7501", 0, False),
    ],
)
def test_innovative_liability_bands(liabilities: str, points: int, on_edge: bool) -> None:
    facts = with_figures(strong_facts(), YEAR, total_assets=10000, total_liabilities=liabilities)
    assert innovative_score("liability_ratio", facts) == (points, on_edge)


@pytest.mark.parametrize(
    ("main_revenue", "points", "on_edge"),
    [
        ("7000", 20, True),
        ("6999", 15, False),
        ("6000", 15, True),
        ("5500", 10, True),
        ("5000", 5, True),
        ("4999", 0, False),
    ],
)
def test_innovative_main_business_share_bands(
    main_revenue: str, points: int, on_edge: bool
) -> None:
    facts = with_figures(strong_facts(), YEAR - 1, main_business_revenue=4000)
    facts = with_figures(facts, YEAR, operating_revenue=10000, main_business_revenue=main_revenue)
    assert innovative_score("main_business_share", facts) == (points, on_edge)


@pytest.mark.parametrize(
    ("ip", "points"),
    [
        (IpCounts(1, 1, 2, 0), 20),
        (IpCounts(0, 1, 2, 0), 15),
        (IpCounts(0, 0, 1, 0), 10),
        (IpCounts(0, 0, 0, 1), 5),
        (IpCounts(0, 0, 0, 0), 0),
        (IpCounts(None, None, 0, 0), 0),  # no class I at all: none high-value either
    ],
)
def test_innovative_ip_levels(ip: IpCounts, points: int) -> None:
    assert innovative_score("ip", strong_facts(ip=ip)) == (points, False)


@pytest.mark.parametrize(("field", "points"), [(True, 10), (False, 5)])
def test_innovative_field(field: bool, points: int) -> None:
    facts = with_judgements(strong_facts(), strategic_emerging_field=field)
    assert innovative_score("field", facts) == (points, False)


@pytest.mark.parametrize(
    ("group", "threshold"), [("innovation", 20), ("growth", 15), ("specialisation", 15)]
)
def test_innovative_group_minimums_are_checked(group: str, threshold: int) -> None:
    check = innovative(strong_facts()).condition(f"group_{group}")
    assert (check.verdict, check.threshold, check.comparator) == ("pass", threshold, ">=")


def test_innovative_total_exactly_60_qualifies_on_edge() -> None:
    # IP 10 + R&D 10 (2 %) + growth 15 + liabilities 10 + field 5 + main business 10 (55 %) = 60.
    facts = strong_facts(
        figures=(
            figures(2024, main_business_revenue=5000),
            figures(
                2025,
                operating_revenue=10000,
                main_business_revenue=5500,
                rd_expense=200,
                total_assets=100,
                total_liabilities=10,
                new_equity_financing=0,
            ),
        ),
        ip=IpCounts(0, 0, 1, 0),
        judgements=Judgements(strategic_emerging_field=False),
        titles=(),
        rd_institution="none",
    )

    result = innovative(facts)

    total = result.condition("total_points")
    assert (total.verdict, total.value, total.on_edge) == ("pass", 60, True)
    assert result.verdict == "eligible"


# --- Innovative SME: direct conditions -----------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "route", "verdict"),
    [
        ({"awards": (Award("provincial", 2023),)}, "direct_award", "pass"),
        ({"awards": (Award("national", 2025, unit_rank=9),)}, "direct_award", "pass"),
        ({"awards": (Award("provincial", 2022),)}, "direct_award", "fail"),  # four years ago
        (
            {"titles": (Title("high_tech", date(2023, 1, 1), date(2025, 12, 31)),)},
            "direct_title",
            "pass",
        ),
        (
            {"titles": (Title("ip_demo", date(2021, 1, 1), date(2025, 6, 30)),)},
            "direct_title",
            "fail",  # expired before today
        ),
        (
            {"titles": (Title("tech_innovation_demo", date(2024, 1, 1)),)},
            "direct_title",
            "pass",
        ),
        ({"rd_institution": "national"}, "direct_rd_institution", "pass"),
        ({"rd_institution": "provincial"}, "direct_rd_institution", "pass"),
        ({"rd_institution": "municipal"}, "direct_rd_institution", "fail"),
    ],
)
def test_innovative_direct_conditions(overrides: dict[str, Any], route: str, verdict: str) -> None:
    result = innovative(weak_facts(**overrides))

    assert result.condition("score_route").verdict == "fail"
    assert result.condition(route).verdict == verdict
    assert result.verdict == ("eligible" if verdict == "pass" else "not_eligible")


@pytest.mark.parametrize(
    ("amounts", "verdict", "on_edge"),
    [(("100", "150", "250"), "pass", True), (("100", "150", "249.99"), "fail", False)],
)
def test_innovative_direct_equity_500_over_three_years(
    amounts: tuple[str, str, str], verdict: str, on_edge: bool
) -> None:
    facts = weak_facts()
    for year, amount in zip((2023, 2024, 2025), amounts, strict=True):
        facts = with_figures(facts, year, new_equity_financing=amount)

    equity = innovative(facts).condition("direct_equity")

    assert (equity.verdict, equity.on_edge) == (verdict, on_edge)


def test_innovative_unknown_direct_facts_leave_a_low_score_missing_data() -> None:
    facts = weak_facts(awards=None, titles=None)

    result = innovative(facts)

    assert result.verdict == "missing_data"
    assert set(result.condition("direct_route").missing_inputs) == {"awards", "titles"}


# --- Specialized SME (MIIT-2022): the four conditions and the 100-point table -----------------


def specialized_score(code: str, facts: EnterpriseFacts) -> tuple[Any, bool]:
    score = specialized(facts).indicator(code)
    return score.points, score.on_edge


def test_specialized_2022_strong_baseline_scores_95() -> None:
    result = specialized(strong_facts())

    assert result.version == "MIIT-2022"
    assert result.total_points == 95
    assert result.group_points == {
        "specialisation": 25,
        "refinement": 25,
        "distinctiveness": 12,
        "innovation": 33,
    }


@pytest.mark.parametrize(
    ("niche_since", "verdict", "on_edge"),
    [
        (date(2024, 1, 1), "pass", True),  # two full years at the end of 2025
        (date(2024, 1, 2), "fail", False),
        (date(2022, 6, 30), "pass", False),
    ],
)
def test_specialized_condition_1_two_years_in_the_niche(
    niche_since: date, verdict: str, on_edge: bool
) -> None:
    niche = specialized(strong_facts(niche_since=niche_since)).condition("niche_years")
    assert (niche.verdict, niche.on_edge) == (verdict, on_edge)


def test_specialized_condition_1_takes_years_in_niche_when_no_date_is_recorded() -> None:
    facts = strong_facts(niche_since=None, years_in_niche=2)
    assert specialized(facts).condition("niche_years").verdict == "pass"


@pytest.mark.parametrize(
    ("revenue", "rd_expense", "amount", "ratio"),
    [
        ("3333.34", "100", "pass", "fail"),  # 100万 but below 3 %
        ("3000", "100", "pass", "pass"),  # both exactly on the threshold
        ("2000", "99.99", "fail", "pass"),
    ],
)
def test_specialized_condition_2_rd_amount_and_ratio(
    revenue: str, rd_expense: str, amount: str, ratio: str
) -> None:
    facts = with_figures(strong_facts(), YEAR, operating_revenue=revenue, rd_expense=rd_expense)

    result = specialized(facts)

    assert result.condition("rd_expense_amount").verdict == amount
    assert result.condition("rd_expense_ratio").verdict == ratio
    both = "pass" if amount == ratio == "pass" else "fail"
    assert result.condition("rd_expense").verdict == both


@pytest.mark.parametrize(("revenue", "verdict"), [("1000", "pass"), ("999.99", "fail")])
def test_specialized_condition_3_revenue_exactly_1000(revenue: str, verdict: str) -> None:
    facts = with_figures(strong_facts(), YEAR, operating_revenue=revenue, rd_expense=100)

    amount = specialized(facts).condition("revenue_amount")

    assert (amount.verdict, amount.on_edge) == (verdict, revenue == "1000")


@pytest.mark.parametrize(
    ("main_revenue", "points", "on_edge"),
    [
        ("80", "5", True),
        ("79.99", "3", False),
        ("70", "3", True),
        ("60", "1", True),
        ("59", "0", False),
    ],
)
def test_specialized_main_business_share_bands(
    main_revenue: str, points: str, on_edge: bool
) -> None:
    facts = with_figures(
        strong_facts(), YEAR, operating_revenue=100, main_business_revenue=main_revenue
    )
    assert specialized_score("main_business_share", facts) == (D(points), on_edge)


@pytest.mark.parametrize(
    ("revenues", "points", "on_edge"),
    [
        (("1000", "1100", "1210"), 10, True),  # 10 % and 10 %: mean exactly 10 %
        (("1000", "1080", "1166.4"), 8, True),  # 8 % and 8 %
        (("1000", "1000", "1120"), 6, True),  # 0 % and 12 %: mean 6 %
        (("1000", "1040", "1081.6"), 4, True),
        (("1000", "1000", "1000"), 2, True),  # 0 %: edge of "0–4 %" and "<0"
        (("1000", "1000", "999"), 0, False),
    ],
)
def test_specialized_two_year_growth_is_the_mean_of_annual_rates(
    revenues: tuple[str, str, str], points: int, on_edge: bool
) -> None:
    facts = strong_facts()
    for year, revenue in zip((2023, 2024, 2025), revenues, strict=True):
        facts = with_figures(facts, year, main_business_revenue=revenue)

    result = specialized(facts)

    assert specialized_score("main_revenue_growth_2y", facts) == (points, on_edge)
    assert "growth_mean_of_annual_rates" in result.conventions


@pytest.mark.parametrize(
    ("niche_since", "points"),
    [
        (date(2024, 6, 1), 0),  # one full year
        (date(2024, 1, 1), 1),
        (date(2022, 1, 1), 2),
        (date(2019, 1, 1), 3),
        (date(2018, 1, 1), 4),
        (date(2016, 1, 1), 5),
        (date(1990, 1, 1), 5),  # at most 5
    ],
)
def test_specialized_niche_years_one_point_per_full_two_years(
    niche_since: date, points: int
) -> None:
    assert specialized_score("niche_years", strong_facts(niche_since=niche_since)) == (
        points,
        False,
    )


@pytest.mark.parametrize(
    ("flags", "points"),
    [
        ({"chain_gap_filler": True}, 5),
        ({"chain_gap_filler": False, "six_foundations_field": True}, 3),
        (
            {
                "chain_gap_filler": False,
                "six_foundations_field": False,
                "time_honoured_brand": True,
            },
            3,
        ),
        (
            {
                "chain_gap_filler": False,
                "six_foundations_field": False,
                "time_honoured_brand": False,
                "serves_chain_leader": True,
            },
            3,
        ),
        (
            {
                "chain_gap_filler": False,
                "six_foundations_field": False,
                "time_honoured_brand": False,
                "serves_chain_leader": False,
            },
            0,
        ),
    ],
)
def test_specialized_field_of_the_main_product(flags: dict[str, bool], points: int) -> None:
    facts = with_judgements(strong_facts(), **flags)
    assert specialized_score("field", facts) == (points, False)


@pytest.mark.parametrize(("level", "points"), [(4, 5), (3, 5), (2, 3), (1, 0)])
def test_specialized_digitalisation_level(level: int, points: int) -> None:
    assert specialized_score("digital_level", strong_facts(digital_level=level)) == (points, False)


@pytest.mark.parametrize(("held", "points"), [(0, 0), (1, 3), (2, 5), (3, 5), (4, 5)])
def test_specialized_quality_three_points_per_item_at_most_five(held: int, points: int) -> None:
    items = [
        "provincial_quality_award",
        "quality_certification",
        "own_brand",
        "standards_participation",
    ]
    flags = {name: i < held for i, name in enumerate(items)}
    facts = with_judgements(strong_facts(), **flags)
    assert specialized_score("quality", facts) == (points, False)


@pytest.mark.parametrize(
    ("profit", "points", "on_edge"),
    [
        ("1000", 10, True),
        ("999", 8, False),
        ("800", 8, True),
        ("600", 6, True),
        ("400", 4, True),
        ("200", 2, True),
        ("199", 0, False),
        ("-500", 0, False),
    ],
)
def test_specialized_net_profit_margin_bands(profit: str, points: int, on_edge: bool) -> None:
    facts = with_figures(strong_facts(), YEAR, operating_revenue=10000, net_profit=profit)
    assert specialized_score("net_profit_margin", facts) == (points, on_edge)


@pytest.mark.parametrize(
    ("liabilities", "points", "on_edge"),
    [("49", 5, False), ("50", 5, True), ("60", 3, True), ("70", 1, True), ("70.01", 0, False)],
)
def test_specialized_liability_bands(liabilities: str, points: int, on_edge: bool) -> None:
    facts = with_figures(strong_facts(), YEAR, total_assets=100, total_liabilities=liabilities)
    assert specialized_score("liability_ratio", facts) == (points, on_edge)


@pytest.mark.parametrize(("entered", "points"), [("0", 0), ("7.5", D("7.5")), ("15", 15)])
def test_specialized_local_distinctive_points_are_entered(entered: str, points: Any) -> None:
    facts = strong_facts(local_distinctive_points=D(entered))
    assert specialized_score("local_distinctive", facts) == (points, False)


def test_specialized_local_distinctive_points_out_of_range_are_a_data_error() -> None:
    score = specialized(strong_facts(local_distinctive_points=D(16))).indicator("local_distinctive")

    assert score.points is None
    assert score.missing_inputs == ("local_distinctive_points",)
    assert "超出" in score.note_zh


@pytest.mark.parametrize(
    ("ip", "points"),
    [
        (IpCounts(1, 1, 1, 0), 10),
        (IpCounts(0, 1, 1, 0), 8),
        (IpCounts(0, 0, 1, 0), 6),
        (IpCounts(0, 0, 0, 1), 2),
        (IpCounts(0, 0, 0, 0), 0),
    ],
)
def test_specialized_ip_levels(ip: IpCounts, points: int) -> None:
    assert specialized_score("ip", strong_facts(ip=ip)) == (points, False)


@pytest.mark.parametrize(
    ("rd_expense", "revenue", "points", "on_edge"),
    [
        ("500", "100000", 10, True),  # by amount
        ("499", "4990", 10, True),  # by ratio: exactly 10 %
        ("400", "100000", 8, True),
        ("300", "100000", 6, True),
        ("200", "100000", 4, True),
        ("100", "100000", 2, True),
        ("99", "3300", 2, True),  # 3 % exactly
        ("99", "3301", 0, False),
        ("150", "1500", 10, True),  # the better of 2 (amount) and 10 (ratio)
    ],
)
def test_specialized_rd_expense_takes_the_better_of_amount_and_ratio(
    rd_expense: str, revenue: str, points: int, on_edge: bool
) -> None:
    facts = with_figures(strong_facts(), YEAR, rd_expense=rd_expense, operating_revenue=revenue)
    assert specialized_score("rd_expense", facts) == (points, on_edge)


@pytest.mark.parametrize(
    ("rd_staff", "points", "on_edge"),
    [(40, 5, True), (39, 3, False), (20, 3, True), (10, 1, True), (9, 0, False)],
)
def test_specialized_rd_staff_bands(rd_staff: int, points: int, on_edge: bool) -> None:
    facts = with_figures(strong_facts(), YEAR, employees=200, rd_staff=rd_staff)
    assert specialized_score("rd_staff_ratio", facts) == (points, on_edge)


@pytest.mark.parametrize(
    ("level", "points"),
    [("national", 10), ("provincial", 8), ("municipal", 4), ("below_municipal", 2), ("none", 0)],
)
def test_specialized_rd_institution_levels(level: str, points: int) -> None:
    assert specialized_score("rd_institution", strong_facts(rd_institution=level)) == (
        points,
        False,
    )


def low_scoring_specialized(**overrides: Any) -> EnterpriseFacts:
    """Conditions 1–3 hold, the score stays below 60: only condition 4's alternatives can help."""
    titles = (Title("innovative_sme", date(2024, 6, 1), date(2027, 5, 31)),)
    facts = weak_facts(niche_since=date(2020, 1, 1), titles=titles, **overrides)
    for year in (2024, 2025):
        facts = with_figures(facts, year, operating_revenue=2000, rd_expense=100)
    return facts


def test_specialized_condition_4_fails_on_a_low_score_without_alternatives() -> None:
    result = specialized(low_scoring_specialized())

    assert [c.code for c in result.conditions if c.verdict == "fail"] == ["evaluation"]
    assert result.condition("total_points").verdict == "fail"


@pytest.mark.parametrize(
    ("overrides", "alternative", "verdict"),
    [
        ({"awards": (Award("provincial", 2024, unit_rank=3),)}, "alt_award", "pass"),
        ({"awards": (Award("provincial", 2024, unit_rank=4),)}, "alt_award", "fail"),
        ({"awards": (Award("national", 2023, unit_rank=5),)}, "alt_award", "pass"),
        ({"awards": (Award("national", 2023, unit_rank=6),)}, "alt_award", "fail"),
        ({"awards": (Award("national", 2022, unit_rank=1),)}, "alt_award", "fail"),
        ({"awards": (Award("provincial", 2024),)}, "alt_award", "missing"),  # rank unknown
        ({"contests": (ContestPlacing(2024, 500),)}, "alt_contest", "pass"),
        ({"contests": (ContestPlacing(2024, 1000),)}, "alt_contest", "fail"),
        ({"contests": (ContestPlacing(2022, 50),)}, "alt_contest", "fail"),
    ],
)
def test_specialized_condition_4_awards_and_contests(
    overrides: dict[str, Any], alternative: str, verdict: str
) -> None:
    result = specialized(low_scoring_specialized(**overrides))

    assert result.condition(alternative).verdict == verdict
    expected = {"pass": "eligible", "fail": "not_eligible", "missing": "missing_data"}[verdict]
    assert result.verdict == expected


@pytest.mark.parametrize(("rd_2024", "verdict"), [("1900", "pass"), ("1899.99", "fail")])
def test_specialized_condition_4_average_rd_of_1000_over_two_years(
    rd_2024: str, verdict: str
) -> None:
    facts = with_figures(low_scoring_specialized(), 2024, rd_expense=rd_2024)

    average = specialized(facts).condition("alt_rd_average")

    assert (average.verdict, average.unit) == (verdict, "万元")


@pytest.mark.parametrize(("equity", "verdict"), [("6000", "pass"), ("5999", "fail")])
def test_specialized_condition_4_equity_of_6000_over_two_years(equity: str, verdict: str) -> None:
    facts = with_figures(low_scoring_specialized(), 2024, new_equity_financing=equity)
    assert specialized(facts).condition("alt_equity").verdict == verdict


def test_specialized_chongqing_prerequisite_needs_an_innovative_sme_title() -> None:
    no_title = specialized(strong_facts(titles=()))
    little_giant = specialized(strong_facts(titles=(Title("little_giant", date(2024, 7, 1)),)))
    unknown = specialized(strong_facts(titles=None))

    assert no_title.condition("prerequisite_title").verdict == "fail"
    assert no_title.verdict == "not_eligible"
    assert little_giant.condition("prerequisite_title").verdict == "pass"  # a higher rung counts
    assert unknown.verdict == "missing_data"


def test_specialized_review_does_not_ask_for_the_prerequisite_title() -> None:
    facts = strong_facts(titles=(Title("specialized_sme", date(2023, 6, 1), date(2026, 5, 31)),))

    result = specialized(facts, today=date(2026, 5, 1), purpose="review")

    assert result.version == "MIIT-2022"  # a cohort designated before 2026-04-01
    assert "prerequisite_title" not in [c.code for c in result.conditions]
    assert result.verdict == "eligible"


# --- Little giant (MIIT-2022) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "condition"),
    [
        ({"niche_since": date(2023, 1, 2)}, "niche_years"),
        ({"judgements": {"sound_governance_and_credit": False}}, "governance"),
        ({"judgements": {"core_business_on_info_system": False}}, "info_system"),
        ({"judgements": {"management_or_market_certification": False}}, "certification"),
        ({"judgements": {"domestic_share_10pct": False}}, "market_share"),
        ({"judgements": {"own_brand": False}}, "own_brand"),
        ({"judgements": {"chain_gap_filler": False}}, "chain_role"),
        ({"judgements": {"little_giant_field_2022": False}}, "field"),
        ({"ip": {"class_i_applied": 1}}, "ip_class_i"),
        ({"rd_institution": "none"}, "rd_institution"),
    ],
)
def test_little_giant_2022_each_condition_can_fail(change: dict[str, Any], condition: str) -> None:
    facts = strong_facts()
    if "judgements" in change:
        facts = with_judgements(facts, **change["judgements"])
    elif "ip" in change:
        facts = with_ip(facts, **change["ip"])
    else:
        facts = dataclasses.replace(facts, **change)

    result = giant(facts)

    assert result.condition(condition).verdict == "fail"
    assert result.verdict == "not_eligible"


def test_little_giant_2022_needs_three_years_in_the_niche() -> None:
    niche = giant(strong_facts(niche_since=date(2023, 1, 1))).condition("niche_years")
    assert (niche.verdict, niche.value, niche.on_edge) == ("pass", 3, True)


@pytest.mark.parametrize(("main_revenue", "verdict"), [("17500", "pass"), ("17499", "fail")])
def test_little_giant_2022_main_business_at_least_70_percent(
    main_revenue: str, verdict: str
) -> None:
    facts = with_figures(strong_facts(), YEAR, main_business_revenue=main_revenue)
    facts = with_figures(facts, YEAR - 1, main_business_revenue=16000)
    assert giant(facts).condition("main_business_share").verdict == verdict


@pytest.mark.parametrize(
    ("revenues", "verdict"),
    [(("1000", "1000", "1100"), "pass"), (("1000", "1000", "1099.99"), "fail")],
)
def test_little_giant_2022_average_growth_of_5_percent(
    revenues: tuple[str, ...], verdict: str
) -> None:
    facts = strong_facts()
    for year, revenue in zip((2023, 2024, 2025), revenues, strict=True):
        facts = with_figures(facts, year, main_business_revenue=revenue, operating_revenue=1100)
    growth = giant(facts).condition("growth_2y")
    assert growth.verdict == verdict
    assert growth.on_edge is (verdict == "pass")


@pytest.mark.parametrize(("liabilities", "verdict"), [("14000", "pass"), ("14001", "fail")])
def test_little_giant_2022_liabilities_at_most_70_percent(liabilities: str, verdict: str) -> None:
    facts = with_figures(strong_facts(), YEAR, total_assets=20000, total_liabilities=liabilities)
    assert giant(facts).condition("liability_ratio").verdict == verdict


@pytest.mark.parametrize(
    ("revenue", "rd_2025", "threshold", "verdict", "on_edge"),
    [
        ("10000", "300", 3, "pass", True),  # exactly 1亿: the ≥ 1亿 band, 3 %
        ("9999.99", "300", 6, "fail", False),  # just below: the 6 % band
        ("5000", "300", 6, "pass", True),  # exactly 5000万: 6 % band, 6 % exactly
        ("5000", "299.99", 6, "fail", True),
    ],
)
def test_little_giant_2022_rd_test_depends_on_the_revenue_band(
    revenue: str, rd_2025: str, threshold: int, verdict: str, on_edge: bool
) -> None:
    facts = with_figures(strong_facts(), YEAR - 1, operating_revenue=10000, rd_expense=800)
    facts = with_figures(facts, YEAR, operating_revenue=revenue, rd_expense=rd_2025)

    rd = giant(facts).condition("innovation_rd")

    assert (rd.verdict, rd.on_edge, rd.value) == (verdict, on_edge, D(revenue))
    assert rd.parts[-1].threshold == threshold


def small_giant(**figures_2025: Any) -> EnterpriseFacts:
    """Revenue below 5000万: equity, R&D amount and R&D staff decide instead."""
    facts = with_figures(strong_facts(), YEAR - 1, new_equity_financing=5000)
    values = {
        "operating_revenue": 4000,
        "main_business_revenue": 3800,
        "rd_expense": 3000,
        "new_equity_financing": 3000,
        "employees": 100,
        "rd_staff": 50,
    }
    return with_figures(facts, YEAR, **{**values, **figures_2025})


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({}, None),
        ({"new_equity_financing": 2999}, "innovation_small_equity"),
        ({"rd_expense": 2999}, "innovation_small_rd_expense"),
        ({"rd_staff": 49}, "innovation_small_rd_staff"),
    ],
)
def test_little_giant_2022_below_5000_revenue(change: dict[str, Any], failing: str | None) -> None:
    rd = giant(small_giant(**change)).condition("innovation_rd")

    assert [p.code for p in rd.parts if p.verdict == "fail"] == ([failing] if failing else [])
    assert rd.verdict == ("fail" if failing else "pass")


@pytest.mark.parametrize(
    ("overrides", "verdict"),
    [
        ({"awards": (Award("national", 2024, unit_rank=3),)}, "pass"),
        ({"awards": (Award("national", 2024, unit_rank=4),)}, "fail"),
        ({"awards": (Award("provincial", 2024, unit_rank=1),)}, "fail"),
        ({"contests": (ContestPlacing(2025, 50),)}, "pass"),
        ({"contests": (ContestPlacing(2025, 500),)}, "fail"),
    ],
)
def test_little_giant_2022_direct_route_replaces_the_general_innovation_conditions(
    overrides: dict[str, Any], verdict: str
) -> None:
    facts = with_ip(strong_facts(**overrides), class_i_applied=0)

    result = giant(facts)

    assert result.condition("innovation_general").verdict == "fail"
    assert result.condition("innovation_direct").verdict == verdict
    assert result.condition("innovation").verdict == verdict


def test_little_giant_2022_prerequisite_is_met_by_applying_for_both_in_one_year() -> None:
    facts = strong_facts(titles=(Title("innovative_sme", date(2024, 6, 1), date(2027, 5, 31)),))

    result = evaluate(facts, year=YEAR, today=UNDER_2022)

    prerequisite = result.tier("little_giant").condition("prerequisite_title")
    assert prerequisite.verdict == "pass"
    assert "同年一并申报" in prerequisite.note_zh
    assert result.tier("specialized_sme").verdict == "eligible"


def test_little_giant_2022_prerequisite_fails_when_not_eligible_for_the_lower_tier_either() -> None:
    facts = strong_facts(titles=())  # no innovative SME title: not a specialized SME this year

    prerequisite = giant(facts).condition("prerequisite_title")

    assert prerequisite.verdict == "fail"


# --- MIIT-2026 ---------------------------------------------------------------------------------


def specialized_2026(facts: EnterpriseFacts, **kw: Any) -> TierEvaluation:
    return specialized(facts, today=UNDER_2026, **kw)


def giant_2026(facts: EnterpriseFacts, **kw: Any) -> TierEvaluation:
    return giant(facts, today=UNDER_2026, **kw)


def test_specialized_2026_has_no_score_table_and_no_direct_routes() -> None:
    result = specialized_2026(strong_facts())

    assert (result.version, result.verdict) == ("MIIT-2026", "eligible")
    assert result.indicators == ()
    assert result.total_points is None
    assert [c.code for c in result.conditions] == [
        "prerequisite_title",
        "niche_years",
        "revenue",
        "main_business_share",
        "liability_ratio",
        "rd_expense",
        "ip",
        "market_share",
        "development_score",
    ]


@pytest.mark.parametrize(
    ("year_figures", "condition", "verdict"),
    [
        (
            {"operating_revenue": 1500, "main_business_revenue": 1200, "rd_expense": 100},
            "revenue",
            "pass",
        ),
        (
            {"operating_revenue": 1499, "main_business_revenue": 1400, "rd_expense": 100},
            "revenue",
            "fail",
        ),
        ({"main_business_revenue": 20000}, "main_business_share", "pass"),  # 80 % of 25000
        ({"main_business_revenue": 19999}, "main_business_share", "fail"),
        ({"total_liabilities": 16000}, "liability_ratio", "pass"),  # 80 % of 20000
        ({"total_liabilities": 16001}, "liability_ratio", "fail"),
    ],
)
def test_specialized_2026_condition_2_edges(
    year_figures: dict[str, Any], condition: str, verdict: str
) -> None:
    facts = with_figures(strong_facts(), YEAR, **year_figures)
    assert specialized_2026(facts).condition(condition).verdict == verdict


def test_specialized_2026_rd_must_hold_in_each_of_two_years() -> None:
    facts = with_figures(strong_facts(), YEAR - 1, rd_expense=99)

    rd = specialized_2026(facts).condition("rd_expense")

    assert rd.verdict == "fail"
    assert [p.code for p in rd.parts if p.verdict == "fail"] == ["rd_expense_2024", "rd_ratio_2024"]


def test_specialized_2026_niche_years_is_three() -> None:
    assert specialized_2026(strong_facts(niche_since=date(2023, 1, 1))).verdict == "eligible"
    assert specialized_2026(strong_facts(niche_since=date(2023, 1, 2))).verdict == "not_eligible"


@pytest.mark.parametrize(
    ("overrides", "verdict"),
    [
        ({"rd_institution": "municipal"}, "fail"),
        ({"rd_institution": "provincial"}, "pass"),  # waives the IP
        ({"rd_institution": "none", "awards": (Award("provincial", 2024, unit_rank=3),)}, "pass"),
        ({"rd_institution": "none", "awards": (Award("provincial", 2024, unit_rank=4),)}, "fail"),
    ],
)
def test_specialized_2026_ip_or_its_waivers(overrides: dict[str, Any], verdict: str) -> None:
    facts = with_ip(strong_facts(**overrides), class_i_applied_own=0)
    assert specialized_2026(facts).condition("ip").verdict == verdict


@pytest.mark.parametrize(
    ("scores", "purpose", "verdict"),
    [
        ({2026: D(50)}, "application", "pass"),
        ({2026: D("49.9")}, "application", "fail"),
        ({2025: D(80)}, "application", "missing"),  # last year's score is not this year's
        ({2026: D(40), 2025: D(50)}, "review", "pass"),  # either of the last two years
        ({2026: D(40), 2025: D(49)}, "review", "fail"),
    ],
)
def test_specialized_2026_development_score_of_50(
    scores: dict[int, Decimal], purpose: str, verdict: str
) -> None:
    facts = strong_facts(
        development_scores=scores,
        titles=(Title("specialized_sme", date(2026, 4, 15), date(2029, 4, 14)),),
    )

    score = specialized(facts, today=date(2026, 6, 1), purpose=purpose).condition(
        "development_score"
    )

    assert score.verdict == verdict


def test_specialized_2026_prerequisite_accepts_a_tech_sme_title() -> None:
    facts = strong_facts(titles=(Title("tech_sme", date(2025, 5, 1), date(2026, 12, 31)),))
    assert specialized_2026(facts).condition("prerequisite_title").verdict == "pass"


def test_specialized_2026_market_share_is_a_judgement_fact() -> None:
    facts = with_judgements(strong_facts(), market_share_fairly_high=None)

    result = specialized_2026(facts)

    assert result.verdict == "missing_data"
    assert result.condition("market_share").missing_inputs == (
        "judgements.market_share_fairly_high",
    )


@pytest.mark.parametrize(
    ("change", "condition", "verdict"),
    [
        (
            {"operating_revenue": 5000, "main_business_revenue": 4500, "rd_expense": 600},
            "revenue",
            "pass",
        ),
        (
            {"operating_revenue": 4999, "main_business_revenue": 4500, "rd_expense": 600},
            "revenue",
            "fail",
        ),
        ({"main_business_revenue": 22500}, "main_business_share", "pass"),  # 90 %
        ({"main_business_revenue": 22499}, "main_business_share", "fail"),
        ({"total_liabilities": 15000}, "liability_ratio", "pass"),  # 75 %
        ({"total_liabilities": 15001}, "liability_ratio", "fail"),
    ],
)
def test_little_giant_2026_condition_2_edges(
    change: dict[str, Any], condition: str, verdict: str
) -> None:
    facts = with_figures(strong_facts(), YEAR, **change)
    assert giant_2026(facts).condition(condition).verdict == verdict


@pytest.mark.parametrize(
    ("revenue_2025", "verdict", "on_edge"), [("22050", "pass", True), ("22049", "fail", False)]
)
def test_little_giant_2026_growth_is_the_compound_rate(
    revenue_2025: str, verdict: str, on_edge: bool
) -> None:
    # 20000 → 22050 over two years is exactly 1.05² − 1: a CAGR of exactly 5 %.
    facts = with_figures(strong_facts(), YEAR, operating_revenue=revenue_2025)
    facts = with_figures(facts, YEAR, main_business_revenue=21000)

    result = giant_2026(facts)

    growth = result.condition("growth_2y")
    assert (growth.verdict, growth.on_edge) == (verdict, on_edge)
    assert "growth_cagr" in result.conventions


def test_little_giant_2026_review_does_not_test_growth() -> None:
    facts = with_figures(strong_facts(), YEAR, operating_revenue=20000, main_business_revenue=19000)
    facts = dataclasses.replace(
        facts, titles=(Title("little_giant", date(2026, 7, 1), date(2029, 6, 30)),)
    )

    review = giant(facts, today=date(2027, 5, 1), purpose="review")

    assert review.version == "MIIT-2026"
    assert "growth_2y" not in [c.code for c in review.conditions]
    assert "review_growth_not_tested" in review.conventions
    assert giant(facts, today=date(2027, 5, 1)).condition("growth_2y").verdict == "fail"


@pytest.mark.parametrize(
    ("rd_2024", "rd_2025", "verdict"),
    [("600", "750", "pass"), ("450", "750", "pass"), ("449", "750", "fail")],
)
def test_little_giant_2026_rd_total_of_1200_and_3_percent_each_year(
    rd_2024: str, rd_2025: str, verdict: str
) -> None:
    facts = with_figures(strong_facts(), YEAR - 1, operating_revenue=15000, rd_expense=rd_2024)
    facts = with_figures(facts, YEAR, operating_revenue=25000, rd_expense=rd_2025)
    # 450 of 15000 is exactly 3 %; 450 + 750 = 1200 exactly.
    assert giant_2026(facts).condition("rd_expense").verdict == verdict


@pytest.mark.parametrize(
    ("own_ip", "awards", "verdict"),
    [
        (4, (), "pass"),
        (3, (), "fail"),
        (0, (Award("national", 2025, unit_rank=3),), "pass"),
        (0, (Award("provincial", 2025, unit_rank=1),), "fail"),
    ],
)
def test_little_giant_2026_four_class_i_ip_or_a_national_award(
    own_ip: int, awards: tuple[Award, ...], verdict: str
) -> None:
    facts = with_ip(strong_facts(awards=awards), class_i_applied_own=own_ip)
    assert giant_2026(facts).condition("ip").verdict == verdict


@pytest.mark.parametrize(
    ("flags", "verdict"),
    [
        (
            {"domestic_share_10pct": False, "foreign_share_10pct": False, "domestic_top3": True},
            "pass",
        ),
        (
            {"domestic_share_10pct": False, "foreign_share_10pct": True, "domestic_top3": False},
            "pass",
        ),
        (
            {"domestic_share_10pct": False, "foreign_share_10pct": False, "domestic_top3": False},
            "fail",
        ),
        (
            {"domestic_share_10pct": False, "foreign_share_10pct": None, "domestic_top3": False},
            "missing",
        ),
    ],
)
def test_little_giant_2026_market_share_at_home_abroad_or_top_three(
    flags: dict[str, bool | None], verdict: str
) -> None:
    facts = with_judgements(strong_facts(), **flags)
    assert giant_2026(facts).condition("market_share").verdict == verdict


def test_little_giant_2026_key_chain_link_follows_from_filling_a_gap() -> None:
    facts = with_judgements(strong_facts(), key_chain_link=None, chain_gap_filler=True)
    assert giant_2026(facts).condition("key_chain_link").verdict == "pass"


@pytest.mark.parametrize(("score", "verdict"), [("60", "eligible"), ("59.99", "not_eligible")])
def test_little_giant_2026_development_score_of_60(score: str, verdict: str) -> None:
    assert giant_2026(strong_facts(development_scores={2026: D(score)})).verdict == verdict


def test_little_giant_2026_needs_the_specialized_sme_title() -> None:
    facts = strong_facts(titles=(Title("innovative_sme", date(2024, 6, 1), date(2027, 5, 31)),))

    prerequisite = giant_2026(facts).condition("prerequisite_title")

    assert prerequisite.verdict == "fail"  # 2026 has no "apply for both" way round it


# --- Missing data ------------------------------------------------------------------------------


def test_a_missing_figure_makes_its_indicator_missing_with_the_points_still_possible() -> None:
    facts = with_figures(strong_facts(), YEAR, rd_expense=None)

    score = innovative(facts).indicator("rd_ratio")

    assert score.points is None
    assert score.missing_inputs == ("figures.2025.rd_expense",)
    assert score.possible == (0, 20)
    assert "2025年研发费用" in score.note_zh


def test_missing_data_that_cannot_change_the_verdict_does_not_hold_it_up() -> None:
    facts = with_figures(strong_facts(), YEAR, rd_expense=None)

    result = innovative(facts)

    assert result.total_points == 75  # the other five indicators
    assert result.verdict == "eligible"


def test_missing_data_that_could_change_the_verdict_makes_it_missing_data() -> None:
    # IP 10 + R&D 15 + growth 15 + other field 5 + main business 55 % 10 = 55 known; the
    # liability ratio (0–10 points) decides whether the total reaches 60.
    facts = with_figures(example_one(), YEAR - 1, main_business_revenue=5000)
    facts = with_figures(facts, YEAR, main_business_revenue=5500, total_liabilities=None)
    facts = with_judgements(facts, strategic_emerging_field=False)

    result = innovative(facts)

    total = result.condition("total_points")
    assert total.verdict == "missing"
    assert "figures.2025.total_liabilities" in total.missing_inputs
    assert result.verdict == "missing_data"


def test_an_unrecorded_judgement_is_missing_never_guessed() -> None:
    facts = with_judgements(strong_facts(), own_brand=None)

    result = giant(facts)

    brand = result.condition("own_brand")
    assert (brand.verdict, brand.value, brand.missing_inputs) == (
        "missing",
        None,
        ("judgements.own_brand",),
    )
    assert result.verdict == "missing_data"
    assert any("自主品牌" in reason for reason in result.reasons_zh)


def test_a_failed_condition_outweighs_missing_data() -> None:
    facts = with_judgements(strong_facts(), own_brand=None, sound_governance_and_credit=False)

    result = giant(facts)

    assert result.verdict == "not_eligible"
    assert result.reasons_zh == ("精细化：公司治理规范、信誉良好：否",)


def test_a_partly_known_indicator_is_scored_when_the_unknown_part_cannot_change_it() -> None:
    facts = with_judgements(
        strong_facts(),
        provincial_quality_award=True,
        quality_certification=True,
        own_brand=None,
        standards_participation=None,
    )

    score = specialized(facts).indicator("quality")

    assert score.points == 5
    assert score.missing_inputs == ("judgements.own_brand", "judgements.standards_participation")


def test_an_unrecorded_field_still_scores_at_least_the_lower_band() -> None:
    facts = with_judgements(strong_facts(), strategic_emerging_field=None)

    score = innovative(facts).indicator("field")

    assert (score.points, score.possible) == (None, (5, 10))


def test_a_zero_base_makes_a_ratio_missing_with_the_reason() -> None:
    facts = with_figures(strong_facts(), YEAR, total_assets=0)

    liability = giant(facts).condition("liability_ratio")

    assert liability.verdict == "missing"
    assert "资产总额为0" in liability.note_zh


def test_no_figures_at_all_is_missing_data_for_every_tier() -> None:
    facts = strong_facts(figures=(), rd_institution="municipal")  # no direct route either

    result = evaluate(facts, year=YEAR, today=UNDER_2026)
    assert {t.verdict for t in result.tiers} == {"missing_data"}


# --- Choosing the rule version ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "today", "version"),
    [
        ("innovative_sme", date(2025, 1, 1), "MIIT-2022"),
        ("innovative_sme", date(2027, 1, 1), "MIIT-2022"),  # until a merged standard appears
        ("specialized_sme", date(2026, 3, 31), "MIIT-2022"),
        ("specialized_sme", date(2026, 4, 1), "MIIT-2026"),
        ("little_giant", date(2026, 3, 31), "MIIT-2022"),
        ("little_giant", date(2026, 4, 1), "MIIT-2026"),
    ],
)
def test_applications_use_the_version_in_force_on_the_day(
    tier: str, today: date, version: str
) -> None:
    assert choose_version(tier, today=today) == version


@pytest.mark.parametrize(
    ("designated_on", "version"),
    [
        (date(2019, 6, 1), "MIIT-2022"),  # older cohorts are reviewed under 2022 too
        (date(2023, 7, 1), "MIIT-2022"),
        (date(2026, 3, 31), "MIIT-2022"),
        (date(2026, 4, 1), "MIIT-2026"),
    ],
)
def test_reviews_use_the_version_of_the_cohorts_designation(
    designated_on: date, version: str
) -> None:
    chosen = choose_version(
        "little_giant", today=date(2026, 9, 1), purpose="review", designated_on=designated_on
    )
    assert chosen == version


def test_a_review_takes_the_designation_date_from_the_title() -> None:
    facts = strong_facts(titles=(Title("little_giant", date(2023, 7, 1), date(2026, 6, 30)),))

    result = giant(facts, today=date(2026, 5, 1), purpose="review")

    assert result.version == "MIIT-2022"
    assert result.purpose == "review"


def test_a_review_without_a_designation_date_is_refused() -> None:
    with pytest.raises(ValueError, match="designated"):
        giant(strong_facts(titles=()), today=date(2026, 5, 1), purpose="review")


def test_an_explicit_version_is_used_and_innovative_sme_falls_back_to_2022() -> None:
    result = evaluate(strong_facts(), year=YEAR, today=UNDER_2022, version="MIIT-2026")

    assert [(t.tier, t.version) for t in result.tiers] == [
        ("innovative_sme", "MIIT-2022"),
        ("specialized_sme", "MIIT-2026"),
        ("little_giant", "MIIT-2026"),
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: giant(strong_facts(), version="MIIT-1999"), "unknown rule version"),
        (lambda: evaluate_tier("listed", strong_facts(), year=YEAR, today=UNDER_2022), "tier"),
        (lambda: giant(strong_facts(), purpose="appeal"), "purpose"),
    ],
)
def test_unknown_versions_tiers_and_purposes_are_refused(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# --- Conventions, words and JSON ------------------------------------------------------------------


def test_every_verdict_names_its_version_and_conventions() -> None:
    result = evaluate(strong_facts(), year=YEAR, today=UNDER_2022)

    for tier in result.tiers:
        assert tier.version == "MIIT-2022"
        assert "hard_thresholds_plain" in tier.conventions
        assert len(tier.conventions_zh) == len(tier.conventions)
    assert "edge_scores_higher_band" in result.tier("innovative_sme").conventions
    assert "growth_mean_of_annual_rates" in result.tier("little_giant").conventions


def test_mean_and_compound_growth_differ_and_each_is_labelled() -> None:
    facts = strong_facts()
    for year, revenue in ((2023, "10000"), (2024, "10000"), (2025, "12100")):
        facts = with_figures(facts, year, operating_revenue=revenue, main_business_revenue=revenue)

    mean = giant(facts, version="MIIT-2022").condition("growth_2y")
    compound = giant(facts, version="MIIT-2026").condition("growth_2y")

    assert mean.value == D("10.5")  # (0 % + 21 %) / 2
    assert compound.value == D(10)  # √1.21 − 1
    assert "平均增长率" in mean.label_zh
    assert "复合增长率" in compound.label_zh


def test_a_callers_decimal_context_cannot_change_a_verdict() -> None:
    facts = with_figures(strong_facts(), YEAR, operating_revenue=10000, rd_expense=300)
    with localcontext() as ctx:
        ctx.prec = 3
        score = innovative(facts).indicator("rd_ratio")
    assert (score.value, score.points, score.on_edge) == (3, 15, True)


def test_notes_read_as_sentences() -> None:
    result = specialized(with_figures(strong_facts(), YEAR, operating_revenue=900, rd_expense=120))

    assert result.condition("rd_expense_amount").note_zh == "2025年研发费用：120万元，不低于100万元"
    assert result.condition("revenue_amount").note_zh == "2025年营业收入：900万元，低于1000万元"
    assert result.indicator("liability_ratio").note_zh.startswith("上年度资产负债率：40%")


def test_a_value_just_short_of_a_threshold_is_not_rounded_onto_it() -> None:
    facts = with_figures(strong_facts(), YEAR, operating_revenue=10000, rd_expense="299.9999")

    note = specialized(facts).condition("rd_expense_ratio").note_zh

    assert "2.999999" in note
    assert note.endswith("低于3%")


def test_to_dict_is_json_with_decimals_as_strings() -> None:
    result = evaluate(example_one(), year=YEAR, today=UNDER_2022)

    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))

    innovative_tier = data["tiers"][0]
    assert innovative_tier["total_points"] == "70"
    assert innovative_tier["group_points"] == {
        "innovation": "25",
        "growth": "20",
        "specialisation": "25",
    }
    rd = next(i for i in innovative_tier["indicators"] if i["code"] == "rd_ratio")
    assert rd == {
        "code": "rd_ratio",
        "label_zh": "上年度研发费用总额占营业收入总额比重",
        "group": "innovation",
        "points": "15",
        "max_points": "20",
        "value": "3",
        "unit": "%",
        "band": "3%–5%",
        "on_edge": True,
        "missing_inputs": [],
        "possible": None,
        "detail_zh": "",
        "note_zh": (
            "上年度研发费用总额占营业收入总额比重：3%，属“3%–5%”，得15分（恰在分档边界，取较高档）"
        ),
    }
    assert innovative_tier["reasons_zh"]
    assert data["highest_eligible"] == "innovative_sme"
    assert data["today"] == "2025-09-01"


def test_large_money_serialises_without_an_exponent() -> None:
    facts = with_figures(strong_facts(), YEAR, operating_revenue=D("1E+5"))

    text = json.dumps(giant(facts).to_dict(), ensure_ascii=False)

    assert "E+" not in text
    assert '"value": "100000"' in text


def test_evaluate_many_gives_what_evaluate_gives_one_by_one() -> None:
    enterprises = [strong_facts(), weak_facts(), example_one(), example_two()]
    for today in (UNDER_2022, UNDER_2026):
        one_by_one = [evaluate(f, year=YEAR, today=today).to_dict() for f in enterprises]

        in_bulk = [e.to_dict() for e in evaluate_many(enterprises, year=YEAR, today=today)]

        assert in_bulk == one_by_one


def test_evaluate_many_reviews_each_enterprise_under_its_own_cohorts_version() -> None:
    old = strong_facts(titles=(Title("little_giant", date(2023, 7, 1), date(2026, 6, 30)),))
    new = strong_facts(titles=(Title("little_giant", date(2026, 7, 1), date(2029, 6, 30)),))

    results = list(
        evaluate_many(
            [old, new], year=YEAR, today=date(2026, 9, 1), purpose="review", tiers=["little_giant"]
        )
    )

    assert [r.tier("little_giant").version for r in results] == ["MIIT-2022", "MIIT-2026"]
