"""Commissioners as clients see them: roster, slots with history, bulk and suggested assignment,
service records and needs, scope, reports — and one audit event per write."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.access import scope
from service.access.actor import Actor
from service.access.models import User
from service.audit.models import AuditEvent
from service.commissioners.models import Assignment, Commissioner
from service.enterprises.models import Enterprise
from tests.conftest import ADMIN, MANAGER, OFFICER_DADUKOU, VIEWER
from tests.factories import make_assignment, make_commissioner, make_enterprise

API = "/api/v1"


def as_commissioner(c: Commissioner) -> Actor:
    return Actor(id=40, name=c.name, role="commissioner", commissioner_id=c.id)


def events(session: Session, **where: Any) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).order_by(AuditEvent.id)
    for k, v in where.items():
        stmt = stmt.where(getattr(AuditEvent, k) == v)
    return list(session.scalars(stmt))


def count_events(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) or 0


def field_codes(response: Any) -> dict[str, str]:
    return {e["field"]: e["code"] for e in response.json()["errors"]}


# ---- roster -----------------------------------------------------------------------------------


def test_roster_create_read_update_delete(client: TestClient, session: Session) -> None:
    from service.access import service as access_service
    from service.access.actor import SYSTEM

    account = access_service.add_user(
        session,
        SYSTEM,
        username="zhuanyuan_li",
        display_name="李专员",
        role="commissioner",
        password="专员账户口令-足够长-2026",
    )
    before = count_events(session)
    created = client.post(
        f"{API}/commissioners",
        json={
            "name": "李明",
            "specialties": ["tech", "finance"],
            "organisation": "重庆市科技服务中心",
            "phone": "023-63000000",
            "district_codes": ["500104"],
            "cluster_codes": ["CL8"],
            "capacity": 12,
            "user_id": account.id,
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["specialty_names"] == ["科技", "融资"]
    assert "500104" in body["covered_districts"]
    assert "Z001" in body["covered_districts"]  # via the new-energy cluster
    assert body["username"] == "zhuanyuan_li"
    assert body["load"] == 0
    session.refresh(account)
    assert account.commissioner_id == body["id"]
    assert count_events(session) == before + 1
    assert events(session, action="commissioner.create")[-1].changes["name"] == [None, "李明"]

    url = f"{API}/commissioners/{body['id']}"
    assert client.get(url).json()["name"] == "李明"
    changed = client.patch(url, json={"capacity": 20, "user_id": None})
    assert changed.status_code == 200, changed.text
    assert changed.json()["capacity"] == 20
    assert changed.json()["user_id"] is None
    session.refresh(account)
    assert account.commissioner_id is None
    update = events(session, action="commissioner.update")
    assert len(update) == 1
    assert update[0].changes["capacity"] == [12, 20]

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert len(events(session, action="commissioner.delete")) == 1


def test_roster_errors_are_chinese_and_write_nothing(client: TestClient, session: Session) -> None:
    before = count_events(session)
    bad = client.post(
        f"{API}/commissioners",
        json={"name": "王", "specialties": ["tech", "cooking"], "district_codes": ["500199"]},
    )
    assert bad.status_code == 422
    assert field_codes(bad) == {
        "specialties": "specialty.unknown",
        "district_codes": "district.unknown",
    }
    assert "专长“cooking”不存在" in bad.json()["detail"]
    empty = client.post(f"{API}/commissioners", json={"name": "王", "specialties": []})
    assert empty.status_code == 422
    viewer_user = client.post(
        f"{API}/commissioners", json={"name": "王", "specialties": ["tech"], "user_id": 999999}
    )
    assert field_codes(viewer_user) == {"user_id": "user.unknown"}
    assert count_events(session) == before


def test_a_commissioner_with_history_is_deactivated_not_deleted(
    client: TestClient, session: Session
) -> None:
    c = make_commissioner(session)
    make_assignment(session, make_enterprise(session), c)
    gone = client.delete(f"{API}/commissioners/{c.id}")
    assert gone.status_code == 409
    assert gone.json()["code"] == "commissioner.has_history"
    assert client.patch(f"{API}/commissioners/{c.id}", json={"active": False}).status_code == 200


def test_roster_is_for_admins_and_managers(app_for: Callable[[Actor], TestClient]) -> None:
    for actor in (OFFICER_DADUKOU, VIEWER):
        assert app_for(actor).get(f"{API}/commissioners").status_code == 403
    assert app_for(ADMIN).get(f"{API}/commissioners").status_code == 200


# ---- assignment -------------------------------------------------------------------------------


def test_assign_replace_end_keep_history(client: TestClient, session: Session) -> None:
    e = make_enterprise(session, is_key=True)
    first = make_commissioner(session, name="甲")
    second = make_commissioner(session, name="乙")
    url = f"{API}/enterprises/{e.id}/assignments"
    before = count_events(session)

    a = client.post(
        url,
        json={"specialty_code": "tech", "commissioner_id": first.id, "started_on": "2026-03-01"},
    )
    assert a.status_code == 201, a.text
    taken = client.post(url, json={"specialty_code": "tech", "commissioner_id": second.id})
    assert taken.status_code == 409
    assert taken.json()["code"] == "assignment.slot_taken"
    assert "甲" in taken.json()["detail"]

    r = client.post(
        url,
        json={
            "specialty_code": "tech",
            "commissioner_id": second.id,
            "started_on": "2026-06-01",
            "replace": True,
            "reason": "工作调整",
        },
    )
    assert r.status_code == 201, r.text
    end = client.post(f"{url}/{r.json()['id']}/end", json={"ended_on": "2026-10-01"})
    assert end.status_code == 200, end.text
    again = client.post(f"{url}/{r.json()['id']}/end", json={})
    assert again.status_code == 409

    slots = client.get(url).json()
    assert [s["specialty_code"] for s in slots["slots"]] == ["tech", "finance", "legal", "media"]
    assert all(s["current"] is None for s in slots["slots"])
    history = [(h["commissioner_name"], h["started_on"], h["ended_on"]) for h in slots["history"]]
    assert history == [("乙", "2026-06-01", "2026-10-01"), ("甲", "2026-03-01", "2026-06-01")]
    actions = [ev.action for ev in events(session, enterprise_id=e.id)][-3:]
    assert actions == ["assignment.assign", "assignment.replace", "assignment.end"]
    assert count_events(session) == before + 3  # the two refusals wrote nothing


def test_assignment_rules(client: TestClient, session: Session) -> None:
    e = make_enterprise(session)
    media_only = make_commissioner(session, specialties=("media",))
    idle = make_commissioner(session, active=False)
    url = f"{API}/enterprises/{e.id}/assignments"
    wrong = client.post(url, json={"specialty_code": "tech", "commissioner_id": media_only.id})
    assert field_codes(wrong) == {"commissioner_id": "commissioner.wrong_specialty"}
    assert "不是科技专员" in wrong.json()["detail"]
    inactive = client.post(url, json={"specialty_code": "media", "commissioner_id": idle.id})
    assert field_codes(inactive) == {"commissioner_id": "commissioner.inactive"}
    future = client.post(
        url,
        json={
            "specialty_code": "media",
            "commissioner_id": media_only.id,
            "started_on": "2027-01-01",
        },
    )
    assert field_codes(future) == {"started_on": "date.future"}


def test_capacity_is_a_hard_limit_but_a_second_slot_is_free(
    client: TestClient, session: Session
) -> None:
    c = make_commissioner(session, capacity=1)
    one, two = make_enterprise(session), make_enterprise(session)
    make_assignment(session, one, c, specialty="tech")
    same_firm = client.post(
        f"{API}/enterprises/{one.id}/assignments",
        json={"specialty_code": "legal", "commissioner_id": c.id},
    )
    assert same_firm.status_code == 201  # still one enterprise carried
    full = client.post(
        f"{API}/enterprises/{two.id}/assignments",
        json={"specialty_code": "tech", "commissioner_id": c.id},
    )
    assert full.status_code == 409
    assert full.json()["code"] == "commissioner.over_capacity"


def test_the_database_refuses_a_second_active_commissioner_in_a_slot(session: Session) -> None:
    e = make_enterprise(session)
    c = make_commissioner(session)
    make_assignment(session, e, c, specialty="finance")
    row = Assignment(
        enterprise_id=e.id or 0,
        specialty_code="finance",
        commissioner_id=c.id or 0,
        started_on=date(2026, 2, 1),
    )
    nested = session.begin_nested()
    session.add(row)
    with pytest.raises(sa.exc.IntegrityError):
        session.flush()
    nested.rollback()


def test_bulk_assignment_over_a_filter(client: TestClient, session: Session) -> None:
    c = make_commissioner(session, capacity=10)
    holder = make_commissioner(session, name="原专员")
    firms = [make_enterprise(session, district="500104", is_key=True) for _ in range(3)]
    make_enterprise(session, district="500104", is_key=False)
    make_enterprise(session, district="500115", is_key=True)
    make_assignment(session, firms[0], holder, specialty="media")
    make_assignment(session, firms[1], c, specialty="media")
    before = count_events(session)
    r = client.post(
        f"{API}/assignments/bulk",
        json={
            "filter": {"district_code": "500104", "is_key": True},
            "specialty_code": "media",
            "commissioner_id": c.id,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "matched": 3,
        "assigned": [firms[2].id],
        "already_held": [firms[1].id],
        "skipped_taken": [firms[0].id],
    }
    assert count_events(session) == before + 1
    tight = make_commissioner(session, capacity=1)
    before = count_events(session)
    over = client.post(
        f"{API}/assignments/bulk",
        json={
            "filter": {"district_code": "500104", "is_key": True},
            "specialty_code": "legal",
            "commissioner_id": tight.id,
        },
    )
    assert over.status_code == 409
    assert count_events(session) == before


def test_suggestions_fill_key_slots_and_accept_line_by_line(
    client: TestClient, session: Session
) -> None:
    near = make_commissioner(session, name="近", specialties=("tech",), capacity=5)
    busy = make_commissioner(session, name="忙", specialties=("tech",), capacity=5)
    make_commissioner(session, name="远", specialties=("tech",), districts=("500115",))
    for _ in range(2):
        make_assignment(session, make_enterprise(session), busy)
    key = make_enterprise(session, district="500104", is_key=True)
    make_enterprise(session, district="500104", is_key=False)
    plan = client.get(f"{API}/assignments/suggestions", params={"district": "500104"}).json()
    tech = [line for line in plan["lines"] if line["specialty_code"] == "tech"]
    assert [(x["enterprise_id"], x["commissioner_name"]) for x in tech] == [(key.id, "近")]
    reasons = {u["specialty_code"]: u["reason"] for u in plan["unfilled"]}
    assert reasons == {
        "finance": "no_commissioner",
        "legal": "no_commissioner",
        "media": "no_commissioner",
    }
    assert "没有覆盖该区县的融资专员" in plan["unfilled"][0]["message"]

    accepted = client.post(
        f"{API}/assignments/suggestions/accept",
        json={
            "lines": [
                {k: tech[0][k] for k in ("enterprise_id", "specialty_code", "commissioner_id")}
            ]
        },
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()[0]["source"] == "suggestion"
    assert accepted.json()[0]["commissioner_id"] == near.id
    again = client.get(f"{API}/assignments/suggestions", params={"district": "500104"}).json()
    assert [x for x in again["lines"] if x["enterprise_id"] == key.id] == []


def test_accepting_the_whole_proposal_is_all_or_nothing(
    client: TestClient, session: Session
) -> None:
    make_commissioner(session, specialties=("tech", "finance"), capacity=5)
    a = make_enterprise(session, is_key=True)
    b = make_enterprise(session, is_key=True)
    whole = client.post(
        f"{API}/assignments/suggestions/accept", json={"all": True, "district_code": "500104"}
    )
    assert whole.status_code == 200, whole.text
    got = {(x["enterprise_id"], x["specialty_code"]) for x in whole.json()}
    assert got == {(a.id, "tech"), (a.id, "finance"), (b.id, "tech"), (b.id, "finance")}
    stale = client.post(
        f"{API}/assignments/suggestions/accept",
        json={
            "lines": [
                {"enterprise_id": a.id, "specialty_code": "legal", "commissioner_id": 0},
                {"enterprise_id": b.id, "specialty_code": "tech", "commissioner_id": 0},
            ]
        },
    )
    assert stale.status_code == 422
    held = session.scalar(
        sa.select(sa.func.count())
        .select_from(Assignment)
        .where(Assignment.enterprise_id == a.id, Assignment.specialty_code == "legal")
    )
    assert held == 0


# ---- scope ------------------------------------------------------------------------------------


def test_a_commissioner_sees_exactly_the_enterprises_assigned_to_them(
    app_for: Callable[[Actor], TestClient], session: Session
) -> None:
    c = make_commissioner(session)
    mine = make_enterprise(session, name="专员服务的企业")
    ended = make_enterprise(session, name="已结束的企业")
    other = make_enterprise(session, name="别人的企业")
    make_assignment(session, mine, c)
    a = make_assignment(session, ended, c, specialty="legal")
    make_assignment(session, other, make_commissioner(session, name="别人"))
    from service.access.actor import SYSTEM
    from service.commissioners import service as commissioner_service

    commissioner_service.end_assignment(
        session,
        SYSTEM,
        enterprise=ended,
        assignment_id=a.id or 0,
        ended_on=date(2026, 11, 1),
        reason="",
        today=date(2026, 11, 23),
    )
    actor = as_commissioner(c)
    http = app_for(actor)
    listed = http.get(f"{API}/enterprises").json()
    assert [e["name"] for e in listed["items"]] == ["专员服务的企业"]
    assert http.get(f"{API}/enterprises/{mine.id}").status_code == 200
    assert http.get(f"{API}/enterprises/{ended.id}").status_code == 404
    assert http.get(f"{API}/enterprises/{other.id}").status_code == 404
    # The clause and the one-object check agree on every enterprise.
    in_clause = set(session.scalars(sa.select(Enterprise.id).where(scope.enterprise_clause(actor))))
    for e in session.scalars(sa.select(Enterprise)):
        assert scope.can_see(actor, e, session) == (e.id in in_clause)
    # Contacts and notes yes, the file's other fields no.
    ok = http.patch(
        f"{API}/enterprises/{mine.id}", json={"notes": "已走访"}, headers={"If-Match": '"1"'}
    )
    assert ok.status_code == 200, ok.text
    no = http.patch(
        f"{API}/enterprises/{mine.id}", json={"name": "改名"}, headers={"If-Match": '"2"'}
    )
    assert no.status_code == 403
    unlinked = Actor(id=41, name="未关联", role="commissioner")
    assert app_for(unlinked).get(f"{API}/enterprises").json()["total"] == 0


def test_a_commissioner_cannot_add_a_record_for_an_enterprise_not_assigned_to_them(
    app_for: Callable[[Actor], TestClient], session: Session
) -> None:
    c = make_commissioner(session)
    other = make_commissioner(session, name="另一位")
    theirs = make_enterprise(session)
    mine = make_enterprise(session)
    make_assignment(session, theirs, other)
    make_assignment(session, mine, c)
    http = app_for(as_commissioner(c))
    body = {"served_on": "2026-11-20", "kind_code": "diagnosis", "summary": "把脉问诊"}
    before = count_events(session)
    refused = http.post(f"{API}/enterprises/{theirs.id}/service-records", json=body)
    assert refused.status_code == 404
    as_other = http.post(
        f"{API}/enterprises/{mine.id}/service-records", json=body | {"commissioner_id": other.id}
    )
    assert as_other.status_code == 403
    assert count_events(session) == before
    ok = http.post(f"{API}/enterprises/{mine.id}/service-records", json=body)
    assert ok.status_code == 201, ok.text
    assert ok.json()["commissioner_id"] == c.id


def test_a_manager_records_only_for_a_commissioner_assigned_on_the_day(
    client: TestClient, session: Session
) -> None:
    c = make_commissioner(session)
    e = make_enterprise(session)
    make_assignment(session, e, c, started_on=date(2026, 6, 1))
    body = {"kind_code": "financing", "summary": "融资对接", "commissioner_id": c.id}
    early = client.post(
        f"{API}/enterprises/{e.id}/service-records", json=body | {"served_on": "2026-05-01"}
    )
    assert field_codes(early) == {"commissioner_id": "service.not_assigned"}
    future = client.post(
        f"{API}/enterprises/{e.id}/service-records", json=body | {"served_on": "2026-12-01"}
    )
    assert field_codes(future) == {"served_on": "date.future"}


def test_service_records_needs_and_their_follow_up(
    app_for: Callable[[Actor], TestClient], session: Session
) -> None:
    c = make_commissioner(session)
    e = make_enterprise(session, district="500104")
    far = make_enterprise(session, district="500115")
    make_assignment(session, e, c)
    make_assignment(
        session, far, make_commissioner(session, name="长寿专员", districts=("500115",))
    )
    http = app_for(as_commissioner(c))
    before = count_events(session)
    r = http.post(
        f"{API}/enterprises/{e.id}/service-records",
        json={
            "served_on": "2026-09-01",
            "kind_code": "financing",
            "summary": "对接银行授信",
            "financing_sought": "500.5",
            "financing_obtained": "300",
            "attachments": ["授信意向书.pdf"],
            "needs": [
                {"description": "流动资金贷款", "due_on": "2026-10-01"},
                {"description": "申报专精特新", "kind_code": "project_application"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    record = r.json()
    assert Decimal(record["financing_sought"]) == Decimal("500.5")
    assert [n["status"] for n in record["needs"]] == ["open", "open"]
    assert record["needs"][0]["overdue"] is True
    assert count_events(session) == before + 1
    audit = events(session, action="service.add")[-1]
    assert audit.enterprise_id == e.id
    assert audit.changes["financing_sought"] == [None, "500.5"]

    need = record["needs"][0]["id"]
    url = f"{API}/enterprises/{e.id}/needs/{need}/status"
    assert http.post(url, json={"status": "in_progress"}).status_code == 200
    done = http.post(url, json={"status": "resolved", "note": "已放款", "on": "2026-10-20"})
    assert done.json()["closed_on"] == "2026-10-20"
    back = http.post(url, json={"status": "open"})
    assert back.status_code == 409
    assert back.json()["code"] == "need.transition"
    assert count_events(session) == before + 3

    officer = app_for(OFFICER_DADUKOU)
    seen = officer.get(f"{API}/service-records").json()
    assert {x["enterprise_id"] for x in seen["items"]} == {e.id}
    assert officer.get(f"{API}/enterprises/{far.id}/service-records").status_code == 404
    assert (
        officer.post(
            f"{API}/enterprises/{e.id}/service-records",
            json={"served_on": "2026-09-02", "kind_code": "diagnosis", "summary": "x"},
        ).status_code
        == 403
    )


# ---- reports ----------------------------------------------------------------------------------


def test_coverage_counts_empty_slots_per_specialty_and_district(
    app_for: Callable[[Actor], TestClient], session: Session
) -> None:
    c = make_commissioner(session, districts=("500104", "500115"))
    covered = make_enterprise(session, district="500104", is_key=True)
    for spec in ("tech", "finance", "legal", "media"):
        make_assignment(session, covered, c, specialty=spec)
    half = make_enterprise(session, district="500104", is_key=True)
    make_assignment(session, half, c, specialty="tech")
    bare = make_enterprise(session, district="500115", is_key=True)
    make_enterprise(session, district="500104", is_key=False)
    report = app_for(MANAGER).get(f"{API}/commissioner-reports/coverage").json()
    rows = {r["district_code"]: r for r in report["rows"]}
    assert rows["500104"]["key_enterprises"] == 2
    assert rows["500104"]["with_empty_slot"] == 1
    assert rows["500104"]["empty"] == {"tech": 0, "finance": 1, "legal": 1, "media": 1}
    assert rows["500115"]["empty"] == {"tech": 1, "finance": 1, "legal": 1, "media": 1}
    assert report["total"]["with_empty_slot"] == 2
    assert {x["enterprise_id"] for x in report["enterprises"]} == {half.id, bare.id}
    mine = app_for(OFFICER_DADUKOU).get(f"{API}/commissioner-reports/coverage").json()
    assert [r["district_code"] for r in mine["rows"]] == ["500104"]


def test_load_and_followup_reports(client: TestClient, session: Session) -> None:
    from service.access.actor import SYSTEM
    from service.commissioners import service as commissioner_service
    from service.commissioners.schemas import NeedIn, ServiceRecordCreate

    c = make_commissioner(session, name="负荷专员", capacity=2)
    served = make_enterprise(session)
    quiet = make_enterprise(session, name="久未服务的企业")
    make_assignment(session, served, c, started_on=date(2026, 1, 5))
    make_assignment(session, quiet, c, started_on=date(2026, 1, 5))
    for day, due in ((date(2026, 3, 10), date(2026, 4, 1)), (date(2026, 11, 2), None)):
        commissioner_service.add_record(
            session,
            SYSTEM,
            enterprise=served,
            data=ServiceRecordCreate(
                served_on=day,
                kind_code="innovation",
                summary="技术攻关",
                commissioner_id=c.id,
                needs=[NeedIn(description="检测平台", due_on=due)],
            ),
            today=date(2026, 11, 23),
        )
    load = client.get(f"{API}/commissioner-reports/load", params={"months": 12}).json()
    assert load["months"][0] == "2025-12"
    assert load["months"][-1] == "2026-11"
    row = next(r for r in load["rows"] if r["commissioner_name"] == "负荷专员")
    assert (row["enterprises"], row["capacity"], row["free"]) == (2, 2, 0)
    assert row["services"][load["months"].index("2026-03")] == 1
    assert row["services_total"] == 2

    follow = client.get(f"{API}/commissioner-reports/followup", params={"days": 30}).json()
    innovation = next(r for r in follow["open_needs"] if r["kind_code"] == "innovation")
    assert innovation["buckets"] == {"0-30": 1, "31-90": 0, "91-180": 0, "180+": 1}
    assert [(o["due_on"], o["days_overdue"]) for o in follow["overdue"]] == [("2026-04-01", 236)]
    quiet_names = [q["enterprise_name"] for q in follow["quiet"]]
    assert "久未服务的企业" in quiet_names
    assert served.name not in quiet_names


def test_account_link_points_one_user_at_one_commissioner(
    client: TestClient, session: Session
) -> None:
    from service.access import service as access_service
    from service.access.actor import SYSTEM

    viewer = access_service.add_user(
        session,
        SYSTEM,
        username="not_a_commissioner",
        display_name="看",
        role="viewer",
        password="查看账户口令-足够长-2026",
    )
    account = access_service.add_user(
        session,
        SYSTEM,
        username="zy_zhang",
        display_name="张",
        role="commissioner",
        password="专员账户口令-足够长-2026",
    )
    first = make_commissioner(session, user_id=account.id)
    wrong_role = client.post(
        f"{API}/commissioners", json={"name": "王", "specialties": ["tech"], "user_id": viewer.id}
    )
    assert field_codes(wrong_role) == {"user_id": "user.not_commissioner"}
    taken = client.post(
        f"{API}/commissioners", json={"name": "王", "specialties": ["tech"], "user_id": account.id}
    )
    assert taken.status_code == 409
    assert session.get(User, account.id).commissioner_id == first.id  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/service-records", {"params": {"until": "0"}}),
        ("GET", "/service-records", {"params": {"since": "1700000000"}}),
        ("POST", "/assignments/suggestions/accept", {"json": {"all": True, "started_on": 0}}),
        ("POST", "/assignments/suggestions/accept", {"json": {"all": "yes"}}),
        ("POST", "/commissioners", {"json": {"name": "甲", "active": 1}}),
    ],
)
def test_numbers_are_not_dates_nor_booleans(
    app_for: Callable[[Actor], TestClient], method: str, path: str, kwargs: dict[str, Any]
) -> None:
    """Found by schemathesis: `until=0` was read as 1970-01-01, `1` and "yes" as true."""
    r = app_for(ADMIN).request(method, f"{API}{path}", **kwargs)
    assert r.status_code == 422, r.text
