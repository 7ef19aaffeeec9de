"""candidate_count: the 可晋级 pool counted per district, for the city-wide dashboard

Revision ID: 3e8b5c1f7a20
Revises: 7c41e2a9d3b6
Create Date: 2026-12-04 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3e8b5c1f7a20"
down_revision: str | None = "7c41e2a9d3b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "candidate_count",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("district_code", sa.String(length=8), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("by_target", sa.JSON(), nullable=False),
        sa.Column("evaluated_on", sa.Date(), nullable=False),
        sa.Column("data_year", sa.Integer(), nullable=False),
        sa.Column("ledger_version", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["district.code"],
            name=op.f("fk_candidate_count_district_code_district"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("district_code", name=op.f("pk_candidate_count")),
    )


def downgrade() -> None:
    op.drop_table("candidate_count")
