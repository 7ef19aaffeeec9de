"""A total row (合计/总计/小计 in the 序号 column) is skipped and counted, never an enterprise."""

from __future__ import annotations

from typing import Any

import pytest

from tests import workbooks as W


@pytest.mark.parametrize("label", ["合计", "总计", "小计", "合 计"])
def test_a_trailing_total_row_is_skipped_and_counted(parse: Any, label: str) -> None:
    rows = [W.good_row(i) for i in range(1, 4)]
    # As the ledger export writes it: the label under 序号, a count under 企业名称, sums after.
    total = {k: None for k in rows[0]} | {"序号": label, "企业名称": 3, "营业收入": 37036.8}
    plain = parse(W.roster_xlsx(rows, title_rows=0))
    parsed = parse(W.roster_xlsx([*rows, total], title_rows=0))
    assert parsed.errors == []
    assert [r.credit_code for r in parsed.rows] == [r.credit_code for r in plain.rows]
    assert parsed.data_rows == plain.data_rows == 3
    assert parsed.skipped_rows == plain.skipped_rows + 1


def test_a_row_numbered_like_data_is_not_a_total(parse: Any) -> None:
    rows = [W.good_row(i) for i in range(1, 3)]
    rows[1]["统一社会信用代码"] = None  # a real row with a missing code stays an error
    parsed = parse(W.roster_xlsx(rows, title_rows=0))
    assert [e.code for e in parsed.errors] == ["CREDIT_CODE_MISSING"]
