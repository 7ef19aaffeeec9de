"""The `tierledger` command on a fresh database of the backend under test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from service.cli import main
from service.enterprises.credit_code import check
from tests.dbutil import digest, fresh_database


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    with fresh_database(tmp_path) as engine:
        monkeypatch.setenv(
            "TIERLEDGER_DATABASE_URL", engine.url.render_as_string(hide_password=False)
        )
        monkeypatch.setenv("TIERLEDGER_DATA_DIR", str(tmp_path))
        yield engine


def _reference_digest(engine: Engine) -> str:
    with engine.connect() as conn:
        return digest(conn, ("district", "subsector", "tier", "target", "cluster_district"))


def test_db_upgrade_twice_is_a_no_op(fresh: Engine) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "新增基础数据 216 条" in first.output
    state = _reference_digest(fresh)
    second = runner.invoke(main, ["db", "upgrade"])
    assert second.exit_code == 0, second.output
    assert "新增基础数据 0 条" in second.output
    assert _reference_digest(fresh) == state
    current = runner.invoke(main, ["db", "current"])
    assert "当前版本" in current.output


def _reference_rows(engine: Engine) -> dict[str, list[str]]:
    """The reference data as loaded, without the load's own timestamps."""
    out = {}
    with engine.connect() as conn:
        for table in ("district", "subsector", "tier", "target", "cluster_district", "specialty"):
            rows = conn.execute(sa.text(f"SELECT * FROM {table}")).mappings()
            out[table] = sorted(
                repr({k: v for k, v in r.items() if k not in ("created_at", "updated_at")})
                for r in rows
            )
    return out


def test_db_downgrade_to_base_and_up_again(fresh: Engine) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    loaded = _reference_rows(fresh)
    assert all(loaded.values())
    down = runner.invoke(main, ["db", "downgrade", "base"])
    assert down.exit_code == 0, down.output
    assert "已降级到 base" in down.output
    assert set(sa.inspect(fresh).get_table_names()) <= {"alembic_version"}
    assert "（未初始化）" in runner.invoke(main, ["db", "current"]).output
    again = runner.invoke(main, ["db", "upgrade"])
    assert again.exit_code == 0, again.output
    assert "新增基础数据 216 条" in again.output
    assert _reference_rows(fresh) == loaded


def test_demo_data_makes_the_number_asked_for(fresh: Engine) -> None:
    result = CliRunner().invoke(
        main, ["demo-data", "--enterprises", "300", "--seed", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert counts["enterprises"] == 300
    with fresh.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM enterprise")) == 300
        codes = conn.scalars(sa.text("SELECT credit_code FROM enterprise")).all()
        assert conn.scalar(sa.text("SELECT count(*) FROM annual_figures")) == 900
        assert conn.scalar(sa.text("SELECT count(*) FROM designation")) == counts["designations"]
    assert all(check(c).ok for c in codes)
    assert len(set(codes)) == 300


def test_version() -> None:
    result = CliRunner().invoke(main, ["version"])
    assert result.exit_code == 0
    assert result.output.startswith("tierledger ")


def test_user_commands(fresh: Engine) -> None:
    runner = CliRunner()
    pw = "足够长的测试口令-2026\n"
    added = runner.invoke(
        main,
        [
            "user",
            "add",
            "dadukou",
            "--role",
            "district_officer",
            "--district",
            "500104",
            "--name",
            "大渡口区经信委",
            "--password-stdin",
        ],
        input=pw,
    )
    assert added.exit_code == 0, added.output
    refused = runner.invoke(
        main, ["user", "add", "bad", "--role", "district_officer", "--password-stdin"], input=pw
    )
    assert refused.exit_code == 1
    assert "区县用户必须指定所属区县" in refused.output
    weak = runner.invoke(
        main, ["user", "add", "weak", "--role", "viewer", "--password-stdin"], input="123456\n"
    )
    assert weak.exit_code == 1
    assert "密码至少8个字符" in weak.output
    assert (
        runner.invoke(main, ["user", "passwd", "dadukou", "--password-stdin"], input=pw).exit_code
        == 0
    )
    assert runner.invoke(main, ["user", "disable", "dadukou"]).exit_code == 0
    listing = runner.invoke(main, ["user", "list"])
    assert "dadukou\t大渡口区经信委\tdistrict_officer\t500104\t停用" in listing.output
    missing = runner.invoke(main, ["user", "disable", "ghost"])
    assert missing.exit_code == 1
    assert "没有用户名为“ghost”的用户" in missing.output
