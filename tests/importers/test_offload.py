"""A roster streamed in parts, in this process or a child, reads exactly as `parse` reads it,
refuses what `parse` refuses, and a reader that dies refuses the file instead of hanging."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from importers import errors as E
from importers import offload, roster
from importers.errors import ImportFileError
from importers.safety import Limits
from importers.vocab import Vocabulary
from tests import workbooks as W
from tests.importers.reference import make_code


def _messy() -> bytes:
    """Errors, warnings, a blank row, a row with neither name nor code, a duplicate whose
    first occurrence is several parts earlier, and notes at the bottom."""
    rows = [W.good_row(i) for i in range(1, 41)]
    rows[4] = W.good_row(5, 所属区县="火星区")
    rows[9] = W.good_row(10, 企业名称=None, 统一社会信用代码=None, 细分领域="镁合金")
    rows[17] = W.good_row(18, 统一社会信用代码=make_code("500104", 20_000_002))
    rows[22] = W.good_row(23, 营业收入=10, 研发费用=20)  # a warning: R&D above revenue
    rows[30] = W.good_row(31, 企业名称=rows[2]["企业名称"])  # a warning: same name, other code
    rows[39] = W.good_row(40, 成立日期="2021-02-30")  # the last row is an error
    return W.roster_xlsx(
        rows, blank_rows_after=[6, 7], notes=["注：以上数据由企业填报", "填报人：张三"]
    )


def _collected(items: list[Any]) -> roster.ParsedRoster:
    found = [i for i in items if isinstance(i, roster.Found)]
    parts = [i for i in items if isinstance(i, roster.Part)]
    summary = items[-1]
    assert isinstance(summary, roster.ParsedRoster)
    assert len(found) == 1
    assert items[0] is found[0]
    assert (found[0].sheet, found[0].header_row) == (summary.sheet, summary.header_row)
    assert found[0].columns == summary.columns
    return roster.ParsedRoster(
        **{
            **summary.__dict__,
            "rows": [r for p in parts for r in p.rows],
            "errors": [e for p in parts for e in p.errors],
            "warnings": [w for p in parts for w in p.warnings],
        }
    )


@pytest.mark.parametrize("where", ["here", "child"])
@pytest.mark.parametrize("part_rows", [1, 3, 1000])
def test_a_streamed_roster_reads_as_parse_reads_it(
    vocab: Vocabulary, where: str, part_rows: int
) -> None:
    data = _messy()
    whole = roster.parse(data, "名单.xlsx", vocab, data_year=2024)
    assert {e.code for e in whole.errors} >= {
        "DISTRICT_UNKNOWN",
        "IDENTITY_MISSING",
        "DUPLICATE_CREDIT_CODE",
        "DATE_INVALID",
    }
    assert whole.warnings
    read = roster.stream if where == "here" else offload.stream
    items = list(read(data, "名单.xlsx", vocab, data_year=2024, part_rows=part_rows))
    assert _collected(items) == whole
    parts = [i for i in items if isinstance(i, roster.Part)]
    # Parts hold part_rows good rows each (the last one the rest), in sheet order, and every
    # error reaches the caller no later than the part of the first good row after it.
    assert all(len(p.rows) == part_rows for p in parts[:-1])
    last_good = 0
    for p in parts:
        assert all(e.row > last_good for e in p.errors)
        if p.rows:
            last_good = p.rows[-1].row


@pytest.mark.parametrize(
    ("data", "filename", "limits", "code"),
    [
        (b"name,code\n", "名单.xlsx", None, E.NOT_XLSX),
        (W.zip_bomb(), "名单.xlsx", None, E.ZIP_BOMB),
        (W.roster_xlsx([], headers=["甲", "乙"]), "名单.xlsx", None, E.NO_ROSTER_FOUND),
        # Only the rows reveal this limit: refused between parts, after rows were sent.
        (
            W.roster_xlsx([W.good_row(i) for i in range(1, 30)]),
            "名单.xlsx",
            Limits(max_rows=20),
            E.TOO_MANY_ROWS,
        ),
    ],
)
def test_the_child_refuses_what_parse_refuses(
    vocab: Vocabulary, data: bytes, filename: str, limits: Limits | None, code: str
) -> None:
    with pytest.raises(ImportFileError) as here:
        roster.parse(data, filename, vocab, data_year=2024, limits=limits)
    with pytest.raises(ImportFileError) as child:
        list(offload.stream(data, filename, vocab, data_year=2024, limits=limits, part_rows=5))
    assert (child.value.code, child.value.message) == (here.value.code, here.value.message)
    assert here.value.code == code
    assert _readers() == []


def _readers() -> list[Any]:
    return [p for p in multiprocessing.active_children() if p.name == "tierledger-roster-reader"]


def test_a_reader_that_dies_refuses_the_file(vocab: Vocabulary) -> None:
    # One row a part: the child fills the pipe long before the end and waits there, alive.
    data = W.roster_xlsx([W.good_row(i) for i in range(1, 3001)])
    items = offload.stream(data, "名单.xlsx", vocab, data_year=2024, part_rows=1)
    assert isinstance(next(items), roster.Found)
    (child,) = _readers()
    os.kill(child.pid, signal.SIGKILL)
    with pytest.raises(ImportFileError) as info:
        for _ in items:
            pass
    assert info.value.code == E.READER_FAILED
    assert "退出码 -9" in info.value.message
    assert _readers() == []


def test_a_caller_that_stops_early_leaves_no_reader(vocab: Vocabulary) -> None:
    data = W.roster_xlsx([W.good_row(i) for i in range(1, 3001)])
    items = offload.stream(data, "名单.xlsx", vocab, data_year=2024, part_rows=1)
    assert isinstance(next(items), roster.Found)
    assert len(_readers()) == 1
    items.close()
    assert _readers() == []


_figure_values = st.one_of(
    st.integers(-(10**12), 10**12),
    st.decimals(allow_nan=False, allow_infinity=False, places=None),
)


@given(
    figures=st.dictionaries(
        st.integers(1990, 2030),
        st.dictionaries(
            st.sampled_from(["operating_revenue", "employees", "rd_expense"]), _figure_values
        ),
        max_size=3,
    ),
    designated_on=st.one_of(st.none(), st.dates()),
    key=st.one_of(st.none(), st.booleans()),
)
def test_a_row_crosses_to_the_caller_exactly(
    figures: dict[int, dict[str, Any]], designated_on: Any, key: bool | None
) -> None:
    row = roster.RosterRow(
        row=7,
        credit_code=make_code("500104", 20_000_001),
        name="重庆测试新材料有限公司",
        district_code="500104",
        designated_on=designated_on,
        key_enterprise=key,
        figures=figures,
        date_precision={"designated_on": "month"} if designated_on else {},
    )
    back = pickle.loads(pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == row
    # The same Decimals, exponent and all (1.50 stays 1.50), and ints stay ints.
    assert {y: {k: (type(v), str(v)) for k, v in f.items()} for y, f in back.figures.items()} == {
        y: {k: (type(v), str(v)) for k, v in f.items()} for y, f in figures.items()
    }


def test_a_reader_over_its_memory_limit_refuses_the_file(vocab: Vocabulary) -> None:
    # Below what the reader has mapped already (a fork server's child starts at about 36 MB):
    # its first large allocation fails (MemoryError, or python-calamine's abort), and the
    # caller, whose memory is untouched, refuses the file. 2 000 rows: a file of 200 could
    # be read within heap the fork server's imports had freed, without a new allocation.
    data = W.roster_xlsx([W.good_row(i) for i in range(1, 2001)])
    with pytest.raises(ImportFileError) as info:
        list(offload.stream(data, "名单.xlsx", vocab, data_year=2024, memory_limit=16 << 20))
    assert info.value.code == E.READER_FAILED
    assert _readers() == []
    # The same file reads in full under the default limit.
    items = list(offload.stream(data, "名单.xlsx", vocab, data_year=2024))
    assert sum(len(i.rows) for i in items if isinstance(i, roster.Part)) == 2000


def _tagged(found: roster.Found, part: roster.Part, tag: str) -> tuple[Any, ...]:
    """An `after_part` for the test: runs in the child, names the sheet and the part's rows."""
    return (tag, found.sheet, [r.row for r in part.rows], len(part.errors))


def test_after_part_replaces_each_part_with_what_the_child_made_of_it(vocab: Vocabulary) -> None:
    data = _messy()
    plain = list(offload.stream(data, "名单.xlsx", vocab, data_year=2024, part_rows=4))
    made = list(
        offload.stream(
            data,
            "名单.xlsx",
            vocab,
            data_year=2024,
            part_rows=4,
            after_part=_tagged,
            after_part_arg="已处理",
        )
    )
    parts = [i for i in plain if isinstance(i, roster.Part)]
    assert len(parts) > offload.AHEAD + 2  # more than the inbox holds
    assert made[0] == plain[0]  # the header, untouched
    assert made[-1] == plain[-1]  # and the summary
    assert made[1:-1] == [
        ("已处理", plain[0].sheet, [r.row for r in p.rows], len(p.errors)) for p in parts
    ]
