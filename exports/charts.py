"""Native Excel charts for the tier report, drawn from ranges the report has just written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from xlsxwriter.chart import Chart
from xlsxwriter.workbook import Workbook

# Colours that stay apart in print and for the common colour-vision deficiencies.
PALETTE = ("#4472C4", "#ED7D31", "#A5A5A5", "#FFC000", "#5B9BD5", "#70AD47", "#264478", "#9E480E")


@dataclass(frozen=True, slots=True)
class Series:
    """One series: its name cell and its values, a column (or row) of the sheet."""

    name_row: int
    name_col: int
    first_row: int
    first_col: int
    last_row: int
    last_col: int


def series_by_column(
    *, header_row: int, first_row: int, last_row: int, cols: Sequence[int]
) -> list[Series]:
    """One series per column, named by its header cell."""
    return [Series(header_row, c, first_row, c, last_row, c) for c in cols]


def series_by_row(
    *, label_col: int, rows: Sequence[int], first_col: int, last_col: int
) -> list[Series]:
    """One series per row, named by its label cell."""
    return [Series(r, label_col, r, first_col, r, last_col) for r in rows]


def column_chart(
    workbook: Workbook,
    sheet: str,
    *,
    title: str,
    categories: tuple[int, int, int, int],
    series: Sequence[Series],
    stacked: bool = False,
    y_title: str = "企业数（家）",
    x_title: str | None = None,
    rotate_labels: bool = False,
    size: tuple[int, int] = (960, 420),
) -> Chart:
    """A clustered or stacked column chart.

    ``categories`` is the (first_row, first_col, last_row, last_col) range of the axis labels.
    """
    chart = _chart(workbook, "column", "stacked" if stacked else None)
    for i, s in enumerate(series):
        chart.add_series(
            {
                "name": [sheet, s.name_row, s.name_col],
                "categories": [sheet, *categories],
                "values": [sheet, s.first_row, s.first_col, s.last_row, s.last_col],
                "fill": {"color": PALETTE[i % len(PALETTE)]},
                "gap": 60,
                **({"overlap": 100} if stacked else {}),
            }
        )
    _dress(chart, title, x_title, y_title, size, rotate_labels=rotate_labels)
    return chart


def line_chart(
    workbook: Workbook,
    sheet: str,
    *,
    title: str,
    categories: tuple[int, int, int, int],
    series: Sequence[Series],
    y_title: str = "企业数（家）",
    x_title: str | None = None,
    rotate_labels: bool = False,
    size: tuple[int, int] = (960, 380),
) -> Chart:
    """A line chart with markers, one line per series, for counts over time."""
    chart = _chart(workbook, "line", None)
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        chart.add_series(
            {
                "name": [sheet, s.name_row, s.name_col],
                "categories": [sheet, *categories],
                "values": [sheet, s.first_row, s.first_col, s.last_row, s.last_col],
                "line": {"color": colour, "width": 2},
                "marker": {"type": "circle", "size": 5, "fill": {"color": colour}},
            }
        )
    _dress(chart, title, x_title, y_title, size, rotate_labels=rotate_labels)
    return chart


def _chart(workbook: Workbook, kind: Literal["column", "line"], subtype: str | None) -> Chart:
    options: dict[str, str] = {"type": kind}
    if subtype:
        options["subtype"] = subtype
    chart = workbook.add_chart(options)
    if chart is None:  # pragma: no cover - XlsxWriter returns None only for unknown types
        raise ValueError(f"chart type {kind!r} unsupported")
    result: Chart = chart
    return result


def _dress(
    chart: Chart,
    title: str,
    x_title: str | None,
    y_title: str,
    size: tuple[int, int],
    *,
    rotate_labels: bool,
) -> None:
    chart.set_title({"name": title, "name_font": {"size": 13, "bold": True}})
    x_axis: dict[str, Any] = {}
    if x_title:
        x_axis["name"] = x_title
    if rotate_labels:
        x_axis["num_font"] = {"rotation": -45}
    chart.set_x_axis(x_axis)
    chart.set_y_axis(
        {"name": y_title, "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}}
    )
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": size[0], "height": size[1]})
