"""The enterprise API as a client sees it: create, read, filter, page, update, status, audit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.audit.models import AuditEvent
from tests.conftest import MANAGER, OFFICER_DADUKOU
from tests.dbutil import digest
from tests.factories import credit_code, make_designation, make_enterprise, make_figures

API = "/api/v1/enterprises"


def payload(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "credit_code": credit_code("500104"),
        "name": "重庆国际复合材料股份有限公司",
        "district_code": "500104",
        "subsector_code": "A4.01",
        "chain_position": "midstream",
        "main_products": "玻璃纤维及制品",
        "established_on": "1991-12-01",
        "contact_person": "张伟",
        "contact_phone": "023-68000000",
    }
    return body | over


def audit_events(session: Session, **where: Any) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).order_by(AuditEvent.id)
    for k, v in where.items():
        stmt = stmt.where(getattr(AuditEvent, k) == v)
    return list(session.scalars(stmt))


def test_create_then_read(client: TestClient, session: Session) -> None:
    body = payload(credit_code=" 91500104 ma00000001 ".replace("ma00000001", "00000001"))
    body["credit_code"] = credit_code("500104").lower()
    created = client.post(API, json=body)
    assert created.status_code == 201, created.text
    data = created.json()
    assert data["credit_code"] == body["credit_code"].upper()
    assert data["district_name"] == "大渡口区"
    assert data["subsector_name"] == "玻璃纤维及制品"
    assert data["current_tier"] is None
    assert created.headers["ETag"] == '"1"'
    got = client.get(f"{API}/{data['id']}")
    assert got.status_code == 200
    assert got.json()["name"] == body["name"]
    assert got.headers["ETag"] == '"1"'
    events = audit_events(session, action="enterprise.create")
    assert len(events) == 1
    assert events[0].changes["name"] == [None, body["name"]]
    assert events[0].actor_name == MANAGER.name


def test_duplicate_credit_code_is_a_conflict(client: TestClient) -> None:
    body = payload()
    assert client.post(API, json=body).status_code == 201
    again = client.post(API, json=body | {"name": "另一家"})
    assert again.status_code == 409
    assert again.json()["code"] == "enterprise.duplicate_credit_code"


@pytest.mark.parametrize(
    ("over", "field", "code"),
    [
        ({"credit_code": "91350100M000100Y44"}, "credit_code", "credit_code.check_digit"),
        ({"credit_code": "123"}, "credit_code", "credit_code.length"),
        ({"district_code": "500199"}, "district_code", "district.unknown"),
        ({"subsector_code": "A4"}, "subsector_code", "subsector.not_leaf"),
        ({"subsector_code": "Q9.99"}, "subsector_code", "subsector.unknown"),
        ({"chain_position": "nowhere"}, "chain_position", "chain_position.unknown"),
        ({"name": ""}, "name", "too_short"),
        ({"established_on": "2021年"}, "established_on", "format"),
        ({"unexpected": 1}, "unexpected", "unknown_field"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, session: Session, over: dict[str, Any], field: str, code: str
) -> None:
    before = digest(session)
    audits = len(audit_events(session))
    response = client.post(API, json=payload(**over))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "validation.failed"
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [(field, code)]
    assert problem["errors"][0]["message"]
    assert digest(session) == before
    assert len(audit_events(session)) == audits


def test_negative_revenue_is_422_and_writes_nothing(client: TestClient, session: Session) -> None:
    e = make_enterprise(session)
    before = digest(session)
    r = client.put(f"{API}/{e.id}/figures/2025", json={"operating_revenue": "-1"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "operating_revenue"
    assert r.json()["errors"][0]["message"] == "不能小于0"
    assert digest(session) == before


def test_figures_put_and_read(client: TestClient, session: Session) -> None:
    e = make_enterprise(session)
    body = {
        "operating_revenue": "12345.67",
        "rd_expense": "456.7",
        "employees": 120,
        "net_profit": "-30",
    }
    assert client.put(f"{API}/{e.id}/figures/2024", json=body).status_code == 200
    assert (
        client.put(f"{API}/{e.id}/figures/2025", json=body | {"employees": 130}).status_code == 200
    )
    years = client.get(f"{API}/{e.id}/figures").json()
    assert [y["year"] for y in years] == [2024, 2025]
    assert years[0]["operating_revenue"] == "12345.6700"
    assert years[0]["net_profit"] == "-30.0000"
    detail = client.get(f"{API}/{e.id}").json()
    assert detail["latest_figures"]["employees"] == 130
    inconsistent = client.put(
        f"{API}/{e.id}/figures/2025",
        json={"operating_revenue": "10", "main_business_revenue": "11"},
    )
    assert inconsistent.status_code == 422
    assert inconsistent.json()["errors"][0]["code"] == "figures.main_exceeds_operating"


def _ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_filters(client: TestClient, session: Session) -> None:
    glass = make_enterprise(
        session, name="甲玻纤公司", district="500104", subsector="A4.01", is_key=True
    )
    carbon = make_enterprise(session, name="乙碳纤维公司", district="500115", subsector="A4.03")
    magnesium = make_enterprise(session, name="丙镁业公司", district="500110", subsector="A1.02")
    graphene = make_enterprise(
        session, name="丁烯碳公司", district="Z001", subsector="C2.01", further_subsectors=["A4.03"]
    )
    make_designation(session, glass, tier="innovative_sme")
    make_designation(session, glass, tier="specialized_sme", designated_on=date(2025, 9, 1))
    make_designation(
        session, carbon, tier="innovative_sme", designated_on=date(2021, 1, 1)
    )  # expired
    make_designation(session, magnesium, tier="little_giant")
    ours = {glass.id, carbon.id, magnesium.id, graphene.id}

    def ids(**params: Any) -> set[int]:
        return set(_ids(client.get(API, params=params | {"page_size": 500}))) & ours

    assert ids(district="500104") == {glass.id}
    assert ids(subsector="A4.01") == {glass.id}
    assert ids(subsector="A4") == {glass.id, carbon.id, graphene.id}  # industry: subtree + further
    assert ids(subsector="A") == {glass.id, carbon.id, magnesium.id, graphene.id}
    assert ids(subsector="C") == {graphene.id}
    assert ids(tier="specialized_sme") == {glass.id}  # highest valid tier counts
    assert ids(tier="innovative_sme") == set()  # carbon's title expired in 2023
    assert ids(tier="little_giant") == {magnesium.id}
    assert ids(tier="none") == {carbon.id, graphene.id}
    assert ids(is_key=True) == {glass.id}
    assert ids(q="碳") == {carbon.id, graphene.id}
    assert ids(q=carbon.credit_code[-6:].lower()) == {carbon.id}
    gone = make_enterprise(session, name="戊迁出公司", district="500116", subsector="B1.01")
    gone.status = "moved_out"
    session.flush()
    both = ours | {gone.id}

    def with_gone(**params: Any) -> set[int]:
        return set(_ids(client.get(API, params=params | {"page_size": 500}))) & both

    assert with_gone(status="active") == ours
    assert with_gone(status="moved_out") == {gone.id}
    assert with_gone(status="deregistered") == set()
    assert with_gone() == both  # no status filter: moved-out enterprises stay in the ledger
    assert client.get(API, params={"sort": "bogus"}).status_code == 422
    item = next(i for i in client.get(API, params={"q": "甲玻纤"}).json()["items"])
    assert item["current_tier"]["code"] == "specialized_sme"


def test_pagination_and_sorting(client: TestClient, session: Session) -> None:
    for i in range(7):
        make_enterprise(session, name=f"分页测试{i}号公司", district="500241")
    first = client.get(API, params={"district": "500241", "page_size": 3, "sort": "name"}).json()
    assert first["total"] == 7
    assert [i["name"] for i in first["items"]] == [
        "分页测试0号公司",
        "分页测试1号公司",
        "分页测试2号公司",
    ]
    last = client.get(API, params={"district": "500241", "page_size": 3, "page": 3}).json()
    assert [i["name"] for i in last["items"]] == ["分页测试6号公司"]
    desc = client.get(API, params={"district": "500241", "page_size": 2, "sort": "-name"}).json()
    assert desc["items"][0]["name"] == "分页测试6号公司"


def test_update_needs_the_current_version(client: TestClient, session: Session) -> None:
    e = make_enterprise(session, name="原名公司")
    url = f"{API}/{e.id}"
    before = digest(session)
    missing = client.patch(url, json={"name": "新名公司"})
    assert missing.status_code == 428
    assert missing.json()["code"] == "precondition.required"
    ok = client.patch(url, json={"name": "新名公司", "is_key": True}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200, ok.text
    assert ok.headers["ETag"] == '"2"'
    assert ok.json()["version"] == 2
    after_ok = digest(session)
    assert after_ok != before
    stale = client.patch(url, json={"name": "覆盖公司"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["code"] == "enterprise.version_conflict"
    assert stale.json()["current_version"] == 2
    assert digest(session) == after_ok
    events = audit_events(session, action="enterprise.update", enterprise_id=e.id)
    assert len(events) == 1
    assert events[0].changes == {"name": ["原名公司", "新名公司"], "is_key": [False, True]}


def test_status_change_instead_of_delete(client: TestClient, session: Session) -> None:
    e = make_enterprise(session)
    url = f"{API}/{e.id}"
    assert client.delete(url).status_code == 405
    r = client.post(
        f"{url}/status",
        json={"status": "moved_out", "reason": "迁往成都"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "moved_out"
    assert client.get(url).json()["status"] == "moved_out"
    [event] = audit_events(session, action="enterprise.status", enterprise_id=e.id)
    assert event.changes == {"status": ["active", "moved_out"], "reason": [None, "迁往成都"]}
    bad = client.post(
        f"{url}/status", json={"status": "deleted", "reason": "x"}, headers={"If-Match": '"2"'}
    )
    assert bad.status_code == 422
    before = digest(session, ("enterprise", "audit_event"))
    stale = client.post(
        f"{url}/status", json={"status": "active", "reason": "迁回"}, headers={"If-Match": '"1"'}
    )
    assert (stale.status_code, stale.json()["code"]) == (412, "enterprise.version_conflict")
    missing = client.post(f"{url}/status", json={"status": "active", "reason": "迁回"})
    assert missing.status_code == 428
    assert digest(session, ("enterprise", "audit_event")) == before


def test_every_write_leaves_exactly_one_audit_event(client: TestClient, session: Session) -> None:
    start = len(audit_events(session))
    created = client.post(API, json=payload()).json()
    url = f"{API}/{created['id']}"
    client.patch(url, json={"notes": "年度走访"}, headers={"If-Match": '"1"'})
    client.put(f"{url}/figures/2025", json={"operating_revenue": "100"})
    d = client.post(
        f"{url}/designations", json={"tier_code": "innovative_sme", "designated_on": "2025-06-01"}
    )
    assert d.status_code == 201, d.text
    assert d.json()["valid_until"] == "2028-05-31"
    r = client.post(f"{url}/designations/{d.json()['id']}/revoke", json={"reason": "数据造假"})
    assert r.status_code == 200
    assert r.json()["status"] == "revoked"
    actions = [e.action for e in audit_events(session)[start:]]
    assert actions == [
        "enterprise.create",
        "enterprise.update",
        "figures.put",
        "designation.add",
        "designation.revoke",
    ]
    revoke = audit_events(session, action="designation.revoke")[-1]
    assert revoke.changes["status"] == ["valid", "revoked"]
    update = audit_events(session, action="enterprise.update")[-1]
    assert update.changes["notes"] == ["", "年度走访"]
    figures = audit_events(session, action="figures.put")[-1]
    assert (figures.entity_id, figures.enterprise_id) == (f"{created['id']}:2025", created["id"])
    assert figures.changes["operating_revenue"] == [None, "100"]
    added = audit_events(session, action="designation.add")[-1]
    assert added.changes["tier_code"] == [None, "innovative_sme"]
    assert added.changes["designated_on"] == [None, "2025-06-01"]
    assert added.changes["valid_until"] == [None, "2028-05-31"]


def test_unknown_enterprise_is_404(client: TestClient) -> None:
    r = client.get(f"{API}/999999")
    assert r.status_code == 404
    assert r.json()["code"] == "enterprise.not_found"


def test_district_officer_sees_only_their_district(
    app_for: Callable[..., TestClient], session: Session
) -> None:
    ours = make_enterprise(session, district="500104")
    theirs = make_enterprise(session, district="500115")
    officer = app_for(OFFICER_DADUKOU)
    listed = officer.get(API, params={"page_size": 500}).json()
    assert {i["district_code"] for i in listed["items"]} == {"500104"}
    assert officer.get(f"{API}/{ours.id}").status_code == 200
    hidden = officer.get(f"{API}/{theirs.id}")
    missing = officer.get(f"{API}/999999")
    assert hidden.status_code == missing.status_code == 404
    assert {k: v for k, v in hidden.json().items() if k != "request_id"} == {
        k: v for k, v in missing.json().items() if k != "request_id"
    }


def test_reference_endpoints(client: TestClient) -> None:
    districts = client.get("/api/v1/reference/districts").json()
    assert len(districts) == 41
    assert districts[0] == {"code": "500101", "name": "万州区", "kind": "district", "aliases": []}
    tree = client.get("/api/v1/reference/taxonomy").json()
    assert [c["name"] for c in tree] == ["先进基础材料", "关键战略材料", "前沿新材料"]
    leaves = [s for c in tree for i in c["children"] for s in i["children"]]
    assert len(leaves) == 61
    tiers = client.get("/api/v1/reference/tiers").json()
    assert [t["code"] for t in tiers][:3] == ["innovative_sme", "specialized_sme", "little_giant"]
    assert [t["rank"] for t in tiers] == sorted(t["rank"] for t in tiers)
    clusters = client.get("/api/v1/reference/clusters").json()
    assert len(clusters) == 8
    assert "Z003" in clusters[0]["district_codes"]
    targets = client.get("/api/v1/reference/targets").json()
    assert {t["code"] for t in targets} >= {"T01", "T06"}


def test_figures_factory(session: Session) -> None:
    e = make_enterprise(session)
    make_figures(session, e, year=2025, revenue="100")
