"""SQLite: the ledger version is ledger_state.version plus the newest audit_event id, no trigger

On SQLite the AFTER INSERT trigger updated ledger_state once per audit row: 1.4 of the 2.4 s
a 100 000-row roster import spent writing its 100 004 audit rows (issue 6 measured 3 of 4.2 s
on another machine). SQLite has no statement or commit
triggers, and no WHEN clause can tell the first audit row of a transaction from the next ones
without writing per row again. It needs none: its writers are serialised (and a reader's
snapshot that a commit has overtaken cannot write), so each committed transaction's audit ids
are above every id committed before it, and audit_event refuses UPDATE and DELETE, so its
highest committed id only grows and grows with every committed write. Reading it is one step
down the rowid b-tree.

ledger_state.version stays, as the base the highest id is added to: left as the trigger left
it, the first version read after the upgrade is the last one before plus the highest id, never
lower. The downgrade folds the highest id back into it before the trigger counts on from there.
`updated_at` no longer moves on SQLite; the newest audit event's `at` tells when the ledger
last changed.

PostgreSQL keeps its deferred, guarded trigger: its sequence hands out ids in the order
transactions ask, not the order they commit, so a highest id could miss a commit there.

Revision ID: bcd06e0c3298
Revises: 5a9c2e7d1b43
Create Date: 2026-12-07 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "bcd06e0c3298"
down_revision: str | None = "5a9c2e7d1b43"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The trigger of 7c41e2a9d3b6 (with its stamp), as the downgrade puts it back.
_SQLITE_TRIGGER = (
    "CREATE TRIGGER audit_event_bumps_ledger_state AFTER INSERT ON audit_event "
    "BEGIN UPDATE ledger_state SET version = version + 1, updated_at = CURRENT_TIMESTAMP "
    "WHERE id = 1; END"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_event_bumps_ledger_state")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # The counter goes on from the last version read with this revision: never backwards.
    op.execute(
        "UPDATE ledger_state SET version = version + "
        "coalesce((SELECT max(id) FROM audit_event), 0), updated_at = CURRENT_TIMESTAMP "
        "WHERE id = 1"
    )
    op.execute(_SQLITE_TRIGGER)
