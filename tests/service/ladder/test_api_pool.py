"""What managers get across the ledger: candidates, due reviews, anomalies, key selection —
scoped by the actor, filterable, and the CLI's --json equal to the API's answer."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import migrate
from service.access.actor import Actor
from service.access.deps import current_actor
from service.app import create_app
from service.audit.models import AuditEvent
from service.cli import main
from service.config import Settings
from service.enterprises.models import Enterprise
from service.ladder import records
from service.ladder.models import KeySelection
from service.ladder.schemas import EvaluatorFactsIn
from service.reference import service as reference_service
from tests.conftest import MANAGER, OFFICER_DADUKOU, TODAY, VIEWER
from tests.dbutil import fresh_database
from tests.factories import make_designation, make_enterprise, make_figures

LADDER = "/api/v1/ladder"
HIGH_TECH = EvaluatorFactsIn.model_validate(
    {"titles": [{"code": "high_tech", "designated_on": "2024-01-01", "valid_until": "2027-12-31"}]}
)


def high_tech(session: Session, enterprise: Enterprise) -> None:
    """A valid 高新技术企业 title: the innovative SME's direct route (MIIT-2022 (b))."""
    from service.access.actor import SYSTEM

    records.put_facts(session, SYSTEM, enterprise, year=2025, data=HIGH_TECH, today=TODAY)


def world(session: Session) -> dict[str, Enterprise]:
    """Two districts; a candidate in each, a holder with nothing above, an inactive one."""
    dadukou = make_enterprise(
        session, name="大渡口候选材料公司", district="500104", subsector="A4.01"
    )
    other = make_enterprise(session, name="北碚候选材料公司", district="500109")
    holder = make_enterprise(session, name="已认定材料公司", district="500104")
    gone = make_enterprise(session, name="已迁出材料公司", district="500104")
    for e in (dadukou, other, holder, gone):
        high_tech(session, e)
        make_figures(session, e, year=2025, revenue="5000")
    make_designation(session, holder, tier="innovative_sme", designated_on=date(2025, 6, 1))
    gone.status = "moved_out"
    session.add(gone)
    session.flush()
    return {"dadukou": dadukou, "other": other, "holder": holder, "gone": gone}


def test_candidates_meet_a_higher_tier_with_reasons(client: TestClient, session: Session) -> None:
    w = world(session)
    page = client.get(f"{LADDER}/candidates").json()
    assert page["year"] == 2025
    assert page["evaluated"] == 3  # active enterprises only
    assert {i["enterprise_id"] for i in page["items"]} == {w["dadukou"].id, w["other"].id}
    assert page["by_target"] == {"innovative_sme": 2}
    item = page["items"][0]
    assert item["target_tier_name"] == "创新型中小企业"
    assert item["rule_version"] == "MIIT-2022"
    assert item["current_tier"] is None
    assert any("高新技术企业" in r for r in item["reasons"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"district": "500104"}, ["dadukou"]),
        ({"district": "500109"}, ["other"]),
        ({"subsector": "A4"}, ["dadukou"]),  # an industry: every subsector below it
        ({"subsector": "A4.01"}, ["dadukou"]),
        ({"tier": "none"}, ["dadukou", "other"]),
        ({"tier": "innovative_sme"}, []),
        ({"target": "little_giant"}, []),
    ],
)
def test_candidate_filters(
    client: TestClient, session: Session, params: dict[str, str], expected: list[str]
) -> None:
    w = world(session)
    w["other"].subsector_code = "B1.01"  # outside A4
    session.add(w["other"])
    session.flush()
    page = client.get(f"{LADDER}/candidates", params=params).json()
    assert sorted(i["enterprise_id"] for i in page["items"]) == sorted(w[k].id for k in expected)


def test_a_district_officer_sees_only_their_district(
    app_for: Callable[[Actor], TestClient], session: Session
) -> None:
    w = world(session)
    make_designation(session, w["other"], designated_on=date(2024, 1, 1))  # due 2026-12-31
    make_designation(session, w["dadukou"], designated_on=date(2024, 1, 10))  # due 2027-01-09
    officer = app_for(OFFICER_DADUKOU)
    candidates = officer.get(f"{LADDER}/candidates").json()
    assert [i["enterprise_id"] for i in candidates["items"]] == []  # dadukou now holds the rung
    due = officer.get(f"{LADDER}/due-reviews", params={"within_days": 60}).json()
    assert [i["enterprise_id"] for i in due["items"]] == [w["dadukou"].id]
    everyone = app_for(VIEWER).get(f"{LADDER}/due-reviews", params={"within_days": 60}).json()
    assert [i["enterprise_id"] for i in everyone["items"]] == [w["other"].id, w["dadukou"].id]


def test_due_reviews_within_n_days(client: TestClient, session: Session) -> None:
    e = make_enterprise(session)
    soon = make_designation(session, e, designated_on=date(2023, 12, 24))  # to 2026-12-23
    make_designation(session, e, tier="specialized_sme", designated_on=date(2025, 6, 1))
    make_designation(session, e, tier="little_giant", designated_on=date(2023, 1, 1))  # expired
    page = client.get(f"{LADDER}/due-reviews", params={"within_days": 30}).json()
    assert page["total"] == 1
    (item,) = page["items"]
    assert (item["designation_id"], item["valid_until"], item["days_left"]) == (
        soon.id,
        "2026-12-23",
        30,
    )
    assert client.get(f"{LADDER}/due-reviews", params={"within_days": 29}).json()["total"] == 0
    assert (
        client.get(
            f"{LADDER}/due-reviews", params={"within_days": 30, "tier": "specialized_sme"}
        ).json()["total"]
        == 0
    )


def test_key_selection_confirm_and_reject_are_audited(client: TestClient, session: Session) -> None:
    w = world(session)
    suggestions = client.get(f"{LADDER}/key-suggestions").json()
    ranked = [i["enterprise_id"] for i in suggestions["items"]]
    assert w["holder"].id in ranked
    assert w["dadukou"].id in ranked
    assert suggestions["items"][0]["rank"] == 1
    assert all(i["reasons"] for i in suggestions["items"])
    top = suggestions["items"][0]
    url = f"/api/v1/enterprises/{top['enterprise_id']}/key-selection"
    no_version = client.post(url, json={"decision": "confirmed", "reason": "梯度领先"})
    assert no_version.status_code == 428
    confirmed = client.post(
        url,
        json={"decision": "confirmed", "reason": "梯度领先", "suggested_rank": 1},
        headers={"If-Match": f'"{top["version"]}"'},
    )
    assert confirmed.status_code == 201, confirmed.text
    body = confirmed.json()
    assert (body["is_key"], body["enterprise_version"]) == (True, top["version"] + 1)
    assert body["evidence"]
    enterprise = client.get(f"/api/v1/enterprises/{top['enterprise_id']}").json()
    assert (enterprise["is_key"], enterprise["key_reason"]) == (True, "梯度领先")
    update = session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.action == "enterprise.update",
            AuditEvent.enterprise_id == top["enterprise_id"],
        )
    ).all()
    assert [a.changes["is_key"] for a in update] == [[False, True]]
    other = next(i for i in suggestions["items"] if i["enterprise_id"] != top["enterprise_id"])
    rejected = client.post(
        f"/api/v1/enterprises/{other['enterprise_id']}/key-selection",
        json={"decision": "rejected", "reason": "规模偏小"},
    )
    assert rejected.status_code == 201
    assert rejected.json()["is_key"] is False
    assert (
        session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.enterprise_id == other["enterprise_id"])
            .order_by(AuditEvent.id)
        ).all()[-1]
        == "key_selection.reject"
    )
    again = [i["enterprise_id"] for i in client.get(f"{LADDER}/key-suggestions").json()["items"]]
    assert top["enterprise_id"] not in again  # now key
    assert other["enterprise_id"] not in again  # rejected for this year
    assert session.scalar(sa.select(sa.func.count()).select_from(KeySelection)) == 2


@pytest.mark.parametrize("actor", [OFFICER_DADUKOU, VIEWER])
def test_key_selection_is_a_manager_function(
    app_for: Callable[[Actor], TestClient], session: Session, actor: Actor
) -> None:
    e = make_enterprise(session)
    client = app_for(actor)
    assert client.get(f"{LADDER}/key-suggestions").status_code == 403
    r = client.post(
        f"/api/v1/enterprises/{e.id}/key-selection",
        json={"decision": "rejected", "reason": "x"},
    )
    assert r.status_code == 403


# ---- the CLI prints what the API returns ----------------------------------------------------


@pytest.fixture
def committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    with fresh_database(tmp_path) as engine:
        migrate.upgrade(engine)
        with Session(engine) as s:
            reference_service.load(s)
            world(s)
            e = make_enterprise(s, district="500104")
            make_designation(s, e, designated_on=date(2023, 12, 1))
            make_designation(s, e, tier="little_giant", designated_on=date(2024, 2, 1))
            s.commit()
        monkeypatch.setenv(
            "TIERLEDGER_DATABASE_URL", engine.url.render_as_string(hide_password=False)
        )
        monkeypatch.setenv("TIERLEDGER_DATA_DIR", str(tmp_path))
        yield engine


@pytest.mark.parametrize(
    ("command", "path", "args"),
    [
        ("candidates", "candidates", []),
        ("candidates", "candidates", ["--district", "500104"]),
        ("candidates", "candidates", ["--subsector", "A4", "--tier", "none"]),
        ("due-reviews", "due-reviews", ["--within-days", "30"]),
        ("anomalies", "anomalies", []),
        ("anomalies", "anomalies", ["--tier", "little_giant"]),
    ],
)
def test_cli_json_equals_the_api(
    committed: Engine, command: str, path: str, args: list[str]
) -> None:
    result = CliRunner().invoke(
        main, ["ladder", command, "--json", "--as-of", TODAY.isoformat(), *args]
    )
    assert result.exit_code == 0, result.output
    app = create_app(Settings(), engine=committed, today=lambda: TODAY)
    app.dependency_overrides[current_actor] = lambda: MANAGER
    params: dict[str, Any] = {}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        params[flag.removeprefix("--").replace("-", "_")] = value
    with TestClient(app) as client:
        api = client.get(f"{LADDER}/{path}", params=params)
    assert api.status_code == 200, api.text
    assert json.loads(result.output) == api.json()
    if command == "anomalies":
        assert api.json()["total"] >= 1


def test_cli_expire_records_the_events(committed: Engine) -> None:
    result = CliRunner().invoke(main, ["ladder", "expire", "--as-of", "2027-01-01"])
    assert result.exit_code == 0, result.output
    assert "已记录 1 项" in result.output
    with committed.connect() as conn:
        assert (
            conn.scalar(sa.text("SELECT count(*) FROM designation_event WHERE kind='expire'")) == 1
        )
        assert conn.scalar(sa.text("SELECT count(*) FROM designation WHERE status='expired'")) == 1
    again = CliRunner().invoke(main, ["ladder", "expire", "--as-of", "2027-01-01"])
    assert "已记录 0 项" in again.output


def test_a_holder_that_meets_the_next_rung_is_its_candidate(
    client: TestClient, session: Session
) -> None:
    """Not only the bottom rung: an innovative SME that meets the 2026 specialized-SME criteria
    is a candidate for specialized SME, and one short of them is not."""
    from service.access.actor import SYSTEM

    ready = make_enterprise(session, name="晋级专精特新公司", district="500104")
    short = make_enterprise(session, name="差一项专精特新公司", district="500104")
    facts = EvaluatorFactsIn.model_validate(
        {
            "niche_since": "2018-01-01",
            "judgements": {"market_share_fairly_high": True},
            "ip": {"class_i": 3, "class_i_applied": 3, "class_i_applied_own": 3},
            "development_score": "72",
            "titles": HIGH_TECH.model_dump(mode="json")["titles"],
        }
    )
    for e, rd_2025 in ((ready, "180"), (short, "60")):  # 60万 < 100万 and < 3%: condition 3
        make_designation(session, e, tier="innovative_sme", designated_on=date(2024, 6, 1))
        for year, revenue, rd in ((2024, "3000", "150"), (2025, "3600", rd_2025)):
            make_figures(
                session, e, year=year, revenue=revenue, main_business_revenue=revenue,
                rd_expense=rd, total_assets="10000", total_liabilities="4000", ip_class1=3,
            )  # fmt: skip
        for year in (2025, 2026):  # the 2026 rules compare this year's 发展评价得分
            records.put_facts(session, SYSTEM, e, year=year, data=facts, today=TODAY)
    page = client.get(f"{LADDER}/candidates", params={"tier": "innovative_sme"}).json()
    found = {i["enterprise_id"]: i for i in page["items"]}
    assert short.id not in found
    tiers = client.get(f"/api/v1/enterprises/{short.id}/eligibility").json()["evaluation"]["tiers"]
    verdict = next(t for t in tiers if t["tier"] == "specialized_sme")
    failed = [c["code"] for c in verdict["conditions"] if c["verdict"] == "fail"]
    assert (verdict["verdict"], failed) == ("not_eligible", ["rd_expense"])
    item = found[ready.id]
    assert (item["current_tier"], item["target_tier"]) == ("innovative_sme", "specialized_sme")
    assert item["rule_version"] == "MIIT-2026"
    assert item["reasons"]
