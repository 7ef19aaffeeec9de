"""Acceptance test 25: the whole API against its own OpenAPI schema, once per role.

Each role gets a fresh committed database holding reference data, a small generated ledger, a
commissioner with an assignment and one bearer token per role. schemathesis then loads
/openapi.json from the real app (`from_asgi`) and runs its phases with a fixed seed, bounded
examples and the seven checks below. Around every request an ASGI wrapper checks the database
invariants: a refused request (status >= 400) leaves the ledger digest unchanged, and the audit
log only ever grows. The run ends with the SQLite integrity checks.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events
from sqlalchemy.engine import Engine

from service import demo
from service.access import service as access_service
from service.access.actor import SYSTEM
from service.app import create_app
from service.config import Settings
from service.db import session_scope
from service.enterprises.models import Enterprise
from tests.conftest import TODAY
from tests.dbutil import CORE_TABLES, digest, fingerprint
from tests.factories import make_assignment, make_commissioner

pytestmark = pytest.mark.slow

SEED = 20261123
PASSWORD = "契约测试口令-梯度台账-2026"
ROLES = ("admin", "manager", "district_officer", "commissioner", "viewer")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "content_type_conformance",
    "negative_data_rejection",
    "ignored_auth",
    "unsupported_method",
)
MAX_EXAMPLES = 10


@dataclass
class World:
    engine: Engine
    tokens: dict[str, str]
    violations: list[str] = field(default_factory=list)


def _build_world(engine: Engine) -> World:
    tokens = {}
    with session_scope(engine) as session:
        demo.generate(session, SYSTEM, enterprises=30, seed=SEED, today=TODAY)
        users = {}
        for role in ROLES:
            users[role] = access_service.add_user(
                session,
                SYSTEM,
                username=f"st_{role}",
                display_name=f"契约{role}",
                role=role,
                password=PASSWORD,
                district_code="500104" if role == "district_officer" else None,
            )
        served = session.scalar(sa.select(Enterprise).order_by(Enterprise.id).limit(1))
        assert served is not None
        commissioner = make_commissioner(
            session,
            name="契约专员",
            districts=(served.district_code,),
            capacity=20,
            user_id=users["commissioner"].id,
        )
        make_assignment(session, served, commissioner)
        for role, user in users.items():
            tokens[role] = access_service.create_token(session, SYSTEM, user, name="契约").secret
    return World(engine=engine, tokens=tokens)


def _audit_rows(conn: sa.Connection) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(sa.text("SELECT * FROM audit_event ORDER BY id"))]


class InvariantGuard:
    """ASGI wrapper: a refused request writes nothing to the ledger; audit rows stay (the
    rows present at the start are compared in full at the end).

    The sweep sends one request at a time (workers: 1) and nothing else writes meanwhile, so
    the state read after one request is the state before the next: it is read once per
    request, not twice (the reads were most of the sweep's time)."""

    def __init__(self, app: Any, world: World) -> None:
        self.app = app
        self.world = world
        self._last: tuple[tuple[str, tuple[Any, ...]], int, int] | None = None

    def _ledger(self, conn: sa.Connection) -> tuple[str, tuple[Any, ...]]:
        # Exact content of the core tables, and the fingerprint of the rest of the ledger:
        # a full digest of every table around each of ~5 000 requests would cost more than
        # the requests themselves.
        return digest(conn, CORE_TABLES), fingerprint(conn)

    def _state(self) -> tuple[tuple[str, tuple[Any, ...]], int, int]:
        with self.world.engine.connect() as conn:
            count, top = conn.execute(sa.text("SELECT count(*), max(id) FROM audit_event")).one()
            return self._ledger(conn), count, top or 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ledger_before, n_before, top_before = self._last or self._state()
        status: list[int] = []

        async def _send(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, _send)
        where = f"{scope['method']} {scope['path']} → {status[:1]}"
        self._last = after = self._state()
        ledger_after, n_after, _ = after
        with self.world.engine.connect() as conn:
            kept = conn.execute(
                sa.text("SELECT count(*) FROM audit_event WHERE id <= :top"), {"top": top_before}
            ).scalar()
        if kept != n_before or n_after < n_before:
            self.world.violations.append(f"audit rows removed by {where}")
        if status and status[0] >= 400 and ledger_after != ledger_before:
            self.world.violations.append(f"refused request changed the ledger: {where}")


def _describe(check: Any, case: Any, interaction: Any) -> str:
    """One line per distinct failure: check, operation, the status it answered, what was wrong."""
    response = getattr(interaction, "response", None)
    status = response.status_code if response is not None else "-"
    failure = check.failure_info.failure if check.failure_info else None
    what = failure.title if failure else ""
    if check.name == "negative_data_rejection" and failure is not None:
        what = str(getattr(failure, "message", what)).splitlines()[-1]
    return f"{check.name}: {case.operation.label} → {status} {what}"


# The coverage phase (boundary and negative values for every parameter: 84 % of a role's ~5 100
# requests) is the same for every role up to the access check. It runs for the admin, who
# reaches every validator, and for the two scoped roles, whose scope decides between 404 and
# 200; manager and viewer differ from the admin only by access rule, which the permission
# matrix checks route by route, and get the examples and fuzzing phases over the whole schema.
COVERAGE_ROLES = frozenset({"admin", "district_officer", "commissioner"})


def _config(token: str, *, coverage: bool) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "auth": {"openapi": {"HTTPBearer": {"bearer": token}}},
            "workers": 1,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            # Stateful links are not declared; examples, coverage and fuzzing cover every call.
            "phases": {"stateful": {"enabled": False}, "coverage": {"enabled": coverage}},
        }
    )


def _server_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the 500s were, from the server log: the exception and where it was raised."""
    out = set()
    for record in caplog.records:
        if record.exc_info and record.exc_info[1]:
            frame = traceback.extract_tb(record.exc_info[2])[-1]
            first = str(record.exc_info[1]).splitlines()[0][:160]
            out.add(
                f"{type(record.exc_info[1]).__name__}: {first} at {frame.filename}:{frame.lineno}"
            )
    return sorted(out)


@pytest.fixture
def world(committed_db: Engine) -> World:
    return _build_world(committed_db)


@pytest.mark.parametrize("role", ROLES)
def test_api_conforms_to_its_schema(
    world: World, role: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="tierledger")
    app = create_app(Settings(data_dir=tmp_path), engine=world.engine, today=lambda: TODAY)
    with world.engine.connect() as conn:
        audit_start = _audit_rows(conn)
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json",
        InvariantGuard(app, world),
        config=_config(world.tokens[role], coverage=role in COVERAGE_ROLES),
    )
    failures: set[str] = set()
    cases = 0
    errors = []
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            cases += len(event.recorder.cases)
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.status.name == "FAILURE":
                        case = event.recorder.cases[case_id].value
                        interaction = event.recorder.interactions.get(case_id)
                        failures.add(_describe(check, case, interaction))
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    assert sorted(failures) == [], _server_errors(caplog)
    assert cases >= (4000 if role in COVERAGE_ROLES else 600), cases  # it really ran
    assert errors == []
    assert world.violations == []
    with world.engine.connect() as conn:
        assert _audit_rows(conn)[: len(audit_start)] == audit_start  # append-only
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
