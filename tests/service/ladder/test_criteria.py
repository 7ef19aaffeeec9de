"""The criteria files: they load, they match the standards' tables, and an admin can correct them
without being allowed to break them."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from service.ladder.criteria import (
    CRITERIA_DIR,
    BandScale,
    BestOfScale,
    CriteriaError,
    LevelScale,
    SpecializedSme2026,
    default_rule_sets,
    load_rule_sets,
    parse_rule_set,
)
from service.ladder.rules import MEASURE_LEVELS, MEASURES, evaluate_tier
from tests.service.ladder.builders import UNDER_2022, UNDER_2026, YEAR, strong_facts, with_figures


def raw(version: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CRITERIA_DIR / f"{version}.json").read_text("utf-8"))
    return data


def test_both_versions_load_once_per_process() -> None:
    sets = default_rule_sets()

    assert sorted(sets) == ["MIIT-2022", "MIIT-2026"]
    assert sets["MIIT-2022"].in_force_from is None
    assert sets["MIIT-2026"].in_force_from == date(2026, 4, 1)
    assert sets["MIIT-2026"].same_as == {"innovative_sme": "MIIT-2022"}
    assert (sets["MIIT-2022"].growth_convention, sets["MIIT-2026"].growth_convention) == (
        "mean_of_annual_rates",
        "cagr",
    )
    assert default_rule_sets() is sets  # evaluation never re-reads the files


@pytest.mark.parametrize(
    ("tier", "groups"),
    [
        (
            "innovative_sme",
            [("innovation", 40, 20), ("growth", 30, 15), ("specialisation", 30, 15)],
        ),
        (
            "specialized_sme",
            [
                ("specialisation", 25, None),
                ("refinement", 25, None),
                ("distinctiveness", 15, None),
                ("innovation", 35, None),
            ],
        ),
    ],
)
def test_the_2022_score_tables_match_the_standard(
    tier: str, groups: list[tuple[str, int, int | None]]
) -> None:
    table = default_rule_sets()["MIIT-2022"].tiers[tier].score  # type: ignore[union-attr]

    assert (table.max_points, table.pass_total) == (100, 60)
    assert [(g.code, g.max_points, g.pass_points) for g in table.groups] == groups


def test_every_measure_named_in_the_files_is_one_the_engine_computes() -> None:
    for rule_set in default_rule_sets().values():
        for criteria in rule_set.tiers.values():
            table = getattr(criteria, "score", None)
            for group in table.groups if table else ():
                for indicator in group.indicators:
                    assert indicator.measure in MEASURES, indicator.code
                    if isinstance(indicator.scale, LevelScale):
                        levels = set(indicator.scale.by_level)
                        assert levels == set(MEASURE_LEVELS[indicator.measure]), indicator.code


def test_band_labels_use_the_standards_wording() -> None:
    table = default_rule_sets()["MIIT-2022"].tiers["innovative_sme"].score  # type: ignore[union-attr]
    liability = table.groups[1].indicators[1].scale
    assert isinstance(liability, BandScale)

    assert [b.label_zh for b in liability.bands] == ["55%以下", "55%–75%", "75%以上"]


def test_rd_expense_scores_the_better_of_two_band_tables() -> None:
    table = default_rule_sets()["MIIT-2022"].tiers["specialized_sme"].score  # type: ignore[union-attr]
    rd = next(i for g in table.groups for i in g.indicators if i.code == "rd_expense")

    assert isinstance(rd.scale, BestOfScale)
    assert [p.unit for p in rd.scale.parts] == ["万元", "%"]


def test_an_admin_correction_changes_the_verdict(tmp_path: Path) -> None:
    shutil.copytree(CRITERIA_DIR, tmp_path, dirs_exist_ok=True)
    data = raw("MIIT-2026")
    data["tiers"]["specialized_sme"]["revenue_min"] = 30000  # 3亿 instead of 1500万
    (tmp_path / "MIIT-2026.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")

    corrected = load_rule_sets(tmp_path)
    facts = strong_facts()

    before = evaluate_tier("specialized_sme", facts, year=YEAR, today=UNDER_2026)
    after = evaluate_tier(
        "specialized_sme", facts, year=YEAR, today=UNDER_2026, rule_sets=corrected
    )

    assert before.condition("revenue_amount").verdict == "pass"
    assert after.condition("revenue_amount").threshold == 30000
    assert after.verdict == "not_eligible"
    criteria = corrected["MIIT-2026"].tiers["specialized_sme"]
    assert isinstance(criteria, SpecializedSme2026)


def test_an_admin_correction_of_a_band_table(tmp_path: Path) -> None:
    data = raw("MIIT-2022")
    bands = data["tiers"]["innovative_sme"]["score"]["groups"][1]["indicators"][1]["scale"]["bands"]
    bands[0]["to"] = bands[1]["from"] = 60  # liability ratio: 60 % instead of 55 %
    (tmp_path / "MIIT-2022.json").write_text(json.dumps(data), "utf-8")
    facts = with_figures(strong_facts(), YEAR, total_assets=100, total_liabilities=58)

    result = evaluate_tier(
        "innovative_sme", facts, year=YEAR, today=UNDER_2022, rule_sets=load_rule_sets(tmp_path)
    )

    assert result.indicator("liability_ratio").points == 10


def break_file(edit: Any) -> str:
    data = raw("MIIT-2022")
    edit(data)
    return json.dumps(data)


def innovative_bands(data: dict[str, Any]) -> list[dict[str, Any]]:
    bands: list[dict[str, Any]] = data["tiers"]["innovative_sme"]["score"]["groups"][0][
        "indicators"
    ][1]["scale"]["bands"]
    return bands


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: innovative_bands(d)[1].update({"from": 3.5}), "edge to edge"),
        (lambda d: innovative_bands(d)[0].update({"from": None}), "cover every value"),
        (lambda d: innovative_bands(d)[0].update({"points": 25}), "within 0–20"),
        (lambda d: innovative_bands(d)[0].update({"point": 20}), "unknown keys"),
        (lambda d: d["tiers"]["innovative_sme"].pop("direct_equity_min"), "missing"),
        (lambda d: d["tiers"]["innovative_sme"].update({"direct_equity_min": True}), "number"),
        (lambda d: d["tiers"]["innovative_sme"].update({"kind": "lottery"}), "kind"),
        (lambda d: d["tiers"]["innovative_sme"]["score"].update({"max_points": 90}), "sum"),
        (lambda d: d.update({"growth_convention": "median"}), "growth_convention"),
        (lambda d: d["tiers"]["little_giant"].update({"growth_of": "profit"}), "growth_of"),
        (lambda d: d.update({"in_force_from": "1 April"}), "in_force_from"),
    ],
)
def test_a_broken_file_is_refused_with_the_place_named(edit: Any, message: str) -> None:
    with pytest.raises(CriteriaError, match=message):
        parse_rule_set(break_file(edit))


def test_a_band_table_that_does_not_give_max_points_is_refused() -> None:
    def edit(data: dict[str, Any]) -> None:
        innovative_bands(data)[0]["points"] = 18

    with pytest.raises(CriteriaError, match="max_points"):
        parse_rule_set(break_file(edit))


def test_comments_are_allowed_and_numbers_stay_decimal() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["tiers"]["innovative_sme"]["_why"] = "an admin's note"
        data["tiers"]["innovative_sme"]["direct_equity_min"] = 500.1

    rule_set = parse_rule_set(break_file(edit))

    equity = rule_set.tiers["innovative_sme"].direct_equity_min  # type: ignore[union-attr]
    assert equity == Decimal("500.1")


def test_a_dangling_same_as_is_refused(tmp_path: Path) -> None:
    data = raw("MIIT-2026")
    data["tiers"]["innovative_sme"]["same_as"] = "MIIT-2019"
    (tmp_path / "MIIT-2026.json").write_text(json.dumps(data), "utf-8")
    shutil.copy(CRITERIA_DIR / "MIIT-2022.json", tmp_path)

    with pytest.raises(CriteriaError, match="same_as"):
        load_rule_sets(tmp_path)


def test_invalid_json_is_refused() -> None:
    with pytest.raises(CriteriaError, match="not valid JSON"):
        parse_rule_set("{", source="MIIT-2022.json")
