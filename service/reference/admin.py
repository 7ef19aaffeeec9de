"""Admins correct reference data: rename districts and subsectors, add a rung, edit targets."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from service.access.actor import Actor
from service.audit import service as audit_service
from service.errors import FieldError, LedgerError, invalid, not_found
from service.reference.models import District, SubsectorNode, Target, Tier


def _clean_aliases(aliases: Sequence[str] | None) -> list[str] | None:
    if aliases is None:
        return None
    return list(dict.fromkeys(a.strip() for a in aliases if a.strip()))


def _name_taken(session: Session, model: type[SQLModel], name: str, code: str) -> bool:
    column: Any = model.name  # type: ignore[attr-defined]
    key: Any = model.code  # type: ignore[attr-defined]
    return session.scalar(sa.select(key).where(column == name, key != code)) is not None


def _apply(
    session: Session,
    actor: Actor,
    row: Any,
    changes: dict[str, Any],
    *,
    entity: str,
) -> Any:
    before = {k: getattr(row, k) for k in changes}
    for key, value in changes.items():
        setattr(row, key, value)
    session.add(row)
    session.flush()
    audit_service.record(
        session,
        actor,
        action=f"{entity}.update",
        entity=entity,
        entity_id=row.code,
        entity_repr=row.name,
        before=before,
        after={k: getattr(row, k) for k in changes},
    )
    return row


def update_district(
    session: Session, actor: Actor, code: str, *, name: str | None, aliases: Sequence[str] | None
) -> District:
    row = session.get(District, code)
    if row is None:
        raise not_found("区县", "district.not_found")
    changes: dict[str, Any] = {}
    if name is not None and name != row.name:
        if _name_taken(session, District, name, code):
            raise invalid(
                [FieldError("name", "district.name_taken", f"已有名为“{name}”的区县", name)]
            )
        changes["name"] = name
    if (clean := _clean_aliases(aliases)) is not None:
        changes["aliases"] = clean
    return _apply(session, actor, row, changes, entity="district") if changes else row


def update_subsector(
    session: Session, actor: Actor, code: str, *, name: str | None, aliases: Sequence[str] | None
) -> SubsectorNode:
    row = session.get(SubsectorNode, code)
    if row is None:
        raise not_found("细分领域", "subsector.not_found")
    changes: dict[str, Any] = {}
    if name is not None and name != row.name:
        siblings = sa.select(SubsectorNode.code).where(
            SubsectorNode.name == name,
            SubsectorNode.code != code,
            SubsectorNode.level == row.level,
        )
        if session.scalar(siblings) is not None:
            raise invalid(
                [FieldError("name", "subsector.name_taken", f"同一层级已有“{name}”", name)]
            )
        changes["name"] = name
    if (clean := _clean_aliases(aliases)) is not None:
        changes["aliases"] = clean
    return _apply(session, actor, row, changes, entity="subsector") if changes else row


def _tier_errors(
    session: Session, code: str, *, name: str | None, rank: int | None
) -> list[FieldError]:
    errors = []
    if name is not None and _name_taken(session, Tier, name, code):
        errors.append(FieldError("name", "tier.name_taken", f"已有名为“{name}”的梯度", name))
    if rank is not None:
        clash = session.scalar(sa.select(Tier.code).where(Tier.rank == rank, Tier.code != code))
        if clash is not None:
            errors.append(
                FieldError(
                    "rank", "tier.rank_taken", f"位次{rank}已被“{clash}”使用，请选另一个数", rank
                )
            )
    return errors


def add_tier(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    rank: int,
    validity_years: int | None,
    designated_by: str = "",
    aliases: Sequence[str] = (),
) -> Tier:
    """A new rung (a provincial title, say) placed between others by its rank."""
    if session.get(Tier, code) is not None:
        raise LedgerError(
            "tier.duplicate",
            "梯度代码已存在",
            409,
            f"梯度代码“{code}”已存在",
            [FieldError("code", "tier.duplicate", "代码已存在", code)],
        )
    errors = _tier_errors(session, code, name=name, rank=rank)
    if errors:
        raise invalid(errors)
    tier = Tier(
        code=code,
        name=name,
        rank=rank,
        validity_years=validity_years,
        designated_by=designated_by,
        aliases=_clean_aliases(aliases) or [],
        active=True,
    )
    session.add(tier)
    session.flush()
    audit_service.record(
        session,
        actor,
        action="tier.add",
        entity="tier",
        entity_id=code,
        entity_repr=name,
        after={"name": name, "rank": rank, "validity_years": validity_years},
    )
    return tier


def update_tier(session: Session, actor: Actor, code: str, **fields: Any) -> Tier:
    row = session.get(Tier, code)
    if row is None:
        raise not_found("梯度", "tier.not_found")
    changes = {k: v for k, v in fields.items() if v is not None and getattr(row, k) != v}
    if "aliases" in changes:
        changes["aliases"] = _clean_aliases(changes["aliases"]) or []
    errors = _tier_errors(session, code, name=changes.get("name"), rank=changes.get("rank"))
    if errors:
        raise invalid(errors)
    return _apply(session, actor, row, changes, entity="tier") if changes else row


def update_target(session: Session, actor: Actor, code: str, **fields: Any) -> Target:
    row = session.get(Target, code)
    if row is None:
        raise not_found("目标", "target.not_found")
    changes = {k: v for k, v in fields.items() if v is not None and getattr(row, k) != v}
    if "figure" in changes and Decimal(changes["figure"]) < 0:
        raise invalid([FieldError("figure", "out_of_range", "目标值不能为负", changes["figure"])])
    return _apply(session, actor, row, changes, entity="target") if changes else row
