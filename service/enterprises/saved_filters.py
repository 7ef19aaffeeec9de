"""Saved filters: a user's named enterprise-list queries, kept per account."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from sqlmodel import Session

from service.access.actor import Actor
from service.audit import service as audit_service
from service.enterprises.models import SavedFilter
from service.errors import FieldError, invalid, not_found

KEYS = ("district", "subsector", "tier", "key", "status", "q", "sort")
MAX_PER_USER = 30


def clean_query(query: str) -> str:
    """Only the list's own parameters survive, in a stable order."""
    pairs = {k: v for k, v in parse_qsl(query, keep_blank_values=False) if k in KEYS}
    return urlencode([(k, pairs[k]) for k in KEYS if pairs.get(k)])


def list_for(session: Session, actor: Actor) -> list[SavedFilter]:
    return list(
        session.scalars(
            sa.select(SavedFilter).where(SavedFilter.user_id == actor.id).order_by(SavedFilter.name)
        )
    )


def save(session: Session, actor: Actor, *, name: str, query: str) -> SavedFilter:
    """Save (or replace) a named filter of the actor's own."""
    name = name.strip()
    if not name or len(name) > 60:
        raise invalid([FieldError("name", "saved_filter.name", "名称应为1到60个字符", name)])
    existing = session.scalar(
        sa.select(SavedFilter).where(SavedFilter.user_id == actor.id, SavedFilter.name == name)
    )
    if existing is None and len(list_for(session, actor)) >= MAX_PER_USER:
        raise invalid(
            [FieldError("name", "saved_filter.too_many", f"最多保存{MAX_PER_USER}个筛选", name)]
        )
    row = existing or SavedFilter(user_id=actor.id or 0, name=name, query="")
    before = row.query if existing else None
    row.query = clean_query(query)
    session.add(row)
    session.flush()
    audit_service.record(
        session,
        actor,
        action="saved_filter.save",
        entity="saved_filter",
        entity_id=row.id,
        entity_repr=name,
        before={"query": before},
        after={"query": row.query},
    )
    return row


def delete(session: Session, actor: Actor, filter_id: int) -> None:
    row = session.get(SavedFilter, filter_id)
    if row is None or row.user_id != actor.id:
        raise not_found("筛选", "saved_filter.not_found")
    audit_service.record(
        session,
        actor,
        action="saved_filter.delete",
        entity="saved_filter",
        entity_id=row.id,
        entity_repr=row.name,
        before={"query": row.query},
    )
    session.delete(row)
    session.flush()
