"""Acceptance test 12 for the pages: every page route × every role × in scope / out / missing.

Generated from the route table like the API matrix (test_permission_matrix.py): a new page route
is swept as soon as it exists, and one without a sample form below fails the sweep rather than
passing unexamined. Expected statuses come from the policy table and the scope rule, not from a
list of answers: anonymous → 303 to /login, outside the role → 403, out of scope or missing → 404
(out of scope byte-identical to missing), otherwise GET → 200 and POST → 303.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.access import policy
from service.access import service as access_service
from service.access.actor import SYSTEM, Actor
from service.app import create_app
from service.config import Settings
from service.db import get_session
from service.enterprises import saved_filters
from service.enterprises.models import Enterprise
from service.imports import service as imports_service
from service.routeindex import PUBLIC_ROUTES, api_routes
from tests.conftest import TODAY
from tests.dbutil import digest
from tests.factories import (
    credit_code,
    make_assignment,
    make_commissioner,
    make_designation,
    make_enterprise,
)
from tests.service.access.test_permission_matrix import _need
from tests.service.web.pageutil import PASSWORD, csrf_of
from tests.workbooks import good_row, roster_xlsx

ROLES = ("admin", "manager", "district_officer", "commissioner", "viewer")
NEW_PASSWORD = "矩阵页面改过的新口令-2026"
SEE_ALL = {"admin", "manager", "viewer"}
SEE_ALL_BATCHES = {"admin", "manager"}
MISSING = 999999
BATCH_ACTIONS = (
    "",
    "/progress",
    "/errors.xlsx",
    "/commit",
    "/approve",
    "/reject",
    "/cancel",
    "/revert",
)
DISTRICT_NAMES = {"500104": "大渡口区", "500115": "长寿区"}

# Routes that end the sweep's own session: run last, in this order.
SESSION_ROUTES = (("POST", "/password"), ("POST", "/logout"))


def _page_routes(app: Any) -> list[tuple[str, str, str | None]]:
    """As tests/service/web/test_pages.py enumerates them: everything that is not the API."""
    return [
        (r.method, r.path, r.permission)
        for r in api_routes(app)
        if not r.path.startswith(("/api/", "/docs", "/openapi", "/redoc", "/healthz"))
        and (r.method, r.path) not in PUBLIC_ROUTES
    ]


def _kind(method: str, path: str) -> str:
    """Which object a route acts on, and so whose scope decides 404."""
    if "{enterprise_id}" in path or (method, path) == ("POST", "/services"):
        return "enterprise"
    for marker, kind in (
        ("{batch_id}", "batch"),
        ("{filter_id}", "filter"),
        ("{user_id}", "user"),
        ("{code}", "reference"),
    ):
        if marker in path:
            return kind
    return "none"


TARGETS = {
    "enterprise": ("inside", "outside", "missing"),
    "batch": ("inside", "outside", "missing"),
    "filter": ("inside", "outside", "missing"),  # outside: another user's saved filter
    "user": ("inside", "missing"),  # users and reference data have no scope: all or nothing
    "reference": ("inside", "missing"),
    "none": ("inside",),
}


def _sees(role: str, kind: str, target: str) -> bool:
    if target == "missing":
        return False
    if kind == "enterprise":
        return role in SEE_ALL or target == "inside"
    if kind == "batch":
        return role in SEE_ALL_BATCHES or target == "inside"
    if kind == "filter":
        return target == "inside"
    return True


def _expected(role: str | None, method: str, path: str, permission: str, target: str) -> int:
    if role is None:
        return 303  # to the login page
    if not policy.allowed(role, permission):
        return 403
    if not _sees(role, _kind(method, path), target):
        return 404
    return 200 if method == "GET" else 303


def _batches(session: Session, uploaders: dict[str, Any], tmp: Path) -> dict[tuple[str, str], int]:
    """One batch per batch route and target, in the state that route acts on: `inside` uploaded
    by the district officer of 500104, `outside` by an officer of 500115."""
    out: dict[tuple[str, str], int] = {}
    for target, (user, district) in (
        ("inside", (uploaders["inside"], "500104")),
        ("outside", (uploaders["outside"], "500115")),
    ):
        name = DISTRICT_NAMES[district]
        actor = Actor(id=user.id, name=user.display_name, role=user.role, district_code=district)
        for action in BATCH_ACTIONS:
            batch = imports_service.preview(
                session,
                actor,
                filename="页面矩阵.xlsx",
                data=roster_xlsx(
                    [good_row(1, 统一社会信用代码=credit_code(district), 所属区县=name)]
                ),
                today=TODAY,
                uploads_dir=tmp / "uploads",
            )
            if action in ("/approve", "/revert"):
                imports_service.commit(session, actor, batch.id or 0, requires_approval=True)
            if action == "/revert":
                imports_service.approve(session, SYSTEM, batch.id or 0)
            out[("/imports/{batch_id}" + action, target)] = batch.id or 0
    return out


@pytest.fixture
def world(
    engine: Engine, session: Session, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[dict[str, Any]]:
    role: str | None = request.node.callspec.params["role"]
    app = create_app(Settings(data_dir=tmp_path), engine=engine, today=lambda: TODAY)

    def _session() -> Iterator[Session]:
        yield session
        session.commit()

    app.dependency_overrides[get_session] = _session
    me = None
    if role is not None:
        me = access_service.add_user(
            session,
            SYSTEM,
            username=f"pm_{role}",
            display_name=f"页面矩阵{role}",
            role=role,
            password=PASSWORD,
            district_code="500104" if role == "district_officer" else None,
        )
    victim = access_service.add_user(
        session, SYSTEM, username="pm_victim", display_name="v", role="viewer", password=PASSWORD
    )
    batches: dict[tuple[str, str], int] = {}
    if role is not None and policy.allowed(role, "import.read"):
        # Real batches only where the handler is reached; elsewhere access decides first.
        def officer(username: str, district: str) -> Any:
            if me is not None and me.district_code == district:
                return me
            return access_service.add_user(
                session,
                SYSTEM,
                username=username,
                display_name=f"{district}区县用户",
                role="district_officer",
                password=PASSWORD,
                district_code=district,
            )

        batches = _batches(
            session,
            {
                "inside": officer("pm_near_officer", "500104"),
                "outside": officer("pm_far_officer", "500115"),
            },
            tmp_path,
        )
    inside = make_enterprise(session, name="页面矩阵本区公司", district="500104")
    outside = make_enterprise(session, name="页面矩阵外区公司", district="500115")
    d_in = make_designation(session, inside)
    d_out = make_designation(session, outside)
    # The commissioner account serves `inside` only; `outside` is another commissioner's.
    linked = make_commissioner(
        session,
        name="页面矩阵专员甲",
        capacity=50,
        user_id=me.id if me is not None and role == "commissioner" else None,
    )
    other = make_commissioner(session, name="页面矩阵专员乙", districts=("500115",))
    a_in = make_assignment(session, inside, linked)
    a_out = make_assignment(session, outside, other)
    filters = {}
    if me is not None:
        mine = saved_filters.save(
            session, access_service.actor_of(me), name="矩阵自己的", query="district=500104"
        )
        filters[role] = mine.id
    theirs = saved_filters.save(
        session, access_service.actor_of(victim), name="别人的", query="district=500115"
    )
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield {
            "app": app,
            "client": client,
            "session": session,
            "enterprise": {"inside": inside.id, "outside": outside.id, "missing": MISSING},
            "designation": {"inside": d_in.id, "outside": d_out.id, "missing": MISSING},
            "assignment": {"inside": a_in.id, "outside": a_out.id, "missing": MISSING},
            "need": {
                "inside": _need(session, inside, linked),
                "outside": _need(session, outside, other),
                "missing": MISSING,
            },
            "batches": batches,
            "filters": filters,
            "their_filter": theirs.id,
            "victim": victim.id,
            "commissioner": linked.id,
        }


def _version(world: dict[str, Any], target: str) -> str:
    current = world["session"].get(Enterprise, world["enterprise"][target])
    return str(current.version if current else 1)


def _url(world: dict[str, Any], role: str | None, path: str, target: str) -> str:
    filters = {
        "inside": world["filters"].get(role or "", MISSING),
        "outside": world["their_filter"],
        "missing": MISSING,
    }
    url = (
        path.replace("{enterprise_id}", str(world["enterprise"][target]))
        .replace("{batch_id}", str(world["batches"].get((path, target), MISSING)))
        .replace("{filter_id}", str(filters[target]))
        .replace("{user_id}", str(world["victim"] if target == "inside" else MISSING))
        .replace("{kind}", "districts")
        .replace("{code}", "500104" if target == "inside" else "999999")
        # An upload's id is the uploader's own, not an object with a scope: any id reads as
        # that user's upload (unknown when it is not theirs or not running).
        .replace("{upload_id}", "page-matrix-upload-0001")
    )
    # A new kind of path parameter needs its objects (and its scope rule) here first.
    assert "{" not in url, f"the page matrix does not know the parameters of {path}"
    return url


def _form(world: dict[str, Any], path: str, target: str) -> dict[str, Any]:
    """A valid form for each page POST, so what decides the status is access, not the input."""
    commissioner = str(world["commissioner"])
    forms: dict[str, dict[str, Any]] = {
        "/enterprises/bulk/key": {"district": "500104", "key_reason": "页面矩阵遴选"},
        "/enterprises/bulk/assign": {
            "district": "500104",
            "specialty_code": "media",
            "commissioner_id": commissioner,
        },
        "/logout": {},
        "/password": {
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        "/enterprises/filters": {"name": "矩阵新筛选", "query": "district=500104&tier="},
        "/enterprises/filters/{filter_id}/delete": {},
        "/enterprises/{enterprise_id}": {"version": _version(world, target), "notes": "页面矩阵"},
        "/imports": {"data_year": "2025"},
        "/imports/{batch_id}/commit": {},
        "/imports/{batch_id}/approve": {},
        "/imports/{batch_id}/reject": {"reason": "页面矩阵驳回"},
        "/imports/{batch_id}/cancel": {},
        "/imports/{batch_id}/revert": {},
        "/admin/reference/{kind}/{code}": {"name": "大渡口区", "aliases": "大渡口"},
        "/admin/users": {
            "username": "pm_new",
            "display_name": "新用户",
            "role": "viewer",
            "password": PASSWORD,
        },
        "/admin/users/{user_id}": {"display_name": "改名", "role": "viewer", "active": "on"},
        "/ladder/key/{enterprise_id}": {
            "version": _version(world, target),
            "decision": "rejected",
            "reason": "页面矩阵遴选",
        },
        "/enterprises/{enterprise_id}/designations/renew": {
            "designation_id": str(world["designation"][target]),
            "reviewed_on": "2026-05-01",
        },
        "/enterprises/{enterprise_id}/designations/revoke": {
            "designation_id": str(world["designation"][target]),
            "reason": "页面矩阵撤销",
        },
        "/commissioners/suggestions/accept": {"all": "1", "district": "500104"},
        "/enterprises/{enterprise_id}/assignments": {
            "specialty_code": "finance",
            "commissioner_id": commissioner,
        },
        "/enterprises/{enterprise_id}/assignments/end": {
            "assignment_id": str(world["assignment"][target]),
        },
        "/services": {
            "enterprise_id": str(world["enterprise"][target]),
            "served_on": TODAY.isoformat(),
            "kind_code": "diagnosis",
            "summary": "页面矩阵走访",
            "commissioner_id": commissioner,
        },
        "/enterprises/{enterprise_id}/needs/status": {
            "need_id": str(world["need"][target]),
            "status": "in_progress",
        },
    }
    assert path in forms, f"no sample form for POST {path}: add one to the page matrix"
    return forms[path]


def _request(
    world: dict[str, Any], role: str | None, csrf: str, method: str, path: str, target: str
) -> Any:
    client: TestClient = world["client"]
    url = _url(world, role, path, target)
    if method == "GET":
        return client.get(url)
    data = _form(world, path, target) | {"csrf_token": csrf}
    files = None
    if path == "/imports":
        roster = roster_xlsx([good_row(1, 统一社会信用代码=credit_code("500104"))])
        files = {"file": ("页面矩阵上传.xlsx", roster)}
    return client.post(url, data=data, files=files)


def _refused_in_disguise(path: str, response: Any) -> bool:
    """Some page actions answer a refusal with a redirect back and a message: not a success."""
    location = unquote(response.headers.get("location", ""))
    if path == "/logout":
        return location != "/login"
    if path == "/enterprises/filters":
        return "bulk=" in location  # the refusal's message rides back in the query
    return "need_error=" in location or "未分配" in location or location.startswith("/login")


def _strip_ids(body: bytes) -> bytes:
    """Request and error ids differ on every response; nothing else may."""
    return re.sub(rb"[0-9a-f]{12,32}", b"<id>", body)


def _ordered(app: Any) -> list[tuple[str, str, str | None]]:
    routes = _page_routes(app)
    last = [r for key in SESSION_ROUTES for r in routes if (r[0], r[1]) == key]
    return [r for r in routes if r not in last] + last


def _sign_in(world: dict[str, Any], role: str | None) -> str:
    client: TestClient = world["client"]
    if role is None:
        return "no-session-no-token"
    form = client.get("/login")
    r = client.post(
        "/login",
        data={
            "username": f"pm_{role}",
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
            "next": "/",
        },
    )
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/password").text)


@pytest.mark.parametrize("role", [None, *ROLES])
def test_page_matrix(world: dict[str, Any], role: str | None) -> None:
    session: Session = world["session"]
    client: TestClient = world["client"]
    routes = _ordered(world["app"])
    assert len(routes) >= 40  # the route table, not an empty list
    cases = []
    for method, path, permission in routes:
        assert permission in policy.PERMISSIONS, (method, path)
        for target in TARGETS[_kind(method, path)]:
            expected = _expected(role, method, path, permission, target)
            cases.append((method, path, target, expected))
    # First every read and every write that must be refused, then the writes that must succeed:
    # nothing that succeeds runs in between, so one digest around the first phase shows that no
    # refused write (and no read) changed the ledger.
    refused = [c for c in cases if c[0] == "GET" or role is None or c[3] >= 400]
    allowed = [c for c in cases if c not in refused]
    csrf = _sign_in(world, role)
    failures = []
    hidden: dict[tuple[str, str], bytes] = {}
    before = digest(session)
    for phase in (refused, allowed):
        for method, path, target, expected in phase:
            r = _request(world, role, csrf, method, path, target)
            got = r.status_code
            if got != expected or (
                method == "POST" and got == 303 and role and _refused_in_disguise(path, r)
            ):
                failures.append((role, method, path, target, expected, got, r.text[:200]))
            if role is None and got == 303:
                assert r.headers["location"].startswith("/login?next="), (path, target)
            if expected == 404:
                hidden[(method + path, target)] = _strip_ids(r.content)
            if role is not None and (method, path) == ("POST", "/password") and got == 303:
                csrf = csrf_of(client.get("/password").text)  # the new session's token
        if phase is refused:
            assert digest(session) == before, "a refused write or a read changed the ledger"
    assert failures == []
    compared = 0
    for (route, target), body in hidden.items():
        if target == "outside":
            assert body == hidden[(route, "missing")], route
            compared += 1
    if role is not None:
        # Another user's saved filter at least; for scoped roles every enterprise route too.
        assert compared >= {"district_officer": 8, "commissioner": 5}.get(role, 1)
    if role in {"admin", "manager", "district_officer", "commissioner"}:
        # Each writes the ledger somewhere: its successes were real writes, not empty answers.
        assert digest(session) != before
