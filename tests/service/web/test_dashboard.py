"""The dashboard: movements this year as the tier report counts them, and 可晋级 for a scope
too large to evaluate on a page view, from the kept count with its time, never a blank."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import migrate
from service.access.actor import SYSTEM, Actor
from service.db import utcnow
from service.enterprises.models import Enterprise
from service.ladder import pool, pool_counts, records
from service.ladder import service as ladder_service
from service.ladder.models import CandidateCount
from service.ladder.schemas import EvaluatorFactsIn
from service.reference import service as reference_service
from service.reports import tier_report
from service.web import dashboard
from tests.conftest import TODAY
from tests.dbutil import fresh_database
from tests.factories import make_designation, make_enterprise, make_figures
from tests.service.web.htmlcheck import problems
from tests.service.web.pageutil import add, login

KINDS = ("new", "renewal", "expiry", "revocation", "promotion")
HIGH_TECH = EvaluatorFactsIn.model_validate(
    {"titles": [{"code": "high_tech", "designated_on": "2024-01-01", "valid_until": "2027-12-31"}]}
)


def movements_on_page(html: str) -> dict[str, dict[str, int]]:
    """The movements table as {tier name: {kind: count}}, in the report's column order."""
    section = html.split('<section id="movements">', 1)[1].split("</section>", 1)[0]
    out = {}
    for name, cells in re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', section):
        counts = [int(n) for n in re.findall(r'<td class="n">(\d+)</td>', cells)]
        out[name] = dict(zip(KINDS, counts, strict=True))
    return out


def movements_of_report(session: Session, actor: Actor) -> dict[str, dict[str, int]]:
    names = {"innovative_sme": "创新型中小企业", "specialized_sme": "专精特新中小企业"}
    out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    for m in tier_report.movements(
        session, actor, tier_report.ReportRequest(), date(TODAY.year, 1, 1), TODAY
    ):
        if m.tier_code in names:
            out[names[m.tier_code]][m.kind] += m.count
    return out


def test_movements_this_year_are_every_kind_the_report_counts(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "dash_mgr")
    fresh = make_enterprise(session, name="今年新认定公司")
    make_designation(session, fresh, designated_on=date(2026, 3, 2))
    climber = make_enterprise(session, name="今年晋级公司")
    make_designation(session, climber, designated_on=date(2024, 1, 10))
    make_designation(session, climber, tier="specialized_sme", designated_on=date(2026, 5, 10))
    lapsed = make_enterprise(session, name="今年到期公司")
    make_designation(
        session,
        lapsed,
        tier="specialized_sme",
        designated_on=date(2023, 4, 1),
        valid_until=date(2026, 3, 31),
    )
    revoked = make_enterprise(session, name="今年撤销公司")
    title = make_designation(session, revoked, designated_on=date(2025, 6, 1))
    ladder_service.revoke(
        session,
        SYSTEM,
        enterprise_id=revoked.id or 0,
        enterprise_repr=revoked.name,
        designation_id=title.id or 0,
        reason="弄虚作假",
        revoked_on=date(2026, 7, 1),
        today=TODAY,
    )
    renewed = make_enterprise(session, name="今年复核公司")
    due = make_designation(
        session, renewed, designated_on=date(2023, 6, 1), valid_until=date(2026, 5, 31)
    )
    ladder_service.renew(
        session,
        SYSTEM,
        enterprise_id=renewed.id or 0,
        enterprise_repr=renewed.name,
        designation_id=due.id or 0,
        renewed_on=date(2026, 5, 20),
        reviewed_on=date(2026, 5, 15),
        today=TODAY,
    )
    client = site()
    login(client, "dash_mgr")
    r = client.get("/")
    assert r.status_code == 200
    assert not problems(r.text), problems(r.text)
    shown = movements_on_page(r.text)
    assert shown["创新型中小企业"] == {
        "new": 1,
        "renewal": 1,
        "expiry": 0,
        "revocation": 1,
        "promotion": 0,
    }
    assert shown["专精特新中小企业"] == {
        "new": 1,
        "renewal": 0,
        "expiry": 1,
        "revocation": 0,
        "promotion": 1,
    }
    # One rule: the page shows what the tier report counts, tier by tier.
    for name, counts in movements_of_report(session, SYSTEM).items():
        assert shown[name] == counts


class StartsRecorded(dashboard.Recount):
    """The real runner's bookkeeping, with the count itself left to the test."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.started: list[date] = []

    def start(self, *, today: date) -> bool:
        self.started.append(today)
        return True


def candidate(session: Session, *, district: str) -> Enterprise:
    """An enterprise that meets 创新型中小企业 by its 高新技术企业 title (MIIT-2022 (b))."""
    e = make_enterprise(session, district=district)
    records.put_facts(session, SYSTEM, e, year=2025, data=HIGH_TECH, today=TODAY)
    make_figures(session, e, year=2025, revenue="5000")
    return e


@pytest.fixture
def large_city(monkeypatch: pytest.MonkeyPatch) -> None:
    """A city past the threshold without building 5 000 enterprises in a test."""
    monkeypatch.setattr(dashboard, "CANDIDATES_ON_DASHBOARD", 1)


def card(html: str) -> str:
    return html.split('id="candidates-card">', 1)[1].split("</div>", 1)[0]


@pytest.mark.usefixtures("large_city")
def test_city_candidates_come_from_the_kept_count_with_its_time(
    site: Callable[..., TestClient], session: Session, engine: Engine
) -> None:
    add(session, "dash_city")
    add(session, "dash_officer", role="district_officer", district_code="500104")
    for district in ("500104", "500104", "500109"):
        candidate(session, district=district)
    make_enterprise(session, district="500109")  # meets nothing
    client = site()
    recount = StartsRecorded(engine)
    client.app.state.candidate_recount = recount  # type: ignore[attr-defined]
    login(client, "dash_city")

    # Nothing counted yet: the card says it is being counted, and a count is started.
    first = client.get("/")
    assert "计算中" in card(first.text)
    assert "正在后台进行" in card(first.text)
    assert recount.started == [TODAY]
    assert not problems(first.text), problems(first.text)

    # The count the background runs, on this test's session; every district gets a row.
    computed_at = utcnow()
    rows = pool_counts.count(session, today=TODAY, now=computed_at)
    pool_counts.store(session, rows)
    by_district = {r.district_code: r for r in rows}
    assert by_district["500104"].candidates == 2
    assert by_district["500109"].candidates == 1
    assert by_district["500109"].by_target == {"innovative_sme": 1}
    assert by_district["500101"].candidates == 0
    live = pool.candidates(session, SYSTEM, flt=pool.PoolFilter(), today=TODAY, page_size=1)
    assert sum(r.candidates for r in rows) == live.total == 3

    fresh = client.get("/")
    shown = card(fresh.text)
    assert '<span class="num">3</span>' in shown
    assert "计算时间" in shown
    assert "过时" not in shown
    assert recount.started == [TODAY]  # fresh: no second count
    assert not problems(fresh.text), problems(fresh.text)

    # A district officer's large district sums its own row only.
    officer = site()
    officer.app.state.candidate_recount = StartsRecorded(engine)  # type: ignore[attr-defined]
    login(officer, "dash_officer")
    assert '<span class="num">2</span>' in card(officer.get("/").text)

    # A write after the count: the figure stays, marked as possibly out of date; a recount
    # starts once the kept one is older than the throttle.
    make_enterprise(session, district="500109")
    stale = card(client.get("/").text)
    assert '<span class="num">3</span>' in stale
    assert "此后台账有变动，数字可能已过时" in stale
    assert recount.started == [TODAY]  # counted moments ago: not again yet
    for row in session.scalars(sa.select(CandidateCount)):
        row.computed_at = computed_at - timedelta(seconds=pool_counts.RECOUNT_AFTER_SECONDS + 1)
    session.flush()
    client.get("/")
    assert recount.started == [TODAY, TODAY]


def test_a_small_scope_is_counted_while_the_page_loads(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "dash_small")
    candidate(session, district="500104")
    client = site()
    login(client, "dash_small")
    shown = card(client.get("/").text)
    assert '<span class="num">1</span>' in shown
    assert "计算时间" not in shown
    assert session.scalar(sa.select(sa.func.count()).select_from(CandidateCount)) == 0


def test_the_background_count_stores_what_the_pool_finds(committed_pool: Engine) -> None:
    """The real runner in its own thread, on a committed database: it reads, then writes the
    rows in a transaction of its own."""
    recount = dashboard.Recount(committed_pool)
    assert recount.start(today=TODAY)
    recount.join(timeout=60)
    assert not recount.running
    with Session(committed_pool) as s:
        rows = {r.district_code: r.candidates for r in s.scalars(sa.select(CandidateCount))}
        kept = pool_counts.kept(s, SYSTEM, today=TODAY)
    assert rows["500104"] == 1
    assert sum(rows.values()) == 1
    assert kept is not None
    assert kept.candidates == 1
    assert not kept.stale


def test_ladder_scan_counts_the_pool_again(committed_pool: Engine) -> None:
    from click.testing import CliRunner

    from service.cli import main

    result = CliRunner().invoke(main, ["ladder", "scan", "--as-of", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert "可晋级企业 1 家" in result.output
    with Session(committed_pool) as s:
        kept = pool_counts.kept(s, SYSTEM, today=TODAY)
    assert kept is not None
    assert (kept.candidates, kept.by_target, kept.stale) == (1, {"innovative_sme": 1}, False)


@pytest.fixture
def committed_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A database of its own with one candidate committed, for code that opens its own
    transactions; the CLI is pointed at it."""
    with fresh_database(tmp_path) as engine:
        migrate.upgrade(engine)
        with Session(engine) as s:
            reference_service.load(s)
            candidate(s, district="500104")
            make_enterprise(s, district="500109")
            s.commit()
        monkeypatch.setenv(
            "TIERLEDGER_DATABASE_URL", engine.url.render_as_string(hide_password=False)
        )
        monkeypatch.setenv("TIERLEDGER_DATA_DIR", str(tmp_path))
        yield engine


def test_tier_targets_on_the_dashboard_are_the_reports_figures(session: Session) -> None:
    # A 小巨人 still counts toward the 专精特新中小企业 target, as the report's list names it.
    for tier in ("specialized_sme", "specialized_sme", "little_giant", "innovative_sme"):
        make_designation(session, make_enterprise(session), tier=tier)
    manager = Actor(id=2, name="市级管理员", role="manager")
    board = dashboard.build(session, manager, TODAY)
    report = tier_report.build(
        session, manager, tier_report.ReportRequest(), today=TODAY, now=utcnow()
    )
    reported = {t.name: int(t.current) for t in report.targets}
    shown = {name: current for name, current, _figure, _unit in board.targets}
    assert shown
    assert shown == {name: reported[name] for name in shown}
    specialized = next(n for n in shown if "专精特新中小企业" in n)
    behind = next(t for t in report.targets if t.name == specialized).enterprises
    assert shown[specialized] == len(behind) >= 3
