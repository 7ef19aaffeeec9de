"""What the roster reader's process can do for `import_now` while the caller writes the
previous part: plan each part as if none of its enterprises were in the ledger, and encode the
chunk those lines make. On a first import that is the plan itself; the caller plans again only
the rows whose enterprise it finds in the ledger. Pure, and light to import (no database)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any

from importers.errors import RowError
from importers.roster import Found, Part, RosterRow
from service.imports import lines as store
from service.imports import plan as plan_core


@dataclass(frozen=True)
class Keys:
    """What the caller needs of a part before it plans it: the part's own errors and warnings,
    and its good rows' credit codes (in order), districts, figure years and last row number."""

    errors: list[RowError]
    warnings: list[RowError]
    codes: list[str]
    districts: set[str]
    years: list[int]
    last_row: int  # 0: no good row


def keys(part: Part) -> Keys:
    rows = part.rows
    return Keys(
        part.errors,
        part.warnings,
        [r.credit_code for r in rows],
        {r.district_code for r in rows},
        sorted({y for r in rows for y in r.figures}),
        rows[-1].row if rows else 0,
    )


@dataclass
class GuessedPart:
    """A part as read and planned by the reader. Its rows come still pickled: the caller needs
    them only for those of its enterprises it finds in the ledger (none, on a first import),
    and rebuilding every row's objects cost it about 1 s of 100 000 rows' 14-18 s, on the
    side that is busier."""

    keys: Keys
    rows_blob: bytes
    lines: list[store.Line]  # every good row of the part planned as a new enterprise
    errors: list[RowError]
    warnings: list[RowError]
    error_rows: list[int]  # the part's rows with parse errors, in order
    blob: bytes  # the chunk: `lines` and an error line for each of `error_rows`

    def rows(self) -> list[RosterRow]:
        rows: list[RosterRow] = pickle.loads(self.rows_blob)
        return rows


@dataclass(frozen=True)
class Guessing:
    """What the reader needs to guess: the plan's context, less the header, and a flag the
    caller clears while the rows it gets are mostly in the ledger already (a re-import), when
    the guesses would only be thrown away."""

    base: plan_core.Context
    wanted: Any  # a multiprocessing Event, shared with the reader


def guess(found: Found, part: Part, how: Guessing) -> GuessedPart | Part:
    if not how.wanted.is_set():
        return part
    plan = plan_core.build(part.rows, {}, plan_core.with_header(how.base, found))
    lines = [store.from_plan(line) for line in plan.lines]
    error_rows = sorted({e.row for e in part.errors})
    chunk = lines + [store.Line(row, "error") for row in error_rows]
    chunk.sort(key=lambda line: line.row)
    return GuessedPart(
        keys(part),
        pickle.dumps(part.rows, protocol=pickle.HIGHEST_PROTOCOL),
        lines,
        plan.errors,
        plan.warnings,
        error_rows,
        store.encode(chunk),
    )
