"""梯度管理 pages over real HTTP: candidates, due reviews, anomalies, key selection with its
version check, and the renew/revoke forms of the enterprise file — valid HTML, scoped, CSRF."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.access.actor import SYSTEM
from service.audit.models import AuditEvent
from service.enterprises import service as enterprise_service
from service.enterprises.models import Enterprise
from service.enterprises.schemas import EnterpriseUpdate
from service.ladder import records
from service.ladder.models import Designation, KeySelection
from service.ladder.schemas import EvaluatorFactsIn
from tests.conftest import TODAY
from tests.dbutil import DIGEST_TABLES, digest
from tests.factories import make_designation, make_enterprise, make_figures
from tests.service.web.htmlcheck import problems
from tests.service.web.pageutil import add, csrf_of, login

# audit_event is left out: a refused function is itself audited (access.denied).
TABLES = (*DIGEST_TABLES, "key_selection", "designation_event", "ladder_anomaly")
HIGH_TECH = EvaluatorFactsIn.model_validate(
    {"titles": [{"code": "high_tech", "designated_on": "2024-01-01", "valid_until": "2027-12-31"}]}
)


def candidate(session: Session, name: str, district: str = "500104") -> Enterprise:
    """Holds a valid 高新技术企业 title: meets 创新型中小企业 (and so is a key suggestion)."""
    e = make_enterprise(session, name=name, district=district)
    records.put_facts(session, SYSTEM, e, year=2025, data=HIGH_TECH, today=TODAY)
    make_figures(session, e, year=2025, revenue="5000")
    return e


def world(session: Session) -> dict[str, Enterprise]:
    inside = candidate(session, "梯度页大渡口候选公司")
    outside = candidate(session, "梯度页北碚候选公司", district="500109")
    due = make_enterprise(session, name="梯度页待复核公司")
    make_designation(
        session,
        due,
        tier="specialized_sme",
        designated_on=date(2023, 12, 1),
        valid_until=date(2026, 12, 31),
    )
    # 小巨人 without 专精特新 first: an anomaly recorded as it happens.
    odd = make_enterprise(session, name="梯度页跳级公司", district="500109")
    make_designation(session, odd, tier="little_giant", designated_on=date(2025, 7, 1))
    return {"inside": inside, "outside": outside, "due": due, "odd": odd}


def signed_in(site: Callable[..., TestClient], session: Session, role: str) -> TestClient:
    name = f"lp_{role}"
    add(session, name, role=role, district_code="500104" if role == "district_officer" else None)
    client = site()
    login(client, name)
    return client


@pytest.mark.parametrize("role", ["manager", "district_officer", "viewer"])
def test_ladder_views_are_valid_and_scoped(
    site: Callable[..., TestClient], session: Session, role: str
) -> None:
    w = world(session)
    client = signed_in(site, session, role)
    before = digest(session, TABLES)
    everything = role != "district_officer"
    pages = {
        "candidates": client.get("/ladder"),
        "due": client.get("/ladder?view=due&within_days=60"),
        "anomalies": client.get("/ladder?view=anomalies"),
    }
    for view, r in pages.items():
        assert r.status_code == 200, (view, r.text[:300])
        assert not problems(r.text), (view, problems(r.text))
    assert "梯度页大渡口候选公司" in pages["candidates"].text
    assert "高新技术企业" in pages["candidates"].text  # the reason, in words
    assert ("梯度页北碚候选公司" in pages["candidates"].text) == everything
    assert "梯度页待复核公司" in pages["due"].text
    assert ("梯度页跳级公司" in pages["anomalies"].text) == everything
    # The same filters as the API: district, subsector tree, tier.
    narrowed = client.get("/ladder?district=500109&subsector=A4&tier=none")
    assert "梯度页大渡口候选公司" not in narrowed.text
    assert ("梯度页北碚候选公司" in narrowed.text) == everything
    assert "梯度页待复核公司" not in client.get("/ladder?view=due&within_days=10").text
    assert client.get("/ladder?view=nonsense").status_code == 422
    key = client.get("/ladder/key")
    assert key.status_code == (200 if role == "manager" else 403)
    assert not problems(key.text)
    assert digest(session, TABLES) == before
    assert w["inside"].id


def test_commissioner_sees_candidates_of_assigned_enterprises_only(
    site: Callable[..., TestClient], session: Session
) -> None:
    from service.access import service as access_service
    from tests.factories import make_assignment, make_commissioner

    mine = candidate(session, "梯度页专员服务公司")
    candidate(session, "梯度页别人的公司")
    add(session, "lp_comm", role="commissioner")
    user = access_service.find_user(session, "lp_comm")
    assert user is not None
    make_assignment(session, mine, make_commissioner(session, name="梯度页专员", user_id=user.id))
    client = site()
    login(client, "lp_comm")
    page = client.get("/ladder")
    assert page.status_code == 200
    assert "梯度页专员服务公司" in page.text
    assert "梯度页别人的公司" not in page.text


def _key_form(page: str, enterprise_id: int) -> dict[str, str]:
    """The hidden fields of one suggestion's form, as the browser would send them."""
    import re

    start = page.index(f'action="/ladder/key/{enterprise_id}"')
    chunk = page[start : page.index("</form>", start)]
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', chunk))


def test_manager_confirms_a_key_enterprise_end_to_end(
    site: Callable[..., TestClient], session: Session
) -> None:
    w = world(session)
    client = signed_in(site, session, "manager")
    page = client.get("/ladder/key")
    assert page.status_code == 200
    assert not problems(page.text), problems(page.text)
    eid = w["inside"].id or 0
    assert "梯度页大渡口候选公司" in page.text
    form = _key_form(page.text, eid)
    assert form["version"] == str(w["inside"].version)
    done = client.post(
        f"/ladder/key/{eid}",
        data=form | {"reason": "产业链关键环节", "decision": "confirmed"},
    )
    assert done.status_code == 303, done.text[:500]
    assert "done=confirmed" in done.headers["location"]
    after = client.get(done.headers["location"])
    assert "已确认为重点企业" in after.text
    assert not problems(after.text)
    assert f'action="/ladder/key/{eid}"' not in after.text  # key now: no longer suggested
    session.expire_all()
    e = session.get(Enterprise, eid)
    assert e is not None
    assert e.is_key
    assert e.key_reason == "产业链关键环节"
    selection = session.scalars(sa.select(KeySelection).where(KeySelection.enterprise_id == eid))
    assert [s.decision for s in selection] == ["confirmed"]
    actions = session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.enterprise_id == eid)
    ).all()
    assert "enterprise.update" in actions
    # A rejection needs a reason: shown next to that row's field, nothing written.
    other = w["outside"].id or 0
    before = digest(session, TABLES)
    refused = client.post(
        f"/ladder/key/{other}", data=_key_form(page.text, other) | {"decision": "rejected"}
    )
    assert refused.status_code == 422
    assert f'id="key-{other}-reason-error"' in refused.text
    assert not problems(refused.text)
    assert digest(session, TABLES) == before
    rejected = client.post(
        f"/ladder/key/{other}",
        data=_key_form(page.text, other) | {"decision": "rejected", "reason": "规模偏小"},
    )
    assert rejected.status_code == 303
    assert (
        "key_selection.reject"
        in session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.enterprise_id == other)
        ).all()
    )


def test_confirming_a_stale_suggestion_shows_the_change_and_keeps_it(
    site: Callable[..., TestClient], session: Session
) -> None:
    w = world(session)
    client = signed_in(site, session, "manager")
    page = client.get("/ladder/key").text
    eid = w["inside"].id or 0
    form = _key_form(page, eid)
    enterprise_service.update(
        session,
        SYSTEM,
        eid,
        EnterpriseUpdate(key_reason="他人刚填的理由"),
        expected_version=int(form["version"]),
    )
    session.flush()
    before = digest(session, TABLES)
    r = client.post(
        f"/ladder/key/{eid}", data=form | {"reason": "我的理由", "decision": "confirmed"}
    )
    assert r.status_code == 409
    assert "档案已被他人修改" in r.text
    assert "他人刚填的理由" in r.text
    assert "我的理由" in r.text
    assert not problems(r.text)
    assert digest(session, TABLES) == before
    session.expire_all()
    e = session.get(Enterprise, eid)
    assert e is not None
    assert not e.is_key
    assert e.key_reason == "他人刚填的理由"


def test_key_selection_is_for_managers_and_checks_csrf(
    site: Callable[..., TestClient], session: Session
) -> None:
    w = world(session)
    eid = w["inside"].id or 0
    manager = signed_in(site, session, "manager")
    form = _key_form(manager.get("/ladder/key").text, eid)
    officer = signed_in(site, session, "district_officer")
    token = csrf_of(officer.get("/ladder").text)
    before = digest(session, TABLES)
    data = form | {"reason": "理由", "decision": "confirmed"}
    assert officer.post(f"/ladder/key/{eid}", data=data | {"csrf_token": token}).status_code == 403
    assert manager.post(f"/ladder/key/{eid}", data=data | {"csrf_token": token}).status_code == 403
    missing = {k: v for k, v in data.items() if k != "csrf_token"}
    assert manager.post(f"/ladder/key/{eid}", data=missing).status_code == 403
    assert manager.post("/ladder/key/99999999", data=data).status_code == 404
    assert digest(session, TABLES) == before


def test_file_page_shows_verdicts_and_renews_or_revokes(
    site: Callable[..., TestClient], session: Session
) -> None:
    w = world(session)
    client = signed_in(site, session, "manager")
    eid = w["due"].id or 0
    d = session.scalars(sa.select(Designation).where(Designation.enterprise_id == eid)).one()
    page = client.get(f"/enterprises/{eid}")
    assert page.status_code == 200
    assert not problems(page.text), problems(page.text)
    for text in ("梯度条件评估", "依据版本", "口径说明", "服务专员", "服务记录与诉求", "确认撤销"):
        assert text in page.text, text
    token = csrf_of(page.text)
    before = digest(session, TABLES)
    # Validation next to the field, nothing written.
    bad = client.post(
        f"/enterprises/{eid}/designations/revoke",
        data={"csrf_token": token, "designation_id": str(d.id), "reason": ""},
    )
    assert bad.status_code == 422
    assert f'id="revoke-{d.id}-reason-error"' in bad.text
    assert not problems(bad.text), problems(bad.text)
    late = client.post(
        f"/enterprises/{eid}/designations/renew",
        data={
            "csrf_token": token,
            "designation_id": str(d.id),
            "reviewed_on": "2026-11-20",
            "renewed_on": "2026-11-10",
        },
    )
    assert late.status_code == 422
    assert f'id="renew-{d.id}-reviewed_on-error"' in late.text
    assert digest(session, TABLES) == before
    renewed = client.post(
        f"/enterprises/{eid}/designations/renew",
        data={"csrf_token": token, "designation_id": str(d.id), "reviewed_on": "2026-11-01"},
    )
    assert renewed.status_code == 303
    session.refresh(d)
    assert d.valid_until == date(2029, 12, 31)
    revoked = client.post(
        f"/enterprises/{eid}/designations/revoke",
        data={"csrf_token": token, "designation_id": str(d.id), "reason": "弄虚作假"},
    )
    assert revoked.status_code == 303
    session.refresh(d)
    assert d.status == "revoked"
    assert d.reason == "弄虚作假"
    actions = set(
        session.scalars(sa.select(AuditEvent.action).where(AuditEvent.enterprise_id == eid))
    )
    assert {"designation.renew", "designation.revoke"} <= actions
    again = client.post(
        f"/enterprises/{eid}/designations/revoke",
        data={"csrf_token": token, "designation_id": str(d.id), "reason": "再撤一次"},
    )
    assert again.status_code == 409
    assert 'role="alert"' in again.text


def test_officers_cannot_renew_or_revoke(site: Callable[..., TestClient], session: Session) -> None:
    w = world(session)
    eid = w["due"].id or 0
    d = session.scalars(sa.select(Designation).where(Designation.enterprise_id == eid)).one()
    officer = signed_in(site, session, "district_officer")
    page = officer.get(f"/enterprises/{eid}")
    assert "确认撤销" not in page.text
    before = digest(session, TABLES)
    data = {"csrf_token": csrf_of(page.text), "designation_id": str(d.id), "reason": "x"}
    assert officer.post(f"/enterprises/{eid}/designations/revoke", data=data).status_code == 403
    assert officer.post(f"/enterprises/{eid}/designations/renew", data=data).status_code == 403
    assert digest(session, TABLES) == before


def test_due_view_says_whether_each_title_may_be_reviewed(
    site: Callable[..., TestClient], session: Session
) -> None:
    from service.ladder import compliance

    world(session)
    late = make_enterprise(session, name="梯度页逾期更新公司")
    make_designation(session, late, designated_on=date(2023, 12, 20))  # to 2026-12-19
    compliance.put_data_update(
        session,
        SYSTEM,
        late,
        year=2026,
        data=compliance.DataUpdateIn(updated_on=date(2026, 5, 6)),
        today=TODAY,
    )
    client = signed_in(site, session, "manager")
    page = client.get("/ladder?view=due&within_days=60")
    assert page.status_code == 200
    assert not problems(page.text)
    assert "复核资格" in page.text
    assert "不具备复核资格" in page.text
    assert "晚于截止日期2026-04-30" in page.text
    assert "未见2026年度数据更新记录" in page.text  # 梯度页待复核公司 recorded none
