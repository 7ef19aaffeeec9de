"""A real server on 127.0.0.1 and headless Chromium (Debian's package) driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service import migrate
from service.access import service as access_service
from service.access.actor import SYSTEM
from service.db import make_engine, session_scope
from service.demo import generate
from service.reference import service as reference_service
from tests.conftest import TODAY
from tests.dbutil import pg_url
from tests.liveserver import live_server

CHROMIUM = os.environ.get("TIERLEDGER_CHROMIUM", "/usr/bin/chromium")
# One folder per backend: CI runs the SQLite and PostgreSQL passes side by side.
ARTIFACTS = (
    Path(__file__).resolve().parents[1] / "artifacts" / ("postgresql" if pg_url() else "sqlite")
)
PASSWORD = "浏览器测试用的足够长口令-2026"
USERS = {
    "e2e_admin": ("admin", None),
    "e2e_manager": ("manager", None),
    "e2e_officer": ("district_officer", "500104"),
    "e2e_commissioner": ("commissioner", None),
    "e2e_viewer": ("viewer", None),
}
# Without these, Chromium tries to reach Google's hosts, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _require(what: str, ok: bool) -> None:
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required in CI (installed by .ci/system-packages)")
    pytest.skip(f"{what} is not installed")


# Two commissioners who serve the same enterprise (technology and finance), to collide on it.
COMMISSIONERS = {"e2e_comm_tech": "tech", "e2e_comm_finance": "finance"}
SHARED_FILE = "龙湖两专员共管材料有限公司"  # sorts last: other tests edit the first file


def _two_commissioners_on_one_file(session: Any) -> None:
    from service.commissioners import service as commissioner_service
    from service.commissioners.schemas import CommissionerCreate
    from service.enterprises import service as enterprise_service
    from service.enterprises.schemas import EnterpriseCreate
    from tests.factories import credit_code

    shared = enterprise_service.create(
        session,
        SYSTEM,
        EnterpriseCreate(
            credit_code=credit_code("500104"),
            name=SHARED_FILE,
            district_code="500104",
            subsector_code="A4.01",
            contact_person="原联系人",
        ),
    )
    for username, specialty in COMMISSIONERS.items():
        user = access_service.add_user(
            session,
            SYSTEM,
            username=username,
            display_name=username,
            role="commissioner",
            password=PASSWORD,
        )
        commissioner = commissioner_service.create_commissioner(
            session,
            SYSTEM,
            CommissionerCreate(
                name=f"{username}专员",
                specialties=[specialty],
                district_codes=["500104"],
                cluster_codes=[],
                capacity=10,
                active=True,
                user_id=user.id,
            ),
        )
        commissioner_service.assign(
            session,
            SYSTEM,
            enterprise=shared,
            specialty_code=specialty,
            commissioner_id=commissioner.id or 0,
            started_on=TODAY,
            today=TODAY,
        )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{data_dir / 'e2e.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        reference_service.load(session)
        for username, (role, district) in USERS.items():
            access_service.add_user(
                session,
                SYSTEM,
                username=username,
                display_name=username,
                role=role,
                password=PASSWORD,
                district_code=district,
            )
        generate(session, SYSTEM, enterprises=300, seed=11, today=TODAY)
        _two_commissioners_on_one_file(session)
    engine.dispose()
    with live_server(url, data_dir, start_seconds=30) as live:
        yield live.base


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _require("Chromium", Path(CHROMIUM).exists() or shutil.which("chromium") is not None)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require("Playwright for Python", False)
        raise
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=server, locale="zh-CN", accept_downloads=True)
    p = context.new_page()
    yield p
    context.close()


def sign_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")
