"""Acceptance test 23, the fields: every write path (page, API, CLI, import commit, approval,
revert) leaves audit entries naming who (id, name as it was then, role), what (action, object
type, id and repr, {field: [old, new]}), from where (source: the batch for imports; the request
id for HTTP) and when (UTC)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import migrate
from service.access import service as access_service
from service.access.actor import SYSTEM
from service.app import create_app
from service.audit.models import AuditEvent
from service.cli import main
from service.config import Settings
from service.db import get_session
from tests.conftest import TODAY
from tests.dbutil import fresh_database
from tests.factories import credit_code, make_enterprise
from tests.service.web.pageutil import PASSWORD, csrf_of, login
from tests.workbooks import good_row, roster_xlsx


def _events(session: Session, **where: Any) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).order_by(AuditEvent.id)  # type: ignore[arg-type]
    for column, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, column) == value)
    return list(session.scalars(stmt))


def _one(session: Session, **where: Any) -> AuditEvent:
    found = _events(session, **where)
    assert len(found) == 1, (where, [(e.action, e.entity_id) for e in found])
    return found[0]


def _recent_utc(at: datetime) -> None:
    assert at.tzinfo is not None
    assert at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - at) < timedelta(minutes=5)


def _who(event: AuditEvent, user: Any) -> None:
    assert event.actor_id == user.id
    assert event.actor_name == user.display_name
    assert event.actor_role == user.role


@pytest.fixture
def apps(engine: Engine, session: Session, tmp_path: Path) -> Iterator[dict[str, TestClient]]:
    """The real app (request-id middleware and all) on the test's session, twice: as deployed
    by default, and with district imports waiting for a manager's approval."""

    def build(**settings: Any) -> TestClient:
        app = create_app(
            Settings(data_dir=tmp_path, **settings), engine=engine, today=lambda: TODAY
        )

        def _session() -> Iterator[Session]:
            yield session
            session.commit()

        app.dependency_overrides[get_session] = _session
        return TestClient(app, raise_server_exceptions=False, follow_redirects=False)

    clients = {"plain": build(), "approving": build(import_requires_approval=True)}
    yield clients
    for c in clients.values():
        c.close()


def _user(session: Session, username: str, name: str, role: str, **kw: Any) -> Any:
    return access_service.add_user(
        session, SYSTEM, username=username, display_name=name, role=role, password=PASSWORD, **kw
    )


def _bearer(session: Session, user: Any, request_id: str) -> dict[str, str]:
    token = access_service.create_token(session, SYSTEM, user, name="审计").secret
    return {"Authorization": f"Bearer {token}", "X-Request-ID": request_id}


def test_page_and_api_edits_carry_the_actor_as_they_were(
    apps: dict[str, TestClient], session: Session
) -> None:
    manager = _user(session, "au_mgr", "审计经理", "manager")
    e = make_enterprise(session, name="审计字段公司", contact_person="旧联系人", notes="旧备注")
    page = apps["plain"]
    login(page, "au_mgr")
    form = page.get(f"/enterprises/{e.id}")
    r = page.post(
        f"/enterprises/{e.id}",
        data={"csrf_token": csrf_of(form.text), "version": "1", "contact_person": "页面改的"},
        headers={"X-Request-ID": "aud-page-0001"},
    )
    assert r.status_code == 303
    assert r.headers["x-request-id"] == "aud-page-0001"
    api = apps["plain"].patch(
        f"/api/v1/enterprises/{e.id}",
        json={"notes": "接口改的"},
        headers=_bearer(session, manager, "aud-api-0001") | {"If-Match": '"2"'},
    )
    assert api.status_code == 200, api.text
    # The actor's name is a snapshot: renaming them later does not rewrite history.
    access_service.update_user(session, SYSTEM, manager, display_name="改名后的经理")
    session.expire_all()
    for request_id, changes in (
        ("aud-page-0001", {"contact_person": ["旧联系人", "页面改的"]}),
        ("aud-api-0001", {"notes": ["旧备注", "接口改的"]}),
    ):
        event = _one(session, action="enterprise.update", request_id=request_id)
        assert event.actor_id == manager.id
        assert event.actor_name == "审计经理"
        assert event.actor_role == "manager"
        assert (event.entity, event.entity_id, event.entity_repr) == (
            "enterprise",
            str(e.id),
            "审计字段公司",
        )
        assert event.enterprise_id == e.id
        assert event.changes == changes
        assert event.source == ""  # a person's edit, not an import's
        _recent_utc(event.at)


def _upload(client: TestClient, headers: dict[str, str], rows: list[dict[str, Any]]) -> int:
    r = client.post(
        "/api/v1/imports",
        files={"file": ("审计名单.xlsx", roster_xlsx(rows))},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_import_commit_approval_and_revert_carry_batch_and_request(
    apps: dict[str, TestClient], session: Session
) -> None:
    officer = _user(session, "au_officer", "审计区县", "district_officer", district_code="500104")
    manager = _user(session, "au_approver", "审计审批人", "manager")
    plain, approving = apps["plain"], apps["approving"]
    codes = [credit_code("500104") for _ in range(2)]
    rows = [good_row(i, 统一社会信用代码=c) for i, c in enumerate(codes, 1)]
    # Committed straight away by the officer who uploaded it.
    first = _upload(plain, _bearer(session, officer, "aud-up-0001"), rows)
    r = plain.post(
        f"/api/v1/imports/{first}/commit", headers=_bearer(session, officer, "aud-commit-0001")
    )
    assert r.status_code == 200, r.text
    created = _events(session, action="import.create", request_id="aud-commit-0001")
    assert sorted(e.entity_repr for e in created) == sorted(r["企业名称"] for r in rows)
    for event in created:
        _who(event, officer)
        assert event.entity == "enterprise"
        assert event.entity_id == str(event.enterprise_id)
        assert event.entity_repr.startswith("重庆测试新材料")
        assert event.source == f"import:{first}"
        # A new file: every field from nothing to the roster's value, as the ledger shows it.
        assert event.changes["name"] == [None, event.entity_repr]
        assert event.changes["district_code"] == [None, "500104"]
        assert event.changes["employees:2025"] == [None, 120]
        _recent_utc(event.at)
    summary = _one(session, action="import.commit", request_id="aud-commit-0001")
    _who(summary, officer)
    assert (summary.entity, summary.entity_id, summary.source) == (
        "import_batch",
        str(first),
        f"import:{first}",
    )
    assert summary.changes["created"] == [None, 2]
    preview = _one(session, action="import.preview", request_id="aud-up-0001")
    assert preview.source == f"import:{first}"
    # Waiting for approval: submitted by the officer, written when the manager approves.
    update = [good_row(1, 统一社会信用代码=codes[0], 备注="审批后更新", 营业收入=23456.7)]
    second = _upload(approving, _bearer(session, officer, "aud-up-0002"), update)
    r = approving.post(
        f"/api/v1/imports/{second}/commit", headers=_bearer(session, officer, "aud-submit-0002")
    )
    assert r.json()["status"] == "pending_approval"
    submitted = _one(session, action="import.submit", request_id="aud-submit-0002")
    _who(submitted, officer)
    assert submitted.source == f"import:{second}"
    r = approving.post(
        f"/api/v1/imports/{second}/approve", headers=_bearer(session, manager, "aud-approve-0002")
    )
    assert r.status_code == 200, r.text
    approved = _one(session, action="import.commit", request_id="aud-approve-0002")
    _who(approved, manager)
    assert approved.source == f"import:{second}"
    changed = _one(session, action="import.update", request_id="aud-approve-0002")
    _who(changed, manager)
    assert changed.source == f"import:{second}"
    assert changed.changes["notes"] == ["", "审批后更新"]
    # Reverting the second batch restores the note, on record as the manager's undo.
    r = approving.post(
        f"/api/v1/imports/{second}/revert", headers=_bearer(session, manager, "aud-revert-0002")
    )
    assert r.status_code == 200, r.text
    undone = _one(session, action="import.revert", request_id="aud-revert-0002")
    _who(undone, manager)
    assert (undone.entity, undone.source) == ("enterprise", f"import:{second}")
    assert undone.entity_id == str(changed.enterprise_id)
    assert undone.changes["notes"] == ["审批后更新", ""]
    # The figures too: the imported revenue back to the one before, as numbers, not placeholders.
    now, restored = undone.changes["operating_revenue:2025"]
    assert (Decimal(now), Decimal(restored)) == (Decimal("23456.7"), Decimal("12345.6"))
    batch = _one(session, action="import.revert_batch", request_id="aud-revert-0002")
    assert batch.changes["status"] == ["committed", "reverted"]
    for event in (submitted, approved, changed, undone, batch):
        _recent_utc(event.at)


def test_cli_writes_are_on_record_as_the_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_database(tmp_path) as engine:
        migrate.upgrade(engine)
        monkeypatch.setenv(
            "TIERLEDGER_DATABASE_URL", engine.url.render_as_string(hide_password=False)
        )
        monkeypatch.setenv("TIERLEDGER_DATA_DIR", str(tmp_path))
        runner = CliRunner()
        added = runner.invoke(
            main, ["user", "add", "cli_person", "--role", "viewer", "--password-stdin"],
            input=f"{PASSWORD}\n",
        )  # fmt: skip
        assert added.exit_code == 0, added.output
        roster = tmp_path / "审计命令行名单.xlsx"
        roster.write_bytes(roster_xlsx([good_row(1, 统一社会信用代码=credit_code("500104"))]))
        done = runner.invoke(main, ["roster", "import", str(roster), "--commit", "--json"])
        assert done.exit_code == 0, done.output
        batch_id = json.loads(done.output)["batch_id"]
        with Session(engine) as session:
            user_event = _one(session, action="user.add")
            created = _one(session, action="import.create")
        for event in (user_event, created):
            assert (event.actor_id, event.actor_name, event.actor_role) == (None, "系统", "system")
            assert event.request_id == ""  # no HTTP request behind a command
            _recent_utc(event.at)
        assert (user_event.entity, user_event.entity_repr) == ("user", "cli_person")
        assert user_event.changes["role"] == [None, "viewer"]
        assert "password" not in json.dumps(user_event.changes, ensure_ascii=False)
        assert created.source == f"import:{batch_id}"
        assert created.entity == "enterprise"
        assert created.entity_id == str(created.enterprise_id)
