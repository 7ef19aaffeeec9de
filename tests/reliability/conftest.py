"""Committed databases for crash, race and backup tests (no rollback isolation here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from service import migrate
from service.db import session_scope
from service.reference import service as reference_service
from tests.dbutil import fresh_database


@pytest.fixture
def committed_db(tmp_path: Path) -> Iterator[Engine]:
    """A fresh migrated database of the backend under test, with reference data committed."""
    with fresh_database(tmp_path) as engine:
        migrate.upgrade(engine)
        with session_scope(engine) as session:
            reference_service.load(session)
        yield engine
