"""The ladder's lifecycle rules: derived history and the anomalies a designation step can show."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from service.access.actor import SYSTEM
from service.audit.models import AuditEvent
from service.ladder import service as ladder_service
from service.ladder.lifecycle import Held, designation_anomalies, history
from service.ladder.models import Designation, DesignationEvent
from tests.factories import make_designation, make_enterprise

RANK = {"innovative_sme": 10, "specialized_sme": 20, "little_giant": 30, "listed": 40}
NAMES = {"innovative_sme": "创新型", "specialized_sme": "专精特新", "little_giant": "小巨人"}


def held(
    i: int,
    tier: str,
    on: str,
    until: str | None = "auto",
    status: str = "valid",
    revoked_on: str | None = None,
) -> Held:
    start = date.fromisoformat(on)
    end = (
        ladder_service.validity_end(start, 3)
        if until == "auto"
        else (date.fromisoformat(until) if until else None)
    )
    return Held(
        i,
        tier,
        RANK[tier],
        start,
        end,
        status,
        date.fromisoformat(revoked_on) if revoked_on else None,
    )


@pytest.mark.parametrize(
    ("others", "new", "kinds"),
    [
        ([], held(1, "innovative_sme", "2023-06-01"), []),
        ([held(1, "innovative_sme", "2023-06-01")], held(2, "specialized_sme", "2024-06-01"), []),
        ([], held(2, "specialized_sme", "2024-06-01"), ["skipped_rung"]),
        # The innovative rung did not exist before the 2022 measures: nothing was skipped.
        ([], held(2, "specialized_sme", "2021-06-01"), []),
        ([held(1, "innovative_sme", "2023-06-01")], held(3, "little_giant", "2024-07-01"),
         ["little_giant_without_specialized"]),
        # Applying for both in the same year is allowed for the little giant.
        ([held(2, "specialized_sme", "2024-09-01")], held(3, "little_giant", "2024-07-01"), []),
        ([held(2, "specialized_sme", "2023-09-01")], held(3, "little_giant", "2024-07-01"), []),
        # An expired or revoked prerequisite still was held before.
        ([held(2, "specialized_sme", "2019-09-01", status="expired")],
         held(3, "little_giant", "2024-07-01"), []),
        ([held(1, "innovative_sme", "2023-06-01")], held(4, "innovative_sme", "2024-06-01"),
         ["duplicate_valid"]),
        # A twin that expired before the new one is not a duplicate.
        ([held(1, "innovative_sme", "2020-06-01")], held(4, "innovative_sme", "2024-06-01"), []),
        ([held(1, "innovative_sme", "2023-06-01", status="revoked", revoked_on="2023-12-01")],
         held(4, "innovative_sme", "2024-06-01"), []),
        ([], held(5, "listed", "2024-06-01", until=None), []),
    ],
)  # fmt: skip
def test_anomalies_of_a_designation(others: list[Held], new: Held, kinds: list[str]) -> None:
    found = designation_anomalies(new, others, NAMES)
    assert [a.kind for a in found] == kinds
    assert all(a.detail for a in found)


def test_history_climb_lapse_and_return() -> None:
    steps = [
        held(1, "innovative_sme", "2019-03-01"),  # to 2022-02-28
        held(2, "specialized_sme", "2021-06-01"),  # to 2024-05-31
        held(3, "innovative_sme", "2024-09-01"),  # after a gap
    ]
    h = history(steps, date(2026, 11, 23))
    assert [(s.on.isoformat(), s.from_tier, s.to_tier, s.direction) for s in h.steps] == [
        ("2019-03-01", None, "innovative_sme", "up"),
        ("2021-06-01", "innovative_sme", "specialized_sme", "up"),
        ("2024-06-01", "specialized_sme", None, "lapse"),
        ("2024-09-01", None, "innovative_sme", "up"),
    ]
    assert h.current_tier == "innovative_sme"
    assert h.current_since == date(2024, 9, 1)
    assert h.previous_tier == "specialized_sme"  # across the gap
    assert h.days_in_tier == (date(2026, 11, 23) - date(2024, 9, 1)).days
    assert h.first_reached == {
        "innovative_sme": date(2019, 3, 1),
        "specialized_sme": date(2021, 6, 1),
    }


@pytest.mark.parametrize(
    ("designations", "current", "since", "previous"),
    [
        ([], None, None, None),
        ([held(1, "innovative_sme", "2024-06-01")], "innovative_sme", date(2024, 6, 1), None),
        # Revoked: held until the day before revocation, then no tier.
        ([held(1, "innovative_sme", "2024-06-01"),
          held(2, "specialized_sme", "2024-09-01", status="revoked", revoked_on="2025-01-10")],
         "innovative_sme", date(2025, 1, 10), "specialized_sme"),
        # Expired on its last day: nothing held now, whatever status the row says.
        ([held(1, "specialized_sme", "2023-01-01", until="2025-12-31")], None, None, None),
        ([held(1, "innovative_sme", "2023-06-01"), held(2, "listed", "2025-03-01", until=None)],
         "listed", date(2025, 3, 1), "innovative_sme"),
    ],
)  # fmt: skip
def test_history_current_tier(
    designations: list[Held], current: str | None, since: date | None, previous: str | None
) -> None:
    h = history(designations, date(2026, 11, 23))
    assert (h.current_tier, h.current_since, h.previous_tier) == (current, since, previous)


def test_expire_records_events_once_and_keeps_the_expired_count(session: Session) -> None:
    e = make_enterprise(session)
    old = make_designation(session, e, designated_on=date(2022, 1, 1))  # to 2024-12-31
    fresh = make_designation(session, e, tier="specialized_sme", designated_on=date(2025, 1, 1))
    today = date(2026, 11, 23)
    before = ladder_service.current_tiers(session, [e.id or 0], today)
    assert ladder_service.effective_status(old, today) == "expired"  # before any job ran
    assert ladder_service.expire(session, SYSTEM, today=today) == 1
    assert ladder_service.expire(session, SYSTEM, today=today) == 0
    session.refresh(old)
    session.refresh(fresh)
    assert (old.status, fresh.status) == ("expired", "valid")
    events = list(
        session.scalars(
            sa.select(DesignationEvent).where(
                DesignationEvent.designation_id == old.id, DesignationEvent.kind == "expire"
            )
        )
    )
    assert [(ev.occurred_on, ev.valid_until_before) for ev in events] == [
        (date(2025, 1, 1), date(2024, 12, 31))
    ]
    assert ladder_service.current_tiers(session, [e.id or 0], today) == before
    audits = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "designation.expire")
    ).all()
    assert len(audits) == 1
    assert audits[0].changes["expired"] == [None, 1]
    assert session.get(Designation, fresh.id) is not None
