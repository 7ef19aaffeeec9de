"""The read cache: byte-identical to an uncached answer, scoped, and never one write behind."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import migrate
from service.access.actor import SYSTEM, Actor
from service.access.deps import current_actor
from service.app import create_app
from service.audit import service as audit_service
from service.config import Settings
from service.db import READ_ONLY, get_session, make_engine, session_scope
from service.enterprises.models import Enterprise
from service.readcache import Cached, ResponseCache, ledger_version
from service.reference import admin as reference_admin
from service.reference import service as reference_service
from tests.conftest import MANAGER, OFFICER_DADUKOU, TODAY
from tests.dbutil import fresh_database
from tests.factories import make_designation, make_enterprise

API = "/api/v1/enterprises"
OFFICER_JIULONGPO = Actor(
    id=4, name="九龙坡区用户", role="district_officer", district_code="500107"
)
READS = (
    f"{API}?district=500104&tier=specialized_sme",
    f"{API}?subsector=A4&sort=-tier&page_size=50",
    f"{API}?q=%E7%BC%93%E5%AD%98&page_size=50",
    f"{API}?district=500104&page=9",  # past the end: the total comes from its own count
)


def _app(engine: Engine, session: Session, actor: Actor, *, entries: int) -> TestClient:
    settings = Settings(data_dir=Path(os.devnull).parent, read_cache_entries=entries)
    app = create_app(settings, engine=engine, today=lambda: TODAY)

    def _session() -> Iterator[Session]:
        yield session
        session.commit()

    app.dependency_overrides[get_session] = _session
    app.dependency_overrides[current_actor] = lambda: actor
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def pair(engine: Engine, session: Session) -> Callable[[Actor], tuple[TestClient, TestClient]]:
    """The same app with the cache on and off, on the test's session."""

    def build(actor: Actor) -> tuple[TestClient, TestClient]:
        return (
            _app(engine, session, actor, entries=1000),
            _app(engine, session, actor, entries=0),
        )

    return build


def _ledger(session: Session) -> Enterprise:
    """A small ledger, committed (as far as the test's session goes) before any request: a
    session's own uncommitted audit events keep it away from the cache."""
    first = None
    for i in range(3):
        e = make_enterprise(session, name=f"重庆缓存材料{i}有限公司", district="500104")
        make_designation(session, enterprise=e, tier="specialized_sme")
        first = first or e
    make_enterprise(session, name="重庆缓存九龙坡有限公司", district="500107")
    session.commit()
    assert first is not None
    return first


def test_cached_answers_are_byte_identical_to_uncached_ones(
    session: Session, pair: Callable[[Actor], tuple[TestClient, TestClient]]
) -> None:
    first = _ledger(session)
    cached, plain = pair(MANAGER)
    for path in (*READS, f"{API}/{first.id}"):
        miss, hit, reference = cached.get(path), cached.get(path), plain.get(path)
        assert reference.status_code == 200, reference.text
        assert miss.content == hit.content == reference.content, path
        for header in ("content-type", "content-length", "etag"):
            assert miss.headers.get(header) == hit.headers.get(header), (path, header)
            assert hit.headers.get(header) == reference.headers.get(header), (path, header)
    assert cached.app.state.read_cache is not None  # type: ignore[attr-defined]
    # One entry per read and the file, and the names the lists share (districts, tiers …).
    assert len(cached.app.state.read_cache) == len(READS) + 2  # type: ignore[attr-defined]


def test_a_write_is_seen_by_the_very_next_read(
    session: Session, pair: Callable[[Actor], tuple[TestClient, TestClient]]
) -> None:
    first = _ledger(session)
    client, _ = pair(MANAGER)
    listed = client.get(READS[0]).json()
    assert client.get(READS[0]).json() == listed
    name, before = first.name, client.get(f"{API}/{first.id}")
    changed = client.patch(
        f"{API}/{first.id}", json={"name": "重庆改名材料有限公司"}, headers={"If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    after = client.get(f"{API}/{first.id}")
    assert (before.json()["name"], after.json()["name"]) == (name, "重庆改名材料有限公司")
    assert after.headers["ETag"] == '"2"'
    created = make_enterprise(session, name="重庆新登记材料有限公司", district="500104")
    make_designation(session, enterprise=created, tier="specialized_sme")
    assert client.get(READS[0]).json()["total"] == listed["total"] + 1


def test_a_renamed_district_is_on_the_very_next_list(
    session: Session, pair: Callable[[Actor], tuple[TestClient, TestClient]]
) -> None:
    """The names a list shows are kept too (per ledger version): an admin's rename is a write."""
    _ledger(session)
    client, _ = pair(MANAGER)
    assert {e["district_name"] for e in client.get(READS[0]).json()["items"]} == {"大渡口区"}
    reference_admin.update_district(session, SYSTEM, "500104", name="大渡口新区", aliases=None)
    assert {e["district_name"] for e in client.get(READS[0]).json()["items"]} == {"大渡口新区"}


def test_the_cache_never_crosses_scopes(
    session: Session, pair: Callable[[Actor], tuple[TestClient, TestClient]]
) -> None:
    first = _ledger(session)
    shared = ResponseCache(1000)  # one per process, whoever asks
    manager, dadukou, jiulongpo = (
        pair(actor)[0] for actor in (MANAGER, OFFICER_DADUKOU, OFFICER_JIULONGPO)
    )
    for client in (manager, dadukou, jiulongpo):
        client.app.state.read_cache = shared  # type: ignore[attr-defined]
    search = f"{API}?q=%E7%BC%93%E5%AD%98"
    assert manager.get(f"{API}/{first.id}").status_code == 200
    assert manager.get(search).json()["total"] == 4
    assert jiulongpo.get(f"{API}/{first.id}").status_code == 404
    assert jiulongpo.get(search).json()["total"] == 1
    assert dadukou.get(search).json()["total"] == 3
    # Four answers (the 404 is not kept), and each scope's copy of the names its lists share.
    assert len(shared) == 4 + 3


def test_the_day_is_part_of_the_key(engine: Engine, session: Session) -> None:
    first = _ledger(session)
    make_designation(
        session,
        enterprise=first,
        tier="little_giant",
        designated_on=date(2023, 11, 23),
        valid_until=TODAY,
    )
    client = _app(engine, session, MANAGER, entries=1000)
    day = {"today": TODAY}
    client.app.state.today = lambda: day["today"]  # type: ignore[attr-defined]
    assert client.get(f"{API}/{first.id}").json()["current_tier"]["code"] == "little_giant"
    day["today"] = date(2026, 11, 24)
    assert client.get(f"{API}/{first.id}").json()["current_tier"]["code"] == "specialized_sme"


def test_each_audit_event_moves_the_version(session: Session) -> None:
    start = ledger_version(session)
    make_enterprise(session, name="重庆版本材料有限公司")
    assert ledger_version(session) > start


def test_the_lru_is_bounded_and_forgets_old_versions() -> None:
    cache = ResponseCache(max_entries=3, max_bytes=100)
    for i in range(5):
        cache.put(1, i, Cached(b"x" * 10, ()))
    assert len(cache) == 3
    assert cache.get(1, 0) is None
    assert cache.get(1, 4) is not None
    cache.put(1, "big", Cached(b"x" * 95, ()))
    assert len(cache) == 1  # the byte bound evicts the oldest until it fits
    assert cache.get(2, "big") is None  # a newer version empties the cache
    cache.put(1, "late", Cached(b"x", ()))  # a reader that started before the write
    assert cache.get(2, "late") is None
    assert len(cache) == 0


# ---- committed writes from another connection and another process ---------------------------


@pytest.fixture
def committed(committed_db: Engine) -> Engine:
    with session_scope(committed_db) as s:
        e = make_enterprise(s, name="重庆提交材料有限公司", district="500104")
        make_designation(s, enterprise=e, tier="specialized_sme")
    return committed_db


def test_a_rolled_back_write_leaves_the_version_and_a_commit_moves_it(
    committed: Engine,
) -> None:
    with Session(committed) as s:
        start = ledger_version(s)
    with Session(committed) as s:
        make_enterprise(s, name="重庆回滚材料有限公司")
        s.rollback()
    with Session(committed) as s:
        assert ledger_version(s) == start
    with session_scope(committed) as s:
        make_enterprise(s, name="重庆提交二号材料有限公司")
        make_enterprise(s, name="重庆提交三号材料有限公司")
    with Session(committed) as s:
        assert ledger_version(s) > start


def _served(engine: Engine) -> TestClient:
    """The app as it runs: its own sessions and commits, the cache on."""
    app = create_app(Settings(data_dir=Path(os.devnull).parent), engine=engine, today=lambda: TODAY)
    app.dependency_overrides[current_actor] = lambda: MANAGER
    return TestClient(app, raise_server_exceptions=False)


def test_a_write_committed_by_another_connection_is_seen_at_once(committed: Engine) -> None:
    client = _served(committed)
    path = f"{API}?district=500104&tier=specialized_sme"
    assert client.get(path).json()["total"] == 1
    assert client.get(path).json()["total"] == 1  # now from the cache
    # A separate engine, so a separate pool: another connection.
    other = make_engine(committed.url.render_as_string(hide_password=False))
    try:
        with session_scope(other) as s:
            e = make_enterprise(s, name="重庆另一连接材料有限公司", district="500104")
            make_designation(s, enterprise=e, tier="specialized_sme")
    finally:
        other.dispose()
    assert client.get(path).json()["total"] == 2


def test_a_write_committed_by_another_process_is_seen_at_once(committed: Engine) -> None:
    client = _served(committed)
    with Session(committed) as s:
        eid = s.scalar(sa.select(Enterprise.id))
    before = client.get(f"{API}/{eid}")
    assert before.json()["name"] == "重庆提交材料有限公司"
    assert client.get(f"{API}/{eid}").content == before.content
    script = (
        "import sys\n"
        "from service.access.actor import SYSTEM\n"
        "from service.db import make_engine, session_scope\n"
        "from service.enterprises import service\n"
        "from service.enterprises.schemas import EnterpriseUpdate\n"
        "engine = make_engine(sys.argv[1])\n"
        "with session_scope(engine) as s:\n"
        "    body = EnterpriseUpdate(name='重庆别的进程材料有限公司')\n"
        "    service.update(s, SYSTEM, int(sys.argv[2]), body, expected_version=1)\n"
    )
    subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            committed.url.render_as_string(hide_password=False),
            str(eid),
        ],
        check=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    after = client.get(f"{API}/{eid}")
    assert after.json()["name"] == "重庆别的进程材料有限公司"
    assert after.headers["ETag"] == '"2"'


def _bump_elsewhere(session: Session) -> None:
    """Another transaction's committed write, as this session's next statement would see it."""
    session.connection().exec_driver_sql(
        "UPDATE ledger_state SET version = version + 5 WHERE id = 1"
    )


def test_a_read_request_asks_the_version_once_and_still_sees_its_own_writes(
    session: Session,
) -> None:
    session.info[READ_ONLY] = True  # as service.db.get_session marks a GET's session
    first = ledger_version(session)
    _bump_elsewhere(session)
    assert ledger_version(session) == first  # remembered for the rest of the request
    audit_service.record(session, SYSTEM, action="test.write", entity="test")
    assert ledger_version(session) > first + 5  # its own write is never hidden
    session.commit()
    _bump_elsewhere(session)
    seen = ledger_version(session)  # a new transaction asks again
    assert seen > first + 10
    _bump_elsewhere(session)
    assert ledger_version(session) == seen
    session.rollback()  # both bumps since the commit are undone, and so is what was remembered
    assert ledger_version(session) == seen - 5


def test_a_write_request_asks_the_version_every_time(session: Session) -> None:
    first = ledger_version(session)
    _bump_elsewhere(session)
    assert ledger_version(session) == first + 5


def test_a_cache_hit_never_begins_the_request_s_transaction(tmp_path: Path) -> None:
    """A read whose first question is the version asks it outside a transaction: the request's
    session stays unbegun, and the version it got is the committed one, then every later
    commit's."""
    with fresh_database(tmp_path) as engine:
        migrate.upgrade(engine)
        with session_scope(engine) as setup:
            reference_service.load(setup)
        with engine.connect() as conn:
            committed = audit_service.ledger_version(conn)
        reader = Session(engine)
        reader.info[READ_ONLY] = True
        assert ledger_version(reader) == committed
        assert not reader.in_transaction()
        with session_scope(engine) as writer:
            audit_service.record(writer, SYSTEM, action="test.write", entity="test")
        assert ledger_version(reader) == committed  # remembered for this request
        later = Session(engine)
        later.info[READ_ONLY] = True
        assert ledger_version(later) == committed + 1
        reader.close()
        later.close()
