"""Audit events: who changed what, when, from which value to which."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import TimestampedTable, UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    """One append-only entry; database triggers refuse UPDATE and DELETE on this table. On
    SQLite the ledger version counts on that (see LedgerState): a committed id is never taken
    back."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    actor_id: int | None = Field(default=None, index=True)
    actor_name: str = Field(default="", max_length=100)
    actor_role: str = Field(default="", max_length=20)
    action: str = Field(max_length=60, index=True)
    entity: str = Field(max_length=40)
    entity_id: str = Field(default="", max_length=40)
    entity_repr: str = Field(default="", max_length=300)
    enterprise_id: int | None = Field(default=None, index=True)
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    source: str = Field(default="", max_length=60)
    request_id: str = Field(default="", max_length=64)
    # created_at/updated_at as on every table; updated_at never changes here.
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class LedgerState(TimestampedTable, table=True):
    """One row from which the ledger's version is read (`audit.service.ledger_version`): it
    moves with every committed write, whichever process made it, because every write records
    an audit event in its own transaction. A cache keyed by it can never serve a read from
    before a committed write.

    PostgreSQL: `version` is the version. A deferred trigger adds 1 at the commit of each
    transaction that inserted audit events (however many), and stamps updated_at: when the
    ledger last changed.

    SQLite: the version is `version` (a fixed base) plus the highest audit_event id, and no
    trigger runs per audit row (one cost a 100 000-row import 1.4 s). Writers are serialised,
    so each committed transaction's audit ids lie above every id committed before it, and the
    audit trail refuses UPDATE and DELETE, so that highest id never goes back and moves with
    every commit. The newest audit event's `at` tells when the ledger last changed."""

    __tablename__ = "ledger_state"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=1, nullable=False)
