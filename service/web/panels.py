"""What the enterprise file shows beyond the file itself: eligibility verdicts, commissioners per
specialty, service records with needs — read through the same services as the API."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from service.access import policy
from service.access.actor import Actor
from service.commissioners import service as commissioner_service
from service.commissioners.models import Commissioner, CommissionerSpecialty
from service.enterprises.models import Enterprise
from service.ladder import records as ladder_records
from service.reference.models import Tier

VERDICT_ZH = {"eligible": "符合", "not_eligible": "不符合", "missing_data": "数据不足"}
NEED_STATUS_ZH = commissioner_service.NEED_STATUS_ZH
NEED_NEXT = {
    "open": ("in_progress", "resolved", "cannot_resolve"),
    "in_progress": ("resolved", "cannot_resolve"),
}


def tier_names(session: Session) -> dict[str, str]:
    return dict(session.execute(sa.select(Tier.code, Tier.name).order_by(Tier.rank)).all())


def active_commissioners(session: Session) -> list[dict[str, Any]]:
    """Active commissioners with their specialties, for the assignment form's picker."""
    names = commissioner_service.specialties(session)
    specs: dict[int, list[str]] = {}
    for cid, code in session.execute(
        sa.select(CommissionerSpecialty.commissioner_id, CommissionerSpecialty.specialty_code)
    ):
        specs.setdefault(cid, []).append(code)
    rows = session.scalars(
        sa.select(Commissioner)
        .where(Commissioner.active.is_(True))  # type: ignore[attr-defined]
        .order_by(Commissioner.name, Commissioner.id)
    )
    return [
        {
            "id": c.id,
            "name": c.name,
            "specialties": "、".join(names.get(s, s) for s in sorted(specs.get(c.id or 0, []))),
        }
        for c in rows
    ]


def file_panels(
    session: Session, actor: Actor, enterprise: Enterprise, today: date
) -> dict[str, Any]:
    """The extra context of the enterprise file page (the enterprise is already in scope)."""
    eid = enterprise.id or 0
    eligibility = ladder_records.eligibility(session, enterprise, year=None, today=today)
    rows, total = commissioner_service.list_records(session, actor, enterprise_id=eid, page_size=20)
    can_assign = policy.allowed(actor.role, "assignment.write")
    return {
        "eligibility": eligibility,
        "tier_names": tier_names(session),
        "verdict_zh": VERDICT_ZH,
        "slots": commissioner_service.slots(session, enterprise),
        "service_records": commissioner_service.records_public(session, rows, today),
        "service_total": total,
        "need_status_zh": NEED_STATUS_ZH,
        "need_next": NEED_NEXT,
        "can_designate": policy.allowed(actor.role, "designation.write"),
        "can_assign": can_assign,
        "can_serve": policy.allowed(actor.role, "service.write"),
        "commissioner_choices": active_commissioners(session) if can_assign else [],
        "panel_errors": {},
        "panel_form": "",
        "panel_alert": "",
        "today_iso": today.isoformat(),
    }
