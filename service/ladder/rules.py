"""The pure eligibility engine: an enterprise's facts and figures in, a verdict per tier out."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Context, Decimal, localcontext
from typing import Any, ClassVar, Literal

from service.ladder.criteria import (
    BandScale,
    BestOfScale,
    CountScale,
    EnteredScale,
    Indicator,
    InnovativeSme2022,
    LevelScale,
    LittleGiant2022,
    LittleGiant2026,
    Prerequisite,
    RuleSet,
    Scale,
    ScoreTable,
    SpecializedSme2022,
    SpecializedSme2026,
    StepScale,
    TierCriteria,
    default_rule_sets,
)

Verdict = Literal["pass", "fail", "missing"]
TierVerdict = Literal["eligible", "not_eligible", "missing_data"]
Purpose = Literal["application", "review"]
Comparator = Literal[">=", "<=", ">", "==", "all", "any"]
RdLevel = Literal["national", "provincial", "municipal", "below_municipal", "none"]
AwardLevel = Literal["national", "provincial"]
Value = Decimal | int | str | bool | tuple[Decimal | None, ...] | None

# The tiers the engine evaluates, in ladder order (上市企业 is a fact of listing, not a test).
TIERS: tuple[str, ...] = ("innovative_sme", "specialized_sme", "little_giant")
TIER_RANK: Mapping[str, int] = {"innovative_sme": 1, "specialized_sme": 2, "little_giant": 3}
TIER_NAMES_ZH: Mapping[str, str] = {
    "innovative_sme": "创新型中小企业",
    "specialized_sme": "专精特新中小企业",
    "little_giant": "专精特新“小巨人”企业",
    "tech_sme": "科技型中小企业",
    "high_tech": "高新技术企业",
    "tech_innovation_demo": "国家级技术创新示范企业",
    "ip_advantage": "知识产权优势企业",
    "ip_demo": "知识产权示范企业",
}

CONVENTIONS_ZH: Mapping[str, str] = {
    "edge_scores_higher_band": "数值恰在分档边界上时取得分较高的一档，并标注“在边界上”",
    "hard_thresholds_plain": "“不低于X”即≥X，“不高于X”即≤X，“超过X”即>X",
    "growth_mean_of_annual_rates": "近2年平均增长率取两个年度增长率的算术平均（标准未定义）",
    "growth_cagr": "近2年增长率按复合增长率计算",
    "windows_in_fiscal_years": "“近N年”指截至评价年度（含）的N个会计年度",
    "niche_years_to_year_end": "从事细分市场年限按截至评价年度末的整年数计算",
    "higher_tier_title_counts": "持有更高梯度的有效称号，视同满足称号前提",
    "judgement_facts_recorded": "需判断的条件以评审人员录入的“是/否”为准，未录入即为缺少数据",
    "review_growth_not_tested": "复核时不考核近2年增长率",
    "review_score_either_year": "复核时近2年任一年专精特新发展评价得分达标即可",
}

# Every computation runs in this context, so a caller's decimal settings cannot change a verdict;
# 34 digits keep single divisions of realistic figures exact wherever the true ratio terminates.
_CONTEXT = Context(prec=34)
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


# --- Inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class YearFigures:
    """One fiscal year's audited figures; money in 万元. None means not reported."""

    year: int
    operating_revenue: Decimal | None = None
    main_business_revenue: Decimal | None = None
    rd_expense: Decimal | None = None
    employees: int | None = None
    rd_staff: int | None = None
    total_assets: Decimal | None = None
    total_liabilities: Decimal | None = None
    net_profit: Decimal | None = None
    new_equity_financing: Decimal | None = None  # paid in by qualified institutional investors


@dataclass(frozen=True, slots=True)
class IpCounts:
    """Valid IP related to the main products, by class; None means not recorded."""

    class_i_high_value: int | None = None
    class_i_self_developed: int | None = None
    class_i: int | None = None
    class_ii: int | None = None
    class_i_applied: int | None = None  # class I applied in the main products and earning
    # The same under the 2026 definition: not transferred in, enterprise in the top three holders.
    class_i_applied_own: int | None = None


@dataclass(frozen=True, slots=True)
class Judgements:
    """Facts an evaluator records: True (yes), False (no), None (not yet judged)."""

    strategic_emerging_field: bool | None = None
    chain_gap_filler: bool | None = None
    six_foundations_field: bool | None = None
    time_honoured_brand: bool | None = None
    serves_chain_leader: bool | None = None
    provincial_quality_award: bool | None = None
    quality_certification: bool | None = None
    own_brand: bool | None = None
    standards_participation: bool | None = None
    sound_governance_and_credit: bool | None = None
    core_business_on_info_system: bool | None = None
    management_or_market_certification: bool | None = None
    domestic_share_10pct: bool | None = None
    foreign_share_10pct: bool | None = None
    domestic_top3: bool | None = None
    market_share_fairly_high: bool | None = None
    little_giant_field_2022: bool | None = None
    little_giant_field_2026: bool | None = None
    key_chain_link: bool | None = None


JUDGEMENTS_ZH: Mapping[str, str] = {
    "strategic_emerging_field": "主导产品属于《战略性新兴产业分类》",
    "chain_gap_filler": "在产业链关键环节补短板、锻长板、填空白并取得实际成效",
    "six_foundations_field": "主导产品属于工业“六基”领域",
    "time_honoured_brand": "属于中华老字号名录",
    "serves_chain_leader": "为产业链龙头企业提供配套",
    "provincial_quality_award": "获得省级以上质量奖励",
    "quality_certification": "获得质量管理体系认证",
    "own_brand": "拥有直接面向市场并具有竞争优势的自主品牌",
    "standards_participation": "参与制修订标准",
    "sound_governance_and_credit": "公司治理规范、信誉良好",
    "core_business_on_info_system": "至少一项核心业务采用信息系统支撑",
    "management_or_market_certification": "取得管理体系认证或发达国家和地区产品认证",
    "domestic_share_10pct": "主导产品在细分市场国内占有率10%以上",
    "foreign_share_10pct": "主导产品在细分市场国外占有率10%以上",
    "domestic_top3": "主导产品在细分市场国内排名前三",
    "market_share_fairly_high": "主导产品国内外市场占有率较高",
    "little_giant_field_2022": "主导产品属于工业基础、制造强国或网络强国重点领域",
    "little_giant_field_2026": "主导产品属于产业基础或传统、新兴、未来产业重点领域",
    "key_chain_link": "位于产业链关键环节",
}


@dataclass(frozen=True, slots=True)
class Title:
    """A title held: a tier code or another (high_tech, tech_sme, ip_advantage, ip_demo, …)."""

    code: str
    designated_on: date | None = None
    valid_until: date | None = None  # None: no end recorded

    def valid_on(self, day: date) -> bool:
        return (self.designated_on is None or self.designated_on <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


@dataclass(frozen=True, slots=True)
class Award:
    """A science-and-technology award (科学技术奖); unit_rank is the enterprise's place."""

    level: AwardLevel
    year: int
    unit_rank: int | None = None


@dataclass(frozen=True, slots=True)
class ContestPlacing:
    """A national placing in the 创客中国 SME innovation contest: in its top `national_top`."""

    year: int
    national_top: int


@dataclass(frozen=True, slots=True)
class EnterpriseFacts:
    """Everything the engine may use about one enterprise; None means not recorded.

    `awards`, `contests` and `titles` are None when unknown and empty when known to be none.
    `development_scores` (专精特新发展评价得分) are keyed by the calendar year of the evaluation:
    "this year's" score for an evaluation of fiscal year Y is the one keyed Y + 1.
    """

    figures: tuple[YearFigures, ...] = ()
    niche_since: date | None = None
    years_in_niche: int | None = None  # used when niche_since is not recorded
    ip: IpCounts = IpCounts()
    judgements: Judgements = Judgements()
    rd_institution: RdLevel | None = None
    awards: tuple[Award, ...] | None = None
    contests: tuple[ContestPlacing, ...] | None = None
    titles: tuple[Title, ...] | None = None
    development_scores: Mapping[int, Decimal] = field(default_factory=dict)
    digital_level: int | None = None  # 中小企业数字化水平 level 1-4
    local_distinctive_points: Decimal | None = None  # the province's own indicators, 0-15


# --- Outputs ---------------------------------------------------------------------------------


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return format(obj, "f")  # never an exponent: "10000", not "1E+4"
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, tuple | list):
        return [_jsonable(x) for x in obj]
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        # Derived texts are properties (built only when read); the API still wants them.
        for name in getattr(obj, "_derived", ()):
            out[name] = _jsonable(getattr(obj, name))
        return out
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


# Not frozen: a frozen dataclass costs three times as much to build, a bulk run builds millions
# of these, and the engine never changes one once built. Treat them as values.
@dataclass(slots=True)
class ConditionResult:
    """One condition's verdict, the figure it used against the threshold, and why.

    `detail_zh` is what the engine adds in words: for a composite the lead-in before the parts
    that decided it, for missing data what is known so far, otherwise the finding itself.
    """

    _derived: ClassVar[tuple[str, ...]] = ("note_zh",)

    code: str
    label_zh: str
    verdict: Verdict
    value: Value = None
    threshold: Value = None
    comparator: Comparator | None = None
    unit: str = ""
    on_edge: bool = False
    missing_inputs: tuple[str, ...] = ()
    parts: tuple[ConditionResult, ...] = ()
    detail_zh: str = ""

    @property
    def note_zh(self) -> str:
        """The verdict in one Chinese sentence (built on demand: bulk runs never read it)."""
        return _condition_note(self)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _jsonable(self)
        return result


@dataclass(slots=True)  # not frozen, for the reason given on ConditionResult
class IndicatorScore:
    """Points for one indicator of a 100-point table; points None while data are missing,
    with `possible` the least and most points the missing data could still give."""

    _derived: ClassVar[tuple[str, ...]] = ("note_zh",)

    code: str
    label_zh: str
    group: str
    points: Decimal | None
    max_points: Decimal
    value: Value
    unit: str = ""
    band: str | None = None
    on_edge: bool = False
    missing_inputs: tuple[str, ...] = ()
    possible: tuple[Decimal, Decimal] | None = None
    detail_zh: str = ""

    @property
    def note_zh(self) -> str:
        return _indicator_note(self)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _jsonable(self)
        return result


@dataclass(frozen=True, slots=True)
class TierEvaluation:
    """The verdict on one tier under one rule version, with every condition and score."""

    _derived: ClassVar[tuple[str, ...]] = ("reasons_zh", "conventions_zh")

    tier: str
    version: str
    purpose: Purpose
    verdict: TierVerdict
    rule: Literal["all", "any"]  # how the conditions combine: all must pass, or any one route
    conditions: tuple[ConditionResult, ...]
    indicators: tuple[IndicatorScore, ...]
    group_points: Mapping[str, Decimal]
    total_points: Decimal | None
    conventions: tuple[str, ...]

    @property
    def reasons_zh(self) -> tuple[str, ...]:
        """Why the verdict: the conditions that failed, or those still missing data."""
        conditions = self.conditions
        if self.verdict == "eligible":
            if self.rule == "all":
                return (f"满足全部{len(conditions)}项条件",)
            return tuple(c.note_zh for c in conditions if c.verdict == "pass")
        if self.verdict == "not_eligible":
            if self.rule == "any":
                return tuple(c.note_zh for c in conditions)
            return tuple(c.note_zh for c in conditions if c.verdict == "fail")
        return tuple(c.note_zh for c in conditions if c.verdict == "missing")

    @property
    def conventions_zh(self) -> tuple[str, ...]:
        return tuple(CONVENTIONS_ZH[c] for c in self.conventions)

    def condition(self, code: str) -> ConditionResult:
        """The condition with this code, searched breadth-first through composite conditions."""
        queue = list(self.conditions)
        while queue:
            found = queue.pop(0)
            if found.code == code:
                return found
            queue.extend(found.parts)
        raise KeyError(code)

    def indicator(self, code: str) -> IndicatorScore:
        for score in self.indicators:
            if score.code == code:
                return score
        raise KeyError(code)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _jsonable(self)
        return result


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The verdicts on every evaluated tier for one enterprise and fiscal year."""

    _derived: ClassVar[tuple[str, ...]] = ("highest_eligible",)

    year: int
    today: date
    purpose: Purpose
    tiers: tuple[TierEvaluation, ...]

    def tier(self, code: str) -> TierEvaluation:
        for evaluation in self.tiers:
            if evaluation.tier == code:
                return evaluation
        raise KeyError(code)

    @property
    def highest_eligible(self) -> str | None:
        eligible = [t.tier for t in self.tiers if t.verdict == "eligible"]
        return max(eligible, key=TIER_RANK.__getitem__) if eligible else None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _jsonable(self)
        return result


# --- Words -------------------------------------------------------------------------------------

_FIGURE_ZH: Mapping[str, str] = {
    "operating_revenue": "营业收入",
    "main_business_revenue": "主营业务收入",
    "rd_expense": "研发费用",
    "employees": "职工总数",
    "rd_staff": "研发人员数",
    "total_assets": "资产总额",
    "total_liabilities": "负债总额",
    "net_profit": "净利润",
    "new_equity_financing": "新增股权融资额",
}
_INPUT_ZH: Mapping[str, str] = {
    "niche_since": "进入细分市场的时间",
    "rd_institution": "研发机构级别",
    "awards": "科技奖励记录",
    "contests": "创客中国大赛名次记录",
    "titles": "称号记录",
    "digital_level": "数字化水平等级",
    "local_distinctive_points": "地方特色指标得分",
    "ip.class_i_high_value": "Ⅰ类高价值知识产权数",
    "ip.class_i_self_developed": "自主研发Ⅰ类知识产权数",
    "ip.class_i": "Ⅰ类知识产权数",
    "ip.class_ii": "Ⅱ类知识产权数",
    "ip.class_i_applied": "应用于主导产品并实现产业化的Ⅰ类知识产权数",
    "ip.class_i_applied_own": "应用于主导产品并实现产业化的Ⅰ类知识产权数（2026年口径）",
}
_LEVEL_ZH: Mapping[str, str] = {
    "national": "国家级",
    "provincial": "省级",
    "municipal": "市级",
    "below_municipal": "市级以下",
    "none": "未建立",
}
# Levels from the top down, then titles as TIER_NAMES_ZH lists them: the order words appear in.
_NAME_ORDER: Mapping[str, int] = {code: i for i, code in enumerate([*_LEVEL_ZH, *TIER_NAMES_ZH])}
_WORDS: Mapping[str, tuple[str, str]] = {
    ">=": ("不低于", "低于"),
    "<=": ("不高于", "高于"),
    ">": ("超过", "未超过"),
}


def input_zh(path: str) -> str:
    """A missing input's path (as in `missing_inputs`) in words an evaluator understands."""
    head, _, rest = path.partition(".")
    if head == "figures":
        year, _, name = rest.partition(".")
        return f"{year}年{_FIGURE_ZH.get(name, name)}"
    if head == "judgements":
        return f"“{JUDGEMENTS_ZH.get(rest, rest)}”（是/否）"
    if head == "development_scores":
        return f"{rest}年专精特新发展评价得分"
    return _INPUT_ZH.get(path, path)


def _fmt(value: Any) -> str:
    """A number for a sentence: two decimals at most, no trailing zeros."""
    if isinstance(value, Decimal):
        text = f"{value:.2f}"
        return text.rstrip("0").rstrip(".")
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


@functools.lru_cache(maxsize=64)
def _names_zh(codes: frozenset[str]) -> str:
    """Codes from the criteria (titles, levels) in words, in a stable order, for a label."""
    known = {**TIER_NAMES_ZH, **_LEVEL_ZH}
    ordered = sorted(codes, key=lambda code: (_NAME_ORDER.get(code, len(_NAME_ORDER)), code))
    names = [known.get(code, code) for code in ordered]
    return "或".join(names) if len(names) < 3 else f"{'、'.join(names[:-1])}或{names[-1]}"


@functools.lru_cache(maxsize=512)
def _limit(value: Decimal) -> str:
    """A criteria number for a label; the same few recur in every evaluation, so cache them."""
    return _fmt(value)


def _fmt_against(value: Any, threshold: Any) -> str:
    # Rounded for reading, unless rounding would make a value that misses a threshold look equal.
    text = _fmt(value)
    if value != threshold and text == _fmt(threshold):
        return format(value, "f")
    return text


def _fmt_value(value: Any, unit: str) -> str:
    if isinstance(value, tuple):
        return "，".join("缺少" if v is None else _fmt(v) for v in value)
    return f"{_fmt(value)}{unit}"


def _wanting(missing: Iterable[str]) -> str:
    return "、".join(input_zh(p) for p in missing) or "数据"


def _deciding(c: ConditionResult) -> list[ConditionResult]:
    """The parts that decided a composite's verdict."""
    if c.verdict == "missing":
        return [p for p in c.parts if p.verdict == "missing"]
    if c.comparator == "all":
        return list(c.parts) if c.verdict == "pass" else [p for p in c.parts if p.verdict == "fail"]
    return [p for p in c.parts if p.verdict == "pass"][:1] if c.verdict == "pass" else list(c.parts)


def _condition_note(c: ConditionResult) -> str:
    label, comparator = c.label_zh, c.comparator
    if comparator == "all" or comparator == "any":
        return c.detail_zh + "；".join(p.note_zh for p in _deciding(c))
    if c.verdict == "missing":
        if comparator == "==":
            return f"{label}：未录入（是/否）"
        known = f"（{c.detail_zh}）" if c.detail_zh else ""
        return f"{label}：缺少{_wanting(c.missing_inputs)}{known}"
    if c.detail_zh:
        return f"{label}：{c.detail_zh}"
    if comparator == "==":
        return f"{label}：{_fmt(c.value)}"
    words = _WORDS.get(comparator or "")
    if words is not None:
        word = words[0 if c.verdict == "pass" else 1]
        shown = _fmt_against(c.value, c.threshold)
        return f"{label}：{shown}{c.unit}，{word}{_fmt(c.threshold)}{c.unit}"
    return label


def _indicator_note(s: IndicatorScore) -> str:
    label = s.label_zh
    if s.points is None:
        detail = f"，{s.detail_zh}" if s.detail_zh else ""
        low, high = s.possible or (_ZERO, s.max_points)
        return (
            f"{label}：缺少{_wanting(s.missing_inputs)}{detail}，可能得{_fmt(low)}–{_fmt(high)}分"
        )
    if s.missing_inputs:
        return f"{label}：得{_fmt(s.points)}分（未录入的信息不影响得分）"
    shown = _fmt_value(s.value, s.unit)
    where = s.band if isinstance(s.value, str) or shown == s.band else f"{shown}，属“{s.band}”"
    edge = "（恰在分档边界，取较高档）" if s.on_edge else ""
    return f"{label}：{where}，得{_fmt(s.points)}分{edge}"


# --- The evaluation context and the figures it measures ----------------------------------------


class _Ctx:
    """One enterprise and fiscal year under evaluation; shared by the tiers of one call."""

    __slots__ = (
        "by_year",
        "done",
        "facts",
        "purpose",
        "ratios",
        "rule_set",
        "rule_sets",
        "today",
        "year",
    )

    def __init__(
        self,
        facts: EnterpriseFacts,
        year: int,
        today: date,
        purpose: Purpose,
        rule_sets: Mapping[str, RuleSet],
    ) -> None:
        if purpose not in ("application", "review"):
            raise ValueError(f"purpose must be 'application' or 'review', not {purpose!r}")
        self.facts = facts
        self.year = year
        self.today = today
        self.purpose: Purpose = purpose
        self.rule_sets = rule_sets
        self.rule_set: RuleSet | None = None
        self.by_year = {f.year: f for f in facts.figures}
        self.done: dict[tuple[str, str], TierEvaluation] = {}
        # The same ratios recur across tiers and tables (liability, main-business share, R&D).
        self.ratios: dict[tuple[int, str, str], _Measured] = {}

    def figure(self, year: int, name: str) -> Decimal | None:
        figures = self.by_year.get(year)
        value = None if figures is None else getattr(figures, name)
        if value is None or type(value) is Decimal:
            return value
        return Decimal(value)  # an int or a str from a caller: still exact


class _Measured:
    """A figure the engine computed: its value, or what is missing and what it could still be."""

    __slots__ = ("candidates", "missing", "note", "value")

    def __init__(
        self,
        value: Any,
        missing: tuple[str, ...] = (),
        candidates: tuple[Any, ...] | None = None,
        note: str = "",
    ) -> None:
        self.value = value
        self.missing = missing
        self.candidates = candidates  # while missing: the values still possible (None: any)
        self.note = note


def _path(year: int, name: str) -> str:
    return f"figures.{year}.{name}"


def _figure(ctx: _Ctx, year: int, name: str) -> _Measured:
    value = ctx.figure(year, name)
    return _Measured(value) if value is not None else _Measured(None, (_path(year, name),))


def _ratio(ctx: _Ctx, year: int, numerator: str, denominator: str) -> _Measured:
    """numerator / denominator in per cent, in one division so that an exact edge stays exact."""
    key = (year, numerator, denominator)
    known = ctx.ratios.get(key)
    if known is None:
        known = ctx.ratios[key] = _compute_ratio(ctx, year, numerator, denominator)
    return known


def _compute_ratio(ctx: _Ctx, year: int, numerator: str, denominator: str) -> _Measured:
    a = ctx.figure(year, numerator)
    b = ctx.figure(year, denominator)
    if a is None or b is None:
        missing = tuple(_path(year, n) for n, v in ((numerator, a), (denominator, b)) if v is None)
        return _Measured(None, missing)
    if b <= 0:
        note = f"{year}年{_FIGURE_ZH[denominator]}为{_fmt(b)}，比重无法计算"
        return _Measured(None, (_path(year, denominator),), note=note)
    return _Measured(a * _HUNDRED / b)


def _growth_1y(ctx: _Ctx, name: str) -> _Measured:
    y = ctx.year
    now, before = ctx.figure(y, name), ctx.figure(y - 1, name)
    if now is None or before is None:
        missing = tuple(_path(yy, name) for yy, v in ((y - 1, before), (y, now)) if v is None)
        return _Measured(None, missing)
    if before <= 0:
        note = f"{y - 1}年{_FIGURE_ZH[name]}为{_fmt(before)}，增长率无法计算"
        return _Measured(None, (_path(y - 1, name),), note=note)
    return _Measured((now - before) * _HUNDRED / before)


def _growth_2y(ctx: _Ctx, name: str) -> _Measured:
    """Two-year growth by the rule set's convention: the mean of the annual rates, or CAGR."""
    y = ctx.year
    cagr = ctx.rule_set is not None and ctx.rule_set.growth_convention == "cagr"
    r0, r1, r2 = ctx.figure(y - 2, name), ctx.figure(y - 1, name), ctx.figure(y, name)
    needed = ((y - 2, r0), (y, r2)) if cagr else ((y - 2, r0), (y - 1, r1), (y, r2))
    missing = tuple(_path(yy, name) for yy, v in needed if v is None)
    if missing or r0 is None or r2 is None:
        return _Measured(None, missing)
    for base_year, base in ((y - 2, r0),) if cagr else ((y - 2, r0), (y - 1, r1)):
        if base is None or base <= 0:
            note = f"{base_year}年{_FIGURE_ZH[name]}不为正，增长率无法计算"
            return _Measured(None, (_path(base_year, name),), note=note)
    if cagr:
        if r2 < 0:
            return _Measured(None, (_path(y, name),), note=f"{y}年{_FIGURE_ZH[name]}为负")
        return _Measured(((r2 / r0).sqrt() - 1) * _HUNDRED)
    assert r1 is not None
    # (r2/r1 + r1/r0)/2 - 1 as one fraction: a single division keeps an exact edge exact.
    return _Measured((r2 * r0 + r1 * r1 - 2 * r1 * r0) * _HUNDRED / (2 * r1 * r0))


def _niche_years(ctx: _Ctx) -> _Measured:
    since = ctx.facts.niche_since
    if since is not None:
        # Full years to the close of the fiscal year, i.e. to the first day of the next one.
        years = ctx.year + 1 - since.year - ((since.month, since.day) > (1, 1))
        return _Measured(max(0, years))
    if ctx.facts.years_in_niche is not None:
        return _Measured(ctx.facts.years_in_niche)
    return _Measured(None, ("niche_since",))


def _flag(ctx: _Ctx, name: str) -> bool | None:
    value: bool | None = getattr(ctx.facts.judgements, name)
    return value


_IP_LEVELS = ("class_i_high_value", "class_i_self_developed", "class_i", "class_ii")


def _m_ip_level(ctx: _Ctx) -> _Measured:
    ip = ctx.facts.ip
    counts = [ip.class_i_high_value, ip.class_i_self_developed, ip.class_i, ip.class_ii]
    if ip.class_i == 0:
        # No class I IP at all: none high-value or self-developed either.
        counts[0] = counts[1] = 0
    candidates: list[str] = []
    missing: list[str] = []
    for level, count in zip(_IP_LEVELS, counts, strict=True):
        if count is None:
            candidates.append(level)
            missing.append(f"ip.{level}")
        elif count >= 1:
            candidates.append(level)
            break
    else:
        candidates.append("none")
    if missing:
        return _Measured(None, tuple(missing), tuple(candidates))
    return _Measured(candidates[0])


def _m_rd_ratio(ctx: _Ctx) -> _Measured:
    return _ratio(ctx, ctx.year, "rd_expense", "operating_revenue")


def _m_main_revenue_growth(ctx: _Ctx) -> _Measured:
    return _growth_1y(ctx, "main_business_revenue")


def _m_main_revenue_growth_2y(ctx: _Ctx) -> _Measured:
    return _growth_2y(ctx, "main_business_revenue")


def _m_liability_ratio(ctx: _Ctx) -> _Measured:
    return _ratio(ctx, ctx.year, "total_liabilities", "total_assets")


def _m_main_business_share(ctx: _Ctx) -> _Measured:
    return _ratio(ctx, ctx.year, "main_business_revenue", "operating_revenue")


def _m_net_profit_margin(ctx: _Ctx) -> _Measured:
    return _ratio(ctx, ctx.year, "net_profit", "operating_revenue")


def _m_rd_staff_ratio(ctx: _Ctx) -> _Measured:
    return _ratio(ctx, ctx.year, "rd_staff", "employees")


def _m_strategic_emerging_field(ctx: _Ctx) -> _Measured:
    flag = _flag(ctx, "strategic_emerging_field")
    if flag is None:
        return _Measured(None, ("judgements.strategic_emerging_field",), ("yes", "no"))
    return _Measured("yes" if flag else "no")


_FOUNDATION_FLAGS = ("six_foundations_field", "time_honoured_brand", "serves_chain_leader")


def _m_chain_field(ctx: _Ctx) -> _Measured:
    gap = _flag(ctx, "chain_gap_filler")
    if gap is True:
        return _Measured("key_chain_gap")
    flags = [_flag(ctx, n) for n in _FOUNDATION_FLAGS]
    candidates: list[str] = []
    missing: list[str] = []
    if gap is None:
        candidates.append("key_chain_gap")
        missing.append("judgements.chain_gap_filler")
    if True in flags:
        candidates.append("foundation_or_leader")
    elif None in flags:
        candidates += ["foundation_or_leader", "other"]
        missing += [
            f"judgements.{n}" for n, f in zip(_FOUNDATION_FLAGS, flags, strict=True) if f is None
        ]
    else:
        candidates.append("other")
    if missing:
        return _Measured(None, tuple(missing), tuple(candidates))
    return _Measured(candidates[0])


def _m_digital_level(ctx: _Ctx) -> _Measured:
    level = ctx.facts.digital_level
    return _Measured(None, ("digital_level",)) if level is None else _Measured(level)


_QUALITY_ITEMS = (
    "provincial_quality_award",
    "quality_certification",
    "own_brand",
    "standards_participation",
)


def _m_quality_items(ctx: _Ctx) -> _Measured:
    flags = [_flag(ctx, n) for n in _QUALITY_ITEMS]
    held = flags.count(True)
    unknown = [f"judgements.{n}" for n, f in zip(_QUALITY_ITEMS, flags, strict=True) if f is None]
    if unknown:
        return _Measured(held, tuple(unknown), tuple(range(held, held + len(unknown) + 1)))
    return _Measured(held)


def _m_local_distinctive(ctx: _Ctx) -> _Measured:
    points = ctx.facts.local_distinctive_points
    if points is None:
        return _Measured(None, ("local_distinctive_points",))
    return _Measured(Decimal(points))


def _m_rd_expense_and_ratio(ctx: _Ctx) -> _Measured:
    amount = ctx.figure(ctx.year, "rd_expense")
    ratio = _m_rd_ratio(ctx)
    missing = ratio.missing if amount is not None else (_path(ctx.year, "rd_expense"),)
    return _Measured((amount, ratio.value), missing, note=ratio.note)


def _m_rd_institution_level(ctx: _Ctx) -> _Measured:
    level = ctx.facts.rd_institution
    return _Measured(None, ("rd_institution",)) if level is None else _Measured(level)


# The figures a score table may name as its "measure"; a test checks every name in the JSON.
MEASURES: Mapping[str, Callable[[_Ctx], _Measured]] = {
    "ip_level": _m_ip_level,
    "rd_ratio": _m_rd_ratio,
    "main_revenue_growth": _m_main_revenue_growth,
    "main_revenue_growth_2y": _m_main_revenue_growth_2y,
    "liability_ratio": _m_liability_ratio,
    "main_business_share": _m_main_business_share,
    "net_profit_margin": _m_net_profit_margin,
    "rd_staff_ratio": _m_rd_staff_ratio,
    "strategic_emerging_field": _m_strategic_emerging_field,
    "chain_field": _m_chain_field,
    "niche_years": _niche_years,
    "digital_level": _m_digital_level,
    "quality_items": _m_quality_items,
    "local_distinctive": _m_local_distinctive,
    "rd_expense_and_ratio": _m_rd_expense_and_ratio,
    "rd_institution_level": _m_rd_institution_level,
}
# The values each categorical measure can produce; a test checks the JSON levels cover them.
MEASURE_LEVELS: Mapping[str, tuple[str, ...]] = {
    "ip_level": (*_IP_LEVELS, "none"),
    "strategic_emerging_field": ("yes", "no"),
    "chain_field": ("key_chain_gap", "foundation_or_leader", "other"),
    "rd_institution_level": tuple(_LEVEL_ZH),
}


# --- Scoring -----------------------------------------------------------------------------------


def _band_points(scale: BandScale, value: Decimal) -> tuple[Decimal, str, bool]:
    """The band a value falls in; on a shared edge both bands hold it and the higher one scores."""
    best = None
    matches = 0
    for band in scale.bands:
        if (band.lower is None or value >= band.lower) and (
            band.upper is None or value <= band.upper
        ):
            matches += 1
            if best is None or band.points > best.points:
                best = band
        elif matches:
            break  # the bands holding a value are neighbours: no later band holds it
    assert best is not None  # the loader guarantees that the bands cover every value
    return best.points, best.label_zh, matches > 1


def _points_for(scale: Scale, value: Any) -> tuple[Decimal, str, bool]:
    """Points, band label and on-edge flag for a known value."""
    if isinstance(scale, BandScale):
        return _band_points(scale, value)
    if isinstance(scale, LevelScale):
        level = scale.by_level[value]
        return level.points, level.label_zh, False
    if isinstance(scale, StepScale):
        for step in scale.steps:
            if value >= step.at_least:
                return step.points, step.label_zh, False
        return scale.otherwise_points, scale.otherwise_label_zh, False
    if isinstance(scale, CountScale):
        return min(scale.cap, scale.per_item * value), f"{value}{scale.unit}", False
    if isinstance(scale, EnteredScale):
        return value, f"录入{_fmt(value)}分", False
    best = (_ZERO, "", False)
    for part, part_value in zip(scale.parts, value, strict=True):
        scored = _band_points(part, part_value)
        if scored[0] > best[0] or not best[1]:
            best = scored
    return best


def _possible(scale: Scale, measured: _Measured) -> tuple[Decimal, Decimal, str | None]:
    """The least and most points still possible while some data are missing."""
    if isinstance(scale, BestOfScale):
        low = high = _ZERO
        label = None
        for part, part_value in zip(scale.parts, measured.value, strict=True):
            if part_value is None:
                low, high = max(low, part.low_points), max(high, part.high_points)
            else:
                points, band, _ = _band_points(part, part_value)
                if points >= low:
                    label = band
                low, high = max(low, points), max(high, points)
        return low, high, label
    if measured.candidates is None:
        return scale.low_points, scale.high_points, None
    possible = [_points_for(scale, c)[0] for c in measured.candidates]
    return min(possible), max(possible), None


def _score(indicator: Indicator, group: str, measured: _Measured) -> IndicatorScore:
    scale = indicator.scale
    unit = scale.unit
    value = measured.value
    code, label, max_points = indicator.code, indicator.label_zh, indicator.max_points
    if not measured.missing:
        if isinstance(scale, EnteredScale) and not scale.low <= value <= scale.high:
            # An entered score outside the table's range is a data error, not a score (the
            # province's local indicators are the one entered measure).
            detail = f"录入值{_fmt(value)}超出{_fmt(scale.low)}–{_fmt(scale.high)}分"
            possible = (scale.low_points, scale.high_points)
            return IndicatorScore(
                code,
                label,
                group,
                None,
                max_points,
                value,
                unit,
                missing_inputs=("local_distinctive_points",),
                possible=possible,
                detail_zh=detail,
            )
        points, band, on_edge = _points_for(scale, value)
        return IndicatorScore(code, label, group, points, max_points, value, unit, band, on_edge)
    low, high, band_label = _possible(scale, measured)
    if measured.candidates is None and not isinstance(scale, BestOfScale):
        value = None
    if low == high:
        # Inputs are missing that cannot change the points (e.g. two quality items already held).
        return IndicatorScore(
            code,
            label,
            group,
            low,
            max_points,
            value,
            unit,
            band_label,
            missing_inputs=measured.missing,
            possible=(low, high),
        )
    return IndicatorScore(
        code,
        label,
        group,
        None,
        max_points,
        value,
        unit,
        missing_inputs=measured.missing,
        possible=(low, high),
        detail_zh=measured.note,
    )


class _Table:
    """A score table run on one enterprise: the scores and the checks on group and total."""

    __slots__ = ("checks", "group_points", "indicators", "total", "total_check")

    def __init__(self, ctx: _Ctx, table: ScoreTable) -> None:
        scores: list[IndicatorScore] = []
        self.group_points: dict[str, Decimal] = {}
        checks: list[ConditionResult] = []
        total = total_low = total_high = _ZERO
        all_missing: list[str] = []
        for group in table.groups:
            known = _ZERO
            unknown_low = unknown_high = _ZERO
            missing: list[str] = []
            for indicator in group.indicators:
                score = _score(indicator, group.code, MEASURES[indicator.measure](ctx))
                scores.append(score)
                if score.points is not None:
                    known += score.points
                else:
                    assert score.possible is not None
                    unknown_low += score.possible[0]
                    unknown_high += score.possible[1]
                    missing += score.missing_inputs
            low, high = known + unknown_low, known + unknown_high
            self.group_points[group.code] = known
            total += known
            total_low += low
            total_high += high
            all_missing += missing
            if group.pass_points is not None:
                checks.append(
                    _points_check(
                        f"group_{group.code}",
                        f"{group.label_zh}得分",
                        low,
                        high,
                        group.pass_points,
                        missing,
                    )
                )
        self.indicators = tuple(scores)
        self.total = total
        self.checks = tuple(checks)  # group minimums, where the table sets them
        self.total_check = _points_check(
            "total_points", "评价总分", total_low, total_high, table.pass_total, all_missing
        )


def _points_check(
    code: str, label: str, low: Decimal, high: Decimal, threshold: Decimal, missing: list[str]
) -> ConditionResult:
    """Points ≥ threshold, decided on the least and most points the missing data still allow."""
    if low >= threshold:
        detail = "" if low == high else f"至少{_fmt(low)}分，不低于{_fmt(threshold)}分"
        return ConditionResult(
            code, label, "pass", low, threshold, ">=", "分", low == threshold, (), (), detail
        )
    if high < threshold:
        detail = "" if low == high else f"至多{_fmt(high)}分，低于{_fmt(threshold)}分"
        return ConditionResult(
            code, label, "fail", low, threshold, ">=", "分", False, (), (), detail
        )
    detail = f"至少{_fmt(low)}分、至多{_fmt(high)}分"
    wanted = tuple(dict.fromkeys(missing))
    return ConditionResult(
        code, label, "missing", low, threshold, ">=", "分", False, wanted, (), detail
    )


# --- Conditions --------------------------------------------------------------------------------


def _threshold(
    code: str,
    label: str,
    measured: _Measured,
    op: Literal[">=", "<=", ">"],
    threshold: Decimal | int,
    unit: str = "",
) -> ConditionResult:
    """A hard threshold — ≥ (不低于), ≤ (不高于) or > (超过); no edge convention applies."""
    value = measured.value
    if value is None:
        return ConditionResult(
            code,
            label,
            "missing",
            None,
            threshold,
            op,
            unit,
            missing_inputs=measured.missing,
            detail_zh=measured.note,
        )
    if op == ">=":
        ok = value >= threshold
    elif op == "<=":
        ok = value <= threshold
    else:
        ok = value > threshold
    verdict: Verdict = "pass" if ok else "fail"
    return ConditionResult(code, label, verdict, value, threshold, op, unit, value == threshold)


def _judge(ctx: _Ctx, code: str, name: str, label: str | None = None) -> ConditionResult:
    """A judgement fact an evaluator recorded; unrecorded is missing, never guessed."""
    text = label or JUDGEMENTS_ZH[name]
    flag = _flag(ctx, name)
    if flag is None:
        return ConditionResult(
            code, text, "missing", None, True, "==", "", False, (f"judgements.{name}",)
        )
    return ConditionResult(code, text, "pass" if flag else "fail", flag, True, "==")


def _combine_all(verdicts: Iterable[Verdict]) -> Verdict:
    result: Verdict = "pass"
    for v in verdicts:
        if v == "fail":
            return "fail"
        if v == "missing":
            result = "missing"
    return result


def _combine_any(verdicts: Iterable[Verdict]) -> Verdict:
    result: Verdict = "fail"
    for v in verdicts:
        if v == "pass":
            return "pass"
        if v == "missing":
            result = "missing"
    return result


def _composite(
    code: str,
    label: str,
    how: Literal["all", "any"],
    parts: Sequence[ConditionResult],
    *,
    value: Value = None,
    unit: str = "",
    on_edge: bool = False,
    lead: str = "",
) -> ConditionResult:
    """All (or any one) of the parts; missing data count only where they could change it."""
    verdicts = [p.verdict for p in parts]
    verdict = _combine_all(verdicts) if how == "all" else _combine_any(verdicts)
    missing: tuple[str, ...] = ()
    if verdict == "missing":
        missing = tuple(
            dict.fromkeys(m for p in parts if p.verdict == "missing" for m in p.missing_inputs)
        )
    return ConditionResult(
        code, label, verdict, value, None, how, unit, on_edge, missing, tuple(parts), lead
    )


def _window(ctx: _Ctx, years: int) -> range:
    """The window of "近N年": the N fiscal years up to and including the evaluated one."""
    return range(ctx.year - years + 1, ctx.year + 1)


def _span(ctx: _Ctx, years: int) -> str:
    return _span_text(ctx.year, years)


@functools.lru_cache(maxsize=64)
def _span_text(year: int, years: int) -> str:
    return f"{year - years + 1}–{year}年" if years > 1 else f"{year}年"


def _total_at_least(
    ctx: _Ctx, code: str, label: str, name: str, years: int, threshold: Decimal
) -> ConditionResult:
    """A total over the last years ≥ threshold: it passes on the known years once they reach it
    (the figures summed, equity financing and R&D expense, are never negative)."""
    total = _ZERO
    missing: list[str] = []
    for y in _window(ctx, years):
        value = ctx.figure(y, name)
        if value is None:
            missing.append(_path(y, name))
        else:
            total += value
    if missing and total < threshold:
        detail = f"已知合计{_fmt(total)}万元"
        return ConditionResult(
            code,
            label,
            "missing",
            total,
            threshold,
            ">=",
            "万元",
            False,
            tuple(missing),
            (),
            detail,
        )
    return _threshold(code, label, _Measured(total), ">=", threshold, "万元")


def _award_check(
    ctx: _Ctx, code: str, label: str, rank_max: Mapping[str, int | None], years: int
) -> ConditionResult:
    """An S&T award of a listed level in the window, ranked high enough where rank matters."""
    awards = ctx.facts.awards
    if awards is None:
        return ConditionResult(code, label, "missing", missing_inputs=("awards",))
    window = _window(ctx, years)
    unranked = ""
    for award in awards:
        if award.year not in window or award.level not in rank_max:
            continue
        limit = rank_max[award.level]
        level_zh = _LEVEL_ZH[award.level]
        if limit is None or (award.unit_rank is not None and award.unit_rank <= limit):
            rank = f"（第{award.unit_rank}完成单位）" if award.unit_rank else ""
            found = f"{award.year}年{level_zh}科技奖励{rank}"
            return ConditionResult(code, label, "pass", found, detail_zh=found)
        if award.unit_rank is None:
            unranked = f"{award.year}年{level_zh}科技奖励未录入完成单位排名"
    if unranked:
        return ConditionResult(
            code, label, "missing", missing_inputs=("awards",), detail_zh=unranked
        )
    detail = f"{_span(ctx, years)}无符合条件的科技奖励"
    return ConditionResult(code, label, "fail", detail_zh=detail)


def _contest_check(ctx: _Ctx, code: str, label: str, top: int, years: int) -> ConditionResult:
    """A national placing in the 创客中国 contest within the window."""
    contests = ctx.facts.contests
    if contests is None:
        return ConditionResult(code, label, "missing", None, top, missing_inputs=("contests",))
    placings = [c.national_top for c in contests if c.year in _window(ctx, years)]
    best = min(placings) if placings else None
    if best is not None and best <= top:
        return ConditionResult(code, label, "pass", best, top, detail_zh=f"全国{best}强")
    detail = f"{_span(ctx, years)}未进入全国{top}强"
    return ConditionResult(code, label, "fail", best, top, detail_zh=detail)


def _title_check(
    ctx: _Ctx, code: str, label: str, accepted: frozenset[str] | set[str]
) -> ConditionResult:
    """A title among `accepted`, valid on `today`."""
    titles = ctx.facts.titles
    if titles is None:
        return ConditionResult(code, label, "missing", missing_inputs=("titles",))
    for title in titles:
        if title.code in accepted and title.valid_on(ctx.today):
            held = f"持有{TIER_NAMES_ZH.get(title.code, title.code)}称号"
            return ConditionResult(code, label, "pass", title.code, detail_zh=held)
    return ConditionResult(code, label, "fail", detail_zh=f"截至{ctx.today}未持有有效称号")


def _rd_institution_check(
    ctx: _Ctx, code: str, label: str, levels: frozenset[str] | None
) -> ConditionResult:
    """An R&D institution at one of the levels (None: at any level at all)."""
    level = ctx.facts.rd_institution
    if level is None:
        return ConditionResult(code, label, "missing", missing_inputs=("rd_institution",))
    ok = level != "none" if levels is None else level in levels
    verdict: Verdict = "pass" if ok else "fail"
    return ConditionResult(code, label, verdict, level, detail_zh=_LEVEL_ZH[level])


def _ip_check(ctx: _Ctx, code: str, label: str, field_name: str, minimum: int) -> ConditionResult:
    count = getattr(ctx.facts.ip, field_name)
    measured = _Measured(count) if count is not None else _Measured(None, (f"ip.{field_name}",))
    return _threshold(code, label, measured, ">=", minimum, "项")


def _development_score(ctx: _Ctx, minimum: Decimal, review_years: int) -> ConditionResult:
    """This year's 专精特新发展评价得分 (keyed year + 1); on review, any of the last years."""
    if ctx.purpose == "review":
        years = [ctx.year + 1 - i for i in range(review_years)]
    else:
        years = [ctx.year + 1]
    parts = []
    for y in years:
        score = ctx.facts.development_scores.get(y)
        measured = (
            _Measured(Decimal(score))
            if score is not None
            else _Measured(None, (f"development_scores.{y}",))
        )
        # A single year is the condition itself, under the condition's stable code.
        code = f"development_score_{y}" if len(years) > 1 else "development_score"
        label = f"{y}年专精特新发展评价得分"
        parts.append(_threshold(code, label, measured, ">=", minimum, "分"))
    if len(parts) == 1:
        return parts[0]
    label = f"{years[-1]}–{years[0]}年任一年专精特新发展评价得分不低于{_limit(minimum)}分"
    return _composite("development_score", label, "any", parts)


def _prerequisite_check(ctx: _Ctx, rule: Prerequisite, version: str) -> ConditionResult | None:
    """The title an applicant must already hold; None where it does not apply (e.g. reviews)."""
    if ctx.purpose not in rule.purposes:
        return None
    # A higher tier's title also proves the lower rung (tiers do not stack).
    ranks = [TIER_RANK[t] for t in rule.titles if t in TIER_RANK]
    accepted = set(rule.titles)
    if ranks:
        accepted |= {t for t, r in TIER_RANK.items() if r > min(ranks)}
    label = f"申报前提：已获{_names_zh(rule.titles)}称号"
    held = _title_check(ctx, "prerequisite_title", label, accepted)
    if held.verdict != "fail" or rule.same_year_tier is None:
        return held
    # Or it applies for that tier in the same year: then it must qualify for that tier now.
    lower = _evaluate_with(ctx, rule.same_year_tier, version)
    lower_name = TIER_NAMES_ZH.get(rule.same_year_tier, rule.same_year_tier)
    verdict: Verdict
    if lower.verdict == "eligible":
        verdict, outcome = "pass", "符合"
    elif lower.verdict == "not_eligible":
        verdict, outcome = "fail", "不符合"
    else:
        verdict, outcome = "missing", "尚缺数据判断是否符合"
    lead = f"未持有该称号；同年一并申报{lower_name}，{outcome}其认定条件（{rule.source_zh}）"
    missing = (
        tuple(dict.fromkeys(m for c in lower.conditions for m in c.missing_inputs))
        if verdict == "missing"
        else ()
    )
    return ConditionResult(
        "prerequisite_title", label, verdict, None, None, None, "", False, missing, (held,), lead
    )


# --- The tiers ---------------------------------------------------------------------------------


class _Outcome:
    __slots__ = ("conditions", "conventions", "rule", "table")

    def __init__(
        self,
        rule: Literal["all", "any"],
        conditions: list[ConditionResult],
        conventions: tuple[str, ...],
        table: _Table | None = None,
    ) -> None:
        self.rule: Literal["all", "any"] = rule
        self.conditions = conditions
        self.conventions = conventions
        self.table = table


_BASE_CONVENTIONS = ("hard_thresholds_plain", "windows_in_fiscal_years", "judgement_facts_recorded")


def _conventions(conditions: list[ConditionResult], *extra: str) -> tuple[str, ...]:
    titles = ("higher_tier_title_counts",) if conditions[0].code == "prerequisite_title" else ()
    return (*extra, *_BASE_CONVENTIONS, "niche_years_to_year_end", *titles)


def _growth_convention(ctx: _Ctx) -> str:
    assert ctx.rule_set is not None
    return f"growth_{ctx.rule_set.growth_convention}"


def _growth_label(ctx: _Ctx, name: str) -> str:
    what = _FIGURE_ZH[name]
    if ctx.rule_set is not None and ctx.rule_set.growth_convention == "cagr":
        return f"近2年{what}复合增长率"
    return f"近2年{what}平均增长率"


def _niche_check(ctx: _Ctx, clause: str, minimum: Decimal) -> ConditionResult:
    label = f"{clause}截至{ctx.year}年末从事特定细分市场时间达到{_limit(minimum)}年以上"
    return _threshold("niche_years", label, _niche_years(ctx), ">=", minimum, "年")


def _revenue_or_equity(
    ctx: _Ctx, clause: str, revenue_min: Decimal, equity_min: Decimal, equity_years: int
) -> ConditionResult:
    """Revenue ≥ X, or (below X) enough equity financing: passing either settles it."""
    y = ctx.year
    label = (
        f"{clause}上年度营业收入不低于{_limit(revenue_min)}万元，或近{equity_years}年新增股权融资"
        f"总额（合格机构投资者实缴）不低于{_limit(equity_min)}万元"
    )
    revenue = _threshold(
        "revenue_amount",
        f"{y}年营业收入",
        _figure(ctx, y, "operating_revenue"),
        ">=",
        revenue_min,
        "万元",
    )
    equity = _total_at_least(
        ctx,
        "revenue_alt_equity",
        f"{_span(ctx, equity_years)}新增股权融资总额",
        "new_equity_financing",
        equity_years,
        equity_min,
    )
    return _composite("revenue", label, "any", [revenue, equity])


def _rd_ratio_years(ctx: _Ctx, years: int, minimum: Decimal) -> list[ConditionResult]:
    """R&D expense / operating revenue ≥ minimum in each of the last years."""
    return [
        _threshold(
            f"rd_ratio_{y}",
            f"{y}年研发费用占营业收入比重",
            _ratio(ctx, y, "rd_expense", "operating_revenue"),
            ">=",
            minimum,
            "%",
        )
        for y in _window(ctx, years)
    ]


def _innovative_sme_2022(ctx: _Ctx, c: InnovativeSme2022, version: str) -> _Outcome:
    table = _Table(ctx, c.score)
    score_route = _composite(
        "score_route",
        f"评价得分：总分不低于{_fmt(c.score.pass_total)}分，且各类指标得分达到要求",
        "all",
        [table.total_check, *table.checks],
    )
    equity_label = (
        f"近{c.direct_equity_years}年新增股权融资总额（合格机构投资者实缴）"
        f"不低于{_limit(c.direct_equity_min)}万元"
    )
    direct = _composite(
        "direct_route",
        "直通条件（满足其一）",
        "any",
        [
            _award_check(
                ctx,
                "direct_award",
                f"近{c.direct_award_years}年获得{_names_zh(c.direct_award_levels)}科技奖励",
                dict.fromkeys(c.direct_award_levels),
                c.direct_award_years,
            ),
            _title_check(
                ctx,
                "direct_title",
                f"拥有有效的{_names_zh(c.direct_titles)}称号",
                c.direct_titles,
            ),
            _rd_institution_check(
                ctx,
                "direct_rd_institution",
                "拥有经认定的省部级以上研发机构",
                c.direct_rd_institution_levels,
            ),
            _total_at_least(
                ctx,
                "direct_equity",
                equity_label,
                "new_equity_financing",
                c.direct_equity_years,
                c.direct_equity_min,
            ),
        ],
    )
    conventions = ("edge_scores_higher_band", *_BASE_CONVENTIONS)
    return _Outcome("any", [score_route, direct], conventions, table)


def _specialized_sme_2022(ctx: _Ctx, c: SpecializedSme2022, version: str) -> _Outcome:
    y = ctx.year
    conditions: list[ConditionResult] = []
    prerequisite = _prerequisite_check(ctx, c.prerequisite, version)
    if prerequisite is not None:
        conditions.append(prerequisite)
    conditions.append(_niche_check(ctx, "条件一：", c.niche_years_min))
    rd_label = (
        f"条件二：上年度研发费用总额不低于{_limit(c.rd_expense_min)}万元，"
        f"且占营业收入总额比重不低于{_limit(c.rd_ratio_min)}%"
    )
    rd_amount = _threshold(
        "rd_expense_amount",
        f"{y}年研发费用",
        _figure(ctx, y, "rd_expense"),
        ">=",
        c.rd_expense_min,
        "万元",
    )
    rd_ratio = _threshold(
        "rd_expense_ratio",
        f"{y}年研发费用占营业收入比重",
        _m_rd_ratio(ctx),
        ">=",
        c.rd_ratio_min,
        "%",
    )
    conditions.append(_composite("rd_expense", rd_label, "all", [rd_amount, rd_ratio]))
    conditions.append(
        _revenue_or_equity(
            ctx, "条件三：", c.revenue_min, c.revenue_alt_equity_min, c.revenue_alt_equity_years
        )
    )
    table = _Table(ctx, c.score)
    rd_total = _ZERO
    rd_missing: list[str] = []
    for year in _window(ctx, c.alt_rd_average_years):
        amount = ctx.figure(year, "rd_expense")
        if amount is None:
            rd_missing.append(_path(year, "rd_expense"))
        else:
            rd_total += amount
    average = (
        _Measured(None, tuple(rd_missing))
        if rd_missing
        else _Measured(rd_total / c.alt_rd_average_years)
    )
    award_label = (
        f"近{c.alt_award_years}年获得省级科技奖励（前{c.alt_award_provincial_rank_max}名）"
        f"或国家级科技奖励（前{c.alt_award_national_rank_max}名）"
    )
    contest_label = (
        f"近{c.alt_contest_years}年在“创客中国”中小企业创新创业大赛中进入全国{c.alt_contest_top}强"
    )
    alternatives = [
        table.total_check,
        _award_check(
            ctx,
            "alt_award",
            award_label,
            {
                "provincial": c.alt_award_provincial_rank_max,
                "national": c.alt_award_national_rank_max,
            },
            c.alt_award_years,
        ),
        _threshold(
            "alt_rd_average",
            f"{_span(ctx, c.alt_rd_average_years)}研发费用年均",
            average,
            ">=",
            c.alt_rd_average_min,
            "万元",
        ),
        _total_at_least(
            ctx,
            "alt_equity",
            f"{_span(ctx, c.alt_equity_years)}新增股权融资总额",
            "new_equity_financing",
            c.alt_equity_years,
            c.alt_equity_min,
        ),
        _contest_check(ctx, "alt_contest", contest_label, c.alt_contest_top, c.alt_contest_years),
    ]
    label = f"条件四：评价得分达到{_fmt(c.score.pass_total)}分以上，或满足其一直通条件"
    conditions.append(_composite("evaluation", label, "any", alternatives))
    conventions = _conventions(conditions, "edge_scores_higher_band", _growth_convention(ctx))
    return _Outcome("all", conditions, conventions, table)


def _lg_innovation_rd(ctx: _Ctx, c: LittleGiant2022) -> ConditionResult:
    """(1) of the general innovation conditions: the R&D test depends on last year's revenue."""
    y = ctx.year
    label = "研发投入（按上年度营业收入分档）"
    revenue = ctx.figure(y, "operating_revenue")
    if revenue is None:
        missing = (_path(y, "operating_revenue"),)
        return ConditionResult(
            "innovation_rd", label, "missing", None, None, None, "万元", False, missing
        )
    high, mid = c.innovation_revenue_high, c.innovation_revenue_mid
    # Revenue exactly on 1亿 or 5000万 sits in the higher band (the band-edge convention).
    on_edge = revenue in (high, mid)
    edge = "，恰在分档边界，按较高档" if on_edge else ""
    if revenue >= high:
        lead = f"{y}年营业收入{_fmt(revenue)}万元（{_limit(high)}万元以上档{edge}）："
        parts = _rd_ratio_years(ctx, c.innovation_rd_ratio_years, c.innovation_rd_ratio_high)
    elif revenue >= mid:
        lead = f"{y}年营业收入{_fmt(revenue)}万元（{_limit(mid)}–{_limit(high)}万元档{edge}）："
        parts = _rd_ratio_years(ctx, c.innovation_rd_ratio_years, c.innovation_rd_ratio_mid)
    else:
        lead = f"{y}年营业收入{_fmt(revenue)}万元（不足{_limit(mid)}万元）："
        parts = [
            _total_at_least(
                ctx,
                "innovation_small_equity",
                f"{_span(ctx, c.innovation_small_equity_years)}新增股权融资总额",
                "new_equity_financing",
                c.innovation_small_equity_years,
                c.innovation_small_equity_min,
            ),
            _total_at_least(
                ctx,
                "innovation_small_rd_expense",
                f"{_span(ctx, c.innovation_small_rd_expense_years)}研发费用",
                "rd_expense",
                c.innovation_small_rd_expense_years,
                c.innovation_small_rd_expense_min,
            ),
            _threshold(
                "innovation_small_rd_staff",
                f"{y}年研发人员占职工总数比重",
                _m_rd_staff_ratio(ctx),
                ">=",
                c.innovation_small_rd_staff_ratio_min,
                "%",
            ),
        ]
    return _composite(
        "innovation_rd", label, "all", parts, value=revenue, unit="万元", on_edge=on_edge, lead=lead
    )


def _little_giant_2022(ctx: _Ctx, c: LittleGiant2022, version: str) -> _Outcome:
    y = ctx.year
    conditions: list[ConditionResult] = []
    prerequisite = _prerequisite_check(ctx, c.prerequisite, version)
    if prerequisite is not None:
        conditions.append(prerequisite)
    general = _composite(
        "innovation_general",
        "一般性条件（同时满足）",
        "all",
        [
            _lg_innovation_rd(ctx, c),
            _rd_institution_check(
                ctx, "rd_institution", "自建或与高校、科研机构联合建立研发机构", None
            ),
            _ip_check(
                ctx,
                "ip_class_i",
                "拥有应用于主导产品并实现产业化的Ⅰ类知识产权",
                c.ip_field,
                c.ip_min,
            ),
        ],
    )
    direct = _composite(
        "innovation_direct",
        "直通条件（满足其一）",
        "any",
        [
            _award_check(
                ctx,
                "direct_award",
                f"近{c.direct_award_years}年获得国家级科技奖励"
                f"（前{c.direct_award_national_rank_max}名）",
                {"national": c.direct_award_national_rank_max},
                c.direct_award_years,
            ),
            _contest_check(
                ctx,
                "direct_contest",
                f"近{c.direct_contest_years}年在“创客中国”大赛中进入全国{c.direct_contest_top}强",
                c.direct_contest_top,
                c.direct_contest_years,
            ),
        ],
    )
    conditions += [
        _niche_check(ctx, "专业化：", c.niche_years_min),
        _threshold(
            "main_business_share",
            f"专业化：{y}年主营业务收入占营业收入比重",
            _m_main_business_share(ctx),
            ">=",
            c.main_share_min,
            "%",
        ),
        _threshold(
            "growth_2y",
            f"专业化：{_growth_label(ctx, c.growth_of)}",
            _growth_2y(ctx, c.growth_of),
            ">=",
            c.growth_min,
            "%",
        ),
        _judge(ctx, "governance", "sound_governance_and_credit", "精细化：公司治理规范、信誉良好"),
        _judge(
            ctx,
            "info_system",
            "core_business_on_info_system",
            "精细化：至少一项核心业务采用信息系统支撑",
        ),
        _judge(
            ctx,
            "certification",
            "management_or_market_certification",
            "精细化：取得管理体系认证或发达国家和地区产品认证",
        ),
        _threshold(
            "liability_ratio",
            f"精细化：{y}年末资产负债率",
            _m_liability_ratio(ctx),
            "<=",
            c.liability_max,
            "%",
        ),
        _judge(
            ctx,
            "market_share",
            "domestic_share_10pct",
            "特色化：主导产品在细分市场全国占有率10%以上",
        ),
        _judge(ctx, "own_brand", "own_brand", "特色化：拥有直接面向市场并具有竞争优势的自主品牌"),
        _composite("innovation", "创新能力：一般性条件或直通条件", "any", [general, direct]),
        _judge(
            ctx,
            "chain_role",
            "chain_gap_filler",
            "产业链配套：位于产业链关键环节，补短板、锻长板、填空白",
        ),
        _judge(
            ctx,
            "field",
            "little_giant_field_2022",
            "主导产品所属领域：工业基础、制造强国或网络强国重点领域",
        ),
    ]
    conventions = _conventions(conditions, "edge_scores_higher_band", _growth_convention(ctx))
    return _Outcome("all", conditions, conventions)


def _specialized_sme_2026(ctx: _Ctx, c: SpecializedSme2026, version: str) -> _Outcome:
    y = ctx.year
    conditions: list[ConditionResult] = []
    prerequisite = _prerequisite_check(ctx, c.prerequisite, version)
    if prerequisite is not None:
        conditions.append(prerequisite)
    rd_parts: list[ConditionResult] = []
    for year in _window(ctx, c.rd_years):
        amount = _figure(ctx, year, "rd_expense")
        ratio = _ratio(ctx, year, "rd_expense", "operating_revenue")
        rd_parts += [
            _threshold(
                f"rd_expense_{year}", f"{year}年研发费用", amount, ">=", c.rd_expense_min, "万元"
            ),
            _threshold(
                f"rd_ratio_{year}",
                f"{year}年研发费用占营业收入比重",
                ratio,
                ">=",
                c.rd_ratio_min,
                "%",
            ),
        ]
    ip_alternatives = [
        _ip_check(
            ctx,
            "ip_class_i",
            "应用于主导产品并实现产业化的Ⅰ类知识产权（2026年口径）",
            c.ip_field,
            c.ip_min,
        ),
        _award_check(
            ctx,
            "ip_waiver_award",
            f"近{c.ip_waiver_award_years}年获得省级以上科技奖励"
            f"（前{c.ip_waiver_award_rank_max}名）",
            dict.fromkeys(c.ip_waiver_award_levels, c.ip_waiver_award_rank_max),
            c.ip_waiver_award_years,
        ),
        _rd_institution_check(
            ctx,
            "ip_waiver_rd_institution",
            "拥有省级以上研发机构",
            c.ip_waiver_rd_institution_levels,
        ),
    ]
    conditions += [
        _niche_check(ctx, "条件一：", c.niche_years_min),
        _revenue_or_equity(
            ctx, "条件二：", c.revenue_min, c.revenue_alt_equity_min, c.revenue_alt_equity_years
        ),
        _threshold(
            "main_business_share",
            f"条件二：{y}年主营业务收入占营业收入比重",
            _m_main_business_share(ctx),
            ">=",
            c.main_share_min,
            "%",
        ),
        _threshold(
            "liability_ratio",
            f"条件二：{y}年末资产负债率",
            _m_liability_ratio(ctx),
            "<=",
            c.liability_max,
            "%",
        ),
        _composite(
            "rd_expense",
            f"条件三：近{c.rd_years}年每年研发费用不低于{_limit(c.rd_expense_min)}万元，"
            f"且占营业收入比重不低于{_limit(c.rd_ratio_min)}%",
            "all",
            rd_parts,
        ),
        _composite(
            "ip",
            "条件四：拥有Ⅰ类知识产权，或获省级以上科技奖励（前三），或拥有省级以上研发机构",
            "any",
            ip_alternatives,
        ),
        _judge(
            ctx, "market_share", "market_share_fairly_high", "条件五：主导产品国内外市场占有率较高"
        ),
        _development_score(ctx, c.development_score_min, c.development_score_review_years),
    ]
    extra = ("review_score_either_year",) if ctx.purpose == "review" else ()
    return _Outcome("all", conditions, _conventions(conditions, *extra))


def _key_chain_link(ctx: _Ctx) -> ConditionResult:
    result = _judge(ctx, "key_chain_link", "key_chain_link")
    if result.verdict == "missing" and _flag(ctx, "chain_gap_filler") is True:
        # Filling a gap in a key link of the chain is being in a key link of the chain.
        detail = "是（已录入：在产业链关键环节补短板、锻长板、填空白）"
        return ConditionResult(
            "key_chain_link", result.label_zh, "pass", True, True, "==", detail_zh=detail
        )
    return result


def _little_giant_2026(ctx: _Ctx, c: LittleGiant2026, version: str) -> _Outcome:
    y = ctx.year
    conditions: list[ConditionResult] = []
    prerequisite = _prerequisite_check(ctx, c.prerequisite, version)
    if prerequisite is not None:
        conditions.append(prerequisite)
    conditions += [
        _niche_check(ctx, "条件一：", c.niche_years_min),
        _threshold(
            "revenue",
            f"条件二：{y}年营业收入",
            _figure(ctx, y, "operating_revenue"),
            ">=",
            c.revenue_min,
            "万元",
        ),
        _threshold(
            "main_business_share",
            f"条件二：{y}年主营业务收入占营业收入比重",
            _m_main_business_share(ctx),
            ">=",
            c.main_share_min,
            "%",
        ),
    ]
    extra: tuple[str, ...] = (_growth_convention(ctx),)
    if ctx.purpose == "application" or c.growth_tested_on_review:
        conditions.append(
            _threshold(
                "growth_2y",
                f"条件二：{_growth_label(ctx, c.growth_of)}",
                _growth_2y(ctx, c.growth_of),
                ">=",
                c.growth_min,
                "%",
            )
        )
    else:
        extra += ("review_growth_not_tested",)
    if ctx.purpose == "review":
        extra += ("review_score_either_year",)
    rd_total = _total_at_least(
        ctx,
        "rd_total",
        f"{_span(ctx, c.rd_total_years)}研发费用总额",
        "rd_expense",
        c.rd_total_years,
        c.rd_total_min,
    )
    ip_alternatives = [
        _ip_check(
            ctx,
            "ip_class_i",
            "应用于主导产品并实现产业化的Ⅰ类知识产权（2026年口径）",
            c.ip_field,
            c.ip_min,
        ),
        _award_check(
            ctx,
            "ip_waiver_award",
            f"近{c.ip_waiver_award_years}年获得国家级科技奖励（前{c.ip_waiver_award_rank_max}名）",
            dict.fromkeys(c.ip_waiver_award_levels, c.ip_waiver_award_rank_max),
            c.ip_waiver_award_years,
        ),
    ]
    conditions += [
        _threshold(
            "liability_ratio",
            f"条件二：{y}年末资产负债率",
            _m_liability_ratio(ctx),
            "<=",
            c.liability_max,
            "%",
        ),
        _composite(
            "rd_expense",
            f"条件三：近{c.rd_total_years}年研发费用总额不低于{_limit(c.rd_total_min)}万元，"
            f"且每年占营业收入比重不低于{_limit(c.rd_ratio_min)}%",
            "all",
            [rd_total, *_rd_ratio_years(ctx, c.rd_total_years, c.rd_ratio_min)],
        ),
        _composite(
            "ip",
            f"条件四：拥有{c.ip_min}项以上Ⅰ类知识产权，或获国家级科技奖励（前三）",
            "any",
            ip_alternatives,
        ),
        _composite(
            "market_share",
            "条件五：细分市场国内或国外占有率10%以上，或国内排名前三",
            "any",
            [
                _judge(ctx, "domestic_share_10pct", "domestic_share_10pct"),
                _judge(ctx, "foreign_share_10pct", "foreign_share_10pct"),
                _judge(ctx, "domestic_top3", "domestic_top3"),
            ],
        ),
        _composite(
            "field",
            "条件六：主导产品属于重点领域，且位于产业链关键环节",
            "all",
            [_judge(ctx, "field_2026", "little_giant_field_2026"), _key_chain_link(ctx)],
        ),
        _development_score(ctx, c.development_score_min, c.development_score_review_years),
    ]
    return _Outcome("all", conditions, _conventions(conditions, *extra))


_RULES: Mapping[type[Any], Callable[[_Ctx, Any, str], _Outcome]] = {
    InnovativeSme2022: _innovative_sme_2022,
    SpecializedSme2022: _specialized_sme_2022,
    LittleGiant2022: _little_giant_2022,
    SpecializedSme2026: _specialized_sme_2026,
    LittleGiant2026: _little_giant_2026,
}


# --- Choosing the version and evaluating -------------------------------------------------------


def resolve_version(
    tier: str, version: str, rule_sets: Mapping[str, RuleSet] | None = None
) -> tuple[str, TierCriteria]:
    """The version whose criteria a tier uses under `version` (following `same_as`)."""
    sets = default_rule_sets() if rule_sets is None else rule_sets
    seen: set[str] = set()
    while True:
        if version not in sets:
            raise ValueError(f"unknown rule version {version!r}; known: {sorted(sets)}")
        rule_set = sets[version]
        if tier in rule_set.tiers:
            return version, rule_set.tiers[tier]
        if tier not in rule_set.same_as or version in seen:
            raise ValueError(f"rule version {version!r} does not define tier {tier!r}")
        seen.add(version)
        version = rule_set.same_as[tier]


def choose_version(
    tier: str,
    *,
    today: date,
    purpose: Purpose = "application",
    designated_on: date | None = None,
    rule_sets: Mapping[str, RuleSet] | None = None,
) -> str:
    """The version for a case: for an application the one in force on `today`, for a review the
    one in force when the reviewed title was designated (`designated_on`)."""
    sets = default_rule_sets() if rule_sets is None else rule_sets
    if purpose == "application":
        when = today
    elif purpose == "review":
        if designated_on is None:
            raise ValueError("a review needs the date the reviewed title was designated")
        when = designated_on
    else:
        raise ValueError(f"purpose must be 'application' or 'review', not {purpose!r}")
    # Only versions that define the tier themselves compete: one that defers ("same_as") leaves
    # the older version in force for that tier (the innovative SME under MIIT-2026).
    defining = sorted(
        (rs for rs in sets.values() if tier in rs.tiers),
        key=lambda rs: rs.in_force_from or date.min,
    )
    if not defining:
        raise ValueError(f"no rule version defines tier {tier!r}")
    chosen = defining[0]
    for rule_set in defining[1:]:
        if rule_set.in_force_from is None or rule_set.in_force_from <= when:
            chosen = rule_set
    return chosen.version


def _evaluate_with(ctx: _Ctx, tier: str, version: str) -> TierEvaluation:
    used_version, criteria = resolve_version(tier, version, ctx.rule_sets)
    key = (tier, used_version)
    done = ctx.done.get(key)
    if done is not None:
        return done
    outer = ctx.rule_set
    ctx.rule_set = ctx.rule_sets[used_version]
    try:
        outcome = _RULES[type(criteria)](ctx, criteria, used_version)
    finally:
        ctx.rule_set = outer
    verdicts = [c.verdict for c in outcome.conditions]
    combined = _combine_all(verdicts) if outcome.rule == "all" else _combine_any(verdicts)
    table = outcome.table
    evaluation = TierEvaluation(
        tier,
        used_version,
        ctx.purpose,
        _TIER_VERDICT[combined],
        outcome.rule,
        tuple(outcome.conditions),
        table.indicators if table else (),
        table.group_points if table else {},
        table.total if table else None,
        outcome.conventions,
    )
    ctx.done[key] = evaluation
    return evaluation


_TIER_VERDICT: Mapping[Verdict, TierVerdict] = {
    "pass": "eligible",
    "fail": "not_eligible",
    "missing": "missing_data",
}


def _version_for(ctx: _Ctx, tier: str, version: str | None, designated_on: date | None) -> str:
    if tier not in TIER_RANK:
        raise ValueError(f"unknown tier {tier!r}; evaluable tiers: {TIERS}")
    if version is not None:
        return version
    if ctx.purpose == "review" and designated_on is None:
        # The reviewed title's own designation date decides the cohort's rules.
        dates = [t.designated_on for t in ctx.facts.titles or () if t.code == tier]
        designated_on = max((d for d in dates if d is not None), default=None)
    return choose_version(
        tier,
        today=ctx.today,
        purpose=ctx.purpose,
        designated_on=designated_on,
        rule_sets=ctx.rule_sets,
    )


def evaluate_tier(
    tier: str,
    facts: EnterpriseFacts,
    *,
    year: int,
    today: date,
    version: str | None = None,
    purpose: Purpose = "application",
    designated_on: date | None = None,
    rule_sets: Mapping[str, RuleSet] | None = None,
) -> TierEvaluation:
    """One tier's verdict on fiscal year `year` (the standards' "上年度"), as of `today`.

    Without `version` the rule version comes from `choose_version`; for a review the
    designation date defaults to that of the enterprise's title for the tier.
    """
    sets = default_rule_sets() if rule_sets is None else rule_sets
    ctx = _Ctx(facts, year, today, purpose, sets)
    with localcontext(_CONTEXT):
        return _evaluate_with(ctx, tier, _version_for(ctx, tier, version, designated_on))


def evaluate(
    facts: EnterpriseFacts,
    *,
    year: int,
    today: date,
    version: str | None = None,
    purpose: Purpose = "application",
    designated_on: date | None = None,
    tiers: Sequence[str] = TIERS,
    rule_sets: Mapping[str, RuleSet] | None = None,
) -> Evaluation:
    """Every tier's verdict on fiscal year `year`, lowest rung first (see `evaluate_tier`)."""
    sets = default_rule_sets() if rule_sets is None else rule_sets
    ctx = _Ctx(facts, year, today, purpose, sets)
    with localcontext(_CONTEXT):
        results = tuple(
            _evaluate_with(ctx, tier, _version_for(ctx, tier, version, designated_on))
            for tier in tiers
        )
    return Evaluation(year, today, purpose, results)


def evaluate_many(
    enterprises: Iterable[EnterpriseFacts],
    *,
    year: int,
    today: date,
    version: str | None = None,
    purpose: Purpose = "application",
    tiers: Sequence[str] = TIERS,
    rule_sets: Mapping[str, RuleSet] | None = None,
) -> Iterator[Evaluation]:
    """`evaluate` for a stream of enterprises: the bulk path, choosing versions once, not per
    enterprise (a review's version still follows each enterprise's own designation date)."""
    sets = default_rule_sets() if rule_sets is None else rule_sets
    unknown = [t for t in tiers if t not in TIER_RANK]
    if unknown:
        raise ValueError(f"unknown tiers {unknown}; evaluable tiers: {TIERS}")
    chosen: dict[str, str] = {}
    if purpose == "application":
        chosen = {t: version or choose_version(t, today=today, rule_sets=sets) for t in tiers}
    for facts in enterprises:
        ctx = _Ctx(facts, year, today, purpose, sets)
        # Entered per enterprise, not around the loop: a generator must not leave its decimal
        # context active in the caller's code between two items.
        with localcontext(_CONTEXT):
            results = tuple(
                _evaluate_with(ctx, t, chosen.get(t) or _version_for(ctx, t, version, None))
                for t in tiers
            )
        yield Evaluation(year, today, purpose, results)
