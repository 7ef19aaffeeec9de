"""The ledger version read on the event loop, so a cached read needs no thread-pool hop.

A cache hit is a dictionary look-up once the version is known, yet handing the request to a
worker thread and back cost more than everything else it did: under load each hand-off also
waits for the GIL. The version is one statement of look-ups by key (audit.service's
ledger_version_sql), well under a millisecond on either backend, so the event loop asks it
itself, on a connection of its own:

- not one from the engine's pool: the loop would wait on an exhausted pool while the
  connections it waits for are given back by requests that need the loop to finish;
- in autocommit: each read sees the latest commit and holds no snapshot between requests;
- one per engine and process (the tests' apps share their engine), closed when the engine
  goes; a lock keeps two event loops (two test clients) off it at once, and a request that
  finds it busy, broken or cooling off after a failure just goes the thread-pool way.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from typing import Any

from sqlalchemy.engine import Engine

RETRY_AFTER_SECONDS = 5.0


class VersionReader:
    def __init__(self, engine: Engine, sql: str) -> None:
        self._engine_ref = weakref.ref(engine)
        self._sql = sql
        self._lock = threading.Lock()
        self._conn: Any = None
        self._pid = 0
        self._retry_at = 0.0

    def read(self) -> int | None:
        """The committed ledger version, or None when the caller should read it itself."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            conn = self._connection()
            if conn is None:
                return None
            try:
                cur = conn.cursor()
                try:
                    cur.execute(self._sql)
                    row = cur.fetchone()
                finally:
                    cur.close()
            except Exception:
                # A dropped connection, a restarted server: the thread-pool path reports it
                # properly; this one tries again after a pause, not on every request.
                self._discard()
                self._retry_at = time.monotonic() + RETRY_AFTER_SECONDS
                return None
            return int(row[0]) if row else 0
        finally:
            self._lock.release()

    def _connection(self) -> Any:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        self._conn = None  # a forked child must not share its parent's socket
        engine = self._engine_ref()
        if engine is None or time.monotonic() < self._retry_at:
            return None
        try:
            # From the engine, so its connect-time setup (SQLite's pragmas, PostgreSQL's
            # settings and search_path) applies; detached, so the pool neither counts it nor
            # hands it to anyone else.
            fairy = engine.raw_connection()
            fairy.detach()
            conn = fairy.dbapi_connection
            if engine.dialect.name == "postgresql":
                conn.rollback()  # the pool's pre-ping may have begun a transaction
                conn.autocommit = True
            # SQLite: the engine's connect hook already leaves the driver in autocommit.
        except Exception:
            self._retry_at = time.monotonic() + RETRY_AFTER_SECONDS
            return None
        self._conn, self._pid = conn, os.getpid()
        return conn

    def close(self) -> None:
        with self._lock:
            self._discard()

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):  # already broken: nothing more to release
                conn.close()


_readers: weakref.WeakKeyDictionary[Engine, VersionReader] = weakref.WeakKeyDictionary()
_readers_lock = threading.Lock()


def reader_for(engine: Engine, sql: str) -> VersionReader:
    reader = _readers.get(engine)
    if reader is None:
        with _readers_lock:
            reader = _readers.get(engine)
            if reader is None:
                reader = _readers[engine] = VersionReader(engine, sql)
                weakref.finalize(engine, reader.close)
    return reader
