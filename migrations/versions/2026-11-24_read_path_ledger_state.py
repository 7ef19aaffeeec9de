"""read path: a covering index for valid designations, and ledger_state bumped by audit inserts

Revision ID: 0ce37b81308f
Revises: 5b1d0c7e9a42
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0ce37b81308f"
down_revision: str | None = "5b1d0c7e9a42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PostgreSQL: a deferred constraint trigger, so the one-row update happens at COMMIT, after the
# transaction's other locks. An immediate trigger would hold the row from the first audit
# insert to the commit: every writer would queue behind a long import, and two writers that
# lock the same enterprise in the other order would deadlock. Constraint triggers are per row;
# the guard keeps it to one update per firing statement (at COMMIT they all share one), so an
# import of 100 000 events updates the row once.
_PG_BUMP = """
CREATE OR REPLACE FUNCTION ledger_state_bump() RETURNS trigger AS $$
BEGIN
    IF current_setting('tierledger.ledger_bumped_at', true)
            IS DISTINCT FROM statement_timestamp()::text THEN
        UPDATE ledger_state SET version = version + 1 WHERE id = 1;
        PERFORM set_config('tierledger.ledger_bumped_at', statement_timestamp()::text, true);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "ledger_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_state")),
    )
    op.execute("INSERT INTO ledger_state (id, version) VALUES (1, 1)")
    with op.batch_alter_table("designation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_designation_valid",
            ["enterprise_id", "tier_code", "valid_until"],
            unique=False,
            sqlite_where=sa.text("status = 'valid'"),
            postgresql_where=sa.text("status = 'valid'"),
        )
    if op.get_bind().dialect.name == "sqlite":
        # SQLite writers are serialised, so an immediate per-row bump cannot deadlock.
        op.execute(
            "CREATE TRIGGER audit_event_bumps_ledger_state AFTER INSERT ON audit_event "
            "BEGIN UPDATE ledger_state SET version = version + 1 WHERE id = 1; END"
        )
        return
    op.execute(_PG_BUMP)
    op.execute(
        "CREATE CONSTRAINT TRIGGER audit_event_bumps_ledger_state AFTER INSERT ON audit_event "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_state_bump()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_bumps_ledger_state")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_bumps_ledger_state ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS ledger_state_bump()")
    with op.batch_alter_table("designation", schema=None) as batch_op:
        batch_op.drop_index("ix_designation_valid")
    op.drop_table("ledger_state")
