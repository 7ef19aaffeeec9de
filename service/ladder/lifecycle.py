"""Pure ladder lifecycle rules: anomalies of a designation step, and the derived tier history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

# The rung an applicant must hold before this one (LADDER.md, "Prerequisites in Chongqing").
PREREQUISITE: dict[str, str] = {
    "specialized_sme": "innovative_sme",
    "little_giant": "specialized_sme",
}
# The innovative-SME rung exists since the 2022 measures took effect: an older specialized SME
# cannot have skipped it.
PREREQUISITE_SINCE: dict[str, date] = {"specialized_sme": date(2022, 8, 1)}
# "or apply for both in the same year": for these, a prerequisite of the same year counts.
SAME_YEAR_ALLOWED = frozenset({"little_giant"})

ANOMALY_ZH: dict[str, str] = {
    "little_giant_without_specialized": "认定“小巨人”前未见专精特新中小企业认定",
    "skipped_rung": "跳级认定：未见下一级梯度的认定",
    "renewal_without_review": "续期未见复核记录",
    "duplicate_valid": "同一梯度同时存在两项有效认定",
    "major_change_late": "重大变化逾期报告",
    "major_change_unreported": "重大变化未按期报告",
}


@dataclass(frozen=True)
class Held:
    """A designation as the lifecycle rules see it (plain values, no database)."""

    id: int
    tier_code: str
    rank: int
    designated_on: date
    valid_until: date | None
    status: str
    revoked_on: date | None = None

    def valid_on(self, day: date) -> bool:
        return (
            self.status == "valid"
            and self.designated_on <= day
            and (self.valid_until is None or day <= self.valid_until)
        )

    def last_day(self) -> date | None:
        """The last day it was held; None: open-ended; before designated_on: never held."""
        if self.status == "superseded":
            return self.designated_on - timedelta(days=1)
        end = self.valid_until
        if self.status == "revoked":
            cut = (self.revoked_on or self.designated_on) - timedelta(days=1)
            end = cut if end is None else min(end, cut)
        return end


@dataclass(frozen=True)
class Anomaly:
    kind: str
    detail: str


def designation_anomalies(
    new: Held, others: Iterable[Held], tier_names: dict[str, str]
) -> list[Anomaly]:
    """What is irregular about designating `new`, given the enterprise's other designations."""
    others = [o for o in others if o.id != new.id]
    found: list[Anomaly] = []
    needed = PREREQUISITE.get(new.tier_code)
    since = PREREQUISITE_SINCE.get(new.tier_code)
    if needed and not (since and new.designated_on < since):

        def before(o: Held) -> bool:
            if o.designated_on <= new.designated_on:
                return True
            return (
                new.tier_code in SAME_YEAR_ALLOWED
                and o.designated_on.year == new.designated_on.year
            )

        # A higher rung held before also proves the lower one was climbed.
        rank_needed = next((o.rank for o in others if o.tier_code == needed), None)
        held = any(
            before(o)
            and (o.tier_code == needed or (rank_needed is not None and o.rank > rank_needed))
            for o in others
            if o.tier_code != new.tier_code
        )
        if not held:
            kind = (
                "little_giant_without_specialized"
                if new.tier_code == "little_giant"
                else "skipped_rung"
            )
            found.append(
                Anomaly(
                    kind,
                    f"{new.designated_on}认定{tier_names.get(new.tier_code, new.tier_code)}，"
                    f"此前未见{tier_names.get(needed, needed)}认定",
                )
            )
    twins = [o for o in others if o.tier_code == new.tier_code and o.valid_on(new.designated_on)]
    if twins:
        found.append(
            Anomaly(
                "duplicate_valid",
                f"{new.designated_on}认定{tier_names.get(new.tier_code, new.tier_code)}时，"
                f"已有有效认定（{twins[0].designated_on}起，至{twins[0].valid_until or '长期'}）",
            )
        )
    return found


@dataclass(frozen=True)
class Step:
    """The enterprise's highest held tier changed on `on` from `from_tier` to `to_tier`."""

    on: date
    from_tier: str | None
    to_tier: str | None
    direction: str  # up / down / lapse (no tier held any more)


@dataclass(frozen=True)
class History:
    current_tier: str | None
    current_since: date | None
    days_in_tier: int | None
    previous_tier: str | None
    steps: tuple[Step, ...]
    first_reached: dict[str, date] = field(default_factory=dict)


def history(held: Sequence[Held], today: date) -> History:
    """Current tier, since when, the previous tier and every step, from the designations alone.

    The current tier follows the rule every query uses (valid status, not past valid_until);
    the steps replay the spans each designation was held, up to today.
    """
    spans = []
    for h in held:
        end = h.last_day()
        if end is not None and end < h.designated_on:
            continue
        spans.append((h.designated_on, end, h))
    days = sorted(
        {s for s, _, _ in spans if s <= today}
        | {e + timedelta(days=1) for _, e, _ in spans if e is not None and e < today}
    )

    def top(day: date) -> Held | None:
        inside = [h for s, e, h in spans if s <= day and (e is None or day <= e)]
        return max(inside, key=lambda h: h.rank, default=None)

    steps: list[Step] = []
    first: dict[str, date] = {}
    now: Held | None = None
    for day in days:
        best = top(day)
        if (best.tier_code if best else None) == (now.tier_code if now else None):
            continue
        if best is None:
            direction = "lapse"
        elif now is None or best.rank > now.rank:
            direction = "up"
        else:
            direction = "down"
        steps.append(
            Step(day, now.tier_code if now else None, best.tier_code if best else None, direction)
        )
        if best is not None:
            first.setdefault(best.tier_code, day)
        now = best
    valid = [
        h for h in held if h.status == "valid" and (h.valid_until is None or h.valid_until >= today)
    ]
    current = max(valid, key=lambda h: h.rank, default=None)
    current_code = current.tier_code if current else None
    since = previous = None
    if current_code is not None and steps and steps[-1].to_tier == current_code:
        since = steps[-1].on
        # The tier held before this one, even across a gap in which none was held.
        previous = next(
            (s.to_tier for s in reversed(steps[:-1]) if s.to_tier not in (None, current_code)),
            None,
        )
    return History(
        current_tier=current_code,
        current_since=since,
        days_in_tier=(today - since).days if since else None,
        previous_tier=previous,
        steps=tuple(steps),
        first_reached=first,
    )
