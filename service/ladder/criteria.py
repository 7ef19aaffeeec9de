"""The ladder's criteria per rule version — band tables and thresholds — loaded once from JSON."""

from __future__ import annotations

import dataclasses
import itertools
import json
import types
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_type_hints

CRITERIA_DIR = Path(__file__).with_name("criteria")

GrowthConvention = Literal["mean_of_annual_rates", "cagr"]
_GROWTH_CONVENTIONS = ("mean_of_annual_rates", "cagr")
# Text fields that name something the engine reads: only these names are valid.
_CHOICES: dict[str, tuple[str, ...]] = {
    "growth_of": ("operating_revenue", "main_business_revenue"),
    "ip_field": ("class_i_applied", "class_i_applied_own"),
}


class CriteriaError(ValueError):
    """A criteria file that does not describe a usable rule set; the message names the place."""


# --- Scales: how an indicator's figure becomes points -----------------------------------------


@dataclass(frozen=True, slots=True)
class Band:
    """A band of a continuous figure; both ends belong to it (Civil Code art. 1259)."""

    lower: Decimal | None
    upper: Decimal | None
    points: Decimal
    label_zh: str


@dataclass(frozen=True, slots=True)
class BandScale:
    """Contiguous bands covering every value; the engine resolves shared edges."""

    unit: str
    bands: tuple[Band, ...]
    low_points: Decimal
    high_points: Decimal


@dataclass(frozen=True, slots=True)
class Step:
    at_least: Decimal
    points: Decimal
    label_zh: str


@dataclass(frozen=True, slots=True)
class StepScale:
    """Discrete figures (levels, full years): the first step the value reaches, best first."""

    unit: str
    steps: tuple[Step, ...]
    otherwise_points: Decimal
    otherwise_label_zh: str
    low_points: Decimal
    high_points: Decimal


@dataclass(frozen=True, slots=True)
class Level:
    level: str
    label_zh: str
    points: Decimal


@dataclass(frozen=True, slots=True)
class LevelScale:
    """Categories, best first (IP classes, R&D institution level, yes/no facts)."""

    levels: tuple[Level, ...]
    by_level: Mapping[str, Level]
    low_points: Decimal
    high_points: Decimal
    unit: str = ""  # categories have none; every scale has the attribute, so no lookup fails


@dataclass(frozen=True, slots=True)
class CountScale:
    """So many points per item that holds, capped."""

    unit: str
    per_item: Decimal
    cap: Decimal
    low_points: Decimal
    high_points: Decimal


@dataclass(frozen=True, slots=True)
class EnteredScale:
    """Points an evaluator enters directly (the province's local distinctive indicators)."""

    unit: str
    low: Decimal
    high: Decimal
    low_points: Decimal
    high_points: Decimal


@dataclass(frozen=True, slots=True)
class BestOfScale:
    """Several band scales over different figures; the indicator takes the best of them."""

    parts: tuple[BandScale, ...]
    low_points: Decimal
    high_points: Decimal
    unit: str = ""  # each part has its own


Scale = BandScale | StepScale | LevelScale | CountScale | EnteredScale | BestOfScale


@dataclass(frozen=True, slots=True)
class Indicator:
    code: str
    label_zh: str
    max_points: Decimal
    measure: str  # the figure the engine computes for it, by name (see rules.MEASURES)
    scale: Scale


@dataclass(frozen=True, slots=True)
class Group:
    code: str
    label_zh: str
    max_points: Decimal
    pass_points: Decimal | None
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True, slots=True)
class ScoreTable:
    max_points: Decimal
    pass_total: Decimal
    groups: tuple[Group, ...]


# --- Tier criteria: one class per kind of rule, its thresholds by name ---------------------------


@dataclass(frozen=True, slots=True)
class Prerequisite:
    """A title the applicant must already hold (a higher tier's title also counts)."""

    titles: frozenset[str]
    purposes: frozenset[str]
    same_year_tier: str | None  # applying for that tier in the same year also satisfies it
    source_zh: str


@dataclass(frozen=True, slots=True)
class InnovativeSme2022:
    score: ScoreTable
    direct_award_levels: frozenset[str]
    direct_award_years: int
    direct_titles: frozenset[str]
    direct_rd_institution_levels: frozenset[str]
    direct_equity_min: Decimal
    direct_equity_years: int


@dataclass(frozen=True, slots=True)
class SpecializedSme2022:
    prerequisite: Prerequisite
    niche_years_min: Decimal
    rd_expense_min: Decimal
    rd_ratio_min: Decimal
    revenue_min: Decimal
    revenue_alt_equity_min: Decimal
    revenue_alt_equity_years: int
    score: ScoreTable
    alt_award_years: int
    alt_award_provincial_rank_max: int
    alt_award_national_rank_max: int
    alt_rd_average_min: Decimal
    alt_rd_average_years: int
    alt_equity_min: Decimal
    alt_equity_years: int
    alt_contest_top: int
    alt_contest_years: int


@dataclass(frozen=True, slots=True)
class LittleGiant2022:
    prerequisite: Prerequisite
    niche_years_min: Decimal
    main_share_min: Decimal
    growth_min: Decimal
    growth_of: str
    liability_max: Decimal
    innovation_revenue_high: Decimal
    innovation_rd_ratio_high: Decimal
    innovation_revenue_mid: Decimal
    innovation_rd_ratio_mid: Decimal
    innovation_rd_ratio_years: int
    innovation_small_equity_min: Decimal
    innovation_small_equity_years: int
    innovation_small_rd_expense_min: Decimal
    innovation_small_rd_expense_years: int
    innovation_small_rd_staff_ratio_min: Decimal
    ip_min: int
    ip_field: str
    direct_award_years: int
    direct_award_national_rank_max: int
    direct_contest_top: int
    direct_contest_years: int


@dataclass(frozen=True, slots=True)
class SpecializedSme2026:
    prerequisite: Prerequisite
    niche_years_min: Decimal
    revenue_min: Decimal
    revenue_alt_equity_min: Decimal
    revenue_alt_equity_years: int
    main_share_min: Decimal
    liability_max: Decimal
    rd_expense_min: Decimal
    rd_ratio_min: Decimal
    rd_years: int
    ip_min: int
    ip_field: str
    ip_waiver_award_levels: frozenset[str]
    ip_waiver_award_rank_max: int
    ip_waiver_award_years: int
    ip_waiver_rd_institution_levels: frozenset[str]
    development_score_min: Decimal
    development_score_review_years: int


@dataclass(frozen=True, slots=True)
class LittleGiant2026:
    prerequisite: Prerequisite
    niche_years_min: Decimal
    revenue_min: Decimal
    main_share_min: Decimal
    growth_min: Decimal
    growth_of: str
    growth_tested_on_review: bool
    liability_max: Decimal
    rd_total_min: Decimal
    rd_total_years: int
    rd_ratio_min: Decimal
    ip_min: int
    ip_field: str
    ip_waiver_award_levels: frozenset[str]
    ip_waiver_award_rank_max: int
    ip_waiver_award_years: int
    development_score_min: Decimal
    development_score_review_years: int


TierCriteria = (
    InnovativeSme2022 | SpecializedSme2022 | LittleGiant2022 | SpecializedSme2026 | LittleGiant2026
)

# The structure of each rule is code (rules.py); the JSON may correct its numbers, not invent kinds.
KINDS: dict[str, type[Any]] = {
    "innovative_sme_2022": InnovativeSme2022,
    "specialized_sme_2022": SpecializedSme2022,
    "little_giant_2022": LittleGiant2022,
    "specialized_sme_2026": SpecializedSme2026,
    "little_giant_2026": LittleGiant2026,
}


@dataclass(frozen=True, slots=True)
class Obligations:
    """What a designated enterprise must do to stay reviewable under a version: update its data
    on the national platform each year by month-day, report a major change within N months."""

    data_update_month: int
    data_update_day: int
    data_update_confirmed: bool  # False: the date comes from summaries, not the official text
    major_change_report_months: int


@dataclass(frozen=True, slots=True)
class RuleSet:
    """One version of the standards: the tiers it defines and those it leaves to another."""

    version: str
    title_zh: str
    in_force_from: date | None  # None: in force before any other version
    growth_convention: GrowthConvention
    tiers: Mapping[str, TierCriteria]
    same_as: Mapping[str, str]  # tier -> version whose criteria it still uses
    obligations: Obligations | None = None


# --- Loading ------------------------------------------------------------------------------------


def _decimal(raw: object, where: str) -> Decimal:
    # bool is an int: refuse it, a threshold of True is a typo.
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | str):
        raise CriteriaError(f"{where}: expected a number, got {raw!r}")
    try:
        value = Decimal(raw)
    except ArithmeticError as exc:
        raise CriteriaError(f"{where}: expected a number, got {raw!r}") from exc
    if not value.is_finite():
        raise CriteriaError(f"{where}: expected a finite number, got {raw!r}")
    return value


def _optional_decimal(raw: object, where: str) -> Decimal | None:
    return None if raw is None else _decimal(raw, where)


def _text(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise CriteriaError(f"{where}: expected text, got {raw!r}")
    return raw


def _object(raw: object, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise CriteriaError(f"{where}: expected an object")
    # Keys starting with "_" are comments an admin may leave; anything else unknown is a typo.
    unknown = sorted(k for k in raw if not k.startswith("_") and k not in allowed)
    if unknown:
        raise CriteriaError(f"{where}: unknown keys {unknown}")
    return raw


def _list(raw: object, where: str) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise CriteriaError(f"{where}: expected a non-empty list")
    return raw


def _number_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _band_label(lower: Decimal | None, upper: Decimal | None, unit: str) -> str:
    if lower is not None and upper is not None:
        return f"{_number_text(lower)}{unit}–{_number_text(upper)}{unit}"
    if lower is not None:
        return f"{_number_text(lower)}{unit}以上"
    if upper is not None:
        return f"{_number_text(upper)}{unit}以下"
    return "全部"


def _band_scale(raw: object, where: str, max_points: Decimal) -> BandScale:
    data = _object(raw, where, {"kind", "unit", "bands"})
    unit = data.get("unit", "")
    if not isinstance(unit, str):
        raise CriteriaError(f"{where}.unit: expected text")
    bands: list[Band] = []
    for i, item in enumerate(_list(data.get("bands"), f"{where}.bands")):
        at = f"{where}.bands[{i}]"
        band = _object(item, at, {"from", "to", "points"})
        lower = _optional_decimal(band.get("from"), f"{at}.from")
        upper = _optional_decimal(band.get("to"), f"{at}.to")
        if lower is not None and upper is not None and lower >= upper:
            raise CriteriaError(f"{at}: 'from' must be below 'to'")
        points = _points(band.get("points"), f"{at}.points", max_points)
        bands.append(Band(lower, upper, points, _band_label(lower, upper, unit)))
    # Sort ascending so coverage can be checked edge to edge; files may list them either way.
    ordered = sorted(bands, key=lambda b: Decimal("-Infinity") if b.lower is None else b.lower)
    if ordered[0].lower is not None or ordered[-1].upper is not None:
        raise CriteriaError(f"{where}: bands must cover every value (open lowest and highest)")
    for below, above in itertools.pairwise(ordered):
        if below.upper != above.lower:
            raise CriteriaError(f"{where}: bands must meet edge to edge ({below.label_zh})")
    all_points = [b.points for b in bands]
    # Stored in ascending order: the engine relies on the bands holding a value being neighbours.
    return BandScale(unit, tuple(ordered), min(all_points), max(all_points))


def _points(raw: object, where: str, max_points: Decimal) -> Decimal:
    points = _decimal(raw, where)
    if not Decimal(0) <= points <= max_points:
        raise CriteriaError(f"{where}: points must lie within 0–{max_points}")
    return points


def _scale(raw: object, where: str, max_points: Decimal) -> Scale:
    if not isinstance(raw, dict):
        raise CriteriaError(f"{where}: expected an object")
    kind = raw.get("kind")
    if kind == "bands":
        return _band_scale(raw, where, max_points)
    if kind == "steps":
        data = _object(
            raw, where, {"kind", "unit", "steps", "otherwise_points", "otherwise_label_zh"}
        )
        steps = []
        for i, item in enumerate(_list(data.get("steps"), f"{where}.steps")):
            at = f"{where}.steps[{i}]"
            step = _object(item, at, {"at_least", "points", "label_zh"})
            steps.append(
                Step(
                    _decimal(step.get("at_least"), f"{at}.at_least"),
                    _points(step.get("points"), f"{at}.points", max_points),
                    _text(step.get("label_zh"), f"{at}.label_zh"),
                )
            )
        if any(a.at_least <= b.at_least for a, b in itertools.pairwise(steps)):
            raise CriteriaError(f"{where}.steps: list them from the highest 'at_least' down")
        otherwise = _points(data.get("otherwise_points"), f"{where}.otherwise_points", max_points)
        points = [s.points for s in steps] + [otherwise]
        return StepScale(
            str(data.get("unit", "")),
            tuple(steps),
            otherwise,
            _text(data.get("otherwise_label_zh"), f"{where}.otherwise_label_zh"),
            min(points),
            max(points),
        )
    if kind == "levels":
        data = _object(raw, where, {"kind", "levels"})
        levels = []
        for i, item in enumerate(_list(data.get("levels"), f"{where}.levels")):
            at = f"{where}.levels[{i}]"
            level = _object(item, at, {"level", "label_zh", "points"})
            levels.append(
                Level(
                    _text(level.get("level"), f"{at}.level"),
                    _text(level.get("label_zh"), f"{at}.label_zh"),
                    _points(level.get("points"), f"{at}.points", max_points),
                )
            )
        by_level = {lv.level: lv for lv in levels}
        if len(by_level) != len(levels):
            raise CriteriaError(f"{where}.levels: each level once")
        points = [lv.points for lv in levels]
        return LevelScale(tuple(levels), types.MappingProxyType(by_level), min(points), max(points))
    if kind == "count":
        data = _object(raw, where, {"kind", "unit", "per_item", "cap"})
        cap = _points(data.get("cap"), f"{where}.cap", max_points)
        per_item = _points(data.get("per_item"), f"{where}.per_item", max_points)
        return CountScale(str(data.get("unit", "")), per_item, cap, Decimal(0), cap)
    if kind == "entered":
        data = _object(raw, where, {"kind", "unit", "low", "high"})
        low = _points(data.get("low"), f"{where}.low", max_points)
        high = _points(data.get("high"), f"{where}.high", max_points)
        if low > high:
            raise CriteriaError(f"{where}: 'low' above 'high'")
        return EnteredScale(str(data.get("unit", "")), low, high, low, high)
    if kind == "best_of":
        data = _object(raw, where, {"kind", "parts"})
        parts = tuple(
            _band_scale(item, f"{where}.parts[{i}]", max_points)
            for i, item in enumerate(_list(data.get("parts"), f"{where}.parts"))
        )
        return BestOfScale(
            parts, max(p.low_points for p in parts), max(p.high_points for p in parts)
        )
    raise CriteriaError(f"{where}.kind: unknown scale kind {kind!r}")


def _score_table(raw: object, where: str) -> ScoreTable:
    data = _object(raw, where, {"max_points", "pass_total", "groups"})
    groups = []
    for gi, graw in enumerate(_list(data.get("groups"), f"{where}.groups")):
        gat = f"{where}.groups[{gi}]"
        g = _object(graw, gat, {"code", "label_zh", "max_points", "pass_points", "indicators"})
        indicators = []
        for ii, iraw in enumerate(_list(g.get("indicators"), f"{gat}.indicators")):
            iat = f"{gat}.indicators[{ii}]"
            ind = _object(iraw, iat, {"code", "label_zh", "max_points", "measure", "scale"})
            max_points = _decimal(ind.get("max_points"), f"{iat}.max_points")
            scale = _scale(ind.get("scale"), f"{iat}.scale", max_points)
            if scale.high_points != max_points:
                raise CriteriaError(f"{iat}: the best band must give max_points")
            indicators.append(
                Indicator(
                    _text(ind.get("code"), f"{iat}.code"),
                    _text(ind.get("label_zh"), f"{iat}.label_zh"),
                    max_points,
                    _text(ind.get("measure"), f"{iat}.measure"),
                    scale,
                )
            )
        group_max = _decimal(g.get("max_points"), f"{gat}.max_points")
        if group_max != sum((i.max_points for i in indicators), Decimal(0)):
            raise CriteriaError(f"{gat}: max_points must equal the sum of its indicators'")
        pass_points = _optional_decimal(g.get("pass_points"), f"{gat}.pass_points")
        if pass_points is not None and pass_points > group_max:
            raise CriteriaError(f"{gat}: pass_points above max_points")
        groups.append(
            Group(
                _text(g.get("code"), f"{gat}.code"),
                _text(g.get("label_zh"), f"{gat}.label_zh"),
                group_max,
                pass_points,
                tuple(indicators),
            )
        )
    total_max = _decimal(data.get("max_points"), f"{where}.max_points")
    if total_max != sum((g.max_points for g in groups), Decimal(0)):
        raise CriteriaError(f"{where}: max_points must equal the sum of its groups'")
    codes = [i.code for g in groups for i in g.indicators]
    if len(set(codes)) != len(codes) or len({g.code for g in groups}) != len(groups):
        raise CriteriaError(f"{where}: group and indicator codes must be unique")
    pass_total = _decimal(data.get("pass_total"), f"{where}.pass_total")
    if pass_total > total_max:
        raise CriteriaError(f"{where}: pass_total above max_points")
    return ScoreTable(total_max, pass_total, tuple(groups))


def _prerequisite(raw: object, where: str) -> Prerequisite:
    rule: Prerequisite = _build(Prerequisite, raw, where, set())
    if not rule.purposes <= {"application", "review"}:
        raise CriteriaError(f"{where}.purposes: 'application' and/or 'review'")
    return rule


def _build(cls: type[Any], raw: object, where: str, extra: set[str]) -> Any:
    """Fill a criteria dataclass from a JSON object, converting each field by its type."""
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    data = _object(raw, where, set(names) | extra)
    values: dict[str, Any] = {}
    for name in names:
        at = f"{where}.{name}"
        if name not in data:
            raise CriteriaError(f"{at}: missing")
        value = data[name]
        hint = hints[name]
        if hint is Decimal:
            values[name] = _decimal(value, at)
        elif hint is int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise CriteriaError(f"{at}: expected a whole number ≥ 0, got {value!r}")
            values[name] = value
        elif hint is bool:
            if not isinstance(value, bool):
                raise CriteriaError(f"{at}: expected true or false")
            values[name] = value
        elif hint is str:
            values[name] = _text(value, at)
        elif hint == str | None:
            values[name] = None if value is None else _text(value, at)
        elif hint == frozenset[str]:
            values[name] = frozenset(_text(v, at) for v in _list(value, at))
        elif hint is ScoreTable:
            values[name] = _score_table(value, at)
        elif hint is Prerequisite:
            values[name] = _prerequisite(value, at)
        else:  # pragma: no cover - a field type this loader was not taught
            raise CriteriaError(f"{at}: cannot load a field of type {hint!r}")
        if name in _CHOICES and values[name] not in _CHOICES[name]:
            raise CriteriaError(f"{at}: one of {_CHOICES[name]}")
    return cls(**values)


def _obligations(raw: object, where: str) -> Obligations | None:
    if raw is None:
        return None
    data = _object(
        raw,
        where,
        {"annual_data_update_by", "annual_data_update_confirmed", "major_change_report_months"},
    )
    by = data.get("annual_data_update_by")
    try:
        month, day = (int(p) for p in str(by).split("-"))
        date(2024, month, day)  # a leap year: any real month-day passes
    except (TypeError, ValueError) as exc:
        raise CriteriaError(f"{where}.annual_data_update_by: expected MM-DD") from exc
    confirmed = data.get("annual_data_update_confirmed", True)
    if not isinstance(confirmed, bool):
        raise CriteriaError(f"{where}.annual_data_update_confirmed: expected true or false")
    months = data.get("major_change_report_months")
    if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 24:
        raise CriteriaError(f"{where}.major_change_report_months: expected 1 to 24")
    return Obligations(month, day, confirmed, months)


def parse_rule_set(text: str, *, source: str = "<criteria>") -> RuleSet:
    """One rule set from the text of its JSON file; raises CriteriaError naming what is wrong."""
    try:
        # Decimal for every fraction, so 0.1 in a file stays exactly 0.1.
        raw = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise CriteriaError(f"{source}: not valid JSON ({exc})") from exc
    data = _object(
        raw,
        source,
        {"version", "title_zh", "in_force_from", "growth_convention", "tiers", "obligations"},
    )
    version = _text(data.get("version"), f"{source}.version")
    in_force_raw = data.get("in_force_from")
    try:
        in_force_from = None if in_force_raw is None else date.fromisoformat(in_force_raw)
    except (TypeError, ValueError) as exc:
        raise CriteriaError(f"{source}.in_force_from: expected YYYY-MM-DD or null") from exc
    growth = data.get("growth_convention")
    if growth not in _GROWTH_CONVENTIONS:
        raise CriteriaError(f"{source}.growth_convention: one of {_GROWTH_CONVENTIONS}")
    tiers: dict[str, TierCriteria] = {}
    same_as: dict[str, str] = {}
    tiers_raw = data.get("tiers")
    if not isinstance(tiers_raw, dict) or not tiers_raw:
        raise CriteriaError(f"{source}.tiers: expected an object of tiers")
    for tier, traw in tiers_raw.items():
        at = f"{source}.tiers.{tier}"
        if isinstance(traw, dict) and "same_as" in traw:
            same_as[tier] = _text(_object(traw, at, {"same_as"})["same_as"], f"{at}.same_as")
            continue
        kind = traw.get("kind") if isinstance(traw, dict) else None
        if kind not in KINDS:
            raise CriteriaError(f"{at}.kind: one of {sorted(KINDS)}")
        tiers[tier] = _build(KINDS[kind], traw, at, {"kind"})
    return RuleSet(
        version,
        _text(data.get("title_zh"), f"{source}.title_zh"),
        in_force_from,
        growth,
        types.MappingProxyType(tiers),
        types.MappingProxyType(same_as),
        _obligations(data.get("obligations"), f"{source}.obligations"),
    )


def load_rule_sets(directory: Path = CRITERIA_DIR) -> Mapping[str, RuleSet]:
    """Every `*.json` rule set in a directory, by version, checked for dangling `same_as`."""
    sets: dict[str, RuleSet] = {}
    for path in sorted(directory.glob("*.json")):
        rule_set = parse_rule_set(path.read_text(encoding="utf-8"), source=path.name)
        if rule_set.version in sets:
            raise CriteriaError(f"{path.name}: version {rule_set.version} defined twice")
        sets[rule_set.version] = rule_set
    for rule_set in sets.values():
        for tier, target in rule_set.same_as.items():
            if tier not in sets.get(target, rule_set).tiers:
                raise CriteriaError(
                    f"{rule_set.version}.{tier}: same_as {target} defines no {tier}"
                )
    if not sets:
        raise CriteriaError(f"{directory}: no rule sets")
    return types.MappingProxyType(sets)


@cache
def default_rule_sets() -> Mapping[str, RuleSet]:
    """The packaged rule sets, read once per process: evaluation must not re-read files."""
    return load_rule_sets()
