"""Parse a district's roster as it comes: vet, read, find the header, normalise, check each row."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import Any

from exports.text import UNSTORABLE, unstorable_reason
from importers import errors as E
from importers import safety
from importers.errors import ImportFileError, RowError
from importers.header import SPECS, Column, FieldSpec, Header, column_letter, detect, match_label
from importers.normalize import (
    Cell,
    ChainMatcher,
    DistrictMatcher,
    PartialDate,
    SubsectorMatcher,
    TierMatcher,
    ValueProblem,
    cell_text,
    float_decimal,
    fold,
    is_blank,
    parse_bool,
    parse_count,
    parse_date,
    parse_money,
)
from importers.reader import Book, Engine, Row
from importers.safety import Limits, SheetInfo
from importers.vocab import Vocabulary

# How a vocabulary column is matched: the matcher, the RosterRow field, the error it raises.
_Lookup = tuple[Callable[[str], str | None], str, Callable[[str], ValueProblem]]
# Rows read before giving up on finding a header in a sheet.
HEADER_SCAN_ROWS = 40
# Distinct date cells remembered per roster (a few hundred in a real one).
DATE_MEMO = 20_000
# Money at or above this many 万元 (1000亿元) is more likely a unit slip than a fact.
LARGE_MONEY = Decimal(10_000_000)
_EXCEL_ERRORS = {"#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!"}
_NOTE = re.compile(
    r"^(?:注\d*|说明|备注|填报人|填表人|审核人|审核|负责人|单位负责人|分管领导|制表人?|联系人|"
    r"联系电话|签字|签名|盖章|(?:填报|填表)?日期|附件|数据来源|来源)\s*[:：、.．]"
)
_SIGNATURE = re.compile(r"[(（]\s*(?:签字|盖章|签章|公章)\s*[)）]|签字[:：]|盖章[:：]")
_NUMERIC_CODE_HINT = (
    "（该单元格是数字格式，Excel 只保留 15 位有效数字：请把此列设为文本后重新填写）"
)
_TOTAL = re.compile(r"^(?:合计|总计|小计|共计)")
_TOTAL_CELL = re.compile(r"^(?:合计|总计|小计|共计)[:：]?$")
_SECTION = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|[(（][一二三四五六七八九十]+[)）])")


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One enterprise as the roster states it, normalised. Dates not precise to the day say so
    in `date_precision` (field → "month" or "year"); figures are {year: {field: value}}, money
    in 万元 as Decimal and counts as int."""

    row: int
    credit_code: str
    name: str
    district_code: str
    subsector_code: str | None = None
    tier_code: str | None = None
    designation_batch: str | None = None
    designated_on: dt.date | None = None
    valid_until: dt.date | None = None
    document_number: str | None = None
    chain_position: str | None = None
    main_products: str | None = None
    established_on: dt.date | None = None
    address: str | None = None
    legal_representative: str | None = None
    contact_person: str | None = None
    contact_phone: str | None = None
    key_enterprise: bool | None = None
    notes: str | None = None
    figures: dict[int, dict[str, Decimal | int]] = field(default_factory=dict)
    date_precision: dict[str, str] = field(default_factory=dict)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled when a child process reads the roster (importers/offload.py): the fields as a
        # tuple and each Decimal as its exact text, which pickles and unpickles in about half
        # the time of the dataclass and its Decimals (0.77 s → 0.44 s for 100 000 rows, on the
        # reading side, which is the one the preview waits for).
        values = [getattr(self, name) for name in _ROW_FIELDS]
        values[_FIGURES] = {
            year: {k: v if v.__class__ is int else str(v) for k, v in fig.items()}
            for year, fig in self.figures.items()
        }
        return _row_from_wire, tuple(values)


def _row_from_wire(*values: Any) -> RosterRow:
    row = list(values)
    row[_FIGURES] = {
        year: {k: Decimal(v) if v.__class__ is str else v for k, v in fig.items()}
        for year, fig in row[_FIGURES].items()
    }
    return RosterRow(*row)


_ROW_FIELDS = tuple(f.name for f in dataclasses.fields(RosterRow))
_FIGURES = _ROW_FIELDS.index("figures")


@dataclass(frozen=True)
class ParsedRoster:
    """The result of parsing: good rows, and every error and warning at once.

    `rows` holds the rows without errors; a row with any error appears only in `errors`.
    `columns` maps each recognised field key to its header as written, `column_numbers` to its
    1-based column; figure keys carry their year when the header named one
    ("operating_revenue:2024"). `skipped_rows` counts blank, note, total and signature rows.
    """

    sheet: str
    header_row: int
    columns: dict[str, str]
    column_numbers: dict[str, int]
    unknown_columns: list[str]
    rows: list[RosterRow]
    errors: list[RowError]
    warnings: list[RowError]
    skipped_rows: int
    data_year: int
    header_first_row: int = 0
    notices: list[str] = field(default_factory=list)
    default_district: str | None = None
    data_rows: int = 0

    @property
    def error_rows(self) -> set[int]:
        return {e.row for e in self.errors}


@dataclass(frozen=True)
class Found:
    """The roster's sheet and header: the first thing `stream` yields, before any row."""

    sheet: str
    header_row: int
    header_first_row: int
    columns: dict[str, str]
    column_numbers: dict[str, int]
    default_district: str | None


@dataclass(frozen=True)
class Part:
    """The next rows, in sheet order: good rows, and the errors and warnings found since the
    previous part. Every row up to the last good row here has been judged."""

    rows: list[RosterRow]
    errors: list[RowError]
    warnings: list[RowError]


# Good rows in a streamed part (the plan's chunk).
PART_ROWS = 1000


def parse(
    data: bytes,
    filename: str,
    vocab: Vocabulary,
    *,
    data_year: int,
    sheet: str | None = None,
    limits: Limits | None = None,
    progress: Callable[[int], None] | None = None,
    engine: Engine = "calamine",
) -> ParsedRoster:
    """Vet the file, find the roster and check every row. File-level problems raise
    ImportFileError; row-level problems are returned, all of them, in `errors`/`warnings`."""
    rows: list[RosterRow] = []
    errors: list[RowError] = []
    warnings: list[RowError] = []
    for item in stream(
        data,
        filename,
        vocab,
        data_year=data_year,
        sheet=sheet,
        limits=limits,
        progress=progress,
        engine=engine,
    ):
        if isinstance(item, Part):
            rows += item.rows
            errors += item.errors
            warnings += item.warnings
        elif isinstance(item, ParsedRoster):
            return dataclasses.replace(item, rows=rows, errors=errors, warnings=warnings)
    raise AssertionError("stream ended without its summary")


def stream(
    data: bytes,
    filename: str,
    vocab: Vocabulary,
    *,
    data_year: int,
    sheet: str | None = None,
    limits: Limits | None = None,
    progress: Callable[[int], None] | None = None,
    engine: Engine = "calamine",
    part_rows: int = PART_ROWS,
) -> Iterator[Found | Part | ParsedRoster]:
    """`parse` as it goes: a `Found`, then `Part`s of `part_rows` good rows, then the
    summary (a ParsedRoster whose rows, errors and warnings were all in the parts). A caller
    can plan one part while the next is read. A refused file raises ImportFileError, before
    the `Found` or, for a limit only rows reveal, between parts."""
    limits = limits or Limits()
    safety.assert_defusedxml()
    vetted = safety.vet(data, filename, limits)
    with Book(data, vetted, engine=engine, limits=limits) as book:
        found: tuple[SheetInfo, Header, list[Row], Generator[Row, None, None]] | None = None
        anything = False
        candidates = book.candidates(sheet)
        others: list[str] = []
        for position, info in enumerate(candidates):
            rows = book.rows(info)
            head = list(islice(rows, HEADER_SCAN_ROWS))
            anything = anything or any(not is_blank(v) for _, values in head for v in values)
            header = detect(head, info.merges)
            if header is not None:
                found = (info, header, head, rows)
                others = _other_rosters(book, candidates[position + 1 :])
                break
            rows.close()
        if found is None and not anything:
            raise ImportFileError(
                E.EMPTY_WORKBOOK,
                "工作簿是空的：没有任何填写的内容。请在名单模板中填写企业后再上传",
            )
        if found is None:
            raise ImportFileError(
                E.NO_ROSTER_FOUND,
                "没有找到企业名单：前 40 行中没有一行表头同时含有“企业名称”或“统一社会信用代码”"
                "以及其他可识别的列（如所属区县、细分领域、企业梯度）",
            )
        info, header, head, rest = found
        parser = _RosterParser(vocab, info, header, data_year=data_year, limits=limits)
        parser.check_required()
        yield parser.found()
        for number, values in itertools.chain(
            ((n, v) for n, v in head if n > header.last_row), rest
        ):
            parser.feed(number, values, progress)
            if len(parser.rows) >= part_rows:
                yield parser.take()
        parsed = parser.finish()
        yield Part(parsed.rows, parsed.errors, parsed.warnings)
        if others:
            # A workbook of one sheet per subsector (our own ledger export is one): never leave
            # the other sheets unread without saying so.
            names = "、".join(f"“{name}”" for name in others[:10])
            more = f"等 {len(others)} 个" if len(others) > 10 else ""
            parsed.notices.append(
                f"工作簿中另有工作表{names}{more}也是企业名单，本次只读取了“{info.name}”；"
                "其余工作表请指定工作表名称分别导入"
            )
        yield dataclasses.replace(parsed, rows=[], errors=[], warnings=[])


# Sheets probed for a second roster: a ledger export has one per subsector (≈ 40 at most).
OTHER_ROSTERS_PROBED = 60


def _other_rosters(book: Book, sheets: Sequence[SheetInfo]) -> list[str]:
    """Names of the further sheets whose first rows hold a roster header. Probed with the
    streaming reader so that a sheet is never read whole just to be named."""
    found = []
    for info in sheets[:OTHER_ROSTERS_PROBED]:
        rows = book.rows(info, streaming=True)
        try:
            if detect(list(islice(rows, HEADER_SCAN_ROWS)), info.merges) is not None:
                found.append(info.name)
        finally:
            rows.close()
    return found


class _RosterParser:
    def __init__(
        self, vocab: Vocabulary, info: SheetInfo, header: Header, *, data_year: int, limits: Limits
    ) -> None:
        self.vocab = vocab
        self.info = info
        self.header = header
        self.data_year = data_year
        self.limits = limits
        self.districts = DistrictMatcher(vocab.districts)
        self.subsectors = SubsectorMatcher(vocab.subsectors)
        self.tiers = TierMatcher(vocab.tiers)
        self.chain = ChainMatcher(vocab.chain_positions)
        self.rows: list[RosterRow] = []
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []
        self.notices: list[str] = []
        self.skipped = 0
        self.data_rows = 0
        self.last_row = header.last_row
        self.pending: list[tuple[int, list[Cell]]] = []
        self.codes: dict[str, int] = {}
        # Rosters repeat their dates (认定日期, 有效期 of a batch): each distinct value is parsed
        # once. Keyed by class too, so True never answers for 1.
        self.dates: dict[tuple[type, Cell], PartialDate] = {}
        self.names: dict[str, tuple[int, str]] = {}
        self.columns = header.columns
        by_field: dict[str, Column] = {}
        for c in header.columns:
            by_field.setdefault(c.field, c)
        self.by_field = by_field
        self.name_col = by_field.get("name")
        self.code_col = by_field.get("credit_code")
        self.district_col = by_field.get("district")
        self.seq_cols = {
            col for col, label in enumerate(header.labels, start=1) if label and _is_seq(label)
        }
        self.header_keys = [_fold_key(label) for label in header.labels]
        self.fnv = info.formula_no_value
        # A district's own roster often names the district only once, in its title or its
        # 填报单位 row: rows with an empty district belong to it.
        self.default_district = self.districts.find_in(" ".join(header.preamble))
        if self.default_district is not None:
            name = self.districts.by_code[self.default_district].name
            self.notices.append(f"表头上方注明了{name}，所属区县为空的行按{name}处理")
        for col, label in header.unknown:
            self.notices.append(f"{column_letter(col)}列“{label}”不是可识别的列，已忽略")
        for col, label in header.duplicates:
            self.notices.append(f"{column_letter(col)}列“{label}”与前面的列重复，已忽略")
        for c in header.columns:
            spec = SPECS[c.field]
            if spec.kind == "money" and c.unit and c.unit != "万元":
                self.notices.append(f"“{c.label}”按{c.unit}填写，已换算为万元")
        lookups: dict[str, _Lookup] = {
            "district": (self.districts.match, "district_code", self._district_problem),
            "subsector": (self.subsectors.match, "subsector_code", self.subsectors.problem),
            "tier": (self.tiers.match, "tier_code", self.tiers.problem),
            "chain": (self.chain.match, "chain_position", self._chain_problem),
        }
        self.plans = [
            (
                c.index - 1,
                c,
                SPECS[c.field],
                self._unit(c),
                c.year or data_year,
                SPECS[c.field].kind,
                lookups.get(SPECS[c.field].kind),
                min(SPECS[c.field].max_chars, limits.max_cell_chars),
            )
            for c in self.columns
        ]

    @staticmethod
    def _unit(c: Column) -> str:
        spec = SPECS[c.field]
        if spec.kind == "money" and c.unit in ("万元", "元", "千元", "亿元"):
            return c.unit
        return "万元"

    def check_required(self) -> None:
        missing = []
        if self.name_col is None:
            missing.append("企业名称")
        if self.code_col is None:
            missing.append("统一社会信用代码")
        if self.district_col is None and self.default_district is None:
            missing.append("所属区县")
        if missing:
            raise ImportFileError(
                E.REQUIRED_COLUMN_MISSING,
                f"第{self.header.last_row}行表头缺少必需的列：{'、'.join(missing)}",
            )

    # -- row classification ---------------------------------------------------------------

    def feed(self, number: int, values: list[Cell], progress: Callable[[int], None] | None) -> None:
        self._fill_formula_rows(number)
        self.last_row = number
        has_fnv = bool(self.fnv) and any((number, c.index) in self.fnv for c in self.columns)
        name = self._cell(values, self.name_col)
        code = self._cell(values, self.code_col)
        no_code = is_blank(code)
        if not has_fnv and no_code and self._is_total(values):
            # 合计/总计/小计 in the 序号 column: a total row (our own ledger export ends with
            # one, its count under 企业名称), skipped and counted, not an enterprise.
            self.skipped += 1
            return
        if not has_fnv and no_code and is_blank(name):
            if all(is_blank(v) for v in values):
                self.skipped += 1
                return
            if self._only_sequence(values) or self._is_header_again(values):
                self.skipped += 1
            else:
                self.pending.append((number, values))
            return
        if not has_fnv and no_code:
            text = "".join(fold(cell_text(name)).split())
            if (
                _NOTE.match(text)
                or _SIGNATURE.search(text)
                or _TOTAL.match(text)
                or _SECTION.match(text)
            ):
                self.skipped += 1
                return
        self._flush_pending()
        self.data_rows += 1
        if self.data_rows > self.limits.max_rows:
            raise ImportFileError(
                E.TOO_MANY_ROWS, f"数据行超过上限：最多 {self.limits.max_rows} 行"
            )
        self._row(number, values)
        if progress is not None and self.data_rows % 1000 == 0:
            progress(self.data_rows)

    def _fill_formula_rows(self, upto: int) -> None:
        # A row whose only content is formulas without cached values reads as empty (or not at
        # all when it is last): it must still be reported.
        if not self.fnv:
            return
        for row in sorted({r for r, _c in self.fnv if self.last_row < r < upto}):
            if row > self.header.last_row:
                self.feed(row, [], None)

    def _flush_pending(self) -> None:
        for number, values in self.pending:
            texts = {fold(cell_text(v)) for v in values if not is_blank(v)}
            joined = "".join("".join(texts).split())
            if len(texts) <= 1 or _NOTE.match(joined) or _SIGNATURE.search(joined):
                self.skipped += 1  # a section title or a note between groups of rows
                continue
            self.data_rows += 1
            self.errors.append(
                RowError(
                    number,
                    "",
                    "",
                    "IDENTITY_MISSING",
                    "该行有数据，但企业名称和统一社会信用代码都为空",
                )
            )
        self.pending.clear()

    def _is_total(self, values: list[Cell]) -> bool:
        for col in self.seq_cols:
            if col <= len(values) and not is_blank(values[col - 1]):
                text = "".join(fold(cell_text(values[col - 1])).split())
                if _TOTAL_CELL.match(text):
                    return True
        return False

    def _only_sequence(self, values: list[Cell]) -> bool:
        return all(is_blank(v) or i + 1 in self.seq_cols for i, v in enumerate(values))

    def _is_header_again(self, values: list[Cell]) -> bool:
        keys = [_fold_key(cell_text(v)) for v in values]
        hits = sum(
            1
            for i, k in enumerate(keys)
            if k and i < len(self.header_keys) and k == self.header_keys[i]
        )
        return hits >= 2

    @staticmethod
    def _cell(values: list[Cell], col: Column | None) -> Cell:
        if col is None or col.index > len(values):
            return None
        return values[col.index - 1]

    def take(self) -> Part:
        """The rows, errors and warnings gathered since the last take."""
        part = Part(self.rows, self.errors, self.warnings)
        self.rows, self.errors, self.warnings = [], [], []
        return part

    def found(self) -> Found:
        """The sheet and header this parser reads, as the stream announces them."""
        return Found(
            sheet=self.info.name,
            header_row=self.header.last_row,
            header_first_row=self.header.first_row,
            columns={c.key: c.label for c in self.columns},
            column_numbers={c.key: c.index for c in self.columns},
            default_district=self.default_district,
        )

    def finish(self) -> ParsedRoster:
        self._fill_formula_rows(1 << 62)
        self.skipped += len(self.pending)  # trailing notes, signatures and blank-ish rows
        self.pending.clear()
        found = self.found()
        return ParsedRoster(
            sheet=found.sheet,
            header_row=found.header_row,
            header_first_row=found.header_first_row,
            columns=found.columns,
            column_numbers=found.column_numbers,
            unknown_columns=[label for _col, label in self.header.unknown],
            rows=self.rows,
            errors=self.errors,
            warnings=self.warnings,
            skipped_rows=self.skipped,
            data_year=self.data_year,
            notices=self.notices,
            default_district=found.default_district,
            data_rows=self.data_rows,
        )

    # -- one data row ---------------------------------------------------------------------------

    def _row(self, number: int, values: list[Cell]) -> None:
        errors: list[RowError] = []
        warnings: list[RowError] = []
        out: dict[str, Any] = {}
        figures: dict[int, dict[str, Decimal | int]] = {}
        precision: dict[str, str] = {}
        division: str | None = None
        width = len(values)
        fnv = self.fnv
        dates = self.dates
        for idx, col, spec, unit, year, kind, lookup, max_chars in self.plans:
            if fnv and (number, col.index) in fnv:
                errors.append(_formula_error(number, col))
                continue
            value = values[idx] if idx < width else None
            if value is None or value == "":
                continue
            try:
                # Ordered by how many columns of each kind a roster has.
                if kind == "text":
                    text = value.strip() if value.__class__ is str else cell_text(value)
                    if text:
                        if len(text) > max_chars:
                            _check_length(text, spec, max_chars)
                        if UNSTORABLE.search(text):
                            _refuse_unstorable(text, spec)
                        out[spec.field] = text
                elif kind == "money":
                    if value.__class__ is float and unit == "万元":
                        money: Decimal | None = float_decimal(value)
                    else:
                        money = parse_money(value, unit)
                    if money is None:
                        continue
                    if money < 0 and not spec.signed:
                        raise ValueProblem("NUMBER_NEGATIVE", f"{spec.label}不能为负数")
                    if money >= LARGE_MONEY or -money >= LARGE_MONEY:
                        warnings.append(
                            _err(number, col, value, "NUMBER_LARGE", "数值很大，请确认单位是万元")
                        )
                    figures.setdefault(year, {})[spec.field] = money
                elif lookup is not None:
                    match, key, problem = lookup
                    code = match(value) if value.__class__ is str else None
                    if code is None:
                        text = cell_text(_not_error(value))
                        if not text:
                            continue
                        code = match(text)
                        if code is None:
                            raise problem(text)
                    out[key] = code
                elif kind == "count":
                    count = parse_count(value)
                    if count is None:
                        continue
                    if count < 0:
                        raise ValueProblem("NUMBER_NEGATIVE", f"{spec.label}不能为负数")
                    figures.setdefault(year, {})[spec.field] = count
                elif kind == "date":
                    parsed = dates.get((value.__class__, value))
                    if parsed is None:
                        parsed = _date(value)
                        if parsed is None:
                            continue
                        if len(dates) < DATE_MEMO:
                            dates[(value.__class__, value)] = parsed
                    out[spec.field] = parsed.value
                    if parsed.precision != "day":
                        precision[spec.field] = parsed.precision
                elif kind == "name":
                    text = cell_text(value)
                    if not text:
                        continue
                    _check_length(text, spec, max_chars)
                    if UNSTORABLE.search(text):
                        _refuse_unstorable(text, spec)
                    out["name"] = text
                elif kind == "code":
                    division = self._code(number, col, value, out, errors, warnings)
                elif kind == "bool":
                    flag = parse_bool(_not_error(value))
                    if flag is not None:
                        out[spec.field] = flag
            except ValueProblem as problem:
                errors.append(_err(number, col, value, problem.code, problem.message))

        failed = {e.column_number for e in errors}
        for field_name, missing_code, message in (
            ("name", "NAME_MISSING", "企业名称不能为空"),
            ("credit_code", "CREDIT_CODE_MISSING", "统一社会信用代码不能为空"),
        ):
            if field_name not in out and self._index(field_name) not in failed:
                errors.append(
                    RowError(
                        number,
                        self._label(field_name),
                        "",
                        missing_code,
                        message,
                        self._index(field_name),
                    )
                )
        if "district_code" not in out:
            index = self._index("district")
            if index is not None and index in failed:
                pass
            elif self.default_district is not None:
                out["district_code"] = self.default_district
            else:
                errors.append(
                    RowError(
                        number,
                        self._label("district"),
                        "",
                        "DISTRICT_MISSING",
                        "所属区县不能为空",
                        index,
                    )
                )
        self._cross_checks(number, out, figures, division, warnings)
        code = out.get("credit_code")
        if code:
            first = self.codes.get(code)
            if first is not None:
                errors.append(
                    RowError(
                        number,
                        self._label("credit_code"),
                        code,
                        "DUPLICATE_CREDIT_CODE",
                        f"统一社会信用代码与第{first}行重复",
                        self._index("credit_code"),
                    )
                )
            else:
                self.codes[code] = number
        name = out.get("name")
        if name and code:
            seen = self.names.get(name)
            if seen is None:
                self.names[name] = (number, code)
            elif seen[1] != code:
                warnings.append(
                    RowError(
                        number,
                        self._label("name"),
                        name,
                        "DUPLICATE_NAME",
                        f"企业名称与第{seen[0]}行相同，但统一社会信用代码不同",
                        self._index("name"),
                    )
                )
        self.warnings.extend(warnings)
        if errors:
            self.errors.extend(errors)
            return
        self.rows.append(RosterRow(row=number, figures=figures, date_precision=precision, **out))

    def _label(self, field_name: str) -> str:
        col = self.by_field.get(field_name)
        return col.label if col else SPECS[field_name].label

    def _index(self, field_name: str) -> int | None:
        col = self.by_field.get(field_name)
        return col.index if col else None

    def _district_problem(self, text: str) -> ValueProblem:
        near = self.districts.closest(text)
        hint = f"，是否为“{near}”？" if near else ""
        return ValueProblem("DISTRICT_UNKNOWN", f"所属区县“{fold(text)}”无法识别{hint}")

    def _chain_problem(self, text: str) -> ValueProblem:
        names = "、".join(p.name for p in self.chain.by_code.values())
        return ValueProblem(
            "CHAIN_POSITION_UNKNOWN", f"产业链环节“{fold(text)}”无法识别（可填：{names}）"
        )

    def _code(
        self,
        number: int,
        col: Column,
        value: Cell,
        out: dict[str, Any],
        errors: list[RowError],
        warnings: list[RowError],
    ) -> str | None:
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        raw = cell_text(_not_error(value))
        if not raw:
            return None
        result = self.vocab.check_code(raw)
        if not result.ok:
            for issue in result.errors:
                message = issue.message
                if numeric:
                    message += _NUMERIC_CODE_HINT
                errors.append(_err(number, col, value, _code_name(issue.code), message))
            return None
        out["credit_code"] = result.normalized
        for issue in result.warnings:
            warnings.append(_err(number, col, value, _code_name(issue.code), issue.message))
        return result.division

    def _cross_checks(
        self,
        number: int,
        out: dict[str, Any],
        figures: dict[int, dict[str, Decimal | int]],
        division: str | None,
        warnings: list[RowError],
    ) -> None:
        d = self.districts.by_code.get(out.get("district_code", ""))
        if d is not None and division and not division.endswith("00"):
            # A zone has no division code of its own: only its listed host districts agree.
            accepted = set(d.divisions) if d.kind == "zone" else {d.code, *d.divisions}
            if accepted and division not in accepted:
                other = self.districts.by_code.get(division)
                where = other.name if other else division
                warnings.append(
                    RowError(
                        number,
                        self._label("district"),
                        d.name,
                        "DISTRICT_DIVISION_MISMATCH",
                        f"统一社会信用代码显示登记地为{where}，与所属区县{d.name}不一致（以名单为准）",
                        self._index("district"),
                    )
                )
        for year, fig in figures.items():
            revenue = fig.get("operating_revenue")
            main = fig.get("main_business_revenue")
            if revenue is not None and main is not None and main > revenue:
                warnings.append(
                    self._warn_fig(
                        number, "main_business_revenue", year, main, "主营业务收入大于营业收入"
                    )
                )
            rd = fig.get("rd_expense")
            if revenue is not None and rd is not None and rd > revenue:
                warnings.append(
                    self._warn_fig(number, "rd_expense", year, rd, "研发费用大于营业收入")
                )
            staff = fig.get("employees")
            rd_staff = fig.get("rd_staff")
            if staff is not None and rd_staff is not None and rd_staff > staff:
                warnings.append(
                    self._warn_fig(number, "rd_staff", year, rd_staff, "研发人员多于从业人员")
                )
        start, end = out.get("designated_on"), out.get("valid_until")
        if start is not None and end is not None and end < start:
            warnings.append(
                RowError(
                    number,
                    self._label("valid_until"),
                    end.isoformat(),
                    "DATE_ORDER",
                    "有效期早于认定日期",
                    self._index("valid_until"),
                )
            )

    def _warn_fig(
        self, number: int, field_name: str, year: int, value: Decimal | int, message: str
    ) -> RowError:
        for c in self.columns:
            if c.field == field_name and (c.year or self.data_year) == year:
                return RowError(
                    number, c.label, str(value), "FIGURE_INCONSISTENT", message, c.index
                )
        return RowError(number, SPECS[field_name].label, str(value), "FIGURE_INCONSISTENT", message)


def _formula_error(number: int, col: Column) -> RowError:
    return RowError(
        number,
        col.label,
        "",
        "FORMULA_NO_VALUE",
        f"单元格 {column_letter(col.index)}{number} 是公式但没有保存计算结果："
        "请在 Excel 中打开、保存后重新上传，或直接填写数值",
        col.index,
    )


def _err(number: int, col: Column, value: Cell, code: str, message: str) -> RowError:
    return RowError(number, col.label, cell_text(value)[:200], code, message, col.index)


def _code_name(code: str) -> str:
    # "credit_code.check_digit" → "CREDIT_CODE_CHECK_DIGIT"; empty codes read as missing.
    name = code.replace(".", "_").upper()
    return "CREDIT_CODE_MISSING" if name == "CREDIT_CODE_EMPTY" else name


def _not_error(value: Cell) -> Cell:
    if isinstance(value, str) and value.strip() in _EXCEL_ERRORS:
        raise ValueProblem("CELL_ERROR_VALUE", f"单元格是错误值 {value.strip()}，请填写实际内容")
    return value


def _date(value: Cell) -> PartialDate | None:
    return parse_date(_not_error(value))


def _check_length(text: str, spec: FieldSpec, max_chars: int) -> None:
    if len(text) > max_chars:
        raise ValueProblem(
            "TEXT_TOO_LONG", f"{spec.label}过长（{len(text)} 字，上限 {max_chars} 字）"
        )


def _refuse_unstorable(text: str, spec: FieldSpec) -> None:
    # A CSV can carry a NUL or a form feed: PostgreSQL would refuse the commit, SQLite keep it,
    # and every export replace it. What an export could not write is an error here.
    raise ValueProblem(
        "TEXT_CONTROL_CHARACTER", f"{spec.label}{unstorable_reason(text)}，请删除后重新上传"
    )


def _fold_key(text: str) -> str:
    return "".join(fold(text).split())


def _is_seq(label: str) -> bool:
    return match_label(label).sequence
