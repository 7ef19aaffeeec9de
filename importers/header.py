"""Find the header below title rows, flatten two-row merged headers, and map labels to fields."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from importers.normalize import Cell, cell_text, header_year, squeeze
from importers.safety import CellRange

Kind = Literal[
    "name",
    "code",
    "district",
    "subsector",
    "tier",
    "chain",
    "text",
    "date",
    "bool",
    "money",
    "count",
]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A field the importer knows: its label, the labels rosters use for it, and its kind."""

    field: str
    label: str
    kind: Kind
    aliases: tuple[str, ...] = ()
    figure: bool = False
    # Money figures may be negative only where the ledger allows it (a loss).
    signed: bool = False
    max_chars: int = 32_767


# In the order the template writes them.
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "name",
        "企业名称",
        "name",
        ("单位名称", "公司名称", "企业全称", "企业单位名称"),
        max_chars=200,
    ),
    FieldSpec(
        "credit_code",
        "统一社会信用代码",
        "code",
        ("社会信用代码", "信用代码", "统一信用代码", "统一社会信用代码证号", "社会统一信用代码"),
    ),
    FieldSpec(
        "district",
        "所属区县",
        "district",
        (
            "区县",
            "所在区县",
            "区县名称",
            "所属区域",
            "所在区域",
            "区域",
            "所属地区",
            "地区",
            "所在地区",
        ),
    ),
    FieldSpec(
        "subsector",
        "细分领域",
        "subsector",
        ("所属行业细分领域", "所属细分领域", "细分行业", "所属领域", "细分产业", "行业细分领域"),
    ),
    FieldSpec(
        "chain_position",
        "产业链环节",
        "chain",
        ("产业链位置", "所处产业链环节", "所属产业链环节", "产业链", "链条环节"),
    ),
    FieldSpec(
        "main_products", "主营产品", "text", ("主要产品", "主导产品", "主营业务", "主要产品服务")
    ),
    FieldSpec(
        "established_on", "成立日期", "date", ("成立时间", "注册日期", "注册时间", "成立年份")
    ),
    FieldSpec(
        "address", "注册地址", "text", ("地址", "企业地址", "注册地", "通讯地址", "生产经营地址")
    ),
    FieldSpec("legal_representative", "法定代表人", "text", ("法人代表", "法人", "法定代表人姓名")),
    FieldSpec("contact_person", "联系人", "text", ("企业联系人", "联系人姓名")),
    FieldSpec(
        "contact_phone",
        "联系电话",
        "text",
        ("电话", "联系方式", "手机", "手机号码", "联系人电话", "联系人手机", "联系人手机号"),
    ),
    FieldSpec(
        "tier",
        "企业梯度",
        "tier",
        (
            "梯度层级",
            "梯度",
            "培育层级",
            "梯度类别",
            "认定类型",
            "层级",
            "企业梯度层级",
            "梯度培育层级",
        ),
    ),
    FieldSpec("designation_batch", "认定批次", "text", ("批次", "公告批次", "认定年份批次")),
    FieldSpec("designated_on", "认定日期", "date", ("认定时间", "认定年份", "认定年度")),
    FieldSpec(
        "valid_until",
        "有效期至",
        "date",
        ("有效期", "有效期截止日期", "有效期截至", "有效期截止", "到期日期", "有效期限"),
    ),
    FieldSpec("document_number", "认定文号", "text", ("文号", "公告文号", "认定文件文号")),
    FieldSpec("key_enterprise", "是否重点企业", "bool", ("重点企业", "是否重点", "是否重点培育")),
    FieldSpec("notes", "备注", "text", ("说明", "其他说明")),
    FieldSpec(
        "operating_revenue",
        "营业收入",
        "money",
        ("营业总收入", "年营业收入", "销售收入", "营收", "营业收入总额"),
        figure=True,
    ),
    FieldSpec("main_business_revenue", "主营业务收入", "money", ("主营收入",), figure=True),
    FieldSpec(
        "rd_expense",
        "研发费用",
        "money",
        ("研发投入", "研发经费", "研发经费投入", "研发费用总额", "研发费用支出"),
        figure=True,
    ),
    FieldSpec(
        "employees",
        "从业人员",
        "count",
        ("从业人数", "职工人数", "员工人数", "从业人员数", "年末从业人员", "职工总数", "员工总数"),
        figure=True,
    ),
    FieldSpec(
        "rd_staff", "研发人员", "count", ("研发人员数", "研发人数", "研发人员数量"), figure=True
    ),
    FieldSpec("total_assets", "资产总额", "money", ("总资产", "资产总计"), figure=True),
    FieldSpec("total_liabilities", "负债总额", "money", ("总负债", "负债合计"), figure=True),
    FieldSpec("net_profit", "净利润", "money", ("净利润额",), figure=True, signed=True),
    FieldSpec(
        "new_equity_financing",
        "新增股权融资",
        "money",
        ("股权融资", "股权融资额", "新增股权融资额", "股权融资金额"),
        figure=True,
    ),
    FieldSpec(
        "ip_class1",
        "Ⅰ类知识产权",
        "count",
        ("一类知识产权", "Ⅰ类知识产权数", "Ⅰ类知识产权数量"),
        figure=True,
    ),
    FieldSpec(
        "ip_class2",
        "Ⅱ类知识产权",
        "count",
        ("二类知识产权", "Ⅱ类知识产权数", "Ⅱ类知识产权数量"),
        figure=True,
    ),
)
SPECS: dict[str, FieldSpec] = {s.field: s for s in FIELDS}
# Columns that carry no enterprise data: row numbers, and the error column of our own
# annotated workbook when a user uploads it again after fixing it.
SEQUENCE_LABELS = {"序号", "编号", "序", "no", "no.", "排序", "序列号", "错误说明"}
MONEY_UNIT_LABELS = ("万元", "元", "千元", "亿元")
COUNT_UNIT_LABELS = ("人", "个", "项", "件", "名")
_PREFIXES = ("上年度", "上一年度", "本年度", "年度", "上年")
_BRACKETS = re.compile(r"\(([^()]*)\)")
_UNIT_SUFFIX = re.compile(r"[/(]?(?:单位[:]?)?(万元|千元|亿元|元)\)?$")
_UNIT_IN_LABEL = re.compile(r"(?:单位[:]?)?(万元|千元|亿元|元|人|个|项|件|名)$")


def _label_key(text: str) -> str:
    return squeeze(text).replace("*", "").replace("※", "").rstrip(":").casefold()


_ALIASES: dict[str, str] = {}
for _spec in FIELDS:
    for _label in (_spec.label, *_spec.aliases):
        _ALIASES.setdefault(_label_key(_label), _spec.field)


@dataclass(frozen=True, slots=True)
class LabelMatch:
    """What one header label says: the field, and the year and unit it may carry."""

    field: str | None
    year: int | None
    unit: str | None
    sequence: bool = False


def match_label(label: str) -> LabelMatch:
    """Map a header label as written ("2024年营业收入（万元）", "企业名称（全称）") to a field."""
    year, rest = header_year(label)
    text = _label_key(rest)
    if text in SEQUENCE_LABELS:
        return LabelMatch(None, year, None, sequence=True)
    for prefix in _PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix) + 1:
            text = text[len(prefix) :]
    unit: str | None = None
    for inner in _BRACKETS.findall(text):
        m = _UNIT_IN_LABEL.fullmatch(inner)
        if m:
            unit = m.group(1)
            text = text.replace(f"({inner})", "")
    m = _UNIT_SUFFIX.search(text) if unit is None else None
    if m and m.start() > 0 and text[: m.start()] in _ALIASES:
        unit, text = m.group(1), text[: m.start()]
    text = text.replace("()", "")
    candidates = [
        text,
        _BRACKETS.sub("", text),
        *_BRACKETS.findall(text),
        text.replace("(", "").replace(")", ""),
    ]
    for candidate in candidates:
        found = _ALIASES.get(candidate)
        if found:
            return LabelMatch(found, year, unit)
    if "信用代码" in text:
        return LabelMatch("credit_code", year, unit)
    return LabelMatch(None, year, unit)


def group_context(label: str) -> tuple[int | None, str | None]:
    """The year and unit a group label gives the columns below it ("2024年经营数据（万元）")."""
    year, rest = header_year(label)
    text = _label_key(rest)
    unit = None
    for inner in _BRACKETS.findall(text):
        m = _UNIT_IN_LABEL.fullmatch(inner)
        if m:
            unit = m.group(1)
    return year, unit


@dataclass(frozen=True, slots=True)
class Column:
    """A recognised column: 1-based index, the field key ("name", "operating_revenue:2024" for a
    figure with a year in its header), and the header as written in the file."""

    index: int
    field: str
    key: str
    label: str
    year: int | None
    unit: str | None


@dataclass(frozen=True)
class Header:
    """Where the header is (first and last Excel row), its columns, and what else it holds."""

    first_row: int
    last_row: int
    columns: tuple[Column, ...]
    unknown: tuple[tuple[int, str], ...]
    duplicates: tuple[tuple[int, str], ...]
    preamble: tuple[str, ...]
    labels: tuple[str, ...]


def column_letter(n: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _text(values: list[Cell] | None, col: int) -> str:
    """The label as written, line breaks and runs of spaces made single spaces."""
    if values is None or col > len(values):
        return ""
    return " ".join(cell_text(values[col - 1]).split())


@dataclass
class _Candidate:
    first: int
    last: int
    columns: list[Column]
    unknown: list[tuple[int, str]]
    duplicates: list[tuple[int, str]]
    labels: list[str]

    @property
    def score(self) -> tuple[int, int]:
        fields = {c.field for c in self.columns}
        key = int("name" in fields) + int("credit_code" in fields)
        return key, len(fields)


def _build(first: int, last: int, labels: list[tuple[int, str, LabelMatch]]) -> _Candidate:
    columns: list[Column] = []
    unknown: list[tuple[int, str]] = []
    duplicates: list[tuple[int, str]] = []
    seen: set[str] = set()
    shown: list[str] = []
    for col, label, m in labels:
        shown.append(label)
        if m.sequence or not label:
            continue
        if m.field is None:
            unknown.append((col, label))
            continue
        spec = SPECS[m.field]
        key = f"{m.field}:{m.year}" if spec.figure and m.year else m.field
        if key in seen:
            duplicates.append((col, label))
            continue
        seen.add(key)
        columns.append(Column(col, m.field, key, label, m.year if spec.figure else None, m.unit))
    return _Candidate(first, last, columns, unknown, duplicates, shown)


def _single(row: int, values: list[Cell]) -> _Candidate:
    labels: list[tuple[int, str, LabelMatch]] = []
    for col in range(1, len(values) + 1):
        text = _text(values, col)
        labels.append((col, text, match_label(text) if text else LabelMatch(None, None, None)))
    return _build(row, row, labels)


def _double(
    row: int, top: list[Cell], bottom: list[Cell], merges: Sequence[CellRange]
) -> _Candidate:
    width = max(len(top), len(bottom))
    covering: dict[int, CellRange] = {}
    for span in merges:
        r1, c1, r2, c2 = span
        if r1 <= row <= r2 and c1 <= width:
            for c in range(c1, min(c2, width) + 1):
                covering[c] = span
    labels: list[tuple[int, str, LabelMatch]] = []
    # Without merge information (CSV, or a header typed over blank cells) a group label such as
    # "2024年经营数据" stands over the columns to its right until the next label.
    carried = ""
    for col in range(1, width + 1):
        merge = covering.get(col)
        inside = merge is not None and merge[1] != col
        if merge is None:
            top_text = _text(top, col)
        else:
            top_text = _text(top, merge[1]) if merge[0] == row else ""
        bottom_text = _text(bottom, col)
        if not top_text and merge is None:
            top_text = carried if bottom_text else ""
            if not bottom_text:
                carried = ""
        elif merge is None or not inside:
            carried = top_text if match_label(top_text).field is None else ""
        if bottom_text:
            m = match_label(bottom_text)
            if top_text:
                if m.field is None:
                    joined = match_label(top_text + bottom_text)
                    if joined.field is not None:
                        m = joined
                if match_label(top_text).field is None:
                    year, unit = group_context(top_text)
                    m = LabelMatch(m.field, m.year or year, m.unit or unit, m.sequence)
            labels.append((col, bottom_text, m))
        elif top_text and not inside:
            labels.append((col, top_text, match_label(top_text)))
        else:
            labels.append((col, "", LabelMatch(None, None, None)))
    return _build(row, row + 1, labels)


def detect(
    rows: Sequence[tuple[int, list[Cell]]], merges: Sequence[CellRange] = ()
) -> Header | None:
    """The best header among the first rows: one row, or two rows flattened, whichever maps more
    fields. None unless it has 企业名称 or 统一社会信用代码 and at least one other known field."""
    by_row = dict(rows)
    best: _Candidate | None = None
    for number, values in rows:
        if not any(_text(values, c) for c in range(1, len(values) + 1)):
            continue
        options = [_single(number, values)]
        below = by_row.get(number + 1)
        if below is not None:
            options.append(_double(number, values, below, merges))
        for option in options:
            if best is None or option.score > best.score:
                best = option
    if best is None or best.score[0] == 0 or best.score[1] < 2:
        return None
    preamble = []
    for number, values in rows:
        if number >= best.first:
            break
        texts = [_text(values, c) for c in range(1, len(values) + 1)]
        line = " ".join(t for t in texts if t)
        if line:
            preamble.append(line)
    return Header(
        first_row=best.first,
        last_row=best.last,
        columns=tuple(best.columns),
        unknown=tuple(best.unknown),
        duplicates=tuple(best.duplicates),
        preamble=tuple(preamble),
        labels=tuple(best.labels),
    )
