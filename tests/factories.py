"""Keyword-only factories that build ledger rows through the services, and flush."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from sqlmodel import Session

from service.access.actor import SYSTEM, Actor
from service.commissioners.models import Assignment, Commissioner
from service.enterprises import service as enterprise_service
from service.enterprises.credit_code import check_character
from service.enterprises.models import Enterprise
from service.enterprises.schemas import EnterpriseCreate, FiguresIn
from service.ladder import service as ladder_service
from service.ladder.models import Designation

_counter = itertools.count(1)


def credit_code(division: str = "500104") -> str:
    """A fresh code that passes GB 32100-2015 (organisation part from a counter)."""
    n = next(_counter)
    body = f"91{division}{n:08d}"
    # Organisation check digit is only a warning; keep it right anyway for clean tests.
    from service.enterprises.credit_code import org_check_character

    first17 = body + (org_check_character(body[8:16]) or "0")
    return first17 + check_character(first17)


def make_enterprise(
    session: Session,
    *,
    actor: Actor = SYSTEM,
    name: str | None = None,
    district: str = "500104",
    subsector: str = "A4.01",
    is_key: bool = False,
    code: str | None = None,
    **extra: object,
) -> Enterprise:
    n = next(_counter)
    return enterprise_service.create(
        session,
        actor,
        EnterpriseCreate(
            credit_code=code or credit_code(district if district[0].isdigit() else "500112"),
            name=name or f"重庆测试材料{n}有限公司",
            district_code=district,
            subsector_code=subsector,
            is_key=is_key,
            **extra,  # type: ignore[arg-type]
        ),
    )


def make_designation(
    session: Session,
    enterprise: Enterprise,
    *,
    tier: str = "innovative_sme",
    designated_on: date = date(2025, 6, 1),
    valid_until: date | None = None,
) -> Designation:
    return ladder_service.add(
        session,
        SYSTEM,
        enterprise_id=enterprise.id or 0,
        enterprise_repr=enterprise.name,
        tier_code=tier,
        designated_on=designated_on,
        valid_until=valid_until,
    )


def make_figures(
    session: Session,
    enterprise: Enterprise,
    *,
    year: int = 2025,
    revenue: str = "12000",
    **kw: object,
) -> None:
    enterprise_service.put_figures(
        session,
        SYSTEM,
        enterprise,
        year=year,
        data=FiguresIn(operating_revenue=Decimal(revenue), **kw),  # type: ignore[arg-type]
        today=date(2026, 11, 23),
    )


def make_commissioner(
    session: Session,
    *,
    name: str = "测试专员",
    specialties: tuple[str, ...] = ("tech", "finance", "legal", "media"),
    districts: tuple[str, ...] = ("500104",),
    clusters: tuple[str, ...] = (),
    capacity: int = 10,
    active: bool = True,
    user_id: int | None = None,
) -> Commissioner:
    from service.commissioners import service as commissioner_service
    from service.commissioners.schemas import CommissionerCreate

    return commissioner_service.create_commissioner(
        session,
        SYSTEM,
        CommissionerCreate(
            name=name,
            specialties=list(specialties),
            district_codes=list(districts),
            cluster_codes=list(clusters),
            capacity=capacity,
            active=active,
            user_id=user_id,
        ),
    )


def make_assignment(
    session: Session,
    enterprise: Enterprise,
    commissioner: Commissioner,
    *,
    specialty: str = "tech",
    started_on: date = date(2026, 1, 5),
) -> Assignment:
    from service.commissioners import service as commissioner_service

    return commissioner_service.assign(
        session,
        SYSTEM,
        enterprise=enterprise,
        specialty_code=specialty,
        commissioner_id=commissioner.id or 0,
        started_on=started_on,
        today=date(2026, 11, 23),
    )
