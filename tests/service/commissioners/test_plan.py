"""Suggested assignment: never over capacity, always the least loaded eligible commissioner."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from service.commissioners.plan import Candidate, OpenSlot, suggest

SPECS = ("tech", "finance", "legal", "media")
DISTRICTS = ("500104", "500115", "Z001")


def test_least_loaded_wins_and_a_full_one_is_skipped() -> None:
    slots = [OpenSlot(100, "500104", "tech"), OpenSlot(101, "500104", "tech")]
    people = [
        Candidate(1, frozenset({"tech"}), frozenset({"500104"}), 3, frozenset({1, 2})),
        Candidate(2, frozenset({"tech"}), frozenset({"500104"}), 3, frozenset({3})),
        Candidate(3, frozenset({"tech"}), frozenset({"500104"}), 1, frozenset({4})),  # full
        Candidate(4, frozenset({"tech"}), frozenset({"500115"}), 9, frozenset()),  # elsewhere
    ]
    proposals, unfilled = suggest(slots, people)
    assert [(p.enterprise_id, p.commissioner_id) for p in proposals] == [(100, 2), (101, 1)]
    assert [(p.load_before, p.load_after) for p in proposals] == [(1, 2), (2, 3)]
    assert unfilled == []


def test_unfilled_slots_say_why() -> None:
    slots = [OpenSlot(1, "500104", "media"), OpenSlot(2, "500104", "tech")]
    people = [Candidate(1, frozenset({"tech"}), frozenset({"500104"}), 0, frozenset())]
    proposals, unfilled = suggest(slots, people)
    assert proposals == []
    assert [(u.specialty_code, u.reason) for u in unfilled] == [
        ("media", "no_commissioner"),
        ("tech", "full"),
    ]


candidates = st.lists(
    st.builds(
        Candidate,
        commissioner_id=st.integers(1, 1),  # replaced by position below
        specialties=st.frozensets(st.sampled_from(SPECS), min_size=1),
        districts=st.frozensets(st.sampled_from(DISTRICTS), min_size=1),
        capacity=st.integers(0, 4),
        carrying=st.frozensets(st.integers(1000, 1010), max_size=4),
    ),
    max_size=6,
)
slots = st.lists(
    st.builds(
        OpenSlot,
        enterprise_id=st.integers(1, 8),
        district_code=st.sampled_from(DISTRICTS),
        specialty_code=st.sampled_from(SPECS),
    ),
    max_size=25,
    unique_by=lambda s: (s.enterprise_id, s.specialty_code),
)


@settings(max_examples=300, deadline=None)
@given(slots=slots, raw=candidates)
def test_never_over_capacity_and_always_the_least_loaded(
    slots: list[OpenSlot], raw: list[Candidate]
) -> None:
    people = [
        Candidate(i + 1, c.specialties, c.districts, c.capacity, c.carrying)
        for i, c in enumerate(raw)
    ]
    proposals, unfilled = suggest(slots, people)
    assert len(proposals) + len(unfilled) == len(slots)
    carrying = {c.commissioner_id: set(c.carrying) for c in people}
    by_id = {c.commissioner_id: c for c in people}
    chosen = iter(proposals)
    decided = {(p.enterprise_id, p.specialty_code): p for p in proposals}
    for slot in slots:
        eligible = [
            c
            for c in people
            if slot.specialty_code in c.specialties and slot.district_code in c.districts
        ]
        fitting = [
            c
            for c in eligible
            if slot.enterprise_id in carrying[c.commissioner_id]
            or len(carrying[c.commissioner_id]) < c.capacity
        ]
        p = decided.get((slot.enterprise_id, slot.specialty_code))
        if p is None:
            assert fitting == []
            continue
        assert p is next(chosen)
        c = by_id[p.commissioner_id]
        assert c in fitting
        least = min(len(carrying[f.commissioner_id]) for f in fitting)
        assert len(carrying[c.commissioner_id]) == least
        carrying[c.commissioner_id].add(slot.enterprise_id)
        # Nobody ends up over capacity unless they already were before the plan.
        assert len(carrying[c.commissioner_id]) <= max(c.capacity, len(c.carrying))
    for c in people:
        added = carrying[c.commissioner_id] - set(c.carrying)
        if added:
            assert len(carrying[c.commissioner_id]) <= c.capacity
