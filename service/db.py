"""Database edges: the naming convention, the base table, the engine and the session scopes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel
from starlette.concurrency import run_in_threadpool

# Set before any model is defined: a convention only applies to tables built after it.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

WRITE_OPTION = "tierledger_writer"
# service.readcache remembers the ledger version within a request whose session carries this.
READ_ONLY = "tierledger_read_only_request"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is always UTC-aware in Python, whatever the database keeps."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        # SQLite's DATETIME text keeps no offset: 08:00+08:00 would read back as 08:00 UTC.
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            # SQLite keeps no offset; what we stored was UTC.
            return value.replace(tzinfo=UTC)
        return value


# In a table's __table_args__: on SQLite an id given once is never given again, even after its
# row is deleted (a reverted import's enterprises, a deleted commissioner). Without it SQLite
# gives a new row the largest id plus one, and the audit trail, which names rows by id, then
# showed one enterprise's history on another. PostgreSQL's sequences never reuse an id.
NEVER_REUSED_IDS: dict[str, Any] = {"sqlite_autoincrement": True}


def money_column(**kw: Any) -> Any:
    """万元 as an exact decimal; 4 places so that a figure given in 元 converts exactly."""
    return Field(default=None, sa_type=sa.Numeric(18, 4), **kw)


class TimestampedTable(SQLModel):
    """Columns every table carries."""

    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defeats SAVEPOINT and transactional DDL;
        # SQLAlchemy's documented recipe: autocommit at the driver, BEGIN emitted by us.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    return on_connect


# Connections kept open between requests. SQLAlchemy's default, 5, is fewer than the requests
# one server runs at once under load: each one past it opened a connection (SQLite's pragmas,
# or PostgreSQL's whole handshake) and closed it again when its request ended.
POOL_SIZE = 20


def make_engine(url: str, *, busy_timeout_ms: int = 15_000, **kw: Any) -> Engine:
    """The one engine factory: SQLite gets the pysqlite recipe, WAL, FKs and a busy timeout."""
    if "poolclass" not in kw and url not in ("sqlite://", "sqlite:///:memory:"):
        kw.setdefault("pool_size", POOL_SIZE)
    if url.startswith("sqlite"):
        kw.setdefault("connect_args", {}).setdefault("check_same_thread", False)
        engine = sa.create_engine(url, **kw)
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_ms))

        @event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            # A writer takes the lock up front (IMMEDIATE) so two writers queue on the busy
            # timeout instead of one failing with "database is locked" when it upgrades a
            # read lock; readers stay DEFERRED so they never wait on a long import.
            immediate = conn.get_execution_options().get(WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    kw.setdefault("pool_pre_ping", True)
    engine = sa.create_engine(url, **kw)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgresql_session)
    return engine


def _postgresql_session(dbapi_connection: Any, _record: Any) -> None:
    """No JIT: PostgreSQL compiles a query once its estimated cost passes jit_above_cost, and the
    list's tier-sorted page (a correlated subquery per row) spent 265 ms of 333 ms compiling
    for a 50-row answer. The ledger's queries are short; none gains from it."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    with dbapi_connection.cursor() as cur:
        cur.execute("SET jit = off")
    dbapi_connection.autocommit = autocommit


@contextlib.contextmanager
def planned_per_call(session: Session) -> Iterator[None]:
    """PostgreSQL: plan each statement of this block for its own parameters.

    psycopg prepares a statement on its fifth use, and the server then keeps a generic plan
    once that looks no dearer than the custom ones. A roster's look-ups by credit code run first
    against an empty table (the preview of a first import), so the plan kept was a sequential
    scan, and every later chunk of the commit scanned the table as it grew, quadratic in the
    roster's size: 158 s of a 100 000-row commit's 188 s (34 s planned per call, as here;
    tests/service/imports/test_lookup_plans.py shows the hazard). Inserts keep their generic plans:
    planning every row would cost more than this saves. Nothing to do on SQLite."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
    yield
    # Only on success: after an error the transaction is rolled back, and SET LOCAL with it.
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = DEFAULT")


def writer(engine: Engine) -> Engine:
    """The same engine, marked so that its transactions begin as writers."""
    return engine.execution_options(**{WRITE_OPTION: True})


def is_sqlite(engine_or_conn: Engine | sa.Connection) -> bool:
    return engine_or_conn.dialect.name == "sqlite"


# Imports that add at least this many enterprises refresh the planner statistics (see below).
PLANNER_STATS_ROWS = 1000


def refresh_planner_statistics(conn: sa.Connection) -> None:
    """Give SQLite's planner the row counts of every index (ANALYZE: 0.26 s at 100 000
    enterprises). Without them it takes `status = 'active'` (97 % of the ledger) for as
    selective as a district and reads a list page's filters through the wrong index: 0.5 s
    instead of 40 ms to count a subsector's active enterprises.

    PostgreSQL is left to autovacuum, its default: statistics the service took itself go stale
    with nothing to renew them where autovacuum is off. Taken at a restart while a killed
    import was still rolling back, they made its retry's look-ups by credit code scan the
    table (seconds per chunk instead of milliseconds)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("ANALYZE")


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request, committed by this edge before the response is sent.

    Async so that a read costs one thread-pool hop (its route's), not three: a Session is made
    without I/O (it connects on first use, in the route's thread), and a safe request's end is
    the commit of a read (or of a small audit entry), about as quick as a queue hand-off to a
    worker thread and back, which under load also waits for the GIL each way. A write's
    commit may checkpoint SQLite's WAL or wait on PostgreSQL: it goes to the thread pool."""
    engine = request.app.state.engine
    safe = request.method in SAFE_METHODS
    if not safe:
        engine = writer(engine)
    session = Session(engine, expire_on_commit=False)
    if safe:
        session.info[READ_ONLY] = True
    try:
        yield session
        if safe:
            session.commit()
        else:
            await run_in_threadpool(session.commit)
    finally:
        if safe or not session.in_transaction():
            session.close()
        else:
            await run_in_threadpool(session.close)  # rolls back: a round trip to the server


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@contextlib.contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """The CLI's transaction: commit once at the end, roll back on any error."""
    with Session(writer(engine), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
