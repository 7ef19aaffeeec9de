"""SQLite: never give a deleted row's id to a new row

Tables keep INTEGER PRIMARY KEY without AUTOINCREMENT, so SQLite gave a new row the largest
id plus one. Revert deletes the enterprises an import created (with their designations,
figures, designate events and anomalies), so the next import's enterprises took the same ids,
and the audit trail, which names rows by id, showed the reverted enterprise's creation and
revert in the new one's history. A deleted commissioner's or saved filter's id came back the
same way. With AUTOINCREMENT, SQLite keeps the largest id ever given (sqlite_sequence).

Ids deleted before this migration are gone from the tables but not from the audit trail: each
table's sequence starts above every id the audit trail names for it as well.

PostgreSQL's sequences never give an id out twice: nothing to do there.

Revision ID: 3b8e6f1a9d27
Revises: 7d2f4a9c1e58
Create Date: 2026-12-08 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b8e6f1a9d27"
down_revision: str | None = "7d2f4a9c1e58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rows of these are deleted (revert, a commissioner with no history, a saved filter) or go
# with a deleted designation; the audit trail's `entity` names each by its table's name.
TABLES = (
    "enterprise",
    "designation",
    "annual_figures",
    "designation_event",
    "ladder_anomaly",
    "commissioner",
    "saved_filter",
)
# Batch mode rebuilds a table from what SQLite reflects, and SQLAlchemy does not reflect an
# index's WHERE: partial indexes are made again as the models declare them.
_PARTIAL = {
    "designation": [
        (
            "ix_designation_valid",
            ["enterprise_id", "tier_code", "valid_until"],
            "status = 'valid'",
        )
    ]
}


def _rebuild(autoincrement: bool) -> None:
    for table in TABLES:
        partial = _PARTIAL.get(table, [])
        for name, _columns, _where in partial:
            op.drop_index(name, table_name=table)
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
        for name, columns, where in partial:
            op.create_index(name, table, columns, sqlite_where=sa.text(where))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    _rebuild(True)
    for table in TABLES:
        # The largest id the table or the audit trail has seen; enterprise ids are also
        # named by every audit entry about an enterprise (its designations, figures, …).
        named = (
            "SELECT max(CAST(entity_id AS INTEGER)) FROM audit_event "
            "WHERE entity = :t AND entity_id GLOB '[0-9]*'"
        )
        also = "(SELECT max(enterprise_id) FROM audit_event)" if table == "enterprise" else "0"
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
        bind.execute(
            sa.text(
                "INSERT INTO sqlite_sequence (name, seq) SELECT :t, max("
                f"coalesce((SELECT max(id) FROM {table}), 0), coalesce(({named}), 0), "
                f"coalesce({also}, 0))"
            ),
            {"t": table},
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    _rebuild(False)
    for table in TABLES:
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
