"""Acceptance test 12: every route × every role × in scope / out of scope / missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.access import policy
from service.access import service as access_service
from service.access.actor import SYSTEM
from service.app import create_app
from service.config import Settings
from service.db import get_session
from service.enterprises.models import Enterprise
from service.routeindex import PUBLIC_ROUTES, api_routes
from tests.conftest import TODAY
from tests.dbutil import digest
from tests.factories import (
    make_assignment,
    make_commissioner,
    make_designation,
    make_enterprise,
)

PASSWORD = "权限矩阵测试口令-2026"
ROLES = ("admin", "manager", "district_officer", "commissioner", "viewer")

# A valid request for every route, so what decides the status is access, not the payload.
SAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/enterprises"): {"json": "create"},
    ("PATCH", "/api/v1/enterprises/{enterprise_id}"): {
        "json": {"notes": "走访记录"},
        "if_match": True,
    },
    ("POST", "/api/v1/enterprises/{enterprise_id}/status"): {
        "json": {"status": "moved_out", "reason": "迁出"},
        "if_match": True,
    },
    ("PUT", "/api/v1/enterprises/{enterprise_id}/figures/{year}"): {"json": {"employees": 10}},
    ("POST", "/api/v1/enterprises/{enterprise_id}/designations"): {
        "json": {"tier_code": "innovative_sme", "designated_on": "2025-01-01"}
    },
    ("POST", "/api/v1/enterprises/{enterprise_id}/designations/{designation_id}/revoke"): {
        "json": {"reason": "测试"}
    },
    ("POST", "/api/v1/enterprises/{enterprise_id}/designations/{designation_id}/renew"): {
        "json": {"reviewed_on": "2026-05-01"}
    },
    ("POST", "/api/v1/enterprises/{enterprise_id}/listing"): {
        "json": {"stage": "reserve", "stage_on": "2026-01-05"}
    },
    ("PUT", "/api/v1/enterprises/{enterprise_id}/evaluator-facts/{year}"): {
        "json": {"development_score": "70"}
    },
    ("PUT", "/api/v1/enterprises/{enterprise_id}/data-updates/{year}"): {
        "json": {"updated_on": "2025-04-20"}
    },
    ("POST", "/api/v1/enterprises/{enterprise_id}/major-changes"): {
        "json": {"kind": "rename", "occurred_on": "2026-01-05", "reported_on": "2026-02-01"}
    },
    ("POST", "/api/v1/enterprises/{enterprise_id}/key-selection"): {
        "json": {"decision": "confirmed", "reason": "遴选"},
        "if_match": True,
    },
    ("POST", "/api/v1/auth/tokens"): {"json": {"name": "脚本"}},
    ("POST", "/api/v1/users"): {"json": "user"},
    ("PATCH", "/api/v1/users/{user_id}"): {"json": {"display_name": "改名"}},
    ("POST", "/api/v1/users/{user_id}/password"): {"json": {"password": "另一个足够长的口令-2026"}},
    ("POST", "/api/v1/commissioners"): {"json": {"name": "矩阵专员", "specialties": ["tech"]}},
    ("PATCH", "/api/v1/commissioners/{commissioner_id}"): {"json": {"phone": "023-60000000"}},
    ("POST", "/api/v1/enterprises/{enterprise_id}/assignments"): {"json": "assign"},
    ("POST", "/api/v1/enterprises/{enterprise_id}/assignments/{assignment_id}/end"): {"json": {}},
    ("POST", "/api/v1/enterprises/{enterprise_id}/service-records"): {"json": "service_record"},
    ("POST", "/api/v1/enterprises/{enterprise_id}/needs/{need_id}/status"): {
        "json": {"status": "in_progress"}
    },
    ("POST", "/api/v1/assignments/bulk"): {"json": "bulk"},
    ("POST", "/api/v1/assignments/suggestions/accept"): {
        "json": {"all": True, "district_code": "500104"}
    },
}
SAMPLES[("POST", "/api/v1/imports")] = {"files": True}
# Reference data an admin corrects: a real code per collection, a harmless change each.
REFERENCE_CODES = {
    "districts": "500104",
    "taxonomy": "A4.01",
    "tiers": "innovative_sme",
    "targets": "T01",
}
SAMPLES[("PATCH", "/api/v1/reference/districts/{code}")] = {"json": {"aliases": ["大渡口"]}}
SAMPLES[("PATCH", "/api/v1/reference/taxonomy/{code}")] = {"json": {"aliases": ["玻纤"]}}
SAMPLES[("POST", "/api/v1/reference/tiers")] = {
    "json": {"code": "matrix_rung", "name": "矩阵省级层级", "rank": 15, "validity_years": 3}
}
SAMPLES[("PATCH", "/api/v1/reference/tiers/{code}")] = {"json": {"aliases": ["创新型"]}}
SAMPLES[("PATCH", "/api/v1/reference/targets/{code}")] = {"json": {"source": "行动计划"}}
SELF_ONLY = {("DELETE", "/api/v1/auth/tokens/{token_id}")}


def _need(session: Session, enterprise: Enterprise, commissioner: Any) -> int:
    from service.commissioners import service as commissioner_service
    from service.commissioners.schemas import NeedIn, ServiceRecordCreate

    record = commissioner_service.add_record(
        session,
        SYSTEM,
        enterprise=enterprise,
        data=ServiceRecordCreate(
            served_on=TODAY,
            kind_code="financing",
            summary="融资对接",
            commissioner_id=commissioner.id,
            needs=[NeedIn(description="贷款")],
        ),
        today=TODAY,
    )
    need = commissioner_service.records_public(session, [record], TODAY)[0].needs[0]
    return need.id


def _import_batches(session: Session, officer_user: Any, tmp: Path) -> dict[tuple[str, str], int]:
    """One batch per import route, in the state that route acts on, uploaded by the officer."""
    from service.access.actor import Actor
    from service.imports import service as imports_service
    from tests.factories import credit_code
    from tests.workbooks import good_row, roster_xlsx

    officer = Actor(
        id=officer_user.id, name="矩阵区县", role="district_officer", district_code="500104"
    )
    out = {}
    for method, action in (
        ("GET", ""),
        ("GET", "/lines"),
        ("GET", "/progress"),
        ("GET", "/errors.xlsx"),
        ("POST", "/commit"),
        ("POST", "/approve"),
        ("POST", "/reject"),
        ("POST", "/revert"),
    ):
        batch = imports_service.preview(
            session,
            officer,
            filename="矩阵.xlsx",
            data=roster_xlsx([good_row(1, 统一社会信用代码=credit_code("500104"))]),
            today=TODAY,
            uploads_dir=tmp / "uploads",
        )
        if action in ("/approve", "/revert"):
            imports_service.commit(session, officer, batch.id or 0, requires_approval=True)
        if action == "/revert":
            imports_service.approve(session, SYSTEM, batch.id or 0)
        out[(method, "/api/v1/imports/{batch_id}" + action)] = batch.id or 0
    return out


@pytest.fixture
def world(engine: Engine, session: Session, tmp_path: Path) -> Iterator[dict[str, Any]]:
    app = create_app(Settings(data_dir=tmp_path), engine=engine, today=lambda: TODAY)

    def _session() -> Iterator[Session]:
        yield session
        session.commit()

    app.dependency_overrides[get_session] = _session
    tokens = {}
    users = {}
    for role in ROLES:
        users[role] = access_service.add_user(
            session,
            SYSTEM,
            username=f"m_{role}",
            display_name=role,
            role=role,
            password=PASSWORD,
            district_code="500104" if role == "district_officer" else None,
        )
    victim = access_service.add_user(
        session, SYSTEM, username="m_victim", display_name="v", role="viewer", password=PASSWORD
    )
    batches = _import_batches(session, users["district_officer"], tmp_path)
    inside = make_enterprise(session, district="500104")
    outside = make_enterprise(session, district="500115")
    d_in = make_designation(session, inside)
    d_out = make_designation(session, outside)
    # The commissioner account serves `inside` only; `outside` is another commissioner's.
    linked = make_commissioner(
        session, name="矩阵专员甲", capacity=50, user_id=users["commissioner"].id
    )
    other = make_commissioner(session, name="矩阵专员乙", districts=("500115",))
    spare = make_commissioner(session, name="矩阵专员丙")
    a_in = make_assignment(session, inside, linked)
    a_out = make_assignment(session, outside, other)
    n_in = _need(session, inside, linked)
    n_out = _need(session, outside, other)
    with TestClient(app, raise_server_exceptions=False) as client:
        for role in ROLES:
            r = client.post(
                "/api/v1/auth/token", json={"username": f"m_{role}", "password": PASSWORD}
            )
            assert r.status_code == 201, r.text
            tokens[role] = r.json()["token"]
        yield {
            "app": app,
            "client": client,
            "tokens": tokens,
            "inside": (inside.id, d_in.id),
            "outside": (outside.id, d_out.id),
            "assignment": {"inside": a_in.id, "outside": a_out.id, "missing": 999999},
            "need": {"inside": n_in, "outside": n_out, "missing": 999999},
            "commissioner": linked.id,
            "spare_commissioner": spare.id,
            "victim": victim.id,
            "session": session,
            "batches": batches,
        }


def test_every_route_declares_an_access_rule(world: dict[str, Any]) -> None:
    undeclared = [
        (r.method, r.path)
        for r in api_routes(world["app"])
        if r.permission is None and (r.method, r.path) not in PUBLIC_ROUTES
    ]
    assert undeclared == []
    for r in api_routes(world["app"]):
        if r.permission:
            assert r.permission in policy.PERMISSIONS


def _request(world: dict[str, Any], role: str | None, method: str, path: str, target: str) -> Any:
    eid, did = {
        "inside": world["inside"],
        "outside": world["outside"],
        "missing": (999999, 999999),
    }[target]
    url = (
        path.replace("{enterprise_id}", str(eid))
        .replace("{designation_id}", str(did))
        .replace("{year}", "2025")
        .replace("{user_id}", str(world["victim"]))
        .replace("{token_id}", "999999")
        .replace("{batch_id}", str(world["batches"].get((method, path), 999999)))
        .replace("{commissioner_id}", str(world["spare_commissioner"]))
        .replace("{assignment_id}", str(world["assignment"][target]))
        .replace("{need_id}", str(world["need"][target]))
        .replace("{code}", REFERENCE_CODES.get((path.split("/") + [""] * 5)[4], "none"))
    )
    sample = SAMPLES.get((method, path), {})
    body = sample.get("json")
    if body == "create":
        from tests.factories import credit_code

        body = {
            "credit_code": credit_code("500104"),
            "name": "矩阵新登记公司",
            "district_code": "500104",
            "subsector_code": "A4.01",
        }
    elif body == "assign":
        body = {"specialty_code": "finance", "commissioner_id": world["commissioner"]}
    elif body == "service_record":
        body = {
            "served_on": TODAY.isoformat(),
            "kind_code": "diagnosis",
            "summary": "走访",
            "commissioner_id": world["commissioner"],
        }
    elif body == "bulk":
        body = {
            "filter": {"district_code": "500104"},
            "specialty_code": "media",
            "commissioner_id": world["commissioner"],
        }
    elif body == "user":
        body = {
            "username": "matrix_new",
            "display_name": "新",
            "role": "viewer",
            "password": PASSWORD,
        }
    headers = {}
    if role is not None:
        headers["Authorization"] = f"Bearer {world['tokens'][role]}"
    if sample.get("if_match"):
        current = world["session"].get(Enterprise, eid)
        headers["If-Match"] = f'"{current.version if current else 1}"'
    files = None
    if sample.get("files"):
        from tests.factories import credit_code
        from tests.workbooks import good_row, roster_xlsx

        roster = roster_xlsx([good_row(1, 统一社会信用代码=credit_code("500104"))])
        files = {"file": ("矩阵.xlsx", roster)}
    return world["client"].request(method, url, json=body, files=files, headers=headers)


def _expected(role: str | None, permission: str | None, path: str, target: str) -> set[int]:
    if permission is None:
        return set()  # public: not part of the matrix
    if role is None:
        return {401}
    if not policy.allowed(role, permission):
        return {403}
    scoped = "{enterprise_id}" in path
    sees = role in {"admin", "manager", "viewer"} or (
        role in {"district_officer", "commissioner"} and target == "inside"
    )
    if scoped and (target == "missing" or not sees):
        return {404}
    if "{user_id}" in path or "{token_id}" in path:
        return {200, 201, 204, 404}
    return {200, 201, 204}


@pytest.mark.parametrize("role", [None, *ROLES])
def test_matrix(world: dict[str, Any], session: Session, role: str | None) -> None:
    failures = []
    for r in api_routes(world["app"]):
        if (r.method, r.path) in PUBLIC_ROUTES or not r.path.startswith("/api/"):
            continue
        targets = ["inside", "outside", "missing"] if "{enterprise_id}" in r.path else ["inside"]
        for target in targets:
            before = digest(session)
            response = _request(world, role, r.method, r.path, target)
            expected = _expected(role, r.permission, r.path, target)
            if response.status_code not in expected:
                failures.append(
                    (role, r.method, r.path, target, response.status_code, response.text[:120])
                )
            if response.status_code >= 400:
                assert digest(session) == before, (role, r.method, r.path, target)
    assert failures == []


def test_out_of_scope_is_byte_identical_to_missing(world: dict[str, Any]) -> None:
    for r in api_routes(world["app"]):
        if r.method != "GET" or "{enterprise_id}" not in r.path or not r.path.startswith("/api/"):
            continue
        hidden = _request(world, "district_officer", "GET", r.path, "outside")
        missing = _request(world, "district_officer", "GET", r.path, "missing")
        strip = lambda resp: {k: v for k, v in resp.json().items() if k != "request_id"}  # noqa: E731
        assert hidden.status_code == missing.status_code == 404
        assert strip(hidden) == strip(missing)
