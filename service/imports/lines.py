"""Plan lines as a chunk stores them: compact, compressed, and light to import (the roster
reader's process encodes them too, see `guess`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from service.imports.packing import pack, unpack
from service.imports.plan import PlanLine


@dataclass
class Line:
    """One plan line as a chunk keeps it (what the preview and the API show, what commit
    writes): the diffs as the JSON text the audit row stores."""

    row: int
    action: str
    credit_code: str = ""
    name: str = ""
    enterprise_id: int | None = None
    fingerprint: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    diffs_json: str | None = None

    @property
    def diffs(self) -> dict[str, Any]:
        return orjson.loads(self.diffs_json) if self.diffs_json else {}

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as a plain tuple: lines cross from the reader's process by the thousand.
        return (
            Line,
            (
                self.row,
                self.action,
                self.credit_code,
                self.name,
                self.enterprise_id,
                self.fingerprint,
                self.payload,
                self.diffs_json,
            ),
        )


def from_plan(line: PlanLine) -> Line:
    return Line(
        line.row,
        line.action,
        line.credit_code,
        line.name[:200],
        line.enterprise_id,
        line.fingerprint,
        line.payload or {},
        orjson.dumps(line.diffs).decode() if line.diffs else None,
    )


def encode(lines: Sequence[Line]) -> bytes:
    """A chunk's lines as one compressed blob: a JSON array of the lines on the first line of
    text, then each line's diffs, one JSON text per line of text, in order (JSON never holds a
    raw line break). Kept apart because the commit hands each diffs text to the audit row as it
    is: nested inside the array as strings they were escaped, and unescaped again, every time
    (a quarter of the encoding and decoding)."""
    head = orjson.dumps(
        [
            [
                line.row,
                line.action,
                line.credit_code,
                line.name[:200],
                line.enterprise_id,
                line.fingerprint,
                line.payload or None,
                1 if line.diffs_json else 0,
            ]
            for line in lines
        ]
    )
    diffs = "\n".join([line.diffs_json for line in lines if line.diffs_json]).encode()
    return pack(head + b"\n" + diffs)


def decode(blob: bytes) -> list[Line]:
    head, sep, rest = unpack(blob).partition(b"\n")
    rows = orjson.loads(head)
    if not sep:  # stored before the diffs were kept apart: each one a string in its line
        return [Line(r, a, c, n, e, f, p or {}, d) for r, a, c, n, e, f, p, d in rows]
    texts = iter(rest.decode().split("\n"))
    return [
        Line(r, a, c, n, e, f, p or {}, next(texts) if d else None)
        for r, a, c, n, e, f, p, d in rows
    ]
