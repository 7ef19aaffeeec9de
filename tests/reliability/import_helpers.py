"""Shared by the import crash and concurrency tests: a content digest that ignores ids, stamps
and batch numbers, so two databases that imported the same roster compare equal."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

_SKIP = {"id", "created_at", "updated_at", "source", "enterprise_id", "designation_id"}


def content_digest(conn: sa.Connection) -> str:
    h = hashlib.sha256()
    insp = sa.inspect(conn)
    for table in ("enterprise", "enterprise_subsector", "designation", "annual_figures"):
        cols = [c["name"] for c in insp.get_columns(table) if c["name"] not in _SKIP]
        select = ", ".join(f"t.{c}" for c in cols)
        if table == "enterprise":
            sql = f"SELECT {select} FROM enterprise t"
        else:
            sql = (
                f"SELECT e.credit_code, {select} FROM {table} t "
                "JOIN enterprise e ON e.id = t.enterprise_id"
            )
        rows = sorted(repr(tuple(r)) for r in conn.exec_driver_sql(sql))
        h.update(f"{table}:{len(rows)}\n".encode())
        for row in rows:
            h.update(row.encode())
    return h.hexdigest()
