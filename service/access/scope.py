"""The one place that decides which enterprises an actor may see: every query goes through it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session
from sqlalchemy.sql.elements import ColumnElement

from service.access.actor import Actor
from service.access.policy import COMMISSIONER_FIELDS
from service.commissioners.models import Assignment
from service.enterprises.models import Enterprise
from service.errors import LedgerError

SEE_ALL = frozenset({"system", "admin", "manager", "viewer"})


def enterprise_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause limiting `enterprise` rows to the actor's scope."""
    if actor.role in SEE_ALL:
        return sa.true()
    if actor.role == "district_officer" and actor.district_code:
        return Enterprise.district_code == actor.district_code  # type: ignore[return-value]
    if actor.role == "commissioner" and actor.commissioner_id is not None:
        return Enterprise.id.in_(assigned_to(actor.commissioner_id))  # type: ignore[union-attr]
    return sa.false()


def assigned_to(commissioner_id: int) -> sa.Select[Any]:
    """Ids of the enterprises a commissioner holds an active slot of (ended ones are history)."""
    return sa.select(Assignment.enterprise_id).where(
        Assignment.commissioner_id == commissioner_id,
        Assignment.ended_on.is_(None),  # type: ignore[union-attr]
    )


def can_see(actor: Actor, enterprise: Any, session: Session | None = None) -> bool:
    """The same rule for one loaded enterprise; a commissioner's needs one query."""
    if actor.role in SEE_ALL:
        return True
    if actor.role == "district_officer":
        return bool(actor.district_code) and enterprise.district_code == actor.district_code
    if actor.role == "commissioner" and actor.commissioner_id is not None:
        # The enterprise's own session when the caller has none to hand: same answer as the clause.
        session = session or object_session(enterprise)
        if session is None or enterprise.id is None:
            return False
        found = session.scalar(
            assigned_to(actor.commissioner_id).where(Assignment.enterprise_id == enterprise.id)
        )
        return found is not None
    return False


def require_district_write(actor: Actor, district_code: str) -> None:
    """A district officer writes files of their own district only."""
    if actor.role == "district_officer" and district_code != actor.district_code:
        raise LedgerError(
            "access.district_forbidden",
            "无权操作其他区县的企业",
            403,
            "区县用户只能登记或修改本区县的企业",
        )


def require_field_rights(actor: Actor, enterprise: Any, fields: set[str]) -> None:
    """Field-level rights on an enterprise the actor can already see."""
    if actor.role == "viewer":
        raise LedgerError("access.forbidden", "无权修改", 403, "只读用户不能修改企业档案")
    if actor.role == "commissioner" and not fields <= COMMISSIONER_FIELDS:
        names = "、".join(sorted(fields - COMMISSIONER_FIELDS))
        raise LedgerError(
            "access.field_forbidden", "无权修改这些字段", 403, f"服务专员不能修改：{names}"
        )


def scope_label(
    actor: Actor, district_names: dict[str, str], district_code: str | None = None
) -> str:
    """What an export's or report's 范围 line says it covers: the same rule as the rows, so a
    commissioner's handful of enterprises is never labelled 全市 and passed on as the city's."""
    if actor.role == "commissioner":
        served = f"{actor.name}服务的企业"
        return (
            f"{district_names.get(district_code, district_code)}、{served}"
            if district_code
            else served
        )
    code = district_code or (actor.district_code if actor.role == "district_officer" else None)
    if code:
        return district_names.get(code, code)
    return "全市" if actor.role in SEE_ALL else ""


def cache_key(actor: Actor) -> tuple[str, str | None, int | None]:
    """What a cached read must be keyed by so it is only served within the same scope: the
    role, and the district or commissioner the scope is drawn from."""
    return (
        actor.role,
        actor.district_code if actor.role == "district_officer" else None,
        actor.commissioner_id if actor.role == "commissioner" else None,
    )
