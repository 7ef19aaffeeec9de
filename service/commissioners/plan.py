"""Suggested assignments: a pure greedy plan that fills empty slots with the least-loaded fit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class OpenSlot:
    """An empty specialty slot of a key enterprise."""

    enterprise_id: int
    district_code: str
    specialty_code: str


@dataclass(frozen=True)
class Candidate:
    """An active commissioner as the plan sees them: what they do, where, and how full."""

    commissioner_id: int
    specialties: frozenset[str]
    districts: frozenset[str]  # covered directly or through a cluster
    capacity: int
    carrying: frozenset[int]  # enterprises they hold a slot of now


@dataclass(frozen=True)
class Proposal:
    enterprise_id: int
    specialty_code: str
    commissioner_id: int
    load_before: int
    load_after: int


@dataclass(frozen=True)
class Unfilled:
    enterprise_id: int
    specialty_code: str
    reason: str  # "no_commissioner": nobody of that specialty covers it; "full": all at capacity


def suggest(
    slots: Sequence[OpenSlot], candidates: Sequence[Candidate]
) -> tuple[list[Proposal], list[Unfilled]]:
    """Fill slots in the order given; each goes to the least-loaded eligible commissioner.

    Load is the number of distinct enterprises carried, so a second slot of an enterprise a
    commissioner already carries costs nothing and fits even at capacity. Ties go to the
    lower id, so the same input always gives the same plan.
    """
    carrying = {c.commissioner_id: set(c.carrying) for c in candidates}
    proposals: list[Proposal] = []
    unfilled: list[Unfilled] = []
    for slot in slots:
        eligible = [
            c
            for c in candidates
            if slot.specialty_code in c.specialties and slot.district_code in c.districts
        ]
        if not eligible:
            unfilled.append(Unfilled(slot.enterprise_id, slot.specialty_code, "no_commissioner"))
            continue
        fitting = [
            c
            for c in eligible
            if slot.enterprise_id in carrying[c.commissioner_id]
            or len(carrying[c.commissioner_id]) < c.capacity
        ]
        if not fitting:
            unfilled.append(Unfilled(slot.enterprise_id, slot.specialty_code, "full"))
            continue
        chosen = min(fitting, key=lambda c: (len(carrying[c.commissioner_id]), c.commissioner_id))
        held = carrying[chosen.commissioner_id]
        before = len(held)
        held.add(slot.enterprise_id)
        proposals.append(
            Proposal(
                slot.enterprise_id, slot.specialty_code, chosen.commissioner_id, before, len(held)
            )
        )
    return proposals, unfilled
