"""drop two indexes whose column leads a unique key of the same table

annual_figures (enterprise_id) leads the unique key (enterprise_id, year), and ladder_anomaly
(designation_id) leads the unique key (designation_id, kind, occurred_on): each unique key's
own index answers every lookup by that column, on SQLite and on PostgreSQL alike, so the
separate index was a second b-tree every insert paid for (a 100 000-row roster import writes
100 000 figures rows and their anomalies) and no query needed.

Revision ID: 7d2f4a9c1e58
Revises: bcd06e0c3298
Create Date: 2026-12-08 00:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7d2f4a9c1e58"
down_revision: str | None = "bcd06e0c3298"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_annual_figures_enterprise_id", table_name="annual_figures")
    op.drop_index("ix_ladder_anomaly_designation_id", table_name="ladder_anomaly")


def downgrade() -> None:
    op.create_index("ix_ladder_anomaly_designation_id", "ladder_anomaly", ["designation_id"])
    op.create_index("ix_annual_figures_enterprise_id", "annual_figures", ["enterprise_id"])
