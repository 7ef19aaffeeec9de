"""A per-process cache of hot GET responses, keyed by the ledger version so no write is missed.

Every write in the service records an audit event in its own transaction, and the ledger
version (`audit.service.ledger_version`) moves with every commit that adds audit events: a
counter bumped at COMMIT on PostgreSQL, the base plus the highest audit id on SQLite (see
LedgerState). So a committed write, by this process or any other, changes the version the
next request reads. A request reads the version first, then its data, so what it stores is
never older than the version it stores it under (SQLite reads one snapshot; PostgreSQL's later
statements see later commits, never earlier ones). Committed versions only grow, so a version
never names two different states of the ledger. A version that counts a session's own
uncommitted audit events could name two (rolled back, the next commit reaches the same number
with another state; PostgreSQL's counter moves only at COMMIT), so such a session neither
reads nor fills the cache until its transaction ends; nobody else ever sees them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from service.access import scope
from service.access.actor import Actor
from service.audit import service as audit_service
from service.db import READ_ONLY
from service.versionreader import reader_for

MAX_ENTRY_BYTES = 1024 * 1024  # a 500-row page is about 0.5 MB; nothing bigger is kept
MAX_TOTAL_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Cached:
    body: bytes
    headers: tuple[tuple[str, str], ...]
    # A page's query results (kept instead of bytes: the page renders them with its own
    # CSRF token and header), with an estimate of their size for the byte budget.
    value: Any = None
    value_bytes: int = 0

    @property
    def size(self) -> int:
        return len(self.body) + self.value_bytes


class ResponseCache:
    """A bounded LRU of rendered responses for one ledger version at a time."""

    def __init__(self, max_entries: int, max_bytes: int = MAX_TOTAL_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, Cached] = OrderedDict()
        self._bytes = 0
        self._version = -1
        self._lock = threading.Lock()

    def _move_to(self, version: int) -> bool:
        """Forget older versions; False when the caller's version is already superseded."""
        if version > self._version:
            self._entries.clear()
            self._bytes = 0
            self._version = version
        return version == self._version

    def get(self, version: int, key: Hashable) -> Cached | None:
        with self._lock:
            if not self._move_to(version):
                return None
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def put(self, version: int, key: Hashable, value: Cached) -> None:
        size = value.size
        if size > MAX_ENTRY_BYTES or self.max_entries <= 0:
            return
        with self._lock:
            if not self._move_to(version):
                return
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = value
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.size

    def __len__(self) -> int:
        return len(self._entries)


# A safe request's session (service.db.get_session marks it) remembers its version between its
# reads: a page asks for its rows and for its filter choices.
_VERSION = "tierledger_ledger_version"


def ledger_version(session: Session) -> int:
    # Plain SQL (audit.service.ledger_version): asked on every cached read, and the ORM's
    # statement handling costs ten times the query itself. Plain SQL does not autoflush, so
    # flush first: the session's own pending audit events count (a no-op on a clean one).
    session.flush()
    known: int | None = session.info.get(_VERSION)
    if known is not None:
        return known
    read_only = bool(session.info.get(READ_ONLY))
    bind = session.get_bind()
    if read_only and not session.in_transaction() and isinstance(bind, sa.Engine):
        # A read that has not touched the database yet (its caller known from the auth cache)
        # asks outside any transaction: a hit then never begins the request's own, which on
        # PostgreSQL saves the BEGIN and COMMIT round trips. What a miss reads next is taken
        # later, so it is never older than this version.
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            version = audit_service.ledger_version(conn)
    else:
        version = audit_service.ledger_version(session.connection())
    if read_only:
        session.info[_VERSION] = version
    return version


# A flush may add audit events (each moves the version), and after a commit or a rollback the
# next read may see other transactions' commits: the remembered version is then forgotten.
@event.listens_for(OrmSession, "after_flush")
def _forget_after_flush(session: OrmSession, _context: Any) -> None:
    session.info.pop(_VERSION, None)


@event.listens_for(OrmSession, "after_commit")
def _forget_after_commit(session: OrmSession) -> None:
    session.info.pop(_VERSION, None)


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_after_rollback(session: OrmSession, _previous: Any) -> None:
    session.info.pop(_VERSION, None)


_create_lock = threading.Lock()


def cache_of(request: Request) -> ResponseCache | None:
    """The app's cache (made on first use), or None when read_cache_entries is 0."""
    state = request.app.state
    cache: ResponseCache | None = getattr(state, "read_cache", None)
    if cache is None:
        with _create_lock:
            cache = getattr(state, "read_cache", None)
            if cache is None:
                settings = getattr(state, "settings", None)
                cache = ResponseCache(getattr(settings, "read_cache_entries", 0))
                state.read_cache = cache
    return cache if cache.max_entries > 0 else None


_adapters: dict[type[BaseModel], TypeAdapter[Any]] = {}


def render(model: BaseModel) -> bytes:
    """The bytes FastAPI itself sends for a response model: pydantic's dump_json, by alias."""
    adapter = _adapters.get(type(model))
    if adapter is None:
        adapter = _adapters.setdefault(type(model), TypeAdapter(type(model)))
    return adapter.dump_json(model, by_alias=True)


def _get_or_make(
    cache: ResponseCache,
    session: Session,
    full_key: tuple[Hashable, ...],
    make: Callable[[], Cached | None],
) -> Cached | None:
    """The entry for `full_key` at the current ledger version, or `make()` kept under it (a
    None from `make` is not kept). A session with uncommitted audit events just makes it."""
    session.flush()  # an added audit event is noted as pending by its flush
    if audit_service.has_pending(session):
        return make()
    version = ledger_version(session)  # before the data: what we keep is never older
    hit = cache.get(version, full_key)
    if hit is None:
        hit = make()
        if hit is not None:
            cache.put(version, full_key, hit)
    return hit


def _loop_version(session: Session) -> int | None:
    """The version read on the event loop (service.versionreader), when this request may use
    it: a safe request whose session has not begun, on an engine (a test's session bound to
    its own open transaction must read there). None: read it in the thread pool."""
    if not session.info.get(READ_ONLY) or session.in_transaction():
        return None
    bind = session.get_bind()
    if not isinstance(bind, sa.Engine):
        return None
    version = reader_for(bind, audit_service.ledger_version_sql(bind.dialect.name)).read()
    if version is not None:
        # The miss that may follow reads its data later, so never older than this version.
        session.info[_VERSION] = version
    return version


async def _get_or_make_async(
    cache: ResponseCache,
    session: Session,
    full_key: tuple[Hashable, ...],
    make: Callable[[], Cached | None],
) -> Cached | None:
    """`_get_or_make` with a hit answered on the event loop: only a miss (or a version the
    loop could not read) costs a thread-pool hop."""
    version = _loop_version(session)
    if version is not None:
        hit = cache.get(version, full_key)
        if hit is not None:
            return hit
    return await run_in_threadpool(_get_or_make, cache, session, full_key, make)


async def respond(
    request: Request,
    response: Response,
    session: Session,
    actor: Actor,
    key: tuple[Hashable, ...],
    produce: Callable[[], tuple[BaseModel, dict[str, str]]],
) -> Any:
    """The cached response for (actor's scope, key, ledger version), or produce and keep it.
    `produce` runs in the thread pool (it queries the database); a hit never leaves the loop.

    `key` must hold everything else the response depends on: the route, its parameters and
    `today`. Without a cache the model goes back to FastAPI as any route's would."""
    cache = cache_of(request)
    if cache is None:
        model, headers = await run_in_threadpool(produce)
        response.headers.update(headers)
        return model

    def make() -> Cached:
        model, headers = produce()
        return Cached(render(model), tuple(headers.items()))

    hit = await _get_or_make_async(cache, session, (scope.cache_key(actor), *key), make)
    assert hit is not None
    # Built as FastAPI builds a model's response: body and its two headers, then the route's.
    out = Response(content=hit.body, media_type="application/json")
    for name, value in hit.headers:
        out.headers.append(name, value)
    return out


def remember(
    request: Request,
    session: Session,
    actor: Actor,
    key: tuple[Hashable, ...],
    produce: Callable[[], Any],
    *,
    approx_bytes: int,
) -> Any:
    """`produce()` for (actor's scope, key, ledger version), kept as a value rather than as a
    response. The value must not be changed by its users (it is shared by every request with
    the same key)."""
    cache = cache_of(request)
    if cache is None:
        return produce()
    full_key = ("value", scope.cache_key(actor), *key)
    hit = _get_or_make(cache, session, full_key, lambda: Cached(b"", (), produce(), approx_bytes))
    assert hit is not None
    return hit.value


async def page(
    request: Request,
    session: Session,
    actor: Actor,
    key: tuple[Hashable, ...],
    produce: Callable[[], HTMLResponse],
) -> HTMLResponse:
    """A whole page for (actor's scope, key, ledger version): its HTML carries the page
    session's CSRF token and the user's name, so `key` must name the page session (its id and
    token) as well as the route, its query and `today`. Only a 200 is kept. `produce` runs in
    the thread pool; a hit never leaves the loop."""
    cache = cache_of(request)
    if cache is None:
        return await run_in_threadpool(produce)
    produced: list[HTMLResponse] = []

    def make() -> Cached | None:
        produced.append(produce())
        return Cached(bytes(produced[0].body), ()) if produced[0].status_code == 200 else None

    hit = await _get_or_make_async(cache, session, ("page", scope.cache_key(actor), *key), make)
    return HTMLResponse(hit.body) if hit is not None else produced[0]
