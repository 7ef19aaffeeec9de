"""`tierledger commissioner add|list|report` on a fresh database of the backend under test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from service.cli import main
from tests.dbutil import fresh_database


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    with fresh_database(tmp_path) as engine:
        monkeypatch.setenv(
            "TIERLEDGER_DATABASE_URL", engine.url.render_as_string(hide_password=False)
        )
        monkeypatch.setenv("TIERLEDGER_DATA_DIR", str(tmp_path))
        yield engine


def test_add_list_and_reports(fresh: Engine) -> None:
    runner = CliRunner()
    added = runner.invoke(
        main,
        [
            "commissioner", "add", "陈静",
            "--specialty", "科技", "--specialty", "finance",
            "--org", "市中小企业服务中心", "--district", "500104", "--capacity", "8",
        ],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "已登记服务专员 陈静" in added.output
    bad = runner.invoke(main, ["commissioner", "add", "王", "--specialty", "烹饪"])
    assert bad.exit_code == 1
    assert "专长“烹饪”不存在" in bad.output
    listed = runner.invoke(main, ["commissioner", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["name"], r["specialties"], r["capacity"]) for r in rows] == [
        ("陈静", ["tech", "finance"], 8)
    ]
    for kind in ("coverage", "load", "followup"):
        out = runner.invoke(main, ["commissioner", "report", kind, "--json"])
        assert out.exit_code == 0, out.output
        data = json.loads(out.output)
        assert data
    load = json.loads(runner.invoke(main, ["commissioner", "report", "load", "--json"]).output)
    assert load["rows"][0]["commissioner_name"] == "陈静"
    text = runner.invoke(main, ["commissioner", "report", "coverage"])
    assert "合计" in text.output
