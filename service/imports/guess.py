"""What the roster reader's process can do for `import_now` while the caller writes the
previous part: plan each part as if none of its enterprises were in the ledger, and encode the
chunk those lines make. On a first import that is the plan itself; the caller plans again only
the rows whose enterprise it finds in the ledger. Pure, and light to import (no database)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from importers.errors import RowError
from importers.roster import Found, Part
from service.imports import lines as store
from service.imports import plan as plan_core


@dataclass
class GuessedPart:
    part: Part
    lines: list[store.Line]  # every good row of the part planned as a new enterprise
    errors: list[RowError]
    warnings: list[RowError]
    error_rows: list[int]  # the part's rows with parse errors, in order
    blob: bytes  # the chunk: `lines` and an error line for each of `error_rows`


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
    return GuessedPart(part, lines, plan.errors, plan.warnings, error_rows, store.encode(chunk))
