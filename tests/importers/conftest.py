"""Fixtures for the importer's tests: the reference vocabulary and a parse helper."""

from __future__ import annotations

from typing import Any

import pytest

from importers import roster
from importers.vocab import Vocabulary
from tests.importers.reference import vocabulary

DATA_YEAR = 2024


@pytest.fixture(scope="session")
def vocab() -> Vocabulary:
    return vocabulary()


@pytest.fixture
def parse(vocab: Vocabulary) -> Any:
    """roster.parse with the reference vocabulary and data year 2024 unless told otherwise."""

    def run(data: bytes, filename: str = "名单.xlsx", **kwargs: Any) -> roster.ParsedRoster:
        kwargs.setdefault("data_year", DATA_YEAR)
        return roster.parse(data, filename, vocab, **kwargs)

    return run
