"""every table has created_at/updated_at: login_attempt and ledger_state too

login_attempt takes both from the attempt's own time; ledger_state's updated_at now moves with
its version (the trigger that bumps it stamps it), so it tells when the ledger last changed.

Revision ID: 7c41e2a9d3b6
Revises: 4893a0d67b50
Create Date: 2026-12-03 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c41e2a9d3b6"
down_revision: str | None = "4893a0d67b50"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGER = (
    "CREATE TRIGGER audit_event_bumps_ledger_state AFTER INSERT ON audit_event "
    "BEGIN UPDATE ledger_state SET version = version + 1{stamp} WHERE id = 1; END"
)
# The function of 0ce37b81308f, with the stamp (see there for why it is deferred and guarded).
_PG_BUMP = """
CREATE OR REPLACE FUNCTION ledger_state_bump() RETURNS trigger AS $$
BEGIN
    IF current_setting('tierledger.ledger_bumped_at', true)
            IS DISTINCT FROM statement_timestamp()::text THEN
        UPDATE ledger_state SET version = version + 1{stamp} WHERE id = 1;
        PERFORM set_config('tierledger.ledger_bumped_at', statement_timestamp()::text, true);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
_TABLES = {"login_attempt": "at", "ledger_state": "CURRENT_TIMESTAMP"}


def _bump(stamp: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_bumps_ledger_state")
        op.execute(_SQLITE_TRIGGER.format(stamp=stamp))
    else:
        op.execute(_PG_BUMP.format(stamp=stamp))


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite rebuilds ledger_state below; renaming the copy fails while a trigger on
        # audit_event names a table that is momentarily gone, so the trigger waits outside.
        op.execute("DROP TRIGGER IF EXISTS audit_event_bumps_ledger_state")
    for table, source in _TABLES.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        op.execute(f"UPDATE {table} SET created_at = {source}, updated_at = {source}")
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(
                "created_at", existing_type=sa.DateTime(timezone=True), nullable=False
            )
            batch_op.alter_column(
                "updated_at", existing_type=sa.DateTime(timezone=True), nullable=False
            )
    _bump(", updated_at = CURRENT_TIMESTAMP")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_bumps_ledger_state")
    for table in _TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("updated_at")
            batch_op.drop_column("created_at")
    _bump("")
