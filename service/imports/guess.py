"""What the roster reader's process can do for `import_now` while the caller writes the
previous part: plan the part's rows whose enterprise the ledger did not hold when the import
began (new enterprises need no ledger to plan), and encode the chunk those lines make. On a
first import that is the whole plan; the caller plans only the rows of enterprises the ledger
holds. Pure, and light to import (no database)."""

from __future__ import annotations

import bisect
import hashlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

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
    """A part as read and planned by the reader: its new enterprises' lines, both as objects
    (for the caller to write: unpickling them costs it less than decoding the chunk) and
    encoded as the chunk stores them; the rows of enterprises the ledger held come as rows, for
    the caller to plan against the ledger. No row the reader planned crosses the pipe."""

    keys: Keys
    known: list[RosterRow]  # the rows whose enterprise was in the ledger
    lines: list[store.Line]  # the guessed rows' lines, in order
    errors: list[RowError]  # the plan's, for the guessed rows
    warnings: list[RowError]
    error_rows: list[int]  # the part's rows with parse errors, in order
    blob: bytes  # the chunk of `lines` and an error line for each of `error_rows`


class CodeSet:
    """Credit codes, kept as sorted 64-bit digests: 8 bytes a code, where a set of 100 000
    codes as text took 11 MB of the reader's memory, and the one pass runs close to its limit.
    A digest collision can only make a code look present: its row is then planned by the
    caller, against the ledger, as it would be anyway, never written twice."""

    def __init__(self, codes: Iterable[str]) -> None:
        self._digests = array("q", sorted({_digest(code) for code in codes}))

    def __contains__(self, code: object) -> bool:
        if not isinstance(code, str):
            return False
        digests = self._digests
        d = _digest(code)
        i = bisect.bisect_left(digests, d)
        return i < len(digests) and digests[i] == d

    def __len__(self) -> int:
        return len(self._digests)


def _digest(code: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(code.encode(), digest_size=8).digest(), "little", signed=True
    )


@dataclass(frozen=True)
class Guessing:
    """What the reader needs to guess: the plan's context, less the header, and the credit codes
    the ledger held when the import began (a re-import's rows are all among them, and none is
    guessed)."""

    base: plan_core.Context
    known: CodeSet


def guess(found: Found, part: Part, how: Guessing) -> GuessedPart | Part:
    new = part.rows
    held: list[RosterRow] = []  # rows of enterprises the ledger holds, for the caller
    if how.known:  # one pass, one digest a row
        new = []
        for r in part.rows:
            (held if r.credit_code in how.known else new).append(r)
    if not new:
        return part
    plan = plan_core.build(new, {}, plan_core.with_header(how.base, found))
    error_rows = sorted({e.row for e in part.errors})
    lines = [store.from_plan(line) for line in plan.lines]
    chunk = lines + [store.Line(row, "error") for row in error_rows]
    chunk.sort(key=lambda line: line.row)
    return GuessedPart(
        keys(part),
        held,
        lines,
        plan.errors,
        plan.warnings,
        error_rows,
        store.encode(chunk),
    )
