"""Bulk INSERT as one executemany of plain tuples: what an import of 100 000 rows needs.

Core's `insert(table), [dicts]` builds, type-processes and (with RETURNING) re-reads every row
in Python; here the statement is compiled once per column set, each value goes through its
column's own bind processor (so SQLite and PostgreSQL store exactly what the ORM would), and
the driver gets the rows in one `executemany` — no RETURNING: callers that need ids select them
back by a natural key.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

_Processor = Callable[[Any], Any] | None


class RawJSON(str):
    """JSON text already serialised: a JSON column takes it as it is."""

    __slots__ = ()


def _json_raw(proc: _Processor) -> Callable[[Any], Any]:
    def process(value: Any) -> Any:
        if isinstance(value, RawJSON):
            return str(value)
        return proc(value) if proc is not None else value

    return process


def insert_rows(
    session: Session,
    table: sa.Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    chunk: int = 5000,
) -> int:
    """INSERT `rows` (tuples in `columns` order) into `table`; returns the number written."""
    conn = session.connection()
    dialect = conn.dialect
    compiled = sa.insert(table).compile(dialect=dialect, column_keys=list(columns))
    sql = str(compiled)
    processors: list[_Processor] = []
    for name in columns:
        col_type = table.c[name].type
        proc = col_type.dialect_impl(dialect).bind_processor(dialect)
        if isinstance(col_type, sa.JSON):
            proc = _json_raw(proc)
        processors.append(proc)
    order: list[int] | None = None
    if compiled.positional:
        names = list(compiled.positiontup or [])
        order = [list(columns).index(n) for n in names]
    written = 0
    batch: list[Any] = []

    def flush() -> None:
        if batch:
            conn.exec_driver_sql(sql, batch)  # type: ignore[arg-type]
            batch.clear()

    # The same object often fills a column on every row (a commit's `now` in created_at,
    # updated_at and the audit's `at`): process it once. Only for columns of immutable values
    # (not JSON, whose dict a caller might change between rows), so the identity check is
    # exact; SQLite's DATETIME processor alone cost ~10 % of a commit.
    active = [
        (i, p, not isinstance(table.c[columns[i]].type, sa.JSON))
        for i, p in enumerate(processors)
        if p is not None
    ]
    last_in: list[Any] = [None] * len(processors)
    last_out: list[Any] = [None] * len(processors)
    # The driver's order, picked in C; a single column still goes as a 1-tuple.
    pick: Callable[[Sequence[Any]], Any] | None = None
    if order is not None:
        pick = (
            operator.itemgetter(*order) if len(order) > 1 else lambda v: tuple(v[i] for i in order)
        )
    for row in rows:
        values = list(row)
        for i, p, reuse in active:
            v = values[i]
            if v is not None:
                if reuse and v is last_in[i]:
                    values[i] = last_out[i]
                else:
                    values[i] = last_out[i] = p(v)
                    last_in[i] = v
        if pick is not None:
            batch.append(pick(values))
        else:
            batch.append(dict(zip(columns, values, strict=True)))
        written += 1
        if len(batch) >= chunk:
            flush()
    flush()
    return written
