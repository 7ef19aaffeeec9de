"""Import batches and their plan lines (the roster import, issue 6).

Revision ID: 210e27e8f1ec
Revises: aaa1accde4ee
Create Date: 2026-11-23 18:48:07.807525
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "210e27e8f1ec"
down_revision: str | None = "aaa1accde4ee"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "import_batch",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_by_name", sa.String(length=100), nullable=False),
        sa.Column("uploaded_by_role", sa.String(length=20), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("stored_name", sa.String(length=80), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=8), nullable=True),
        sa.Column("data_year", sa.Integer(), nullable=False),
        sa.Column("sheet", sa.String(length=100), nullable=False),
        sa.Column("header_row", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("skipped_rows", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("error_rows", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("notices", sa.JSON(), nullable=False),
        sa.Column("absent", sa.JSON(), nullable=False),
        sa.Column("same_as_batch_id", sa.Integer(), nullable=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("committed_by_id", sa.Integer(), nullable=True),
        sa.Column("committed_by_name", sa.String(length=100), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_name", sa.String(length=100), nullable=False),
        sa.Column("reverted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reverted_by_name", sa.String(length=100), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "status IN ('previewed', 'pending_approval', 'committed', 'rejected', 'reverted', "
            "'failed')",
            name=op.f("ck_import_batch_status"),
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["district.code"],
            name=op.f("fk_import_batch_district_code_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batch")),
    )
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_batch_district_code"), ["district_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_import_batch_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_batch_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_import_batch_uploaded_by_id"), ["uploaded_by_id"], unique=False
        )

    op.create_table(
        "import_batch_line",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("diffs", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=40), nullable=False),
        sa.Column("undo", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batch.id"],
            name=op.f("fk_import_batch_line_batch_id_import_batch"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batch_line")),
    )
    with op.batch_alter_table("import_batch_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_batch_line_batch_id"), ["batch_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("import_batch_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_batch_line_batch_id"))

    op.drop_table("import_batch_line")
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_batch_uploaded_by_id"))
        batch_op.drop_index(batch_op.f("ix_import_batch_status"))
        batch_op.drop_index(batch_op.f("ix_import_batch_sha256"))
        batch_op.drop_index(batch_op.f("ix_import_batch_district_code"))

    op.drop_table("import_batch")
