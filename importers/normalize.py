"""Pure normalisers for roster cells: text, numbers, dates, booleans, and vocabulary matchers."""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from importers.vocab import ChainPosition, District, Subsector, Tier

Cell = str | int | float | bool | dt.date | dt.datetime | dt.time | dt.timedelta | Decimal | None


class ValueProblem(Exception):
    """A cell value that cannot be normalised: a stable code and a Chinese explanation."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


_SPACES = re.compile(r"\s+")
# Characters that look like nothing and that copy-paste from web pages and PDFs leaves behind.
_INVISIBLE_CHARS = frozenset("\u200b\u200c\u200d\u2060\ufeff")
_INVISIBLE = dict.fromkeys(map(ord, _INVISIBLE_CHARS), None)


def fold(text: str) -> str:
    """Full-width to half-width (NFKC), invisible characters dropped, whitespace runs collapsed."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():  # the invisible characters are all outside ASCII
        text = text.translate(_INVISIBLE)
    if " " not in text and text.isprintable():
        # Every whitespace character but the space is unprintable: nothing to collapse or strip.
        return text
    return _SPACES.sub(" ", text).strip()


def squeeze(text: str) -> str:
    """`fold` without any whitespace at all: the form used to compare labels and names."""
    return "".join(fold(text).split())


def is_blank(value: Cell) -> bool:
    """True for an empty cell or one holding only whitespace."""
    if value is None:
        return True
    if isinstance(value, str):
        text = value.strip()
        if text and text[0] not in _INVISIBLE_CHARS:
            return False  # its first visible character survives the translation below
        return not text.translate(_INVISIBLE).strip()
    return False


def cell_text(value: Cell) -> str:
    """A cell as the text a person reads in it; numbers keep Excel's 15 significant digits."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        text = format(value, ".15g")
        # Rounded to 15 digits it may become whole (999999999999999.5 gives "1e+15"): shown
        # as the whole number is, so reading the text back shows the same text.
        rounded = float(text)
        if rounded.is_integer() and abs(rounded) < 1e21:
            return str(int(rounded))
        return text
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------------------------------------
# Numbers

# Multipliers into 万元 (the ledger's unit for money).
MONEY_UNITS: dict[str, Decimal] = {
    "万元": Decimal(1),
    "万": Decimal(1),
    "元": Decimal("0.0001"),
    "千元": Decimal("0.1"),
    "亿元": Decimal(10000),
    "亿": Decimal(10000),
}
COUNT_UNITS = ("人", "个", "项", "件", "名", "家")
_EMPTY_MARKS = {"-", "--", "—", "——", "/", "无", "暂无", "N/A", "NA", "n/a", "#N/A", "不适用"}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_MONEY_SUFFIX = re.compile(r"^(.*?)(万元|千元|亿元|元|万|亿)$")


_INFINITIES = (math.inf, -math.inf)


def float_decimal(value: float) -> Decimal:
    """A float cell as the decimal Excel shows (15 significant digits)."""
    if value != value or value in _INFINITIES:
        raise ValueProblem("NUMBER_INVALID", "不是有效的数字")
    if value.is_integer() and abs(value) < 1e15:
        return Decimal(int(value))
    # Excel keeps 15 significant digits; the float's binary tail is not the user's number.
    return Decimal(format(value, ".15g"))


def _number_text(text: str) -> Decimal:
    """A numeric string: full-width digits, thousands separators and accounting brackets allowed."""
    t = "".join(fold(text).split())
    negative = False
    if len(t) > 2 and t[0] == "(" and t[-1] == ")":
        negative, t = True, t[1:-1]
    if "," in t:
        if not _GROUPED.fullmatch(t):
            raise ValueProblem("NUMBER_INVALID", "千分位分隔符位置不对（应为 1,234.5 这样）")
        t = t.replace(",", "")
    if not _NUMBER.fullmatch(t):
        raise ValueProblem("NUMBER_INVALID", "不是有效的数字")
    try:
        number = Decimal(t)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid literals
        raise ValueProblem("NUMBER_INVALID", "不是有效的数字") from exc
    return -number if negative else number


def parse_money(value: Cell, unit: str = "万元") -> Decimal | None:
    """An amount in 万元. `unit` is the column's unit; a unit written in the cell wins."""
    if value is None:
        return None
    factor = MONEY_UNITS[unit]
    if isinstance(value, bool):
        raise ValueProblem("NUMBER_INVALID", "应为数字，不是逻辑值")
    if isinstance(value, float):
        return _scale(float_decimal(value), factor)
    if isinstance(value, int):
        return _scale(Decimal(value), factor)
    if isinstance(value, Decimal):
        return _scale(value, factor)
    if not isinstance(value, str):
        raise ValueProblem("NUMBER_INVALID", "应为数字，不是日期或时间")
    text = "".join(fold(value).split())
    if not text or text in _EMPTY_MARKS:
        return None
    m = _MONEY_SUFFIX.match(text)
    if m and m.group(1):
        text, factor = m.group(1), MONEY_UNITS[m.group(2)]
    return _scale(_number_text(text), factor)


def _scale(number: Decimal, factor: Decimal) -> Decimal:
    if factor == 1:
        return number
    scaled = number * factor
    # 12345 元 → 1.2345 万元, not 1.23450000.
    return scaled.normalize() if scaled == scaled.to_integral_value() else scaled


def parse_count(value: Cell) -> int | None:
    """A whole count (staff, patents): "120", "120人", "１２０", 120.0."""
    if value is None:
        return None
    if isinstance(value, str):
        text = "".join(fold(value).split())
        if not text or text in _EMPTY_MARKS:
            return None
        for suffix in COUNT_UNITS:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                break
        number = _number_text(text)
    elif isinstance(value, bool):
        raise ValueProblem("NUMBER_INVALID", "应为数字，不是逻辑值")
    elif isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return int(value)  # what float_decimal and the integer check below come to
        number = float_decimal(value)
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    else:
        raise ValueProblem("NUMBER_INVALID", "应为数字，不是日期或时间")
    if number != number.to_integral_value():
        raise ValueProblem("NUMBER_NOT_INTEGER", "应为整数")
    return int(number)


# ---------------------------------------------------------------------------------------------
# Dates and years

Precision = Literal["day", "month", "year"]


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A date as precise as the roster wrote it: "2021年" is the year 2021, not 1 January."""

    value: dt.date
    precision: Precision = "day"


_EXCEL_EPOCH = dt.date(1899, 12, 30)
_YEAR_MIN, _YEAR_MAX = 1800, 2200
_DAY = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"
    r"(?:[ T]?\d{1,2}[:：]\d{2}(?:[:：]\d{2}(?:\.\d+)?)?)?"
)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_MONTH = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?:份)?")
_YEAR = re.compile(r"(\d{4})\s*(?:年度?)?")


def from_excel_serial(serial: float) -> dt.date:
    """Excel's 1900 date system (with its phantom 29 February 1900 at serial 60)."""
    days = int(serial)
    if days < 1 or days > 2_958_465 or days == 60:
        raise ValueProblem("DATE_INVALID", "不是有效的日期")
    if days < 60:
        return dt.date(1899, 12, 31) + dt.timedelta(days=days)
    return _EXCEL_EPOCH + dt.timedelta(days=days)


def to_excel_serial(day: dt.date) -> int:
    """The serial Excel stores for a date after 1 March 1900."""
    return (day - _EXCEL_EPOCH).days


def _make(year: int, month: int, day: int, precision: Precision) -> PartialDate:
    if not _YEAR_MIN <= year <= _YEAR_MAX:
        raise ValueProblem("DATE_INVALID", f"年份 {year} 不合理")
    try:
        return PartialDate(dt.date(year, month, day), precision)
    except ValueError as exc:
        raise ValueProblem("DATE_INVALID", "不是有效的日期（月或日超出范围）") from exc


def parse_date(value: Cell) -> PartialDate | None:
    """Excel dates and serials, 2021-03-05, 2021/3/5, 2021年3月5日, 20210305, 2021.3, 2021年."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return PartialDate(value.date())
    if isinstance(value, dt.date):
        return PartialDate(value)
    if isinstance(value, bool):
        raise ValueProblem("DATE_INVALID", "不是有效的日期")
    if isinstance(value, int | float | Decimal):
        number = float(value)
        if number.is_integer():
            n = int(number)
            if _YEAR_MIN <= n <= _YEAR_MAX:
                return _make(n, 1, 1, "year")
            if 18_000_101 <= n <= 22_001_231:
                return parse_date(str(n))
            return PartialDate(from_excel_serial(n))
        if _YEAR_MIN <= number < _YEAR_MAX + 1:
            # 2021.3 typed into a number cell: year and month, as Excel shows it.
            return parse_date(format(number, ".15g"))
        return PartialDate(from_excel_serial(number))
    if not isinstance(value, str):
        raise ValueProblem("DATE_INVALID", "不是有效的日期")
    text = fold(value)
    if not text or text in _EMPTY_MARKS:
        return None
    if m := _DAY.fullmatch(text):
        return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)), "day")
    if m := _COMPACT.fullmatch(text):
        return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)), "day")
    if m := _MONTH.fullmatch(text):
        return _make(int(m.group(1)), int(m.group(2)), 1, "month")
    if m := _YEAR.fullmatch(text):
        return _make(int(m.group(1)), 1, 1, "year")
    if text.isdigit() and len(text) == 5:
        return PartialDate(from_excel_serial(int(text)))
    raise ValueProblem(
        "DATE_INVALID", "不是有效的日期（可写作 2021-03-05、2021年3月5日 或 2021年）"
    )


_HEADER_YEAR = re.compile(r"((?:19|20)\d{2})\s*(?:年度|年)")


def header_year(label: str) -> tuple[int | None, str]:
    """The year a header names ("2024年营业收入" → 2024) and the label without it."""
    text = fold(label)
    m = _HEADER_YEAR.search(text)
    if m is None:
        return None, text
    return int(m.group(1)), (text[: m.start()] + text[m.end() :]).strip()


# ---------------------------------------------------------------------------------------------
# Yes / no

_TRUE = {"是", "Y", "YES", "TRUE", "√", "✓", "✔", "1", "重点", "重点企业", "对"}
_FALSE = {"否", "N", "NO", "FALSE", "×", "✗", "✘", "0", "非重点", "不是", "无"}


def parse_bool(value: Cell) -> bool | None:
    """是/否, Y/N, √/×, 1/0, TRUE/FALSE."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = "".join(fold(str(value)).split()).upper()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueProblem("BOOL_INVALID", "应填“是”或“否”")


# ---------------------------------------------------------------------------------------------
# Vocabulary matching

_QUOTES = dict.fromkeys(map(ord, "\"'“”‘’「」『』〝〞〟＂＇`"), None)
_PAREN = re.compile(r"\(([^()]*)\)")


def _key(text: str) -> str:
    return squeeze(text).translate(_QUOTES).casefold()


class _Matcher:
    """Exact and alias lookup by a folded key, plus derived keys that stay unambiguous."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}
        self.derived: dict[str, set[str]] = {}
        self.cache: dict[str, str | None] = {}
        self.labels: dict[str, str] = {}

    def add(self, code: str, names: Iterable[str], derived: Iterable[str] = ()) -> None:
        for name in names:
            if name:
                self.keys.setdefault(_key(name), code)
        for name in derived:
            k = _key(name)
            if k:
                self.derived.setdefault(k, set()).add(code)

    def seal(self) -> None:
        for k, codes in self.derived.items():
            if len(codes) == 1 and k not in self.keys:
                self.keys[k] = next(iter(codes))
        self.derived.clear()

    def lookup(self, key: str) -> str | None:
        return self.keys.get(key)

    def closest(self, text: str, *, cutoff: float = 0.6) -> str | None:
        """The display name nearest to `text`, for "did you mean" hints."""
        found = difflib.get_close_matches(_key(text), list(self.labels), n=1, cutoff=cutoff)
        return self.labels[found[0]] if found else None


class DistrictMatcher(_Matcher):
    """District by code, name or alias, with or without 重庆市 and its 区/县 suffix."""

    _SUFFIXES = ("经济技术开发区", "经开区", "新区", "自治县", "区", "县")

    def __init__(self, districts: Iterable[District]) -> None:
        super().__init__()
        self.by_code: dict[str, District] = {}
        for d in districts:
            names = (d.code, d.name, *d.aliases)
            short = [n[: -len(s)] for n in names for s in self._SUFFIXES if n.endswith(s)]
            self.add(d.code, names, [s for s in short if len(s) >= 2])
            self.labels[_key(d.name)] = d.name
            self.by_code[d.code] = d
        self.seal()

    def match(self, text: str) -> str | None:
        if text in self.cache:
            return self.cache[text]
        key = _key(text)
        code = self.lookup(key)
        for prefix in ("重庆市", "重庆"):
            if code is None and key.startswith(prefix) and len(key) > len(prefix) + 1:
                code = self.lookup(key[len(prefix) :])
        self.cache[text] = code
        return code

    def find_in(self, text: str) -> str | None:
        """The one district a free text (a title or 填报单位 row) names, if exactly one."""
        key = _key(text)
        # Names only: a code such as 500101 could sit inside a phone number.
        found = {
            code for k, code in self.keys.items() if len(k) >= 3 and not k.isascii() and k in key
        }
        return found.pop() if len(found) == 1 else None


class SubsectorMatcher(_Matcher):
    """Subsector by code, name or alias; "铜基材料" and "PMMA" find the names they abbreviate."""

    def __init__(self, subsectors: Iterable[Subsector]) -> None:
        super().__init__()
        self.by_code: dict[str, Subsector] = {}
        self.industries: dict[str, list[str]] = {}
        for s in subsectors:
            names = (s.code, s.name, *s.aliases)
            derived: list[str] = []
            for n in (s.name, *s.aliases):
                folded = fold(n)
                inner = _PAREN.findall(folded)
                if inner:
                    derived.append(_PAREN.sub("", folded))
                    derived.extend(inner)
            self.add(s.code, names, derived)
            self.labels[_key(s.name)] = s.name
            for alias in s.aliases:
                self.labels.setdefault(_key(alias), s.name)
            self.by_code[s.code] = s
            if s.industry:
                self.industries.setdefault(_key(s.industry), []).append(s.name)
        self.seal()

    def match(self, text: str) -> str | None:
        if text in self.cache:
            return self.cache[text]
        code = self.lookup(_key(text))
        self.cache[text] = code
        return code

    def problem(self, text: str) -> ValueProblem:
        """Why `text` is not a subsector, with the nearest name or the industry's subsectors."""
        members = self.industries.get(_key(text))
        if members:
            listed = "、".join(members[:12])
            return ValueProblem(
                "SUBSECTOR_IS_INDUSTRY",
                f"“{fold(text)}”是产业，请填写其下的细分领域之一：{listed}",
            )
        near = self.closest(text)
        hint = f"，是否为“{near}”？" if near else "，请从模板下拉列表中选择"
        return ValueProblem("SUBSECTOR_UNKNOWN", f"细分领域“{fold(text)}”不在目录中{hint}")


class TierMatcher(_Matcher):
    """Tier by name or alias in any quote style, with or without a trailing 企业."""

    def __init__(self, tiers: Iterable[Tier]) -> None:
        super().__init__()
        self.by_code: dict[str, Tier] = {}
        for t in tiers:
            names = (t.code, t.name, *t.aliases)
            short = [_key(n)[:-2] for n in names if _key(n).endswith("企业") and len(n) > 4]
            self.add(t.code, names, short)
            self.labels[_key(t.name)] = t.name
            self.by_code[t.code] = t
        self.seal()

    def match(self, text: str) -> str | None:
        if text in self.cache:
            return self.cache[text]
        key = _key(text)
        code = self.lookup(key)
        if code is None and key.endswith("企业"):
            code = self.lookup(key[:-2])
        self.cache[text] = code
        return code

    def problem(self, text: str) -> ValueProblem:
        near = self.closest(text)
        hint = f"，是否为“{near}”？" if near else ""
        names = "、".join(t.name for t in sorted(self.by_code.values(), key=lambda t: t.rank))
        return ValueProblem(
            "TIER_UNKNOWN", f"企业梯度“{fold(text)}”无法识别{hint}（可填：{names}）"
        )


class ChainMatcher(_Matcher):
    """Industry-chain position by code, name or alias (上游, 中游 …)."""

    def __init__(self, positions: Iterable[ChainPosition]) -> None:
        super().__init__()
        self.by_code: dict[str, ChainPosition] = {}
        for p in positions:
            self.add(p.code, (p.code, p.name, *p.aliases))
            self.labels[_key(p.name)] = p.name
            self.by_code[p.code] = p
        self.seal()

    def match(self, text: str) -> str | None:
        if text in self.cache:
            return self.cache[text]
        code = self.lookup(_key(text))
        self.cache[text] = code
        return code
