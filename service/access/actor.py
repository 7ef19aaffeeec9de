"""The actor: who is doing something, as every service function receives it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """A user acting now, or the system itself (CLI jobs, reference loading)."""

    id: int | None
    name: str
    role: str
    district_code: str | None = None
    commissioner_id: int | None = None


SYSTEM = Actor(id=None, name="系统", role="system")
