"""Pages fixtures: the real app with real sign-in, on the test's rolled-back session."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.app import create_app
from service.config import Settings
from service.db import get_session
from tests.conftest import TODAY


@pytest.fixture
def site(engine: Engine, session: Session) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def build(settings: Settings | None = None) -> TestClient:
        app = create_app(
            settings or Settings(data_dir=Path(os.devnull).parent),
            engine=engine,
            today=lambda: TODAY,
        )

        def _session() -> Iterator[Session]:
            yield session
            session.commit()

        app.dependency_overrides[get_session] = _session
        client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
        clients.append(client)
        return client

    yield build
    for c in clients:
        c.close()
