"""Ledger foundation: reference tables, enterprises, figures, designations, audit trail.

Revision ID: 5487916229e7
Revises:
Create Date: 2026-11-23 18:20:02.002288
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5487916229e7"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("entity_repr", sa.String(length=300), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_event_enterprise_id"), ["enterprise_id"], unique=False
        )

    op.create_table(
        "chain_position",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_chain_position")),
        sa.UniqueConstraint("name", name=op.f("uq_chain_position_name")),
    )
    op.create_table(
        "cluster",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_cluster")),
        sa.UniqueConstraint("name", name=op.f("uq_cluster_name")),
    )
    op.create_table(
        "district",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_district")),
        sa.UniqueConstraint("name", name=op.f("uq_district_name")),
    )
    op.create_table(
        "service_kind",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_service_kind")),
        sa.UniqueConstraint("name", name=op.f("uq_service_kind_name")),
    )
    op.create_table(
        "specialty",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_specialty")),
        sa.UniqueConstraint("name", name=op.f("uq_specialty_name")),
    )
    op.create_table(
        "subsector",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("parent_code", sa.String(), nullable=True),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["subsector.code"], name=op.f("fk_subsector_parent_code_subsector")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_subsector")),
    )
    with op.batch_alter_table("subsector", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subsector_parent_code"), ["parent_code"], unique=False)

    op.create_table(
        "target",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("figure", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("since_on", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_target")),
    )
    op.create_table(
        "tier",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("validity_years", sa.Integer(), nullable=True),
        sa.Column("designated_by", sa.String(length=60), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_tier")),
        sa.UniqueConstraint("name", name=op.f("uq_tier_name")),
        sa.UniqueConstraint("rank", name=op.f("uq_tier_rank")),
    )
    op.create_table(
        "cluster_district",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cluster_code", sa.String(), nullable=False),
        sa.Column("district_code", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_code"],
            ["cluster.code"],
            name=op.f("fk_cluster_district_cluster_code_cluster"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["district.code"],
            name=op.f("fk_cluster_district_district_code_district"),
        ),
        sa.PrimaryKeyConstraint("cluster_code", "district_code", name=op.f("pk_cluster_district")),
    )
    op.create_table(
        "enterprise",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("district_code", sa.String(length=8), nullable=False),
        sa.Column("subsector_code", sa.String(length=16), nullable=False),
        sa.Column("chain_position", sa.String(), nullable=True),
        sa.Column("main_products", sa.String(length=500), nullable=False),
        sa.Column("established_on", sa.Date(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("legal_representative", sa.String(length=60), nullable=False),
        sa.Column("contact_person", sa.String(length=60), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("is_key", sa.Boolean(), nullable=False),
        sa.Column("key_reason", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notes", sa.String(length=2000), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'moved_out', 'deregistered')", name=op.f("ck_enterprise_status")
        ),
        sa.ForeignKeyConstraint(
            ["chain_position"],
            ["chain_position.code"],
            name=op.f("fk_enterprise_chain_position_chain_position"),
        ),
        sa.ForeignKeyConstraint(
            ["district_code"], ["district.code"], name=op.f("fk_enterprise_district_code_district")
        ),
        sa.ForeignKeyConstraint(
            ["subsector_code"],
            ["subsector.code"],
            name=op.f("fk_enterprise_subsector_code_subsector"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_enterprise_credit_code")),
    )
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enterprise_district_code"), ["district_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_enterprise_is_key"), ["is_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_enterprise_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_enterprise_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_enterprise_subsector_code"), ["subsector_code"], unique=False
        )

    op.create_table(
        "annual_figures",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("operating_revenue", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("main_business_revenue", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("rd_expense", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("total_assets", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("total_liabilities", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("net_profit", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("new_equity_financing", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("employees", sa.Integer(), nullable=True),
        sa.Column("rd_staff", sa.Integer(), nullable=True),
        sa.Column("ip_class1", sa.Integer(), nullable=True),
        sa.Column("ip_class2", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_annual_figures_enterprise_id_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annual_figures")),
        sa.UniqueConstraint(
            "enterprise_id", "year", name=op.f("uq_annual_figures_enterprise_id_year")
        ),
    )
    with op.batch_alter_table("annual_figures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_annual_figures_enterprise_id"), ["enterprise_id"], unique=False
        )

    op.create_table(
        "designation",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("tier_code", sa.String(length=32), nullable=False),
        sa.Column("batch", sa.String(length=60), nullable=False),
        sa.Column("authority", sa.String(length=100), nullable=False),
        sa.Column("document_no", sa.String(length=100), nullable=False),
        sa.Column("designated_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.CheckConstraint(
            "status IN ('valid', 'expired', 'revoked', 'superseded')",
            name=op.f("ck_designation_status"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_designation_enterprise_id_enterprise"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tier_code"], ["tier.code"], name=op.f("fk_designation_tier_code_tier")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_designation")),
    )
    with op.batch_alter_table("designation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_designation_enterprise_tier", ["enterprise_id", "tier_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_designation_tier_code"), ["tier_code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_designation_valid_until"), ["valid_until"], unique=False
        )

    op.create_table(
        "enterprise_subsector",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("subsector_code", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_enterprise_subsector_enterprise_id_enterprise"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subsector_code"],
            ["subsector.code"],
            name=op.f("fk_enterprise_subsector_subsector_code_subsector"),
        ),
        sa.PrimaryKeyConstraint(
            "enterprise_id", "subsector_code", name=op.f("pk_enterprise_subsector")
        ),
    )
    with op.batch_alter_table("enterprise_subsector", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enterprise_subsector_subsector_code"), ["subsector_code"], unique=False
        )
    _create_audit_guards()


def downgrade() -> None:
    _drop_audit_guards()
    with op.batch_alter_table("enterprise_subsector", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enterprise_subsector_subsector_code"))

    op.drop_table("enterprise_subsector")
    with op.batch_alter_table("designation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_designation_valid_until"))
        batch_op.drop_index(batch_op.f("ix_designation_tier_code"))
        batch_op.drop_index("ix_designation_enterprise_tier")

    op.drop_table("designation")
    with op.batch_alter_table("annual_figures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annual_figures_enterprise_id"))

    op.drop_table("annual_figures")
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enterprise_subsector_code"))
        batch_op.drop_index(batch_op.f("ix_enterprise_status"))
        batch_op.drop_index(batch_op.f("ix_enterprise_name"))
        batch_op.drop_index(batch_op.f("ix_enterprise_is_key"))
        batch_op.drop_index(batch_op.f("ix_enterprise_district_code"))

    op.drop_table("enterprise")
    op.drop_table("cluster_district")
    op.drop_table("tier")
    op.drop_table("target")
    with op.batch_alter_table("subsector", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subsector_parent_code"))

    op.drop_table("subsector")
    op.drop_table("specialty")
    op.drop_table("service_kind")
    op.drop_table("district")
    op.drop_table("cluster")
    op.drop_table("chain_position")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_enterprise_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_actor_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_action"))

    op.drop_table("audit_event")


# The audit trail is append-only even for the application's own connection.
_PG_GUARD = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only';
END;
$$ LANGUAGE plpgsql
"""


def _create_audit_guards() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
            )
        return
    op.execute(_PG_GUARD)
    op.execute(
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON audit_event FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
    )


def _drop_audit_guards() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
