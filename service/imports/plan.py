"""The pure core of an import: parsed roster rows + the ledger as it stands → what to write.

Each valid row becomes a line: `create`, `update` (with field-level diffs) or `unchanged`; a row
that cannot be written as given (out of the actor's districts, a new enterprise without a
subsector, a value the ledger cannot hold) becomes an `error`. Only what the roster states is
compared: an empty cell never clears a value. Nothing here reads the database or the clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from importers.errors import RowError
from importers.roster import Found, RosterRow
from service.audit.display import display
from service.ladder.validity import validity_end

# Roster field → enterprise column, and the importer's column key that reports it.
ENTERPRISE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("name", "name", "name"),
    ("district_code", "district_code", "district"),
    ("subsector_code", "subsector_code", "subsector"),
    ("chain_position", "chain_position", "chain_position"),
    ("main_products", "main_products", "main_products"),
    ("established_on", "established_on", "established_on"),
    ("address", "address", "address"),
    ("legal_representative", "legal_representative", "legal_representative"),
    ("contact_person", "contact_person", "contact_person"),
    ("contact_phone", "contact_phone", "contact_phone"),
    ("key_enterprise", "is_key", "key_enterprise"),
    ("notes", "notes", "notes"),
)
# Roster field → designation column, the importer's column key, and its length limit's key.
DESIGNATION_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("designation_batch", "batch", "designation_batch", "designation.batch"),
    ("document_number", "document_no", "document_number", "designation.document_no"),
    ("valid_until", "valid_until", "valid_until", "designation.valid_until"),
)
DATE_FIELDS = frozenset({"established_on", "designated_on", "valid_until", "revoked_on"})
MONEY_FIELDS = frozenset(
    {
        "operating_revenue",
        "main_business_revenue",
        "rd_expense",
        "total_assets",
        "total_liabilities",
        "net_profit",
        "new_equity_financing",
    }
)
# Numeric(18, 4): 14 integer digits; counts as the API allows them.
MONEY_LIMIT = Decimal(10) ** 14
COUNT_LIMIT = 10_000_000
_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class TierInfo:
    code: str
    name: str
    validity_years: int | None


@dataclass(frozen=True)
class Context:
    """What the plan needs besides the rows and the ledger: plain values from the service."""

    data_year: int
    tiers: Mapping[str, TierInfo]
    district_names: Mapping[str, str]
    lengths: Mapping[str, int]  # enterprise / designation text column → max length
    columns: Mapping[str, str] = field(default_factory=dict)  # importer key → header label
    column_numbers: Mapping[str, int] = field(default_factory=dict)
    # Districts the actor may write; None: any.
    writable_districts: frozenset[str] | None = None


def with_header(base: Context, found: Found) -> Context:
    """`base` with the columns of the roster's header, as the reader found them."""
    return replace(base, columns=found.columns, column_numbers=found.column_numbers)


@dataclass
class PlanLine:
    row: int
    action: str  # create / update / unchanged / error
    credit_code: str = ""
    name: str = ""
    enterprise_id: int | None = None
    diffs: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""


@dataclass
class ImportPlan:
    lines: list[PlanLine]
    errors: list[RowError]
    warnings: list[RowError]

    def count(self, action: str) -> int:
        return sum(1 for line in self.lines if line.action == action)


_PLAIN = frozenset({str, int, bool, type(None)})


def to_json(value: Any) -> Any:
    """A value as stored in a line's payload or undo record (dates ISO, Decimals exact text)."""
    if value.__class__ in _PLAIN:  # most values: skip the isinstance ladder (~20 a row)
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


# Column name → how its JSON text becomes a value again; other columns are stored as they are.
_FROM_JSON: dict[str, Any] = {
    **dict.fromkeys(DATE_FIELDS, dt.date.fromisoformat),
    **dict.fromkeys(MONEY_FIELDS, Decimal),
    "updated_at": dt.datetime.fromisoformat,
    "created_at": dt.datetime.fromisoformat,
}


def from_json(name: str, value: Any) -> Any:
    """The inverse of `to_json` for a column of that name."""
    if value is None:
        return None
    convert = _FROM_JSON.get(name)
    return value if convert is None else convert(value)


def from_json_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """`from_json` over a payload's {column: value} (a commit decodes every line's): a copy,
    with only the few columns that convert visited (their names found by a set intersection)."""
    out = dict(values)
    for name in _FROM_JSON.keys() & out.keys():
        value = out[name]
        if value is not None:
            out[name] = _FROM_JSON[name](value)
    return out


def money_texts(value: Decimal) -> tuple[str, str]:
    """A money figure quantized to `_PLACES`, as stored (`to_json`) and as shown (`display`),
    from one `str`: a roster gives seven a row, and `display` normalises each. Such a value
    always prints its four places, so it is whole exactly when they are zeros."""
    text = str(value)
    return text, text[:-5] if text.endswith(".0000") else text


def _display(value: Any) -> Any:
    # Most values are text: skip `display`'s type ladder for them (it runs ~15 times a row).
    if value is None or value.__class__ is str:
        return value
    return display(value)


def fingerprint(current: Mapping[str, Any] | None, years: Iterable[int]) -> str:
    """The ledger state a line was planned against: versions and stamps of what it may touch."""
    if current is None:
        return "absent"
    parts: list[Any] = [current["id"], current["version"]]
    for year in sorted(set(years)):
        fig = current["figures"].get(year)
        parts.append((year, fig["id"], to_json(fig["updated_at"])) if fig else (year, None))
    parts += [(d["id"], d["status"], to_json(d["updated_at"])) for d in current["designations"]]
    return hashlib.sha1(repr(parts).encode(), usedforsecurity=False).hexdigest()


def build(
    rows: Sequence[RosterRow], current: Mapping[str, Mapping[str, Any]], ctx: Context
) -> ImportPlan:
    """One line per row: what writing it would change, given the ledger in `current`."""
    plan = ImportPlan([], [], [])
    for r in rows:
        _Row(r, current.get(r.credit_code), ctx, plan).build()
    return plan


class _Row:
    def __init__(
        self, r: RosterRow, cur: Mapping[str, Any] | None, ctx: Context, plan: ImportPlan
    ) -> None:
        self.r, self.cur, self.ctx, self.plan = r, cur, ctx, plan
        self.errors: list[RowError] = []
        self.diffs: dict[str, Any] = {}
        self.payload: dict[str, Any] = {}

    def error(self, key: str, value: Any, code: str, message: str) -> None:
        self.errors.append(
            RowError(
                self.r.row,
                self.ctx.columns.get(key, ""),
                "" if value is None else str(display(value))[:200],
                code,
                message,
                self.ctx.column_numbers.get(key),
            )
        )

    def build(self) -> None:
        r, cur = self.r, self.cur
        self._scope()
        self._enterprise()
        self._figures()
        self._designation()
        years = r.figures.keys()
        if self.errors:
            self.plan.errors.extend(self.errors)
            action = "error"
        elif cur is None:
            action = "create"
        else:
            action = "update" if set(self.payload) - {"years"} else "unchanged"
        self.plan.lines.append(
            PlanLine(
                row=r.row,
                action=action,
                credit_code=r.credit_code,
                name=r.name,
                enterprise_id=cur["id"] if cur else None,
                diffs=self.diffs if action != "error" else {},
                payload=self.payload if action in ("create", "update") else {},
                fingerprint=fingerprint(cur, years),
            )
        )

    def _scope(self) -> None:
        allowed = self.ctx.writable_districts
        if allowed is None:
            return
        names = self.ctx.district_names
        if self.r.district_code not in allowed:
            self.error(
                "district",
                names.get(self.r.district_code, self.r.district_code),
                "DISTRICT_OUT_OF_SCOPE",
                f"所属区县“{names.get(self.r.district_code, self.r.district_code)}”不在可导入的"
                f"范围（{'、'.join(names.get(d, d) for d in sorted(allowed))}）内",
            )
        if self.cur is not None and self.cur["district_code"] not in allowed:
            self.error(
                "credit_code",
                self.r.credit_code,
                "ENTERPRISE_OUT_OF_SCOPE",
                "该企业已登记在其他区县，不能通过本名单修改",
            )

    def _enterprise(self) -> None:
        r, cur = self.r, self.cur
        lengths, diffs = self.ctx.lengths, self.diffs
        changes: dict[str, Any] = {}
        for attr, column, key in ENTERPRISE_FIELDS:
            new = getattr(r, attr)
            if new is None:
                continue
            if isinstance(new, str):
                limit = lengths.get(column)
                if limit is not None and len(new) > limit:
                    self.error(
                        key, new, "TEXT_TOO_LONG", f"内容过长（{len(new)} 字，台账上限 {limit} 字）"
                    )
                    continue
            if cur is None:  # a new enterprise: every stated field, against nothing
                changes[column] = new
                diffs[column] = [None, new if new.__class__ is str else display(new)]
            elif cur[column] != new:
                changes[column] = new
                diffs[column] = [_display(cur[column]), _display(new)]
        if cur is None and "subsector_code" not in changes:
            self.error(
                "subsector",
                None,
                "SUBSECTOR_REQUIRED",
                "新登记的企业须填写细分领域（细分领域为空）",
            )
        if changes:
            plain = _PLAIN
            self.payload["enterprise"] = {
                k: v if v.__class__ in plain else to_json(v) for k, v in changes.items()
            }
        if self.r.figures:
            # Commit recomputes the fingerprint over the same years, changed or not.
            self.payload["years"] = sorted(self.r.figures)

    def _figures(self) -> None:
        cur, diffs = self.cur, self.diffs
        out: dict[str, Any] = {}
        for year, values in sorted(self.r.figures.items()):
            existing = cur["figures"].get(year) if cur else None
            changes: dict[str, Any] = {}
            for name, raw in values.items():
                if isinstance(raw, Decimal):
                    value: Decimal | int = raw.quantize(_PLACES)
                    if abs(value) >= MONEY_LIMIT:
                        key = self._figure_key(name, year)
                        self.error(key, raw, "NUMBER_TOO_LARGE", "数值超出台账可记录的范围")
                        continue
                    stored, shown = money_texts(value)  # type: ignore[arg-type]
                else:
                    value = stored = shown = raw
                    if value > COUNT_LIMIT:
                        key = self._figure_key(name, year)
                        self.error(key, raw, "NUMBER_TOO_LARGE", f"数值不能超过 {COUNT_LIMIT}")
                        continue
                old = existing.get(name) if existing else None
                if old is None:
                    changes[name] = stored
                    diffs[f"{name}:{year}"] = [None, shown]
                elif old != value:
                    changes[name] = stored
                    diffs[f"{name}:{year}"] = [display(old), shown]
            if changes:
                out[str(year)] = {"id": existing["id"] if existing else None, "set": changes}
        if out:
            self.payload["figures"] = out

    def _figure_key(self, name: str, year: int) -> str:
        keyed = f"{name}:{year}"
        return keyed if keyed in self.ctx.columns else name

    def _designation(self) -> None:
        r, cur = self.r, self.cur
        if r.tier_code is None:
            return
        tier = self.ctx.tiers.get(r.tier_code)
        if tier is None:  # the vocabulary only offers known tiers; a retired one is refused
            self.error("tier", r.tier_code, "TIER_UNKNOWN", "该梯度已停用，不能导入")
            return
        given: dict[str, Any] = {}
        for attr, column, key, limit_key in DESIGNATION_FIELDS:
            value = getattr(r, attr)
            if value is None:
                continue
            limit = self.ctx.lengths.get(limit_key)
            if isinstance(value, str) and limit is not None and len(value) > limit:
                self.error(
                    key, value, "TEXT_TOO_LONG", f"内容过长（{len(value)} 字，上限 {limit} 字）"
                )
                continue
            given[column] = value
        same_tier = [d for d in (cur["designations"] if cur else []) if d["tier_code"] == tier.code]
        if r.designated_on is not None:
            match = next((d for d in same_tier if d["designated_on"] == r.designated_on), None)
        else:
            match = same_tier[-1] if same_tier else None
        if match is not None:
            changes = {k: v for k, v in given.items() if match[k] != v}
            if changes:
                for k, v in changes.items():
                    self.diffs[f"designation.{k}"] = [display(match[k]), display(v)]
                self.payload["designation"] = {
                    "id": match["id"],
                    "set": {k: to_json(v) for k, v in changes.items()},
                }
            return
        designated_on = r.designated_on
        if designated_on is None:
            # Rosters often name the tier without the date; the ledger needs one.
            designated_on = dt.date(self.ctx.data_year, 1, 1)
            self.plan.warnings.append(
                RowError(
                    r.row,
                    self.ctx.columns.get("tier", ""),
                    tier.name,
                    "DESIGNATED_ON_ASSUMED",
                    f"未填写认定日期，认定记录按 {designated_on.isoformat()} 登记",
                    self.ctx.column_numbers.get("tier"),
                )
            )
        valid_until = given.get("valid_until")
        if valid_until is None and tier.validity_years:
            valid_until = validity_end(designated_on, tier.validity_years)
        if valid_until is not None and valid_until < designated_on:
            self.error("valid_until", valid_until, "DATE_ORDER", "有效期早于认定日期")
            return
        # Dates are ISO text both as stored (`to_json`) and as shown (`display`): one dict is
        # the payload, and its non-empty values the diffs.
        stored = {
            "tier_code": tier.code,
            "designated_on": designated_on.isoformat(),
            "valid_until": None if valid_until is None else valid_until.isoformat(),
            "batch": given.get("batch", ""),
            "document_no": given.get("document_no", ""),
        }
        for k, v in stored.items():
            if v not in (None, ""):
                self.diffs[f"designation.{k}"] = [None, v]
        self.payload["designation"] = {"id": None, "set": stored}
