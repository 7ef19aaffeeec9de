"""One enterprise's ladder over HTTP: renew, revoke, anomalies, history, listing path,
evaluator facts and the eligibility verdicts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.access.actor import Actor
from service.audit.models import AuditEvent
from service.ladder.models import LadderAnomaly
from tests.conftest import OFFICER_DADUKOU, VIEWER
from tests.dbutil import digest
from tests.factories import make_designation, make_enterprise, make_figures

API = "/api/v1/enterprises"


def actions(session: Session, action: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def test_renewal_after_review_extends_validity_as_its_own_event(
    client: TestClient, session: Session
) -> None:
    e = make_enterprise(session)
    d = make_designation(session, e, designated_on=date(2023, 12, 1))  # to 2026-11-30
    r = client.post(
        f"{API}/{e.id}/designations/{d.id}/renew",
        json={
            "reviewed_on": "2026-10-15",
            "renewed_on": "2026-11-01",
            "document_no": "渝经信〔2026〕9号",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["valid_until"] == "2029-11-30"
    assert r.json()["designated_on"] == "2023-12-01"  # not a new designation
    assert client.get(f"{API}/{e.id}/designations").json().__len__() == 1
    ladder = client.get(f"{API}/{e.id}/ladder").json()
    renewals = [ev for ev in ladder["events"] if ev["kind"] == "renew"]
    assert renewals == [
        renewals[0]
        | {
            "occurred_on": "2026-11-01",
            "reviewed_on": "2026-10-15",
            "valid_until_before": "2026-11-30",
            "valid_until_after": "2029-11-30",
        }
    ]
    assert ladder["anomalies"] == []
    audit = actions(session, "designation.renew")
    assert len(audit) == 1
    assert audit[0].changes["valid_until"] == ["2026-11-30", "2029-11-30"]


def test_renewal_without_review_is_kept_and_reported(client: TestClient, session: Session) -> None:
    e = make_enterprise(session)
    d = make_designation(session, e, designated_on=date(2023, 12, 1))
    r = client.post(f"{API}/{e.id}/designations/{d.id}/renew", json={})
    assert r.status_code == 200, r.text
    assert r.json()["valid_until"] == "2029-11-30"
    report = client.get("/api/v1/ladder/anomalies").json()
    assert report["by_kind"] == {"renewal_without_review": 1}
    assert report["items"][0]["kind_name"] == "续期未见复核记录"
    assert report["items"][0]["enterprise_id"] == e.id
    assert actions(session, "designation.renew")[0].changes["anomalies"] == [
        None,
        ["renewal_without_review"],
    ]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"reviewed_on": "2026-12-01"}, "reviewed_on", "date.in_future"),
        ({"reviewed_on": "2026-11-10", "renewed_on": "2026-11-01"}, "reviewed_on",
         "designation.reviewed_after_renewed"),
        ({"renewed_on": "2020-01-01"}, "renewed_on", "designation.renewed_before_designated"),
        ({"reviewed_on": "去年"}, "reviewed_on", "format"),
        ({"renewed_on": 1762000000}, "renewed_on", "format"),  # never a Unix timestamp
    ],
)  # fmt: skip
def test_bad_renewal_is_422_in_chinese_and_writes_nothing(
    client: TestClient, session: Session, body: dict[str, Any], field: str, code: str
) -> None:
    e = make_enterprise(session)
    d = make_designation(session, e, designated_on=date(2023, 12, 1))
    before = digest(session, ("designation", "designation_event", "ladder_anomaly"))
    r = client.post(f"{API}/{e.id}/designations/{d.id}/renew", json=body)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert (errors[0]["field"], errors[0]["code"]) == (field, code)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in x["message"]) for x in errors)
    assert digest(session, ("designation", "designation_event", "ladder_anomaly")) == before


@pytest.mark.parametrize("again_on", ["2026-11-01", "2026-10-20"])
def test_a_second_renewal_on_or_before_the_last_is_409_and_writes_nothing(
    client: TestClient, session: Session, again_on: str
) -> None:
    """One review extends one period: the same renewal sent twice must not extend it twice."""
    e = make_enterprise(session)
    d = make_designation(session, e, designated_on=date(2023, 12, 1))
    url = f"{API}/{e.id}/designations/{d.id}/renew"
    assert client.post(url, json={"renewed_on": "2026-11-01"}).status_code == 200
    before = digest(session, ("designation", "designation_event", "ladder_anomaly", "audit_event"))
    r = client.post(url, json={"renewed_on": again_on})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "designation.already_renewed"
    assert "2026-11-01" in body["detail"]
    assert "2029-11-30" in body["detail"]
    assert body["valid_until"] == "2029-11-30"
    after = digest(session, ("designation", "designation_event", "ladder_anomaly", "audit_event"))
    assert after == before


def test_revoke_records_reason_and_reapply_date(client: TestClient, session: Session) -> None:
    e = make_enterprise(session)
    d = make_designation(session, e, tier="innovative_sme", designated_on=date(2025, 6, 1))
    r = client.post(
        f"{API}/{e.id}/designations/{d.id}/revoke",
        json={"reason": "发生重大安全事故", "revoked_on": "2026-03-10"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["effective_status"] == "revoked"
    ladder = client.get(f"{API}/{e.id}/ladder").json()
    assert ladder["reapply_not_before"] == "2029-03-10"
    assert ladder["current_tier"] is None
    assert [(s["on"], s["direction"]) for s in ladder["steps"]] == [
        ("2025-06-01", "up"),
        ("2026-03-10", "lapse"),
    ]
    (event,) = [ev for ev in ladder["events"] if ev["kind"] == "revoke"]
    assert (event["reason"], event["reapply_not_before"]) == ("发生重大安全事故", "2029-03-10")
    assert (
        client.post(
            f"{API}/{e.id}/designations/{d.id}/renew", json={"reviewed_on": "2026-05-01"}
        ).status_code
        == 409
    )
    too_early = client.post(
        f"{API}/{e.id}/designations/{make_designation(session, e).id}/revoke",
        json={"reason": "数据造假", "revoked_on": "2026-03-10", "reapply_not_before": "2027-01-01"},
    )
    assert too_early.status_code == 422
    assert too_early.json()["errors"][0]["code"] == "designation.reapply_too_early"


def test_designations_record_anomalies_as_they_happened(
    client: TestClient, session: Session
) -> None:
    e = make_enterprise(session)
    first = client.post(
        f"{API}/{e.id}/designations",
        json={"tier_code": "little_giant", "designated_on": "2024-07-01"},
    )
    assert first.status_code == 201
    twin = client.post(
        f"{API}/{e.id}/designations",
        json={"tier_code": "little_giant", "designated_on": "2025-07-01"},
    )
    assert twin.status_code == 201
    kinds = session.scalars(sa.select(LadderAnomaly.kind).order_by(LadderAnomaly.id)).all()
    assert kinds == [
        "little_giant_without_specialized",
        "little_giant_without_specialized",
        "duplicate_valid",
    ]
    # Reported, never corrected: both designations stand, the current tier is the little giant.
    detail = client.get(f"{API}/{e.id}").json()
    assert detail["current_tier"]["code"] == "little_giant"
    assert len(detail["designations"]) == 2
    skipped = make_enterprise(session)
    client.post(
        f"{API}/{skipped.id}/designations",
        json={"tier_code": "specialized_sme", "designated_on": "2024-07-01"},
    )
    report = client.get("/api/v1/ladder/anomalies", params={"kind": "skipped_rung"}).json()
    assert [i["enterprise_id"] for i in report["items"]] == [skipped.id]


def test_history_endpoint_derives_steps_and_time_in_tier(
    client: TestClient, session: Session
) -> None:
    e = make_enterprise(session)
    make_designation(session, e, tier="innovative_sme", designated_on=date(2023, 3, 1))
    make_designation(session, e, tier="specialized_sme", designated_on=date(2024, 9, 1))
    ladder = client.get(f"{API}/{e.id}/ladder").json()
    assert ladder["current_tier"] == "specialized_sme"
    assert ladder["current_tier_name"] == "专精特新中小企业"
    assert ladder["previous_tier"] == "innovative_sme"
    assert ladder["current_since"] == "2024-09-01"
    assert ladder["days_in_tier"] == (date(2026, 11, 23) - date(2024, 9, 1)).days
    assert [(s["on"], s["to_tier"]) for s in ladder["steps"]] == [
        ("2023-03-01", "innovative_sme"),
        ("2024-09-01", "specialized_sme"),
    ]
    assert [ev["kind"] for ev in ladder["events"]] == ["designate", "designate"]


def test_listing_path_steps_with_dates(client: TestClient, session: Session) -> None:
    e = make_enterprise(session)
    for body in (
        {"stage": "reserve", "stage_on": "2024-03-01", "intended_board": "star"},
        {"stage": "tutoring_filed", "stage_on": "2025-01-10", "sponsor": "西南证券"},
        {"stage": "listed", "stage_on": "2026-06-18", "board": "star",
         "security_code": "688999", "short_name": "渝材科技", "sponsor": "西南证券"},
    ):  # fmt: skip
        r = client.post(f"{API}/{e.id}/listing", json=body)
        assert r.status_code == 201, r.text
    path = client.get(f"{API}/{e.id}/listing").json()
    assert [(s["stage_name"], s["stage_on"]) for s in path["steps"]] == [
        ("后备库", "2024-03-01"),
        ("辅导备案", "2025-01-10"),
        ("上市", "2026-06-18"),
    ]
    assert path["current"]["board_name"] == "科创板"
    assert path["current"]["security_code"] == "688999"
    assert len(actions(session, "listing.step")) == 3


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"stage": "listed", "stage_on": "2026-06-18"}, ["board", "security_code"]),
        ({"stage": "ipo", "stage_on": "2026-06-18"}, ["stage"]),
        ({"stage": "reserve", "stage_on": "2027-01-01"}, ["stage_on"]),
        ({"stage": "priority", "stage_on": "2023-01-01"}, ["stage_on"]),  # before the last step
    ],
)
def test_bad_listing_step_is_422(
    client: TestClient, session: Session, body: dict[str, Any], fields: list[str]
) -> None:
    e = make_enterprise(session)
    client.post(f"{API}/{e.id}/listing", json={"stage": "reserve", "stage_on": "2024-03-01"})
    r = client.post(f"{API}/{e.id}/listing", json=body)
    assert r.status_code == 422, r.text
    assert [x["field"] for x in r.json()["errors"]] == fields


def test_eligibility_from_ledger_records(client: TestClient, session: Session) -> None:
    e = make_enterprise(session)
    make_figures(session, e, year=2025, revenue="900", rd_expense="120")
    empty = client.get(f"{API}/{e.id}/eligibility").json()
    assert empty["year"] == 2025
    assert empty["rule_versions"] == {
        "innovative_sme": "MIIT-2022",
        "specialized_sme": "MIIT-2026",
        "little_giant": "MIIT-2026",
    }
    assert empty["conventions"]  # named, in Chinese
    assert empty["evaluation"]["tiers"][0]["verdict"] == "missing_data"
    facts = {
        "titles": [
            {"code": "high_tech", "designated_on": "2024-01-01", "valid_until": "2026-12-31"}
        ],
        "judgements": {"strategic_emerging_field": True},
        "development_score": "72.5",
    }  # fmt: skip
    put = client.put(f"{API}/{e.id}/evaluator-facts/2025", json=facts)
    assert put.status_code == 200, put.text
    assert len(actions(session, "evaluator_facts.put")) == 1
    got = client.get(f"{API}/{e.id}/eligibility", params={"year": 2025}).json()
    innovative = got["evaluation"]["tiers"][0]
    assert (innovative["tier"], innovative["verdict"]) == ("innovative_sme", "eligible")
    assert got["highest_eligible"] == "innovative_sme"
    assert any("高新技术企业" in r for r in innovative["reasons_zh"])
    assert {"code": "high_tech", "designated_on": "2024-01-01", "valid_until": "2026-12-31"} in got[
        "inputs"
    ]["titles"]
    listed = client.get(f"{API}/{e.id}/evaluator-facts").json()
    assert listed[0]["development_score"] == "72.50"


def test_review_eligibility_covers_the_titles_held(client: TestClient, session: Session) -> None:
    """Found by schemathesis: purpose=review was a 500 for any tier the enterprise did not hold."""
    e = make_enterprise(session)
    make_figures(session, e, year=2025, revenue="900", rd_expense="120")
    none = client.get(f"{API}/{e.id}/eligibility", params={"purpose": "review"})
    assert none.status_code == 422, none.text
    assert [(x["field"], x["code"]) for x in none.json()["errors"]] == [
        ("purpose", "review.no_title")
    ]
    make_designation(session, e, tier="innovative_sme", designated_on=date(2024, 6, 1))
    got = client.get(f"{API}/{e.id}/eligibility", params={"purpose": "review", "year": 2025})
    assert got.status_code == 200, got.text
    assert got.json()["purpose"] == "review"
    assert [t["tier"] for t in got.json()["evaluation"]["tiers"]] == ["innovative_sme"]
    assert got.json()["rule_versions"] == {"innovative_sme": "MIIT-2022"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"judgements": {"nonsense": True}}, "judgements.nonsense"),
        ({"development_score": "101"}, "development_score"),
        ({"rd_institution": "galactic"}, "rd_institution"),
        ({"awards": [{"level": "national", "year": 2024, "unit_rank": 0}]}, "awards.0.unit_rank"),
    ],
)
def test_bad_evaluator_facts_are_422(
    client: TestClient, session: Session, body: dict[str, Any], field: str
) -> None:
    e = make_enterprise(session)
    r = client.put(f"{API}/{e.id}/evaluator-facts/2025", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"].startswith(field)


@pytest.mark.parametrize(("actor", "status"), [(VIEWER, 403), (OFFICER_DADUKOU, 404)])
def test_lifecycle_writes_respect_role_and_scope(
    app_for: Callable[[Actor], TestClient], session: Session, actor: Actor, status: int
) -> None:
    outside = make_enterprise(session, district="500115")
    d = make_designation(session, outside)
    client = app_for(actor)
    if actor is OFFICER_DADUKOU:
        # A district officer may not renew at all (a city function): 403 before scope.
        assert (
            client.post(f"{API}/{outside.id}/designations/{d.id}/renew", json={}).status_code == 403
        )
        r = client.post(
            f"{API}/{outside.id}/listing", json={"stage": "reserve", "stage_on": "2025-01-01"}
        )
    else:
        r = client.post(
            f"{API}/{outside.id}/listing", json={"stage": "reserve", "stage_on": "2025-01-01"}
        )
    assert r.status_code == status
    assert client.get(f"{API}/{outside.id}/ladder").status_code == (
        404 if actor is OFFICER_DADUKOU else 200
    )
