"""Cell formats and column widths shared by every workbook the exporter writes."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any, Final

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook

MONEY_FORMAT: Final = "#,##0.00"  # 万元, two decimals
PERCENT_FORMAT: Final = "0.00%"
DATE_FORMAT: Final = "yyyy-mm-dd"
COUNT_FORMAT: Final = "#,##0"

# Options for every workbook: constant memory keeps RSS flat and makes XlsxWriter escape
# ``_xHHHH_`` in text (its shared-string path does not); strings are never turned into formulas
# or links behind our back even where a generic ``write()`` is used.
WORKBOOK_OPTIONS: Final[dict[str, Any]] = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}

_HEADER_FILL: Final = "#DDEBF7"
_TOTAL_FILL: Final = "#F2F2F2"

# Named styles; a workbook registers each (style, quoted, boxed) variant the first time it is used.
STYLES: Final[dict[str, dict[str, Any]]] = {
    "title": {
        "bold": True,
        "font_size": 16,
        "font_name": "宋体",
        "align": "center",
        "valign": "vcenter",
        "text_wrap": True,
    },
    "info": {"font_size": 10, "align": "left", "valign": "vcenter", "text_wrap": True},
    "header": {
        "bold": True,
        "align": "center",
        "valign": "vcenter",
        "text_wrap": True,
        "border": 1,
        "bg_color": _HEADER_FILL,
    },
    "section": {"bold": True, "font_size": 12},
    "note": {"font_size": 10, "italic": True, "font_color": "#595959"},
    "text": {},
    "group": {"valign": "vcenter", "text_wrap": True},
    "center": {"align": "center"},
    "money": {"num_format": MONEY_FORMAT},
    "percent": {"num_format": PERCENT_FORMAT},
    "date": {"num_format": DATE_FORMAT, "align": "center"},
    "count": {"num_format": COUNT_FORMAT},
    "total_label": {"bold": True, "align": "center", "bg_color": _TOTAL_FILL},
    "total_text": {"bold": True, "bg_color": _TOTAL_FILL},
    "total_money": {"bold": True, "bg_color": _TOTAL_FILL, "num_format": MONEY_FORMAT},
    "total_percent": {"bold": True, "bg_color": _TOTAL_FILL, "num_format": PERCENT_FORMAT},
    "total_enterprises": {"bold": True, "bg_color": _TOTAL_FILL, "num_format": '"共"#,##0"家"'},
    "total_count": {"bold": True, "bg_color": _TOTAL_FILL, "num_format": COUNT_FORMAT},
    "subtotal_label": {"bold": True, "bg_color": "#FAFAFA"},
    "subtotal_count": {"bold": True, "bg_color": "#FAFAFA", "num_format": COUNT_FORMAT},
}


class Formats:
    """The formats of one workbook, built on first use from :data:`STYLES`."""

    def __init__(self, workbook: Workbook) -> None:
        self._workbook = workbook
        self._cache: dict[tuple[str, bool, bool], Format] = {}

    def __call__(self, style: str, *, quoted: bool = False, boxed: bool = False) -> Format:
        """Return the format of ``style``; ``quoted`` adds quotePrefix, ``boxed`` thin borders."""
        key = (style, quoted, boxed)
        found = self._cache.get(key)
        if found is None:
            props = dict(STYLES[style])
            if quoted:
                props["quote_prefix"] = True
            if boxed:
                props["border"] = 1
            found = self._cache[key] = self._workbook.add_format(props)
        return found


def display_width(text: str) -> int:
    """Width of ``text`` in half-width units: CJK and other wide characters count 2."""
    width = 0
    for ch in text:
        width += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return width


def column_width(samples: Iterable[str], *, minimum: float = 6, maximum: float = 50) -> float:
    """Excel column width that fits the widest line of ``samples``, within the given bounds."""
    widest = 0
    for sample in samples:
        for line in sample.split("\n"):
            widest = max(widest, display_width(line))
    # One Excel width unit is a digit of the default font; a CJK glyph is about two of them,
    # plus a little padding so text does not touch the cell border.
    return float(min(max(widest * 1.1 + 2, minimum), maximum))
