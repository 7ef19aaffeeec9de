"""服务专员 pages over real HTTP: roster with load, coverage, suggestions accepted line by line or
whole (with audit), slots on the file, service records with needs — valid, scoped, CSRF."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.access import service as access_service
from service.audit.models import AuditEvent
from service.commissioners.models import Assignment, Commissioner, Need, ServiceRecord
from service.enterprises.models import Enterprise
from tests.dbutil import DIGEST_TABLES, digest
from tests.factories import make_assignment, make_commissioner, make_enterprise
from tests.service.web.htmlcheck import problems
from tests.service.web.pageutil import add, csrf_of, login

# audit_event is left out: a refused function is itself audited (access.denied).
TABLES = (*DIGEST_TABLES, "assignment", "service_record", "service_need")


def world(session: Session) -> dict[str, object]:
    """Key enterprises in two districts, one commissioner covering each, one slot filled."""
    near = make_enterprise(session, name="专员页大渡口重点公司", district="500104", is_key=True)
    far = make_enterprise(session, name="专员页北碚重点公司", district="500109", is_key=True)
    served = make_enterprise(session, name="专员页已服务公司", district="500104", is_key=True)
    add(session, "cp_comm", role="commissioner")
    user = access_service.find_user(session, "cp_comm")
    assert user is not None
    mine = make_commissioner(session, name="专员页张专员", specialties=("tech",), user_id=user.id)
    other = make_commissioner(
        session, name="专员页李专员", specialties=("tech", "finance"), districts=("500109",)
    )
    make_assignment(session, served, mine)
    return {"near": near, "far": far, "served": served, "mine": mine, "other": other}


def signed_in(site: Callable[..., TestClient], session: Session, role: str) -> TestClient:
    if role == "commissioner":
        name = "cp_comm"
    else:
        name = f"cp_{role}"
        add(
            session, name, role=role, district_code="500104" if role == "district_officer" else None
        )
    client = site()
    login(client, name)
    return client


@pytest.mark.parametrize("role", ["manager", "district_officer", "commissioner", "viewer"])
def test_pages_are_valid_and_scoped(
    site: Callable[..., TestClient], session: Session, role: str
) -> None:
    world(session)
    client = signed_in(site, session, role)
    before = digest(session, TABLES)
    urls = {
        "/commissioners": role == "manager",
        "/commissioners/coverage": True,
        "/commissioners/suggestions": role == "manager",
        "/services": True,
        "/services/new": role in ("manager", "commissioner"),
    }
    for url, allowed in urls.items():
        r = client.get(url)
        assert r.status_code == (200 if allowed else 403), (url, r.status_code)
        assert not problems(r.text), (url, problems(r.text))
    coverage = client.get("/commissioners/coverage").text
    sees_far = role in ("manager", "viewer")
    assert ("专员页北碚重点公司" in coverage) == sees_far
    assert ("专员页大渡口重点公司" in coverage) == (role != "commissioner")
    if role == "manager":
        roster = client.get("/commissioners").text
        assert "专员页张专员" in roster
        assert "1 / 10" in roster
    if role == "commissioner":
        form = client.get("/services/new").text
        assert "专员页已服务公司" in form
        assert "专员页大渡口重点公司" not in form
    assert digest(session, TABLES) == before


def _accept(client: TestClient, page: str, **line: object) -> object:
    data = {"csrf_token": csrf_of(page)} | {k: str(v) for k, v in line.items()}
    return client.post("/commissioners/suggestions/accept", data=data)


def test_manager_accepts_a_line_then_the_whole_plan(
    site: Callable[..., TestClient], session: Session
) -> None:
    w = world(session)
    near, far = w["near"], w["far"]
    assert isinstance(near, Enterprise)
    assert isinstance(far, Enterprise)
    client = signed_in(site, session, "manager")
    page = client.get("/commissioners/suggestions").text
    assert "专员页大渡口重点公司" in page
    assert "专员页张专员" in page
    assert "采纳此条" in page
    assert "全部采纳" in page
    # Line by line: one slot of one enterprise.
    mine = w["mine"]
    assert isinstance(mine, Commissioner)
    r = _accept(client, page, enterprise_id=near.id, specialty_code="tech", commissioner_id=mine.id)
    assert r.status_code == 303, r.text[:400]  # type: ignore[attr-defined]
    assert "accepted=1" in r.headers["location"]  # type: ignore[attr-defined]
    row = session.scalars(
        sa.select(Assignment).where(
            Assignment.enterprise_id == near.id,
            Assignment.ended_on.is_(None),  # type: ignore[union-attr]
        )
    ).one()
    assert (row.commissioner_id, row.source) == (mine.id, "suggestion")
    audit = session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.enterprise_id == near.id, AuditEvent.action == "assignment.assign"
        )
    ).one()
    assert audit.source == "suggestion"
    # The same line again is stale now: refused, nothing written, the reason shown.
    before = digest(session, TABLES)
    stale = _accept(
        client, page, enterprise_id=near.id, specialty_code="tech", commissioner_id=mine.id
    )
    assert stale.status_code == 409  # type: ignore[attr-defined]
    assert 'role="alert"' in stale.text  # type: ignore[attr-defined]
    assert not problems(stale.text)  # type: ignore[attr-defined]
    assert digest(session, TABLES) == before
    # The whole plan for 北碚.
    page = client.get("/commissioners/suggestions?district=500109").text
    whole = _accept(client, page, all=1, district="500109")
    assert whole.status_code == 303  # type: ignore[attr-defined]
    held = session.scalars(
        sa.select(Assignment.specialty_code).where(Assignment.enterprise_id == far.id)
    ).all()
    assert sorted(held) == ["finance", "tech"]
    after = client.get(whole.headers["location"])  # type: ignore[attr-defined]
    assert "已采纳 2 条建议" in after.text


def test_only_managers_accept_and_csrf_is_checked(
    site: Callable[..., TestClient], session: Session
) -> None:
    w = world(session)
    near, mine = w["near"], w["mine"]
    assert isinstance(near, Enterprise)
    assert isinstance(mine, Commissioner)
    officer = signed_in(site, session, "district_officer")
    manager = signed_in(site, session, "manager")
    page = manager.get("/commissioners/suggestions").text
    line = {"enterprise_id": near.id, "specialty_code": "tech", "commissioner_id": mine.id}
    before = digest(session, TABLES)
    assert _accept(officer, officer.get("/services").text, **line).status_code == 403  # type: ignore[attr-defined]
    no_token = manager.post(
        "/commissioners/suggestions/accept", data={k: str(v) for k, v in line.items()}
    )
    assert no_token.status_code == 403
    cross = manager.post(
        "/commissioners/suggestions/accept",
        data={"csrf_token": csrf_of(page)} | {k: str(v) for k, v in line.items()},
        headers={"Origin": "https://evil.test"},
    )
    assert cross.status_code == 403
    assert digest(session, TABLES) == before


def test_assign_and_end_a_slot_on_the_file(
    site: Callable[..., TestClient], session: Session
) -> None:
    w = world(session)
    near, mine = w["near"], w["mine"]
    assert isinstance(near, Enterprise)
    assert isinstance(mine, Commissioner)
    client = signed_in(site, session, "manager")
    page = client.get(f"/enterprises/{near.id}")
    assert 'id="assign-form"' in page.text
    token = csrf_of(page.text)
    before = digest(session, TABLES)
    missing = client.post(
        f"/enterprises/{near.id}/assignments", data={"csrf_token": token, "specialty_code": "tech"}
    )
    assert missing.status_code == 422
    assert 'id="assign-commissioner_id-error"' in missing.text
    assert not problems(missing.text), problems(missing.text)
    wrong = client.post(
        f"/enterprises/{near.id}/assignments",
        data={"csrf_token": token, "specialty_code": "legal", "commissioner_id": str(mine.id)},
    )
    assert wrong.status_code == 422
    assert "不是法务专员" in wrong.text or "不是" in wrong.text
    assert digest(session, TABLES) == before
    ok = client.post(
        f"/enterprises/{near.id}/assignments",
        data={"csrf_token": token, "specialty_code": "tech", "commissioner_id": str(mine.id)},
    )
    assert ok.status_code == 303
    row = session.scalars(sa.select(Assignment).where(Assignment.enterprise_id == near.id)).one()
    file_page = client.get(f"/enterprises/{near.id}").text
    assert "专员页张专员" in file_page
    ended = client.post(
        f"/enterprises/{near.id}/assignments/end",
        data={"csrf_token": token, "assignment_id": str(row.id), "reason": "调岗"},
    )
    assert ended.status_code == 303
    session.refresh(row)
    assert row.ended_on is not None
    assert row.end_reason == "调岗"
    officer = signed_in(site, session, "district_officer")
    assert (
        officer.post(
            f"/enterprises/{near.id}/assignments",
            data={
                "csrf_token": csrf_of(officer.get("/services").text),
                "specialty_code": "tech",
                "commissioner_id": str(mine.id),
            },
        ).status_code
        == 403
    )


def test_commissioner_records_a_service_with_needs(
    site: Callable[..., TestClient], session: Session
) -> None:
    w = world(session)
    served, near = w["served"], w["near"]
    assert isinstance(served, Enterprise)
    assert isinstance(near, Enterprise)
    client = signed_in(site, session, "commissioner")
    form = client.get(f"/services/new?enterprise_id={served.id}").text
    token = csrf_of(form)
    base = {
        "csrf_token": token,
        "enterprise_id": str(served.id),
        "served_on": "2026-11-20",
        "kind_code": "diagnosis",
        "summary": "走访了解研发项目",
        "financing_sought": "500",
        "financing_obtained": "",
        "need_text_0": "需要对接高校实验室",
        "need_due_0": "2026-12-31",
    }
    before = digest(session, TABLES)
    bad = client.post("/services", data=base | {"summary": "", "financing_sought": "-3"})
    assert bad.status_code == 422
    assert 'id="summary-error"' in bad.text
    assert 'id="financing_sought-error"' in bad.text
    assert "需要对接高校实验室" in bad.text  # what was typed stays in the form
    assert not problems(bad.text), problems(bad.text)
    early = client.post("/services", data=base | {"need_due_0": "2026-01-01"})
    assert early.status_code == 422
    assert 'id="need_due_0-error"' in early.text
    # Not assigned to this enterprise: out of scope, like the API.
    assert client.post("/services", data=base | {"enterprise_id": str(near.id)}).status_code == 404
    assert digest(session, TABLES) == before
    ok = client.post("/services", data=base)
    assert ok.status_code == 303, [x for x in ok.text.splitlines() if "error" in x]
    record = session.scalars(
        sa.select(ServiceRecord).where(ServiceRecord.enterprise_id == served.id)
    ).one()
    assert str(record.financing_sought).startswith("500")
    need = session.scalars(sa.select(Need).where(Need.service_record_id == record.id)).one()
    assert (need.status, str(need.due_on)) == ("open", "2026-12-31")
    listing = client.get("/services")
    assert "走访了解研发项目" in listing.text
    assert "待办" in listing.text
    assert not problems(listing.text), problems(listing.text)
    changed = client.post(
        f"/enterprises/{served.id}/needs/status",
        data={"csrf_token": token, "need_id": str(need.id), "status": "resolved", "note": "已对接"},
    )
    assert changed.status_code == 303
    session.refresh(need)
    assert need.status == "resolved"
    assert need.resolution == "已对接"
    refused = client.post(
        f"/enterprises/{served.id}/needs/status",
        data={"csrf_token": token, "need_id": str(need.id), "status": "in_progress"},
    )
    assert "need_error=transition" in refused.headers["location"]
    assert "不能这样变更" in client.get(refused.headers["location"]).text
    file_page = client.get(f"/enterprises/{served.id}").text
    assert "需要对接高校实验室" in file_page
    # Others do not see this commissioner's enterprise's records.
    officer_other = site()
    add(session, "cp_far_officer", role="district_officer", district_code="500109")
    login(officer_other, "cp_far_officer")
    assert "走访了解研发项目" not in officer_other.get("/services").text
