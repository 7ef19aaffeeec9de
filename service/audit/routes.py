"""HTTP edge for reading the audit trail (there is no route that changes it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel

from service.access.deps import CanReadAudit
from service.audit.models import AuditEvent
from service.clock import IsoDateTime
from service.db import SessionDep

router = APIRouter(prefix="/api/v1/audit", tags=["审计"])


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    actor_role: str
    action: str
    entity: str
    entity_id: str
    entity_repr: str
    enterprise_id: int | None
    changes: dict[str, Any]
    source: str
    request_id: str


class AuditPage(BaseModel):
    items: list[AuditEventPublic]
    total: int


@router.get("", response_model=AuditPage, summary="审计记录")
def list_audit(
    session: SessionDep,
    _actor: CanReadAudit,
    actor_id: int | None = None,
    enterprise_id: int | None = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    since: IsoDateTime | None = None,
    until: IsoDateTime | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    stmt = sa.select(AuditEvent)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if enterprise_id is not None:
        stmt = stmt.where(AuditEvent.enterprise_id == enterprise_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(AuditEvent.id.desc()).offset((page - 1) * page_size).limit(page_size)  # type: ignore[union-attr]
    )
    return AuditPage(
        items=[AuditEventPublic.model_validate(r, from_attributes=True) for r in rows], total=total
    )
