"""import plan stored in compressed chunks; a durable 'running' status for commits

One JSON row per roster row (import_batch_line) made a 100 000-row preview write 100 000 rows
and its commit update each again; a chunk holds up to 1 000 lines in one zlib'd JSON blob.
Existing lines are carried over (their undo records too), so committed batches stay revertible.

Revision ID: 5b1d0c7e9a42
Revises: 210e27e8f1ec
Create Date: 2026-11-24 10:00:00.000000
"""

import json
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "5b1d0c7e9a42"
down_revision: str | None = "210e27e8f1ec"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "status IN ('previewed', 'pending_approval', 'committed', 'rejected', 'reverted', 'failed')"
_NEW = (
    "status IN ('previewed', 'pending_approval', 'running', 'committed', 'rejected', "
    "'reverted', 'failed')"
)
_LINES = 1000


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _pack(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return zlib.compress(text.encode(), 1)


def _undo(rows: list[Any]) -> dict[str, list[Any]]:
    """Per-line undo records in the chunk's shape (created figures/designations by id)."""
    out: dict[str, list[Any]] = {
        "created": [],
        "enterprises": [],
        "figures": [],
        "figures_new": [],
        "designations": [],
        "designations_new": [],
    }
    for r in rows:
        u = _json(r.undo) or {}
        ent = u.get("enterprise")
        if ent and ent.get("created"):
            out["created"].append([r.row, ent["id"]])
            continue
        if ent:
            out["enterprises"].append([r.row, ent["id"], ent["before"], ent["version"]])
        for key, new in (("figures", "figures_new"), ("designations", "designations_new")):
            for item in u.get(key, []):
                if item.get("created"):
                    out[new].append([r.row, item["id"]])
                else:
                    out[key].append([r.row, item["id"], item["before"]])
    return out


def upgrade() -> None:
    op.create_table(
        "import_batch_chunk",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("first_row", sa.Integer(), nullable=False),
        sa.Column("last_row", sa.Integer(), nullable=False),
        sa.Column("creates", sa.Integer(), nullable=False),
        sa.Column("updates", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("lines", sa.LargeBinary(), nullable=False),
        sa.Column("undo", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batch.id"],
            name=op.f("fk_import_batch_chunk_batch_id_import_batch"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batch_chunk")),
        sa.UniqueConstraint("batch_id", "seq", name=op.f("uq_import_batch_chunk_batch_id_seq")),
    )
    with op.batch_alter_table("import_batch_chunk", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_batch_chunk_batch_id"), ["batch_id"], unique=False
        )
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("runner", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.drop_constraint(op.f("ck_import_batch_status"), type_="check")
        batch_op.create_check_constraint("status", _NEW)
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.alter_column("runner", server_default=None)

    conn = op.get_bind()
    chunk = sa.table(
        "import_batch_chunk",
        *(
            sa.column(c)
            for c in (
                "created_at",
                "updated_at",
                "batch_id",
                "seq",
                "first_row",
                "last_row",
                "creates",
                "updates",
                "unchanged",
                "errors",
                "lines",
                "undo",
            )
        ),
    )
    now = datetime.now(UTC)
    batch_ids = [b for (b,) in conn.execute(sa.text("SELECT id FROM import_batch ORDER BY id"))]
    for batch_id in batch_ids:
        rows = conn.execute(
            sa.text(
                "SELECT row, action, credit_code, name, enterprise_id, fingerprint, payload, "
                "diffs, undo FROM import_batch_line WHERE batch_id = :b ORDER BY row"
            ),
            {"b": batch_id},
        ).fetchall()
        for seq, start in enumerate(range(0, len(rows), _LINES)):
            part = rows[start : start + _LINES]
            lines = [
                [
                    r.row,
                    r.action,
                    r.credit_code,
                    r.name,
                    r.enterprise_id,
                    r.fingerprint,
                    _json(r.payload) or None,
                    json.dumps(_json(r.diffs), ensure_ascii=False) if _json(r.diffs) else None,
                ]
                for r in part
            ]
            actions = [r.action for r in part]
            conn.execute(
                chunk.insert().values(
                    created_at=now,
                    updated_at=now,
                    batch_id=batch_id,
                    seq=seq,
                    first_row=part[0].row,
                    last_row=part[-1].row,
                    creates=actions.count("create"),
                    updates=actions.count("update"),
                    unchanged=actions.count("unchanged"),
                    errors=actions.count("error"),
                    lines=_pack(lines),
                    undo=_pack(_undo(part)),
                )
            )
    with op.batch_alter_table("import_batch_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_batch_line_batch_id"))
    op.drop_table("import_batch_line")


def downgrade() -> None:
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
    conn = op.get_bind()
    line = sa.table(
        "import_batch_line",
        *(
            sa.column(c)
            for c in ("created_at", "updated_at", "batch_id", "row", "action", "credit_code")
        ),
        sa.column("name"),
        sa.column("enterprise_id"),
        sa.column("diffs", sa.JSON()),
        sa.column("payload", sa.JSON()),
        sa.column("fingerprint"),
        sa.column("undo", sa.JSON()),
    )
    now = datetime.now(UTC)
    # The lines come back; chunk undo records do not map back line by line, so batches
    # committed under chunks are not revertible after a downgrade.
    for batch_id, blob in conn.execute(
        sa.text("SELECT batch_id, lines FROM import_batch_chunk ORDER BY batch_id, seq")
    ).fetchall():
        for row, action, code, name, eid, fp, payload, diffs in json.loads(zlib.decompress(blob)):
            conn.execute(
                line.insert().values(
                    created_at=now,
                    updated_at=now,
                    batch_id=batch_id,
                    row=row,
                    action=action,
                    credit_code=code,
                    name=name,
                    enterprise_id=eid,
                    diffs=json.loads(diffs) if diffs else {},
                    payload=payload or {},
                    fingerprint=fp,
                    undo={},
                )
            )
    op.execute("UPDATE import_batch SET status = 'failed' WHERE status = 'running'")
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_import_batch_status"), type_="check")
        batch_op.create_check_constraint("status", _OLD)
        batch_op.drop_column("runner")
    with op.batch_alter_table("import_batch_chunk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_batch_chunk_batch_id"))
    op.drop_table("import_batch_chunk")
