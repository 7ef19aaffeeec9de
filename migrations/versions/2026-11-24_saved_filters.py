"""Saved filters: a user's named enterprise-list queries.

Revision ID: fae4168dd5fd
Revises: 0ce37b81308f
Create Date: 2026-11-23 19:36:34.176258
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fae4168dd5fd"
down_revision: str | None = "0ce37b81308f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_filter",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("query", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_saved_filter_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filter")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_saved_filter_user_id_name")),
    )
    with op.batch_alter_table("saved_filter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_filter_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("saved_filter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_filter_user_id"))

    op.drop_table("saved_filter")
