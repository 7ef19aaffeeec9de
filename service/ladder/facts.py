"""The engine's input from the ledger: `EnterpriseFacts` for many enterprises in a few queries."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from service.enterprises.models import AnnualFigures
from service.ladder.models import Designation, EvaluatorFacts
from service.ladder.rules import (
    Award,
    ContestPlacing,
    EnterpriseFacts,
    IpCounts,
    Judgements,
    Title,
    YearFigures,
)

WINDOW_YEARS = 4  # the evaluated year and the three before it: every "近N年" the criteria use
_FIGURE_COLUMNS = (
    "operating_revenue",
    "main_business_revenue",
    "rd_expense",
    "employees",
    "rd_staff",
    "total_assets",
    "total_liabilities",
    "net_profit",
    "new_equity_financing",
)
_MONEY = frozenset(_FIGURE_COLUMNS) - {"employees", "rd_staff"}
_JUDGEMENTS = frozenset(Judgements.__dataclass_fields__)
_IP = frozenset(IpCounts.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class Record:
    """One evaluator-facts row as plain values (ORM objects cost too much in bulk)."""

    year: int
    niche_since: date | None
    judgements: dict[str, Any]
    ip: dict[str, Any]
    rd_institution: str | None
    awards: list[Any]
    contests: list[Any]
    titles: list[Any]
    development_score: Decimal | None
    digital_level: int | None
    local_distinctive_points: Decimal | None


_JSON_FIELDS = ("judgements", "ip", "awards", "contests", "titles")
# JSON read as text and decoded here: most values repeat ("[]", the same judgements), so a
# cache spares most of the decoding a bulk run would otherwise pay per row and column.
_RECORD_COLUMNS = tuple(
    sa.type_coerce(getattr(EvaluatorFacts, f), sa.Text()).label(f)
    if f in _JSON_FIELDS
    else getattr(EvaluatorFacts, f)
    for f in Record.__dataclass_fields__
)


@functools.lru_cache(maxsize=4096)
def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


_EMPTY_MAP: dict[str, Any] = {}  # shared and never changed: build() only reads records
_EMPTY_LIST: list[Any] = []
_JSON_AT = {
    i: (_EMPTY_MAP if f in ("judgements", "ip") else _EMPTY_LIST)
    for i, f in enumerate(Record.__dataclass_fields__)
    if f in _JSON_FIELDS
}


def _record(values: Sequence[Any]) -> Record:
    row = list(values)
    for i, empty in _JSON_AT.items():
        # SQLite hands back the text; PostgreSQL's driver has already decoded json.
        value = row[i]
        row[i] = (_json(value) if isinstance(value, str) else value) or empty
    return Record(*row)


def record_of(row: EvaluatorFacts) -> Record:
    return Record(**{f: getattr(row, f) for f in Record.__dataclass_fields__})


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _title_of_designation(
    tier_code: str,
    designated_on: date,
    valid_until: date | None,
    status: str,
    revoked_on: date | None,
) -> Title | None:
    if status == "superseded":
        return None
    if status == "revoked":
        cut = (revoked_on or designated_on) - timedelta(days=1)
        valid_until = cut if valid_until is None else min(valid_until, cut)
    return Title(tier_code, designated_on, valid_until)


def _chunks(ids: list[int], size: int = 900) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _where_ids(column: Any, ids: sa.Select[Any] | list[int]) -> Any:
    return column.in_(ids)


def load(
    session: Session, ids: sa.Select[Any] | list[int], *, year: int
) -> dict[int, EnterpriseFacts]:
    """Facts of every enterprise whose id `ids` selects (a subquery or a short list), for fiscal
    year `year`: figures of the window, titles from designations and the evaluator's facts.

    Three queries whatever the number of enterprises; judgement-type facts come from the latest
    evaluator record up to `year`, awards, contests, titles and development scores from all
    records up to the year after it (this year's score for last year's figures).
    """
    figures: dict[int, list[YearFigures]] = defaultdict(list)
    ip_from_figures: dict[int, tuple[int | None, int | None]] = {}
    titles: dict[int, list[Title]] = defaultdict(list)
    records: dict[int, list[Record]] = defaultdict(list)
    id_lists = [ids] if isinstance(ids, sa.Select) else list(_chunks(ids))
    # Money as text, made Decimal here: exact on both backends, and far cheaper in bulk than
    # the driver-side float-to-Decimal conversion SQLite needs otherwise.
    fig_cols = [
        sa.cast(getattr(AnnualFigures, c), sa.Text()) if c in _MONEY else getattr(AnnualFigures, c)
        for c in _FIGURE_COLUMNS
    ]
    money_at = [i for i, c in enumerate(_FIGURE_COLUMNS) if c in _MONEY]
    for chunk in id_lists:
        stmt = (
            sa.select(
                AnnualFigures.enterprise_id,
                AnnualFigures.year,
                AnnualFigures.ip_class1,
                AnnualFigures.ip_class2,
                *fig_cols,
            )
            .where(
                _where_ids(AnnualFigures.enterprise_id, chunk),
                AnnualFigures.year.between(year - WINDOW_YEARS + 1, year),  # type: ignore[attr-defined]
            )
            .order_by(AnnualFigures.enterprise_id, AnnualFigures.year)
        )
        for row in session.execute(stmt):
            eid, y, ip1, ip2, *values = row
            for i in money_at:
                if values[i] is not None:
                    values[i] = Decimal(values[i])
            figures[eid].append(YearFigures(y, *values))
            if y == year:
                ip_from_figures[eid] = (ip1, ip2)
        stmt_d = sa.select(
            Designation.enterprise_id,
            Designation.tier_code,
            Designation.designated_on,
            Designation.valid_until,
            Designation.status,
            Designation.revoked_on,
        ).where(_where_ids(Designation.enterprise_id, chunk))
        for eid, *values in session.execute(stmt_d):
            title = _title_of_designation(*values)
            if title is not None:
                titles[eid].append(title)
        stmt_f = (
            sa.select(EvaluatorFacts.enterprise_id, *_RECORD_COLUMNS)
            .where(
                _where_ids(EvaluatorFacts.enterprise_id, chunk),
                EvaluatorFacts.year <= year + 1,
            )
            .order_by(EvaluatorFacts.enterprise_id, EvaluatorFacts.year)
        )
        for eid, *values in session.execute(stmt_f):
            records[eid].append(_record(values))
    out: dict[int, EnterpriseFacts] = {}
    for eid in set(figures) | set(titles) | set(records):
        out[eid] = build(
            figures=figures.get(eid, ()),
            titles=titles.get(eid, ()),
            records=records.get(eid, ()),
            ip_from_figures=ip_from_figures.get(eid),
            year=year,
        )
    return out


def build(
    *,
    figures: Iterable[YearFigures],
    titles: Iterable[Title],
    records: Iterable[Record],
    ip_from_figures: tuple[int | None, int | None] | None,
    year: int,
) -> EnterpriseFacts:
    """One enterprise's facts from its loaded rows (records sorted by year)."""
    records = list(records)
    upto = [r for r in records if r.year <= year]
    base = upto[-1] if upto else None
    all_titles = list(titles)
    awards: list[Award] = []
    contests: list[ContestPlacing] = []
    scores: dict[int, Decimal] = {}
    for r in records:
        awards += [Award(a["level"], int(a["year"]), a.get("unit_rank")) for a in r.awards]
        contests += [ContestPlacing(int(c["year"]), int(c["national_top"])) for c in r.contests]
        all_titles += [
            Title(t["code"], _date(t.get("designated_on")), _date(t.get("valid_until")))
            for t in r.titles
        ]
        if r.development_score is not None:
            scores[r.year] = Decimal(r.development_score)
    if base is not None and base.ip:
        ip = IpCounts(**{k: v for k, v in base.ip.items() if k in _IP})
    elif ip_from_figures is not None:
        ip = IpCounts(class_i=ip_from_figures[0], class_ii=ip_from_figures[1])
    else:
        ip = IpCounts()
    judgements = (
        Judgements(**{k: v for k, v in base.judgements.items() if k in _JUDGEMENTS})
        if base is not None
        else Judgements()
    )
    known = bool(records)
    return EnterpriseFacts(
        figures=tuple(figures),
        niche_since=base.niche_since if base else None,
        ip=ip,
        judgements=judgements,
        rd_institution=base.rd_institution if base else None,  # type: ignore[arg-type]
        awards=tuple(awards) if known else None,
        contests=tuple(contests) if known else None,
        titles=tuple(all_titles),
        development_scores=scores,
        digital_level=base.digital_level if base else None,
        local_distinctive_points=(
            Decimal(base.local_distinctive_points)
            if base is not None and base.local_distinctive_points is not None
            else None
        ),
    )


def inputs_summary(facts: EnterpriseFacts) -> Mapping[str, Any]:
    """What the engine was given, for showing beside its verdicts."""
    return {
        "figure_years": [f.year for f in facts.figures],
        "titles": [
            {
                "code": t.code,
                "designated_on": t.designated_on.isoformat() if t.designated_on else None,
                "valid_until": t.valid_until.isoformat() if t.valid_until else None,
            }
            for t in facts.titles or ()
        ],
        "evaluator_facts_recorded": facts.awards is not None,
        "development_scores": {str(k): format(v, "f") for k, v in facts.development_scores.items()},
    }
