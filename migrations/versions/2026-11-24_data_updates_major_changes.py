"""Annual data updates and major changes (what keeps a title reviewable); two anomaly kinds.

Revision ID: 4893a0d67b50
Revises: fae4168dd5fd
Create Date: 2026-11-23 19:55:05.934890
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4893a0d67b50"
down_revision: str | None = "fae4168dd5fd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_OLD_KINDS = (
    "little_giant_without_specialized",
    "skipped_rung",
    "renewal_without_review",
    "duplicate_valid",
)
_NEW_KINDS = ("major_change_late", "major_change_unreported")


def _kinds(kinds: tuple[str, ...]) -> str:
    return f"kind IN ({', '.join(repr(k) for k in kinds)})"


def upgrade() -> None:
    op.create_table(
        "data_update",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("updated_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_data_update_enterprise_id_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_update")),
        sa.UniqueConstraint(
            "enterprise_id", "year", name=op.f("uq_data_update_enterprise_id_year")
        ),
    )
    with op.batch_alter_table("data_update", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_update_enterprise_id"), ["enterprise_id"], unique=False
        )

    op.create_table(
        "major_change",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.CheckConstraint(
            "kind IN ('rename', 'merger', 'restructuring', 'relocation', 'foreign_branch')",
            name=op.f("ck_major_change_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_major_change_enterprise_id_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_major_change")),
        sa.UniqueConstraint(
            "enterprise_id",
            "kind",
            "occurred_on",
            name=op.f("uq_major_change_enterprise_id_kind_occurred_on"),
        ),
    )
    with op.batch_alter_table("major_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_major_change_enterprise_id"), ["enterprise_id"], unique=False
        )

    # Late and unreported major changes are recorded as anomalies too.
    with op.batch_alter_table("ladder_anomaly", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_ladder_anomaly_kind"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_ladder_anomaly_kind"), _kinds(_OLD_KINDS + _NEW_KINDS)
        )


def downgrade() -> None:
    op.execute(sa.text(f"DELETE FROM ladder_anomaly WHERE {_kinds(_NEW_KINDS)}"))
    with op.batch_alter_table("ladder_anomaly", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_ladder_anomaly_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_ladder_anomaly_kind"), _kinds(_OLD_KINDS))
    with op.batch_alter_table("major_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_major_change_enterprise_id"))

    op.drop_table("major_change")
    with op.batch_alter_table("data_update", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_update_enterprise_id"))

    op.drop_table("data_update")
