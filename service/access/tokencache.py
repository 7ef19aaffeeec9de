"""Who a bearer token or a page session's cookie belongs to, remembered for a moment.

Every API request and every page view asks, and the answer (a query or two, and a thread-pool
hop to run them) was the largest part of a cached read's cost. An answer is kept for at most
`auth_cache_seconds` (2 s by default; 0 asks the database every time) and never past the
token's or the session's expiry. Any change to a user, a token or a page session made in this
process (a revocation, a role, a password, a deactivation, a sign-out: ORM writes of User,
ApiToken or WebSession, wherever they come from; not a page session's once-a-minute
`last_seen_at`) forgets every answer at once, at its flush and again at its commit, so that a
lookup racing the change cannot keep the old answer. A change made by another process reaches
this one within `auth_cache_seconds`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from starlette.concurrency import run_in_threadpool

from service.access.models import ApiToken, User, WebSession

MAX_ENTRIES = 10_000


V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    value: V
    expires_at: datetime  # the token's or the page session's own expiry
    fresh_until: float  # time.monotonic()
    generation: int


class _Generation:
    """A counter every auth change in this process moves on."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def bump(self) -> None:
        with self._lock:
            self.value += 1


generation = _Generation()


class TokenCache(Generic[V]):
    """Answers by the hash of a secret: an API token's actor, a page session's user."""

    def __init__(self, seconds: float, max_entries: int = MAX_ENTRIES) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, _Entry[V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token_hash: str, now: datetime) -> V | None:
        with self._lock:
            entry = self._entries.get(token_hash)
            if entry is None:
                return None
            if (
                entry.generation != generation.value
                or entry.fresh_until <= time.monotonic()
                or entry.expires_at <= now
            ):
                del self._entries[token_hash]
                return None
            return entry.value

    async def answer(
        self,
        token_hash: str,
        now: datetime,
        look_up: Callable[[], tuple[V, datetime] | None],
        *,
        usable: Callable[[V], bool] = lambda _value: True,
    ) -> V | None:
        """The remembered answer if there is one `usable`, else `look_up()` (value and expiry,
        run in the thread pool: it queries the database) kept for next time."""
        value = self.get(token_hash, now)
        if value is not None and usable(value):
            return value
        asked_at = generation.value  # before the query: a change during it is not kept
        found = await run_in_threadpool(look_up)
        if found is None:
            return None
        value, expires_at = found
        self.put(token_hash, value, expires_at, asked_at)
        return value

    def put(self, token_hash: str, value: V, expires_at: datetime, asked_at: int) -> None:
        """Keep an answer read after the generation was `asked_at` (taken before the query)."""
        if self.seconds <= 0:
            return
        with self._lock:
            if asked_at != generation.value:
                return  # something changed while we asked: the answer may be old
            self._entries[token_hash] = _Entry(
                value, expires_at, time.monotonic() + self.seconds, asked_at
            )
            self._entries.move_to_end(token_hash)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


_AUTH_CLASSES = (User, ApiToken, WebSession)
# A page view writes these at most once a minute: that keeps the session alive, it changes no
# answer (the idle limit is checked against the remembered time, and a remembered answer older
# than a minute's touch goes back to the database).
_TOUCH_ONLY = frozenset({"last_seen_at", "updated_at"})
_CHANGED = "tierledger_auth_changed"


def _changes_an_answer(obj: object) -> bool:
    if not isinstance(obj, WebSession):
        return True
    state = sa.inspect(obj)
    return any(attr.key not in _TOUCH_ONLY and attr.history.has_changes() for attr in state.attrs)


@event.listens_for(OrmSession, "after_flush")
def _after_flush(session: OrmSession, _context: Any) -> None:
    if any(
        isinstance(obj, _AUTH_CLASSES) and _changes_an_answer(obj)
        for obj in (*session.dirty, *session.deleted)
    ):
        session.info[_CHANGED] = True
        generation.bump()


@event.listens_for(OrmSession, "after_commit")
def _after_commit(session: OrmSession) -> None:
    if session.info.pop(_CHANGED, False):
        generation.bump()


@event.listens_for(OrmSession, "after_soft_rollback")
def _after_rollback(session: OrmSession, _previous: Any) -> None:
    session.info.pop(_CHANGED, None)
