"""Bulk INSERT as one executemany of plain tuples: what an import of 100 000 rows needs.

Core's `insert(table), [dicts]` builds, type-processes and (with RETURNING) re-reads every row
in Python; here the statement is compiled once per column set, each value goes through its
column's own bind processor (so SQLite and PostgreSQL store exactly what the ORM would), and
the driver gets the rows in one `executemany` — no RETURNING: callers that need ids draw them
first (`reserve_ids`).

A date or a decimal may also come as the text an import's plan keeps it in (ISO date, decimal
text), so that an import need not turn every value back into an object only for it to be
written as text again: PostgreSQL casts such text to the column's type, SQLite's DATE takes it
checked (`_iso_date`) and its NUMERIC converts it as it converts a Decimal.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
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
    sql, order, active = _statement(table, tuple(columns), conn.dialect)
    width = len(columns)
    written = 0
    source = iter(rows)
    while part := list(itertools.islice(source, chunk)):
        cols = list(zip(*part, strict=True))
        if len(cols) != width:
            raise ValueError(f"rows of {len(cols)} values for {width} columns")
        for i, p, reuse in active:
            cols[i] = _processed(cols[i], p, reuse=reuse)
        if order is not None:
            params: list[Any] = list(zip(*[cols[j] for j in order], strict=True))
        else:
            params = [dict(zip(columns, values, strict=True)) for values in zip(*cols, strict=True)]
        conn.exec_driver_sql(sql, params)  # type: ignore[arg-type]
        written += len(part)
    return written


@functools.lru_cache(maxsize=256)
def _statement(
    table: sa.Table, columns: tuple[str, ...], dialect: sa.Dialect
) -> tuple[str, list[int] | None, list[tuple[int, Callable[[Any], Any], bool]]]:
    """The INSERT's SQL, the order of its positional parameters (None: named), and the bind
    processor of each column that has one, with whether it may reuse the last value's result.
    Kept per table, columns and dialect: an import inserts into the same six tables 100 times,
    and compiling each insert again cost 0.2 s of 100 000 rows."""
    compiled = sa.insert(table).compile(dialect=dialect, column_keys=list(columns))
    processors: list[_Processor] = []
    for name in columns:
        col_type = table.c[name].type
        impl = col_type.dialect_impl(dialect)
        proc = impl.bind_processor(dialect)
        if isinstance(col_type, sa.JSON):
            proc = _json_raw(proc)
        elif proc is not None and _is_sqlite_iso_date(impl):
            proc = _iso_date(proc)
        processors.append(proc)
    order: list[int] | None = None
    if compiled.positional:
        names = list(compiled.positiontup or [])
        order = [columns.index(n) for n in names]
    # Column by column, a chunk at a time: the rows are turned into columns and back in C, and
    # each processed column is one tight loop (row by row, the per-value bookkeeping cost as
    # much as the processors). Only columns of immutable values (not JSON, whose dict a caller
    # might change between rows) reuse the last value's result for the same object: a commit's
    # `now` fills created_at, updated_at and the audit's `at` on every row.
    active = [
        (i, p, not isinstance(table.c[columns[i]].type, sa.JSON))
        for i, p in enumerate(processors)
        if p is not None
    ]
    return str(compiled), order, active


_SQLITE_DATE_FORMAT = "%(year)04d-%(month)02d-%(day)02d"  # SQLAlchemy's default for DATE


def _is_sqlite_iso_date(impl: Any) -> bool:
    return isinstance(impl, sqlite.DATE) and impl._storage_format == _SQLITE_DATE_FORMAT


def _iso_date(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLite's DATE text for a date, by `date.isoformat` (the same text for every year 1 to
    9999) where SQLAlchemy fills a format from a dict: a fifth of the time, over the ~300 000
    dates a 100 000-row import writes. A date given as ISO text (as an import's plan keeps
    it) is checked and stored in the same form, as PostgreSQL takes such text for a date.
    Anything else (a datetime) goes to SQLAlchemy's."""
    date_class = dt.date
    from_text = dt.date.fromisoformat

    def process(value: Any) -> Any:
        cls = value.__class__
        if cls is date_class:
            return value.isoformat()
        if cls is str:
            return from_text(value).isoformat()
        return proc(value)

    return process


def _processed(values: Sequence[Any], process: Callable[[Any], Any], *, reuse: bool) -> list[Any]:
    """`process` over one column, None kept as None. With `reuse`, the same object as the
    previous value gets the previous result, and a date (a value type: equal is the same) its
    earlier result: a roster's dates repeat, and SQLite's DATE processor formats each."""
    out: list[Any] = []
    append = out.append
    last_in: Any = None
    last_out: Any = None
    dates: dict[dt.date, Any] = {}
    for v in values:
        if v is None:
            append(None)
        elif not reuse:
            append(process(v))
        elif v is last_in:
            append(last_out)
        else:
            if v.__class__ is dt.date:
                last_out = dates.get(v, _MISSING)
                if last_out is _MISSING:
                    last_out = dates[v] = process(v)
            else:
                last_out = process(v)
            last_in = v
            append(last_out)
    return out


_MISSING = object()


def reserve_ids(session: Session, table: sa.Table, n: int) -> list[int]:
    """`n` new ids for rows the caller inserts into `table` itself (its primary key `id`), so
    that it never reads its own inserts back to learn them.

    PostgreSQL: drawn from the column's sequence, as a default would draw them. SQLite: the
    ids above the largest the table ever gave (its AUTOINCREMENT sequence, see
    `db.NEVER_REUSED_IDS`), as SQLite would give them; the caller's transaction must already
    have written (an import has: its batch row), so it holds the database's write lock and no
    other connection inserts into `table` before it commits."""
    if n <= 0:
        return []
    conn = session.connection()
    name = table.name
    if conn.dialect.name == "postgresql":
        drawn = sa.text(
            "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
        )
        return list(conn.execute(drawn, {"t": name, "n": n}).scalars())
    # Plain SQL: compiling a select per chunk took longer than SQLite's answer from the b-tree.
    quoted = conn.dialect.identifier_preparer.quote(name)
    top = (
        conn.exec_driver_sql(
            f"SELECT max(coalesce((SELECT max(id) FROM {quoted}), 0), "
            "coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0))",
            (name,),
        ).scalar()
        or 0
    )
    return list(range(top + 1, top + 1 + n))
