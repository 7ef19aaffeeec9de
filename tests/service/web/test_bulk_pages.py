"""Bulk actions act on exactly the filtered list, audited per enterprise, managers only."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.audit.models import AuditEvent
from service.commissioners.models import Assignment
from service.enterprises.models import Enterprise
from tests.dbutil import digest
from tests.factories import make_commissioner, make_enterprise
from tests.service.web.htmlcheck import problems
from tests.service.web.pageutil import add, csrf_of, login


def test_mark_the_filtered_list_as_key(site: Callable[..., TestClient], session: Session) -> None:
    add(session, "bulk_mgr")
    inside = [make_enterprise(session, name=f"批量甲{i}", district="500243") for i in range(3)]
    outside = make_enterprise(session, name="批量乙", district="500242")
    client = site()
    login(client, "bulk_mgr")
    page = client.get("/enterprises?district=500243")
    assert not problems(page.text), problems(page.text)
    assert "批量操作（作用于当前筛选出的 3 家企业）" in page.text
    r = client.post(
        "/enterprises/bulk/key",
        data={"csrf_token": csrf_of(page.text), "district": "500243", "key_reason": "产业链链主"},
    )
    assert r.status_code == 303
    assert "bulk=" in r.headers["location"]
    for e in inside:
        session.refresh(e)
        assert e.is_key
        assert e.key_reason == "产业链链主"
        assert e.version == 2
    session.refresh(outside)
    assert not outside.is_key
    events = session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.action == "enterprise.update",
            AuditEvent.enterprise_id.in_([e.id for e in inside]),  # type: ignore[union-attr]
        )
    ).all()
    assert len(events) == 3
    shown = client.get(r.headers["location"])
    assert "已将3家企业标为重点企业" in shown.text


def test_assign_a_commissioner_to_the_filtered_list(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "bulk_assigner")
    targets = [make_enterprise(session, name=f"分配甲{i}", district="500243") for i in range(2)]
    commissioner = make_commissioner(session, name="批量专员", districts=("500243",), capacity=5)
    client = site()
    login(client, "bulk_assigner")
    page = client.get("/enterprises?district=500243")
    r = client.post(
        "/enterprises/bulk/assign",
        data={
            "csrf_token": csrf_of(page.text),
            "district": "500243",
            "specialty_code": "legal",
            "commissioner_id": str(commissioner.id),
        },
    )
    assert r.status_code == 303
    rows = session.scalars(
        sa.select(Assignment).where(Assignment.commissioner_id == commissioner.id)
    ).all()
    assert sorted(a.enterprise_id for a in rows) == sorted(e.id for e in targets)
    full = make_commissioner(session, name="满员专员", districts=("500243",), capacity=1)
    session.commit()  # setup, as a request's commit would: the refusal must not roll it back
    before = digest(session)
    refused = client.post(
        "/enterprises/bulk/assign",
        data={
            "csrf_token": csrf_of(page.text),
            "district": "500243",
            "specialty_code": "media",
            "commissioner_id": str(full.id),
        },
    )
    assert refused.status_code == 303
    assert "%E6%9C%AA%E5%88%86%E9%85%8D" in refused.headers["location"]  # 未分配
    assert digest(session) == before


def test_bulk_actions_are_not_for_district_officers(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "bulk_officer", role="district_officer", district_code="500104")
    make_enterprise(session, district="500104")
    client = site()
    login(client, "bulk_officer")
    page = client.get("/enterprises")
    assert "批量操作" not in page.text
    before = session.scalar(
        sa.select(sa.func.count()).select_from(Enterprise).where(Enterprise.is_key)
    )
    r = client.post("/enterprises/bulk/key", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 403
    after = session.scalar(
        sa.select(sa.func.count()).select_from(Enterprise).where(Enterprise.is_key)
    )
    assert before == after
