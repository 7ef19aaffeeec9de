"""PostgreSQL: a roster's look-ups by credit code are planned for their own codes.

psycopg prepares a statement on its fifth use, and the server then keeps a generic plan once
that looks no dearer. A first import's preview looks codes up in an empty table, so the plan
kept was a sequential scan, and the commit's look-ups then scanned the table as it grew (a
100 000-row commit: 188 s, of which 158 s in these look-ups; 34 s planned per call)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.db import planned_per_call, utcnow
from service.enterprises import service as enterprise_service
from service.enterprises.models import Enterprise
from service.imports.service import _ENTERPRISE_BASE

pytestmark = pytest.mark.postgres

CODES = [f"91500000MA{i:08d}" for i in range(2000)]  # none of them in the ledger


def _plans(session: Session) -> tuple[int, int]:
    """(generic, custom) plans of the snapshot's look-up, as this connection prepared it."""
    row = session.execute(
        sa.text(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'SELECT enterprise.id, enterprise.credit_code%' "
            "AND statement LIKE '%IN (%'"
        )
    ).one_or_none()
    return (row[0], row[1]) if row else (0, 0)


def _grow(session: Session, first: int, n: int) -> list[str]:
    """n enterprises, as an import's commit adds a chunk (Core, no audit): their codes."""
    now = utcnow()
    codes = [f"91500000MB{i:08d}" for i in range(first, first + n)]
    rows = [
        _ENTERPRISE_BASE
        | {
            "credit_code": code,
            "name": f"重庆计划材料{code}有限公司",
            "district_code": "500104",
            "subsector_code": "A4.01",
            "created_at": now,
            "updated_at": now,
        }
        for code in codes
    ]
    session.execute(sa.insert(Enterprise.__table__), rows)  # type: ignore[attr-defined]
    return codes


@pytest.fixture
def fresh(committed_db: Engine) -> Iterator[Session]:
    """A new schema, its tables never analysed: as a first import finds them."""
    with Session(committed_db) as s:
        yield s


def test_a_lookup_keeps_no_generic_plan_made_when_the_table_was_empty(fresh: Session) -> None:
    session = fresh
    # Unguarded, as before: the generic plan is costed on the empty table, the custom plans grow
    # dearer with it, and once they look dearer the server keeps the stale generic one.
    # A first import: the preview looks every chunk up in the empty table, then the commit
    # looks each chunk up and adds it.
    for _ in range(20):
        enterprise_service._snapshot(session, CODES, ())
    for chunk in range(20):
        enterprise_service._snapshot(session, CODES, ())
        _grow(session, chunk * 1000, 1000)
    generic, custom = _plans(session)
    assert generic > 0, "the hazard this guards against no longer shows: revisit the guard"
    # Guarded: every use planned for its codes on the table as it is.
    for _ in range(5):
        assert enterprise_service.snapshot(session, CODES) == {}
    assert _plans(session) == (generic, custom + 5)


def test_the_mode_is_back_to_the_default_after_the_block(session: Session) -> None:
    def mode() -> str:
        return str(session.execute(sa.text("SHOW plan_cache_mode")).scalar_one())

    before = mode()
    with planned_per_call(session):
        assert mode() == "force_custom_plan"
    assert mode() == before == "auto"
