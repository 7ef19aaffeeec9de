"""Audit events: who changed what, when, from which value to which."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import TimestampedTable, UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    """One append-only entry; database triggers refuse UPDATE and DELETE on this table."""

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
    """One row whose version moves with every committed write: a database trigger bumps it on
    each audit_event insert (every write records one in its own transaction), so a cache keyed
    by it can never serve a read from before a committed write, whichever process made it.
    The trigger stamps updated_at too: when the ledger last changed."""

    __tablename__ = "ledger_state"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=1, nullable=False)
