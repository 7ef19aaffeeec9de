"""Issue 9: two districts' officers import their rosters at the same moment — both succeed and
nothing is mixed (each district ends up with exactly its own roster)."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.access.actor import Actor
from service.db import writer
from service.enterprises.models import Enterprise
from service.imports import service as imports
from tests import workbooks as W
from tests.importers.reference import make_code

ROWS = 300
DISTRICTS = {"500104": "大渡口区", "500115": "长寿区"}


def _roster(code: str, name: str) -> bytes:
    rows = [
        W.good_row(
            i,
            统一社会信用代码=make_code(code, 30_000_000 + 11 * i),
            企业名称=f"{name}并发导入{i:04d}有限公司",
            所属区县=name,
        )
        for i in range(1, ROWS + 1)
    ]
    return W.roster_xlsx(rows, two_row_header=True)


def test_two_districts_import_at_once(committed_db: Engine) -> None:
    engine = committed_db
    files = {code: _roster(code, name) for code, name in DISTRICTS.items()}
    barrier = threading.Barrier(len(DISTRICTS))
    results: dict[str, Any] = {}

    def run(code: str) -> None:
        officer = Actor(
            id=None, name=f"{DISTRICTS[code]}用户", role="district_officer", district_code=code
        )
        try:
            barrier.wait()
            with Session(writer(engine), expire_on_commit=False) as s:
                batch = imports.preview(
                    s,
                    officer,
                    filename=f"{code}.xlsx",
                    data=files[code],
                    today=date(2026, 11, 23),
                    data_year=2024,
                )
                s.commit()
                done = imports.commit(s, officer, batch.id or 0, checkpoint=s.commit)
                s.commit()
                results[code] = ("ok", done.id, done.status, done.created)
        except Exception as exc:  # reported below with its district
            results[code] = ("error", repr(exc))

    threads = [threading.Thread(target=run, args=(code,)) for code in DISTRICTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert set(results) == set(DISTRICTS), results
    for code, result in results.items():
        assert result[0] == "ok", (code, result)
        assert result[2] == "committed"
        assert result[3] == ROWS
    assert results["500104"][1] != results["500115"][1]
    with engine.connect() as conn:
        for code, name in DISTRICTS.items():
            names = conn.scalars(
                sa.select(Enterprise.name).where(Enterprise.district_code == code)
            ).all()
            assert len(names) == ROWS
            assert all(n.startswith(f"{name}并发导入") for n in names)
