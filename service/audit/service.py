"""Writing and reading the audit trail; every write in the service calls `record`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session

from service.access.actor import Actor
from service.audit.display import display
from service.audit.models import AuditEvent, LedgerState
from service.requestid import current_request_id


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, Any]:
    """{field: [old, new]} for every field whose value changed."""
    before = before or {}
    after = after or {}
    out: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        old, new = display(before.get(key)), display(after.get(key))
        if old != new:
            out[key] = [old, new]
    return out


def record(
    session: Session,
    actor: Actor,
    *,
    action: str,
    entity: str,
    entity_id: Any = "",
    entity_repr: str = "",
    enterprise_id: int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
    source: str = "",
) -> AuditEvent:
    """Add one audit event to the caller's transaction (it commits or rolls back with it)."""
    event = AuditEvent(
        actor_id=actor.id,
        actor_name=actor.name,
        actor_role=actor.role,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        entity_repr=entity_repr[:300],
        enterprise_id=enterprise_id,
        changes=changes if changes is not None else diff(before, after),
        source=source,
        request_id=current_request_id() or "",
    )
    session.add(event)
    return event


# Plain SQL, one statement: asked on every cached read. See LedgerState for why each backend's
# sum is the ledger's version.
_STATE, _AUDIT = LedgerState.__tablename__, AuditEvent.__tablename__
_VERSION_SQL = {
    "sqlite": f"SELECT version + coalesce((SELECT max(id) FROM {_AUDIT}), 0) "
    f"FROM {_STATE} WHERE id = 1",
}
_COUNTER_SQL = f"SELECT version FROM {_STATE} WHERE id = 1"


def ledger_version_sql(dialect: str) -> str:
    """The one statement that reads the ledger version on this backend (for readers that hold
    a driver connection of their own, as service.versionreader does)."""
    return _VERSION_SQL.get(dialect, _COUNTER_SQL)


def ledger_version(conn: sa.Connection) -> int:
    """The ledger's version as `conn` sees it: it moves with every committed write, by any
    connection, and never goes back (LedgerState says how)."""
    sql = ledger_version_sql(conn.dialect.name)
    return int(conn.exec_driver_sql(sql).scalar() or 0)


# session.info key: the session's open transaction holds audit events it has not committed.
# The version it reads counts them, yet rolled back, that same number is what the next commit
# makes of another state (SQLite gives their ids out again); and PostgreSQL's counter moves
# only at COMMIT, so until then the session reads the old state's version for its new state.
_PENDING = "tierledger_audit_pending"


def has_pending(session: OrmSession) -> bool:
    """Whether `session` has written audit events its transaction has not committed yet."""
    return bool(session.info.get(_PENDING))


def mark_pending(session: OrmSession) -> None:
    """For writers that insert audit rows without the ORM (imports, in bulk)."""
    session.info[_PENDING] = True


@event.listens_for(OrmSession, "after_flush")
def _pending_after_flush(session: OrmSession, _context: Any) -> None:
    if not session.info.get(_PENDING) and any(isinstance(o, AuditEvent) for o in session.new):
        session.info[_PENDING] = True


@event.listens_for(OrmSession, "after_transaction_end")
def _settled(session: OrmSession, transaction: SessionTransaction) -> None:
    # The session's own transaction, committed or rolled back; a savepoint's end settles
    # nothing (what was flushed before it is still pending).
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
