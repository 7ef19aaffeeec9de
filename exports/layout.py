"""The frame every exported sheet shares: merged title, info row, grouped header, print setup."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, Final

from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from exports.styles import WORKBOOK_OPTIONS, Formats, display_width
from exports.text import safe_text

TITLE_ROW: Final = 0
INFO_ROW: Final = 1
HEADER_ROW: Final = 2  # first header row; a grouped header takes two rows

PAPER_A4: Final = 9
PAPER_A3: Final = 8

# Where a workbook goes: a path, or a binary file object (a spooled temp file, a response body).
Output = IO[bytes] | str | os.PathLike[str]


@contextmanager
def open_workbook(out: Output, tmpdir: str | None = None) -> Iterator[Workbook]:
    """A constant-memory workbook writing to ``out``, closed (written) when the block succeeds.

    XlsxWriter keeps each sheet's rows in a temp file until ``close()``; they live in a private
    directory removed on the way out, so a row source failing half-way leaves nothing behind.
    """
    with tempfile.TemporaryDirectory(prefix="tierledger-xlsx-", dir=tmpdir) as scratch:
        options = dict(WORKBOOK_OPTIONS, tmpdir=scratch)
        target: Any = os.fspath(out) if isinstance(out, str | os.PathLike) else out
        workbook = Workbook(target, options)
        yield workbook
        workbook.close()


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a sheet: its header label, the group label above it, and its width."""

    label: str
    width: float = 10.0
    group: str | None = None


def put_text(
    ws: Worksheet,
    row: int,
    col: int,
    text: str,
    formats: Formats,
    style: str = "text",
    *,
    boxed: bool = False,
) -> None:
    """Write ``text`` as a text cell, cleaned and quote-prefixed per :mod:`exports.text`."""
    cleaned, quoted = safe_text(text)
    ws.write_string(row, col, cleaned, formats(style, quoted=quoted, boxed=boxed))


def zh_date(day: dt.date) -> str:
    """``2025年6月30日``: the date style of Chinese official documents."""
    return f"{day.year}年{day.month}月{day.day}日"


def info_line(scope_zh: str, as_of: dt.date, exported_at: dt.datetime) -> str:
    """The line under every title: scope, as-of date and export time."""
    return (
        f"范围：{scope_zh}　　数据截至：{zh_date(as_of)}　　导出时间：{exported_at:%Y-%m-%d %H:%M}"
    )


def header_rows(columns: Sequence[Column]) -> int:
    """How many header rows ``columns`` need: two when any column sits under a group label."""
    return 2 if any(c.group for c in columns) else 1


def write_frame(
    ws: Worksheet,
    formats: Formats,
    *,
    title: str,
    info: str,
    columns: Sequence[Column],
    first_row: int = 0,
) -> int:
    """Write title, info and header rows from ``first_row``; return the first data row."""
    last_col = len(columns) - 1
    title_row, info_row, header_row = first_row, first_row + 1, first_row + 2
    n_header = header_rows(columns)
    groups = _group_runs(columns)

    # Register every merge before writing anything: in constant-memory mode XlsxWriter drops a
    # merge whose first row has already been flushed, and writing the lower half of a two-row
    # header cell flushes the upper row.  An empty value with no format writes nothing here.
    if last_col > 0:
        ws.merge_range(title_row, 0, title_row, last_col, "", None)
        ws.merge_range(info_row, 0, info_row, last_col, "", None)
    if n_header == 2:
        for col, column in enumerate(columns):
            if column.group is None:
                ws.merge_range(header_row, col, header_row + 1, col, "", None)
        for start, end, _label in groups:
            if end > start:
                ws.merge_range(header_row, start, header_row, end, "", None)

    # Merged cells clip: on a narrow table let the title and info wrap onto more lines.
    table_width = sum(c.width for c in columns)
    ws.set_row(title_row, 26 * _lines(display_width(title) * 1.5, table_width) + 8)
    put_text(ws, title_row, 0, title, formats, "title")
    ws.set_row(info_row, 15 * _lines(display_width(info), table_width) + 5)
    put_text(ws, info_row, 0, info, formats, "info")

    header = formats("header")
    group_at = {start: label for start, _end, label in groups}
    for col, column in enumerate(columns):
        if n_header == 1 or column.group is None:
            put_text(ws, header_row, col, column.label, formats, "header")
        elif col in group_at:
            put_text(ws, header_row, col, group_at[col], formats, "header")
        else:
            ws.write_blank(header_row, col, None, header)
    if n_header == 2:
        for col, column in enumerate(columns):
            if column.group is None:
                ws.write_blank(header_row + 1, col, None, header)
            else:
                put_text(ws, header_row + 1, col, column.label, formats, "header")
    tallest = max((display_width(c.label) / max(c.width, 1.0) for c in columns), default=1.0)
    ws.set_row(header_row + n_header - 1, 18 * min(3, max(1, int(tallest + 0.99))))

    for col, column in enumerate(columns):
        ws.set_column(col, col, column.width)
    return header_row + n_header


def setup_sheet(
    ws: Worksheet,
    *,
    header_first: int,
    header_last: int,
    last_col: int,
    last_row: int | None,
    freeze_cols: int = 0,
    paper: int = PAPER_A4,
    autofilter: bool = True,
    print_gridlines: bool = True,
) -> None:
    """Freeze panes under the header, add the autofilter and set the page up for printing.

    ``last_row`` is the last data row to filter (``None`` for a sheet without one).
    """
    ws.freeze_panes(header_last + 1, freeze_cols)
    if autofilter:
        ws.autofilter(header_last, 0, max(header_last, last_row or header_last), last_col)
    ws.repeat_rows(header_first, header_last)
    ws.set_landscape()
    ws.set_paper(paper)
    ws.fit_to_pages(1, 0)  # one page wide, as many tall as needed
    ws.center_horizontally()
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer("&C第 &P 页，共 &N 页")
    if print_gridlines:
        ws.hide_gridlines(0)  # body cells carry no borders: print the grid instead


def _lines(width: float, available: float) -> int:
    """Lines a wrapped text of ``width`` units needs in ``available`` units (at most 4)."""
    return max(1, min(4, -(-int(width) // max(int(available) - 2, 1))))


def _group_runs(columns: Sequence[Column]) -> list[tuple[int, int, str]]:
    """Runs of adjacent columns sharing a group label, as (first, last, label)."""
    runs: list[tuple[int, int, str]] = []
    for col, column in enumerate(columns):
        if column.group is None:
            continue
        if runs and runs[-1][1] == col - 1 and runs[-1][2] == column.group:
            runs[-1] = (runs[-1][0], col, column.group)
        else:
            runs.append((col, col, column.group))
    return runs
