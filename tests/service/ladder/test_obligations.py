"""What keeps a title reviewable: the annual data update deadline per rule version, major
changes reported within 3 months, the review eligibility on the due list, the anomaly scan
for bulk writes, and listing → the `listed` designation."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import Session

from service import migrate
from service.access.actor import SYSTEM
from service.audit.models import AuditEvent
from service.cli import main
from service.db import utcnow
from service.ladder import compliance, obligations
from service.ladder.criteria import Obligations
from service.ladder.models import Designation, LadderAnomaly
from service.reference import service as reference_service
from tests.conftest import OFFICER_DADUKOU, VIEWER
from tests.dbutil import digest, fresh_database
from tests.factories import make_designation, make_enterprise

API = "/api/v1/enterprises"
D = date.fromisoformat
RULES_2022 = Obligations(4, 30, True, 3)


def audits(session: Session, action: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


# ---- the rules, table-driven -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "version", "deadline", "confirmed"),
    [
        (2023, "MIIT-2022", "2023-04-30", True),
        # The 2026 measures are in force from 2026-04-01; that year's window opened under 2022.
        (2026, "MIIT-2022", "2026-04-30", True),
        (2027, "MIIT-2026", "2027-05-31", False),  # "reported as 31 May", unconfirmed
    ],
)
def test_deadline_is_data_of_the_rule_version(
    year: int, version: str, deadline: str, confirmed: bool
) -> None:
    rules = obligations.year_rules(year)
    assert rules.version == version
    assert rules.obligations is not None
    assert obligations.deadline_of_year(year) == D(deadline)
    assert rules.obligations.data_update_confirmed is confirmed


@pytest.mark.parametrize(
    ("valid_until", "updated", "today", "status", "year"),
    [
        # 2022 rules: 30 April, the day itself counts.
        ("2025-11-30", {2025: "2025-04-30"}, "2025-10-01", "eligible", 2025),
        ("2025-11-30", {2025: "2025-05-01"}, "2025-10-01", "not_eligible", 2025),
        ("2025-11-30", {}, "2025-10-01", "not_eligible", 2025),
        # Last valid day before this year's deadline: the previous year's update counts.
        ("2025-03-31", {2024: "2024-04-10"}, "2025-01-10", "eligible", 2024),
        # Not due yet on `today`: pending, not a failure.
        ("2025-06-30", {}, "2025-04-01", "pending", 2025),
        # 2026 rules (2027 onwards): 31 May.
        ("2027-11-30", {2027: "2027-05-31"}, "2027-10-01", "eligible", 2027),
        ("2027-11-30", {2027: "2027-06-01"}, "2027-10-01", "not_eligible", 2027),
        ("2027-05-20", {2026: "2026-04-30"}, "2027-03-01", "eligible", 2026),
    ],
)
def test_review_needs_the_relevant_years_update_on_time(
    valid_until: str, updated: dict[int, str], today: str, status: str, year: int
) -> None:
    found = obligations.review_eligibility(
        designated_on=D("2022-12-01"),
        valid_until=D(valid_until),
        updates={y: D(v) for y, v in updated.items()},
        changes=[],
        today=D(today),
    )
    assert (found.status, found.data_year) == (status, year)
    assert found.reasons
    assert all(any("\u4e00" <= c <= "\u9fff" for c in r) for r in found.reasons)


@pytest.mark.parametrize(
    ("occurred", "reported", "today", "status"),
    [
        ("2025-01-31", "2025-04-30", "2025-06-01", "on_time"),  # 3 months: end of April
        ("2025-01-31", "2025-05-01", "2025-06-01", "late"),
        ("2025-02-10", None, "2025-05-10", "pending"),  # the last day to report
        ("2025-02-10", None, "2025-05-11", "unreported"),
    ],
)
def test_major_change_window(occurred: str, reported: str | None, today: str, status: str) -> None:
    change = obligations.Change("rename", D(occurred), D(reported) if reported else None)
    assert obligations.change_status(change, RULES_2022, D(today)) == status


@pytest.mark.parametrize(
    ("reported", "status", "flag"),
    [
        ("2025-03-01", "eligible", ""),
        ("2025-06-01", "eligible", "逾期"),  # late: flagged, not disqualifying
        (None, "not_eligible", "失去复核资格"),
    ],
)
def test_major_changes_in_the_review(reported: str | None, status: str, flag: str) -> None:
    found = obligations.review_eligibility(
        designated_on=D("2022-12-01"),
        valid_until=D("2025-11-30"),
        updates={2025: D("2025-04-01")},
        changes=[
            obligations.Change("relocation", D("2025-01-15"), D(reported) if reported else None)
        ],
        today=D("2025-10-01"),
    )
    assert found.status == status
    assert flag in found.reasons[-1]
    assert "迁址" in found.reasons[-1]


# ---- API -------------------------------------------------------------------------------------


def test_data_updates_over_http(client: TestClient, session: Session) -> None:
    e = make_enterprise(session)
    r = client.put(f"{API}/{e.id}/data-updates/2026", json={"updated_on": "2026-05-01"})
    assert r.status_code == 200, r.text
    assert r.json() | {"note": ""} == {
        "year": 2026,
        "updated_on": "2026-05-01",
        "note": "",
        "source": "manual",
        "deadline": "2026-04-30",
        "deadline_confirmed": True,
        "rule_version": "MIIT-2022",
        "on_time": False,
    }
    r = client.put(f"{API}/{e.id}/data-updates/2026", json={"updated_on": "2026-04-30"})
    assert r.json()["on_time"] is True
    assert [u["updated_on"] for u in client.get(f"{API}/{e.id}/data-updates").json()] == [
        "2026-04-30"
    ]
    puts = audits(session, "data_update.put")
    assert len(puts) == 2
    assert puts[-1].changes["updated_on"] == ["2026-05-01", "2026-04-30"]


@pytest.mark.parametrize(
    ("year", "body", "field", "code"),
    [
        (2026, {"updated_on": "2026-12-01"}, "updated_on", "date.in_future"),
        (2025, {"updated_on": "2024-12-30"}, "updated_on", "data_update.before_year"),
        (2027, {"updated_on": "2026-11-01"}, "year", "year.out_of_range"),
        (2026, {"updated_on": "四月"}, "updated_on", "format"),
    ],
)
def test_bad_data_update_is_422_in_chinese(
    client: TestClient, session: Session, year: int, body: dict[str, Any], field: str, code: str
) -> None:
    e = make_enterprise(session)
    before = digest(session, ("data_update",))
    r = client.put(f"{API}/{e.id}/data-updates/{year}", json=body)
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert (error["field"], error["code"]) == (field, code)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])
    assert digest(session, ("data_update",)) == before


def test_major_change_late_report_is_an_anomaly_and_reposting_updates(
    client: TestClient, session: Session
) -> None:
    e = make_enterprise(session)
    make_designation(session, e, designated_on=D("2024-06-01"))
    body = {"kind": "rename", "occurred_on": "2026-03-02", "detail": "更名为新公司"}
    r = client.post(f"{API}/{e.id}/major-changes", json=body)
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["report_deadline"]) == ("unreported", "2026-06-02")
    r = client.post(f"{API}/{e.id}/major-changes", json=body | {"reported_on": "2026-07-01"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "late"
    assert len(client.get(f"{API}/{e.id}/major-changes").json()) == 1
    report = client.get("/api/v1/ladder/anomalies").json()
    assert report["by_kind"] == {"major_change_late": 1, "major_change_unreported": 1}
    kinds = client.get("/api/v1/ladder/anomalies?kind=major_change_late").json()["items"]
    assert kinds[0]["kind_name"] == "重大变化逾期报告"
    assert len(audits(session, "major_change.add")) == len(audits(session, "major_change.update"))
    bad = client.post(
        f"{API}/{e.id}/major-changes", json=body | {"kind": "split", "reported_on": "2026-01-01"}
    )
    assert bad.status_code == 422
    early = client.post(f"{API}/{e.id}/major-changes", json=body | {"reported_on": "2026-01-01"})
    assert early.json()["errors"][0]["code"] == "major_change.reported_before_occurred"
    stamp = client.post(f"{API}/{e.id}/major-changes", json=body | {"occurred_on": 1772409600})
    assert (stamp.status_code, stamp.json()["errors"][0]["code"]) == (422, "format")


def test_writes_are_scoped_and_viewers_read_only(
    app_for: Callable[..., TestClient], session: Session
) -> None:
    mine = make_enterprise(session, district="500104")
    other = make_enterprise(session, district="500109")
    officer = app_for(OFFICER_DADUKOU)
    body = {"updated_on": "2026-04-01"}
    assert officer.put(f"{API}/{mine.id}/data-updates/2026", json=body).status_code == 200
    assert officer.put(f"{API}/{other.id}/data-updates/2026", json=body).status_code == 404
    assert officer.get(f"{API}/{other.id}/major-changes").status_code == 404
    viewer = app_for(VIEWER)
    assert viewer.put(f"{API}/{mine.id}/data-updates/2026", json=body).status_code == 403
    assert viewer.get(f"{API}/{mine.id}/data-updates").status_code == 200


def test_due_reviews_say_whether_each_title_may_be_reviewed(
    client: TestClient, session: Session
) -> None:
    ok = make_enterprise(session, name="按期更新公司")
    late = make_enterprise(session, name="逾期更新公司")
    moved = make_enterprise(session, name="迁址未报公司")
    for e in (ok, late, moved):
        make_designation(session, e, designated_on=D("2023-12-20"))  # to 2026-12-19
        compliance.put_data_update(
            session,
            SYSTEM,
            e,
            year=2026,
            data=compliance.DataUpdateIn(
                updated_on=D("2026-05-06") if e is late else D("2026-04-20")
            ),
            today=D("2026-11-23"),
        )
    compliance.record_major_change(
        session,
        SYSTEM,
        moved,
        compliance.MajorChangeIn(kind="relocation", occurred_on=D("2026-05-10")),
        today=D("2026-11-23"),
    )
    page = client.get("/api/v1/ladder/due-reviews?within_days=60").json()
    got = {i["name"]: i for i in page["items"]}
    assert got["按期更新公司"]["review_eligible"] is True
    assert got["按期更新公司"]["data_update_deadline"] == "2026-04-30"
    assert got["逾期更新公司"]["review_eligible"] is False
    assert "晚于截止日期2026-04-30" in got["逾期更新公司"]["review_reasons"][0]
    assert got["迁址未报公司"]["review_status"] == "not_eligible"
    assert "迁址" in got["迁址未报公司"]["review_reasons"][-1]


# ---- scan ------------------------------------------------------------------------------------


def test_scan_records_what_bulk_writes_skipped_once(session: Session) -> None:
    e = make_enterprise(session)
    now = utcnow()
    # As an import or the demo writes them: no designate event, no anomaly check.
    session.execute(
        sa.insert(Designation),
        [
            {
                "enterprise_id": e.id,
                "tier_code": "little_giant",
                "designated_on": D("2025-07-01"),
                "valid_until": D("2028-06-30"),
                "status": "valid",
                "batch": "",
                "authority": "",
                "document_no": "",
                "reason": "",
                "source": "demo",
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    manual = make_enterprise(session)
    make_designation(session, manual, tier="little_giant", designated_on=D("2025-07-01"))
    compliance.record_major_change(
        session,
        SYSTEM,
        manual,
        compliance.MajorChangeIn(kind="merger", occurred_on=D("2026-01-05")),
        today=D("2026-02-01"),  # within the window when recorded
    )
    before = session.scalar(sa.select(sa.func.count()).select_from(LadderAnomaly))
    first = compliance.scan(session, SYSTEM, today=D("2026-11-23"))
    assert (first.designations_scanned, first.recorded) == (1, 2)
    assert first.by_kind == {"little_giant_without_specialized": 1, "major_change_unreported": 1}
    after = session.scalar(sa.select(sa.func.count()).select_from(LadderAnomaly))
    assert after == (before or 0) + 2
    again = compliance.scan(session, SYSTEM, today=D("2026-11-23"))
    assert (again.recorded, again.by_kind) == (0, {})
    assert session.scalar(sa.select(sa.func.count()).select_from(LadderAnomaly)) == after
    assert len(audits(session, "ladder.scan")) == 1


# ---- listing ---------------------------------------------------------------------------------


def test_listing_records_the_listed_designation_once(client: TestClient, session: Session) -> None:
    e = make_enterprise(session)
    make_designation(session, e, tier="specialized_sme", designated_on=D("2024-03-01"))
    r = client.post(
        f"{API}/{e.id}/listing",
        json={
            "stage": "listed",
            "stage_on": "2026-06-18",
            "board": "bse",
            "security_code": "920001",
        },
    )
    assert r.status_code == 201, r.text
    listed = [
        d for d in client.get(f"{API}/{e.id}/designations").json() if d["tier_code"] == "listed"
    ]
    assert len(listed) == 1
    assert (listed[0]["designated_on"], listed[0]["valid_until"]) == ("2026-06-18", None)
    row = session.get(Designation, listed[0]["id"])
    assert row is not None
    assert row.source == "listing"
    assert client.get(f"{API}/{e.id}/ladder").json()["current_tier"] == "listed"
    assert len(audits(session, "designation.add")) == 2  # the specialized SME and the listing
    r = client.post(
        f"{API}/{e.id}/listing",
        json={
            "stage": "quoted",
            "stage_on": "2026-07-01",
            "board": "neeq_basic",
            "security_code": "870001",
        },
    )
    assert r.status_code == 201, r.text
    assert (
        sum(d["tier_code"] == "listed" for d in client.get(f"{API}/{e.id}/designations").json())
        == 1
    )
    # A step short of listing records no designation.
    other = make_enterprise(session)
    client.post(f"{API}/{other.id}/listing", json={"stage": "reserve", "stage_on": "2026-01-05"})
    assert client.get(f"{API}/{other.id}/designations").json() == []


def test_cli_scan_prints_counts_and_records_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_database(tmp_path) as engine:
        migrate.upgrade(engine)
        with Session(engine) as s:
            reference_service.load(s)
            e = make_enterprise(s)
            now = utcnow()
            s.execute(
                sa.insert(Designation),
                [
                    {
                        "enterprise_id": e.id,
                        "tier_code": "specialized_sme",
                        "designated_on": D("2024-07-01"),
                        "valid_until": D("2027-06-30"),
                        "status": "valid",
                        "batch": "",
                        "authority": "",
                        "document_no": "",
                        "reason": "",
                        "source": "import:1",
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            )
            s.commit()
        monkeypatch.setenv(
            "TIERLEDGER_DATABASE_URL", engine.url.render_as_string(hide_password=False)
        )
        monkeypatch.setenv("TIERLEDGER_DATA_DIR", str(tmp_path))
        first = CliRunner().invoke(main, ["ladder", "scan", "--json", "--as-of", "2026-11-23"])
        assert first.exit_code == 0, first.output
        assert json.loads(first.output) == {
            "as_of": "2026-11-23",
            "designations_scanned": 1,
            "changes_scanned": 0,
            "recorded": 1,
            "by_kind": {"skipped_rung": 1},
        }
        again = CliRunner().invoke(main, ["ladder", "scan", "--as-of", "2026-11-23"])
        assert again.exit_code == 0, again.output
        assert "新记录异常 0 项" in again.output
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM ladder_anomaly")) == 1
