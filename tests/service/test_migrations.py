"""The migration chain builds the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import service.models  # noqa: F401
from service import migrate
from service.db import NAMING_CONVENTION
from tests.dbutil import fresh_database


def _tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as engine:
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
        assert _tables(engine) == set(SQLModel.metadata.tables)
        migrate.downgrade(engine, "base")
        assert migrate.current(engine) is None
        assert _tables(engine) == set()
        migrate.upgrade(engine)
        assert _tables(engine) == set(SQLModel.metadata.tables)


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []


def test_every_constraint_is_named_by_the_convention() -> None:
    prefixes = tuple(f"{k}_" for k in NAMING_CONVENTION)
    for table in SQLModel.metadata.tables.values():
        for constraint in table.constraints:
            assert constraint.name, (table, constraint)
            assert str(constraint.name).startswith(prefixes), (table, constraint)
        for index in table.indexes:
            assert str(index.name).startswith("ix_"), (table, index)


def test_no_migration_imports_sqlmodel() -> None:
    versions = Path(migrate.__file__).parent.parent / "migrations" / "versions"
    for path in versions.glob("*.py"):
        assert "sqlmodel" not in path.read_text("utf-8"), path


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"]
)
def test_audit_trail_is_append_only_in_the_database(engine: Engine, statement: str) -> None:
    with Session(engine) as s:
        s.execute(
            sa.text(
                "INSERT INTO audit_event (at, actor_name, actor_role, action, entity, entity_id, "
                "entity_repr, changes, source, request_id, created_at, updated_at) VALUES "
                "(CURRENT_TIMESTAMP, 'x', 'admin', 'test', 't', '1', '', '{}', '', '', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            s.execute(sa.text(statement))
        s.rollback()


def test_the_chain_has_one_head() -> None:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations branch: {heads}; set down_revision to the current head"


def test_every_table_carries_created_and_updated_at(engine: Engine) -> None:
    """As built by the migrations (not the models): every table but Alembic's own."""
    inspector = sa.inspect(engine)
    missing = {
        table: {"created_at", "updated_at"} - {c["name"] for c in inspector.get_columns(table)}
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }
    assert {t: m for t, m in missing.items() if m} == {}


def test_a_committed_write_moves_the_ledger_version_and_its_time(tmp_path: Path) -> None:
    """One committed audit event moves the version by one and tells when the ledger last
    changed: ledger_state.updated_at (stamped by the trigger) on PostgreSQL, the newest audit
    event's time on SQLite (which has no trigger)."""
    from service.access.actor import SYSTEM
    from service.audit import service as audit_service

    with fresh_database(tmp_path) as eng:
        migrate.upgrade(eng)
        sqlite = eng.dialect.name == "sqlite"
        changed = sa.text(
            "SELECT at FROM audit_event ORDER BY id DESC LIMIT 1"
            if sqlite
            else "SELECT updated_at FROM ledger_state WHERE id = 1"
        )
        with eng.connect() as conn:
            version = audit_service.ledger_version(conn)
        before_write = datetime.now(UTC).replace(microsecond=0)
        with Session(eng) as s:
            audit_service.record(s, SYSTEM, action="test.write", entity="test")
            s.commit()
        with eng.connect() as conn:
            after_version = audit_service.ledger_version(conn)
            after_stamp = conn.execute(changed).scalar_one()
    if isinstance(after_stamp, str):  # SQLite keeps UTC text
        after_stamp = datetime.fromisoformat(after_stamp).replace(tzinfo=UTC)
    assert after_version == version + 1
    assert before_write <= after_stamp <= datetime.now(UTC)


# The head before SQLite's ledger version came from the audit ids (bcd06e0c3298).
BEFORE_AUDIT_ID_VERSION = "5a9c2e7d1b43"


def test_the_ledger_version_never_goes_back_across_the_audit_id_migration(
    tmp_path: Path,
) -> None:
    """Up and down across bcd06e0c3298 with writes between: on SQLite the version changes
    from a counter to base + highest audit id and back; it never drops, and every committed
    write still moves it (by its number of events)."""
    from service.access.actor import SYSTEM
    from service.audit import service as audit_service

    def read(engine: Engine) -> int:
        with engine.connect() as conn:
            if migrate.current(engine) == BEFORE_AUDIT_ID_VERSION:  # the counter, as then
                return int(conn.exec_driver_sql("SELECT version FROM ledger_state").scalar_one())
            return audit_service.ledger_version(conn)

    def write(events: int) -> Callable[[Engine], None]:
        def run(engine: Engine) -> None:
            with Session(engine) as s:
                for _ in range(events):
                    audit_service.record(s, SYSTEM, action="test.write", entity="test")
                s.commit()

        return run

    steps: list[tuple[str, Callable[[Engine], None], int | None]] = [
        # (step, what it does, how far it moves the version: None = not backwards)
        ("three events at the old head", write(3), 3),
        ("upgrade", migrate.upgrade, None),
        ("two events", write(2), 2),
        ("downgrade", lambda e: migrate.downgrade(e, BEFORE_AUDIT_ID_VERSION), None),
        ("four events under the trigger", write(4), 4),
        ("upgrade again", migrate.upgrade, None),
        ("one event", write(1), 1),
    ]
    with fresh_database(tmp_path) as engine:
        migrate.upgrade(engine, BEFORE_AUDIT_ID_VERSION)
        last = read(engine)
        for name, step, moves in steps:
            step(engine)
            now = read(engine)
            if moves is None:
                assert now >= last, name
            elif engine.dialect.name == "sqlite":
                assert now == last + moves, name
            else:  # one bump per commit
                assert now == last + 1, name
            last = now
        assert migrate.current(engine) == migrate.head()


# The head before SQLite's ids were never given out twice (3b8e6f1a9d27).
BEFORE_NEVER_REUSED_IDS = "7d2f4a9c1e58"
# The tables the models declare with NEVER_REUSED_IDS, which the migration rebuilds.
_NEVER_REUSED = tuple(
    t.name for t in SQLModel.metadata.sorted_tables if t.dialect_options["sqlite"]["autoincrement"]
)


def _rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            table: [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1, 2"))]
            for table in (*_NEVER_REUSED, "enterprise_subsector", "audit_event")
        }


def test_a_deleted_rows_id_is_never_given_again_and_the_migration_keeps_every_row(
    tmp_path: Path,
) -> None:
    """Up across 3b8e6f1a9d27 on a ledger with rows in every table it rebuilds (and their
    ON DELETE CASCADE children): every row comes through, and an id deleted before the
    migration, that only the audit trail still names, is not given to a new enterprise."""
    from service.enterprises.models import Enterprise
    from service.reference import service as reference_service
    from tests.factories import make_commissioner, make_designation, make_enterprise, make_figures

    with fresh_database(tmp_path) as engine:
        migrate.upgrade(engine, BEFORE_NEVER_REUSED_IDS)
        with Session(engine) as s:
            reference_service.load(s)
            firms = [make_enterprise(s) for _ in range(4)]
            for firm in firms:
                make_designation(s, firm, tier="specialized_sme")
                make_figures(s, firm)
            make_commissioner(s)
            s.commit()
            gone = firms[-1].id or 0
            # As a revert does: the newest enterprise goes, its rows with it (cascade).
            s.execute(sa.delete(Enterprise).where(Enterprise.id == gone))  # type: ignore[arg-type]
            s.commit()
        before = _rows(engine)
        assert len(_NEVER_REUSED) == 7
        assert all(before[t] for t in ("enterprise", "designation", "designation_event"))

        migrate.upgrade(engine)
        assert _rows(engine) == before
        with Session(engine) as s:
            assert make_enterprise(s).id == gone + 1  # not `gone` again
            s.commit()

        migrate.downgrade(engine, BEFORE_NEVER_REUSED_IDS)
        after_down = _rows(engine)
        migrate.upgrade(engine)
        assert _rows(engine) == after_down
