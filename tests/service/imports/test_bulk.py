"""`service.bulk.insert_rows` stores what a plain Core insert of the same rows stores, on both
backends: dates (repeated and not), UTC timestamps (one object on every row, and not), exact
decimals, booleans, None and JSON, in any column order and across chunks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from service.audit.models import AuditEvent
from service.bulk import RawJSON, insert_rows, reserve_ids
from service.enterprises.models import AnnualFigures
from service.ladder.models import Designation
from tests.factories import make_enterprise

_D = Designation.__table__  # type: ignore[attr-defined]
_F = AnnualFigures.__table__  # type: ignore[attr-defined]
_A = AuditEvent.__table__  # type: ignore[attr-defined]


def _read(session: Session, table: sa.Table, where: Any, skip: set[str]) -> list[dict[str, Any]]:
    rows = session.execute(sa.select(table).where(where).order_by(table.c.id)).mappings()
    return [{k: v for k, v in r.items() if k not in skip} for r in rows]


def _designations(eid: int, n: int, now: datetime) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        on = date(2020, 1, 1) + timedelta(days=i % 7)  # equal dates as distinct objects
        out.append(
            {
                "enterprise_id": eid,
                "tier_code": "innovative_sme",
                "batch": f"第{i}批",
                "authority": "市经济信息委",
                "document_no": "",
                "designated_on": on,
                "valid_until": None if i % 3 == 0 else on + timedelta(days=1000 + i),
                "status": "valid",
                "reason": "",
                "revoked_on": None,
                "source": "test",
                # The same object on most rows, another equal one now and then.
                "created_at": now if i % 5 else now + timedelta(0),
                "updated_at": now + timedelta(seconds=i % 2),
            }
        )
    return out


@pytest.mark.parametrize("chunk", [1, 4, 5000])
def test_insert_rows_stores_what_a_core_insert_stores(session: Session, chunk: int) -> None:
    a = make_enterprise(session).id
    b = make_enterprise(session).id
    now = datetime(2026, 11, 23, 8, 30, 1, 123456, tzinfo=UTC)
    plain = _designations(a, 11, now)
    session.execute(sa.insert(_D), plain)
    fast = _designations(b, 11, now)
    columns = tuple(reversed(list(fast[0])))  # not the table's order
    written = insert_rows(
        session, _D, columns, [tuple(r[c] for c in columns) for r in fast], chunk=chunk
    )
    assert written == 11
    skip = {"id", "enterprise_id"}
    assert _read(session, _D, _D.c.enterprise_id == b, skip) == _read(
        session, _D, _D.c.enterprise_id == a, skip
    )

    figures = [
        {
            "year": 2000 + i,
            "operating_revenue": None if i == 2 else Decimal("12345.6789") * i,
            "employees": i,
            "source": "test",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(6)
    ]
    session.execute(sa.insert(_F), [f | {"enterprise_id": a} for f in figures])
    insert_rows(
        session,
        _F,
        ("enterprise_id", *figures[0]),
        [(b, *f.values()) for f in figures],
        chunk=chunk,
    )
    skip = {"id", "enterprise_id"}
    assert _read(session, _F, _F.c.enterprise_id == b, skip) == _read(
        session, _F, _F.c.enterprise_id == a, skip
    )


def test_insert_rows_takes_json_as_values_or_as_text(session: Session) -> None:
    now = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    base = {
        "at": now,
        "actor_id": None,
        "actor_name": "系统",
        "actor_role": "system",
        "action": "test.bulk",
        "entity": "enterprise",
        "entity_id": "1",
        "entity_repr": "测试",
        "enterprise_id": None,
        "source": "test",
        "request_id": "",
        "created_at": now,
        "updated_at": now,
    }
    changes = {"name": [None, "重庆“小巨人”\n"]}
    columns = (*base, "changes")
    insert_rows(
        session,
        _A,
        columns,
        [(*base.values(), changes), (*base.values(), RawJSON('{"name":[null,"重庆“小巨人”\\n"]}'))],
    )
    got = session.scalars(
        sa.select(_A.c.changes).where(_A.c.action == "test.bulk").order_by(_A.c.id)
    ).all()
    assert got == [changes, changes]


def test_insert_rows_refuses_rows_of_the_wrong_width(session: Session) -> None:
    eid = make_enterprise(session).id
    now = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    columns = ("enterprise_id", "year", "source", "created_at", "updated_at")
    with pytest.raises(ValueError, match="shorter"):
        insert_rows(session, _F, columns, [(eid, 2020, "x", now, now), (eid, 2021, "x", now)])
    with pytest.raises(ValueError, match="columns"):
        insert_rows(session, _F, columns, [(eid, 2020, "x", now)])


@pytest.mark.parametrize("n", [0, 1, 3])
def test_reserved_ids_are_new_and_take_inserts_that_name_them(session: Session, n: int) -> None:
    # A write first, as an import's batch row comes first: on SQLite it holds the write lock.
    eid = make_enterprise(session).id
    ids = reserve_ids(session, _F, n)
    assert len(set(ids)) == n
    taken = set(session.scalars(sa.select(_F.c.id)))
    assert not taken & set(ids)
    now = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    insert_rows(
        session,
        _F,
        ("id", "enterprise_id", "year", "source", "created_at", "updated_at"),
        [(i, eid, 2000 + k, "test", now, now) for k, i in enumerate(ids)],
    )
    # What the table gives the next row without an id never collides with them.
    session.execute(
        sa.insert(_F).values(
            enterprise_id=eid, year=1999, source="test", created_at=now, updated_at=now
        )
    )
    got = dict(
        session.execute(sa.select(_F.c.year, _F.c.id).where(_F.c.enterprise_id == eid)).all()
    )
    assert [got[2000 + k] for k in range(n)] == ids
    assert got[1999] not in ids
    assert reserve_ids(session, _F, 2)[0] > max(got.values())


def test_insert_rows_takes_dates_and_decimals_as_the_text_a_plan_keeps(session: Session) -> None:
    a = make_enterprise(session).id
    b = make_enterprise(session).id
    now = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    as_objects = _designations(a, 4, now)
    as_text = [
        r
        | {"designated_on": r["designated_on"].isoformat()}
        | {"valid_until": r["valid_until"] and r["valid_until"].isoformat()}
        for r in _designations(b, 4, now)
    ]
    for rows in (as_objects, as_text):
        columns = tuple(rows[0])
        insert_rows(session, _D, columns, [tuple(r[c] for c in columns) for r in rows])
    skip = {"id", "enterprise_id"}
    assert _read(session, _D, _D.c.enterprise_id == b, skip) == _read(
        session, _D, _D.c.enterprise_id == a, skip
    )

    columns = ("enterprise_id", "year", "operating_revenue", "rd_expense", "source")
    stamps = ("created_at", "updated_at")
    money = [Decimal("223922.8000"), Decimal("0.0001"), Decimal("-12.5000"), Decimal("1E+5")]
    insert_rows(
        session,
        _F,
        (*columns, *stamps),
        [(a, 2000 + i, m, None, "test", now, now) for i, m in enumerate(money)]
        + [(b, 2000 + i, str(m), None, "test", now, now) for i, m in enumerate(money)],
    )
    assert _read(session, _F, _F.c.enterprise_id == b, skip) == _read(
        session, _F, _F.c.enterprise_id == a, skip
    )


def test_insert_rows_refuses_a_date_text_that_is_not_a_date(session: Session) -> None:
    eid = make_enterprise(session).id
    now = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    (row,) = _designations(eid, 1, now)
    row["designated_on"] = "2021-02-30"
    columns = tuple(row)
    with pytest.raises((ValueError, sa.exc.DataError)):
        insert_rows(session, _D, columns, [tuple(row[c] for c in columns)])
