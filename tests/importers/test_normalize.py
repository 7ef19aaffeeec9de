"""Properties of the cell normalisers: idempotent, width-blind, separator- and unit-aware."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from importers.normalize import (
    ChainMatcher,
    DistrictMatcher,
    PartialDate,
    SubsectorMatcher,
    TierMatcher,
    ValueProblem,
    cell_text,
    fold,
    from_excel_serial,
    header_year,
    parse_bool,
    parse_count,
    parse_date,
    parse_money,
    to_excel_serial,
)
from importers.vocab import Vocabulary


def fullwidth(text: str) -> str:
    """ASCII to its full-width form, as Chinese input methods type it."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


money = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False
)
dates = st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2199, 12, 31))


@given(money)
def test_money_text_round_trips_and_is_idempotent(value: Decimal) -> None:
    parsed = parse_money(str(value))
    assert parsed == value
    assert parse_money(str(parsed)) == parsed


@given(money)
def test_full_width_digits_read_as_half_width(value: Decimal) -> None:
    assert parse_money(fullwidth(str(value))) == value


@given(money)
@example(Decimal("1234.5"))
@example(Decimal("-1234567.89"))
def test_thousands_separators(value: Decimal) -> None:
    grouped = f"{value:,}"
    assert parse_money(grouped) == value
    assert parse_money(grouped.replace(",", "，")) == value  # full-width comma


@given(st.decimals(min_value=0, max_value=Decimal("1e9"), places=4, allow_nan=False))
def test_units_convert_into_wan_yuan(value: Decimal) -> None:
    assert parse_money(f"{value}万元") == value
    assert parse_money(f"{value}万") == value
    assert parse_money(f"{value}亿元") == value * 10000
    assert parse_money(f"{value}元") == value / 10000
    assert parse_money(str(value), "元") == value / 10000


def test_money_examples() -> None:
    assert parse_money("1,234.5") == Decimal("1234.5")
    assert parse_money("1234.5万元") == Decimal("1234.5")
    assert parse_money("１２３４．５") == Decimal("1234.5")
    assert parse_money(" 1 234.5 ") == Decimal("1234.5")
    assert parse_money("(12.5)") == Decimal("-12.5")
    assert parse_money(1234.5) == Decimal("1234.5")
    assert parse_money(0.1 + 0.2) == Decimal("0.3")  # Excel's 15 digits, not the float's tail
    assert parse_money(12345, "元") == Decimal("1.2345")
    assert parse_money(50000, "元") == Decimal(5)
    for empty in (None, "", " ", "-", "—", "无", "/"):
        assert parse_money(empty) is None
    for bad in ("1,2", "12a", "1.2.3", "+1+2", "=1+2", "1e", True):
        with pytest.raises(ValueProblem):
            parse_money(bad)
    with pytest.raises(ValueProblem):
        parse_money(dt.date(2021, 1, 1))


@given(st.integers(min_value=0, max_value=10**9))
def test_counts(value: int) -> None:
    assert parse_count(str(value)) == value
    assert parse_count(f"{value}人") == value
    assert parse_count(fullwidth(str(value))) == value
    assert parse_count(float(value)) == value
    assert parse_count(f"{value:,}") == value


def test_counts_must_be_whole() -> None:
    with pytest.raises(ValueProblem) as info:
        parse_count("12.5")
    assert info.value.code == "NUMBER_NOT_INTEGER"


# A bare number from 1800 to 2200 in a date column is a year, so serials of 1904-1906 are not
# dates; real date cells arrive as dates anyway.
@given(st.dates(min_value=dt.date(1906, 2, 1), max_value=dt.date(2199, 12, 31)))
def test_excel_serials_round_trip(day: dt.date) -> None:
    serial = to_excel_serial(day)
    assert from_excel_serial(serial) == day
    assert parse_date(float(serial)) == PartialDate(day)
    assert parse_date(serial + 0.75) == PartialDate(day)  # a time of day is dropped


@given(dates)
def test_written_dates(day: dt.date) -> None:
    y, m, d = day.year, day.month, day.day
    for text in (
        day.isoformat(),
        f"{y}/{m}/{d}",
        f"{y}.{m}.{d}",
        f"{y}年{m}月{d}日",
        f"{y}年{m:02d}月{d:02d}日",
        f"{y}{m:02d}{d:02d}",
        f"{day.isoformat()} 00:00:00",
        fullwidth(day.isoformat()),
    ):
        assert parse_date(text) == PartialDate(day), text
    assert parse_date(f"{y}.{m}") == PartialDate(dt.date(y, m, 1), "month")
    assert parse_date(f"{y}年{m}月") == PartialDate(dt.date(y, m, 1), "month")
    assert parse_date(f"{y}年") == PartialDate(dt.date(y, 1, 1), "year")
    assert parse_date(str(y)) == PartialDate(dt.date(y, 1, 1), "year")
    assert parse_date(y) == PartialDate(dt.date(y, 1, 1), "year")
    assert parse_date(dt.datetime.combine(day, dt.time(13, 5))) == PartialDate(day)


def test_date_examples() -> None:
    assert parse_date(2021.3) == PartialDate(dt.date(2021, 3, 1), "month")
    assert parse_date(2021.12) == PartialDate(dt.date(2021, 12, 1), "month")
    assert parse_date("2021年度") == PartialDate(dt.date(2021, 1, 1), "year")
    assert parse_date("44256") == PartialDate(dt.date(2021, 3, 1))
    for bad in ("2021-02-30", "2021-13-01", "明年", "3/5/2021", "0", True):
        with pytest.raises(ValueProblem):
            parse_date(bad)


def test_header_years() -> None:
    assert header_year("2024年营业收入") == (2024, "营业收入")
    assert header_year("营业收入（2023年度）") == (2023, "营业收入()")
    assert header_year("营业收入") == (None, "营业收入")


def test_booleans() -> None:
    for yes in ("是", "Y", "yes", "√", "1", 1, True, "ＹＥＳ"):
        assert parse_bool(yes) is True
    for no in ("否", "N", "×", "0", 0, False):
        assert parse_bool(no) is False
    assert parse_bool("") is None
    with pytest.raises(ValueProblem):
        parse_bool("也许")


def test_cell_text_keeps_what_the_user_sees() -> None:
    assert cell_text(13800138000.0) == "13800138000"
    assert cell_text(1234.5) == "1234.5"
    assert cell_text('  =HYPERLINK("x")  ') == '=HYPERLINK("x")'
    assert cell_text(dt.datetime.combine(dt.date(2021, 3, 5), dt.time())) == "2021-03-05"
    assert cell_text(None) == ""


@given(st.text(max_size=40))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20))
def test_fold_makes_full_width_half_width(text: str) -> None:
    assert fold(fullwidth(text)) == fold(text)


# -- vocabulary ------------------------------------------------------------------------------


QUOTES = [("“", "”"), ("「", "」"), ('"', '"'), ("‘", "’"), ("『", "』"), ("", ""), ("＂", "＂")]


@given(
    quotes=st.sampled_from(QUOTES),
    suffix=st.sampled_from(["", "企业"]),
    prefix=st.sampled_from(["", " ", "国家级"]),
)
def test_little_giant_in_any_quote_style(
    quotes: tuple[str, str], suffix: str, prefix: str, vocab: Vocabulary
) -> None:
    tiers = TierMatcher(vocab.tiers)
    open_, close = quotes
    text = f"{prefix}专精特新{open_}小巨人{close}{suffix}"
    assert tiers.match(text) == "little_giant"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("创新型", "innovative_sme"),
        ("创新型中小企业", "innovative_sme"),
        ("市级专精特新", "specialized_sme"),
        ("专精特新中小企业", "specialized_sme"),
        ("专精特新企业", "specialized_sme"),
        ("小巨人", "little_giant"),
        ("国家级专精特新“小巨人”企业", "little_giant"),
        ("国家级小巨人", "little_giant"),
        ("上市公司", "listed"),
        ("little_giant", "little_giant"),
        (" 小 巨 人 ", "little_giant"),
    ],
)
def test_tier_spellings(text: str, code: str, vocab: Vocabulary) -> None:
    assert TierMatcher(vocab.tiers).match(text) == code


def test_municipal_little_giant_is_not_the_national_one(vocab: Vocabulary) -> None:
    tiers = TierMatcher(vocab.tiers)
    assert tiers.match("市级小巨人") is None
    assert tiers.problem("市级小巨人").code == "TIER_UNKNOWN"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("大渡口区", "500104"),
        ("大渡口", "500104"),
        ("重庆市大渡口区", "500104"),
        ("500104", "500104"),
        ("石柱县", "500240"),
        ("石柱", "500240"),
        ("石柱土家族自治县", "500240"),
        ("秀山", "500241"),
        ("忠县", "500233"),
        ("两江新区", "Z001"),
        ("两江", "Z001"),
        ("高新区", "Z002"),
        ("重庆高新区", "Z002"),
        ("万盛经开区", "Z003"),
        ("万盛经济技术开发区", "Z003"),
        ("万盛", "Z003"),
        ("ｊ江北区".replace("ｊ", ""), "500105"),
    ],
)
def test_district_names_and_aliases(text: str, code: str, vocab: Vocabulary) -> None:
    assert DistrictMatcher(vocab.districts).match(text) == code


@given(index=st.sampled_from(list(range(41))))
def test_every_district_without_its_suffix(index: int, vocab: Vocabulary) -> None:
    districts = DistrictMatcher(vocab.districts)
    d = vocab.districts[index]
    for name in (d.name, *d.aliases):
        for suffix in ("区", "县"):
            if name.endswith(suffix) and len(name) > 2:
                assert districts.match(name[: -len(suffix)]) == d.code


def test_district_in_a_title(vocab: Vocabulary) -> None:
    districts = DistrictMatcher(vocab.districts)
    assert districts.find_in("填报单位（盖章）：重庆市大渡口区经济和信息化委员会") == "500104"
    assert districts.find_in("填报单位：重庆市经济和信息化委员会  电话 13500101234") is None
    assert districts.find_in("大渡口区、九龙坡区联合名单") is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("镁合金", "A1.02"),
        ("铜基材料(精品铜材)", "A1.04"),
        ("铜基材料（精品铜材）", "A1.04"),
        ("铜基材料", "A1.04"),
        ("精品铜材", "A1.04"),
        ("PMMA", "A3.05"),
        ("pmma", "A3.05"),
        ("金属有机框架材料（MOFs）", "B2.06"),
        ("风电材料", "B1.01"),
        ("A1.02", "A1.02"),
        (" 石墨烯 ", "C2.01"),
    ],
)
def test_subsector_names_and_aliases(text: str, code: str, vocab: Vocabulary) -> None:
    assert SubsectorMatcher(vocab.subsectors).match(text) == code


def test_subsector_near_miss_suggests_the_closest_name(vocab: Vocabulary) -> None:
    subsectors = SubsectorMatcher(vocab.subsectors)
    assert subsectors.match("镁合金材料") is None
    problem = subsectors.problem("镁合金材料")
    assert problem.code == "SUBSECTOR_UNKNOWN"
    assert "是否为“镁合金”" in problem.message
    industry = subsectors.problem("先进钢铁材料")
    assert industry.code == "SUBSECTOR_IS_INDUSTRY"
    assert "优特钢" in industry.message
    assert "是否为" not in subsectors.problem("量子计算机").message


# -- properties of the remaining normalisers ------------------------------------------------

label_text = st.text(
    alphabet=st.sampled_from("营业收入研发费用从业人员主营业务资产负债总额（）()"),
    min_size=1,
    max_size=12,
)


@given(year=st.integers(min_value=1900, max_value=2099), label=label_text, form=st.integers(0, 3))
def test_header_year_finds_the_year_wherever_it_is_written(
    year: int, label: str, form: int
) -> None:
    written = [
        f"{year}年{label}",
        f"{label}（{year}年度）",
        f"{fullwidth(str(year))}年 {label}",
        f"{label}{year}年",
    ][form]
    found, rest = header_year(written)
    assert found == year
    assert str(year) not in rest
    assert header_year(label) == (None, fold(label))


TRUE_WORDS = ["是", "Y", "YES", "TRUE", "√", "1", "重点", "对"]
FALSE_WORDS = ["否", "N", "NO", "FALSE", "×", "0", "非重点", "不是", "无"]


@given(
    word=st.sampled_from([(w, True) for w in TRUE_WORDS] + [(w, False) for w in FALSE_WORDS]),
    width=st.booleans(),
    lower=st.booleans(),
    pad=st.sampled_from(["", " ", "\u3000", "  "]),
)
def test_parse_bool_is_blind_to_width_case_and_padding(
    word: tuple[str, bool], width: bool, lower: bool, pad: str
) -> None:
    text, meaning = word
    text = text.lower() if lower else text
    text = fullwidth(text) if width else text
    assert parse_bool(f"{pad}{text}{pad}") is meaning


@given(st.text(max_size=8))
def test_parse_bool_answers_or_names_the_problem(text: str) -> None:
    folded = "".join(fold(text).split()).upper()
    known = {w.upper() for w in (*TRUE_WORDS, *FALSE_WORDS, "✓", "✔", "✗", "✘", "重点企业")}
    if folded and folded not in known:
        with pytest.raises(ValueProblem) as problem:
            parse_bool(text)
        assert problem.value.code == "BOOL_INVALID"
    else:
        assert parse_bool(text) in (True, False, None)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_cell_text_writes_integers_as_digits(n: int) -> None:
    assert cell_text(n) == str(n)
    assert cell_text(float(n)) == str(n)  # a phone number typed as a number stays digits


@given(st.floats(min_value=-9.99999999999999e307, max_value=9.99999999999999e307))
@example(999999999999999.5)  # rounds to a whole 1e15 at 15 digits
@example(-1234567890123456.5)
def test_cell_text_of_a_float_reads_back_as_the_same_cell_text(x: float) -> None:
    """Any number a cell can hold (Excel's largest is 9.99999999999999E+307)."""
    shown = cell_text(x)
    assert cell_text(float(shown)) == shown  # Excel's 15 significant digits, stable


@given(st.text(max_size=20))
def test_cell_text_of_text_is_the_text_stripped(text: str) -> None:
    assert cell_text(text) == text.strip()


def _decorate(name: str, width: bool, pad: str, quotes: tuple[str, str]) -> str:
    text = fullwidth(name) if width else name
    return f"{pad}{quotes[0]}{text}{quotes[1]}{pad}"


@given(
    index=st.integers(min_value=0, max_value=10_000),
    width=st.booleans(),
    pad=st.sampled_from(["", " ", "\u3000"]),
    quotes=st.sampled_from(QUOTES),
)
def test_every_subsector_name_and_alias_however_written(
    vocab: Vocabulary, index: int, width: bool, pad: str, quotes: tuple[str, str]
) -> None:
    subsectors = SubsectorMatcher(vocab.subsectors)
    s = vocab.subsectors[index % len(vocab.subsectors)]
    for name in (s.code, s.name, *s.aliases):
        assert subsectors.match(_decorate(name, width, pad, quotes)) == s.code, name


@given(st.text(max_size=16))
def test_any_subsector_text_is_a_code_or_a_named_problem(vocab: Vocabulary, text: str) -> None:
    subsectors = SubsectorMatcher(vocab.subsectors)
    code = subsectors.match(text)
    if code is None:
        assert subsectors.problem(text).code in {"SUBSECTOR_UNKNOWN", "SUBSECTOR_IS_INDUSTRY"}
    else:
        assert code in subsectors.by_code


@given(
    index=st.integers(min_value=0, max_value=100),
    width=st.booleans(),
    pad=st.sampled_from(["", " ", "\u3000"]),
    quotes=st.sampled_from(QUOTES),
)
def test_every_chain_position_however_written(
    vocab: Vocabulary, index: int, width: bool, pad: str, quotes: tuple[str, str]
) -> None:
    chain = ChainMatcher(vocab.chain_positions)
    p = vocab.chain_positions[index % len(vocab.chain_positions)]
    for name in (p.code, p.name, *p.aliases):
        assert chain.match(_decorate(name, width, pad, quotes)) == p.code, name
    assert chain.match("不是产业链环节") is None
