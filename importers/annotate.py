"""The user's own roster back, with bad cells filled and commented and an error column added."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from exports.text import clean_control_chars, needs_quote_prefix, safe_text
from importers import errors as E
from importers import safety
from importers.errors import ImportFileError, RowError
from importers.reader import Book
from importers.safety import FileKind, Limits, SheetInfo

# openpyxl's normal mode keeps every formatting detail but costs ~30 µs and ~0.6 KB per cell;
# above this many cells the annotated file is a streamed copy of the values instead.
OPENPYXL_CELL_BUDGET = 60_000
ERROR_HEADER = "错误说明"
AUTHOR = "梯度培育台账"
_RED = "FFFFC7CE"
_YELLOW = "FFFFEB9C"


def mark(
    original: bytes,
    errors: Sequence[RowError],
    *,
    filename: str,
    sheet: str,
    header_row: int,
    warnings: Sequence[RowError] = (),
    limits: Limits | None = None,
) -> bytes:
    """An .xlsx of the user's file where every cell named by an error is filled red and carries
    the reasons as a comment (warnings in yellow), plus a 错误说明 column after the last column.

    Small workbooks are edited with openpyxl and keep their formatting; large ones and CSV
    files become a new workbook with the same sheet, values and merges. Nothing written here
    can turn into a formula."""
    limits = limits or Limits()
    vetted = safety.vet(original, filename, limits)
    notes = _Notes(errors, warnings)
    if vetted.kind is FileKind.XLSX and vetted.cells <= OPENPYXL_CELL_BUDGET:
        return _mark_in_place(original, notes, sheet=sheet, header_row=header_row)
    with Book(original, vetted, limits=limits) as book:
        info = next(s for s in book.candidates(None if vetted.kind is FileKind.CSV else sheet))
        return _mark_copy(book, info, notes, header_row=header_row)


class _Notes:
    """Errors and warnings grouped by cell and by row, as the texts shown to the user."""

    def __init__(self, errors: Sequence[RowError], warnings: Sequence[RowError]) -> None:
        self.cells: dict[tuple[int, int], list[str]] = defaultdict(list)
        self.warn_cells: dict[tuple[int, int], list[str]] = defaultdict(list)
        self.rows: dict[int, list[str]] = defaultdict(list)
        for e in errors:
            self.rows[e.row].append(f"{e.column}：{e.message}" if e.column else e.message)
            if e.column_number:
                self.cells[(e.row, e.column_number)].append(e.message)
        for w in warnings:
            self.rows[w.row].append(f"提示：{w.column}：{w.message}" if w.column else w.message)
            if w.column_number and (w.row, w.column_number) not in self.cells:
                self.warn_cells[(w.row, w.column_number)].append("提示：" + w.message)
        self.max_col = max((c for _r, c in [*self.cells, *self.warn_cells]), default=0)


def _mark_in_place(original: bytes, notes: _Notes, *, sheet: str, header_row: int) -> bytes:
    safety.assert_defusedxml()
    import openpyxl
    from openpyxl.cell.cell import MergedCell
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill

    try:
        wb = openpyxl.load_workbook(io.BytesIO(original), keep_links=False, keep_vba=False)
        ws = wb[sheet]
    except KeyError as exc:
        raise ImportFileError(E.SHEET_NOT_FOUND, f"工作簿中没有名为“{sheet[:40]}”的工作表") from exc
    except Exception as exc:  # openpyxl raises many unrelated types on damaged parts
        raise ImportFileError(E.CORRUPT_WORKBOOK, f"无法打开工作簿（{str(exc)[:120]}）") from exc

    red = PatternFill("solid", fgColor=_RED)
    yellow = PatternFill("solid", fgColor=_YELLOW)
    # Excel would evaluate these texts after any edit; the prefix keeps them text.
    for row in ws.iter_rows():
        for cell in row:
            if (
                cell.data_type == "s"
                and isinstance(cell.value, str)
                and needs_quote_prefix(cell.value)
            ):
                cell.quotePrefix = True

    for (r, c), messages in [*notes.warn_cells.items(), *notes.cells.items()]:
        cell = ws.cell(row=r, column=c)
        if isinstance(cell, MergedCell):
            continue
        is_error = (r, c) in notes.cells
        cell.fill = red if is_error else yellow
        text = clean_control_chars("\n".join(messages))
        cell.comment = Comment(text, AUTHOR, height=40 + 20 * len(messages), width=260)

    last = max(ws.max_column, notes.max_col)
    col = last + 1
    head = ws.cell(row=header_row, column=col)
    _set_text(head, ERROR_HEADER)
    head.font = Font(bold=True, color="FF9C0006")
    head.fill = red
    ws.column_dimensions[head.column_letter].width = 60
    for r, messages in notes.rows.items():
        cell = ws.cell(row=r, column=col)
        _set_text(cell, "；\n".join(messages))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.font = Font(color="FF9C0006")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _set_text(cell: Any, text: str) -> None:
    """A text cell that stays text: openpyxl would store "=…" as a formula, and refuses the
    control characters a message may quote from the user's cell."""
    cleaned, risky = safe_text(text)
    cell.value = cleaned
    cell.data_type = "s"
    if risky:
        cell.quotePrefix = True


def _mark_copy(book: Book, info: SheetInfo, notes: _Notes, *, header_row: int) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    wb = xlsxwriter.Workbook(
        out,
        {
            "in_memory": True,
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    ws = wb.add_worksheet(_sheet_title(info.name))
    formats: dict[tuple[str, bool, bool], Any] = {}

    def fmt(fill: str, date: bool = False, quote: bool = False) -> Any:
        key = (fill, date, quote)
        if key not in formats:
            spec: dict[str, Any] = {}
            if fill:
                spec.update(pattern=1, bg_color="#" + fill[2:])
            if date:
                spec["num_format"] = "yyyy-mm-dd"
            if quote:
                spec["quote_prefix"] = True
            formats[key] = wb.add_format(spec) if spec else None
        return formats[key]

    # Merges are not copied: XlsxWriter's constant-memory mode cannot pad a merge's later rows.
    if book.vetted.kind is FileKind.CSV:
        rows = list(book.rows(info))
        width = max((len(v) for _n, v in rows), default=0)
    else:
        width = book.sheet_width(info)
        rows = None
    col = max(width, notes.max_col) + 1
    error_fmt = wb.add_format({"bold": True, "font_color": "#9C0006", "bg_color": "#FFC7CE"})
    wrap = wb.add_format({"text_wrap": True, "valign": "top", "font_color": "#9C0006"})
    ws.set_column(col - 1, col - 1, 60)
    for number, values in rows if rows is not None else book.rows(info):
        r = number - 1
        for c in range(1, col):
            value = values[c - 1] if c <= len(values) else None
            if (number, c) in notes.cells:
                fill, messages = _RED, notes.cells[(number, c)]
            elif (number, c) in notes.warn_cells:
                fill, messages = _YELLOW, notes.warn_cells[(number, c)]
            else:
                if c > len(values):
                    break
                fill, messages = "", []
            if value is not None and value != "":
                _write(ws, r, c - 1, value, fill, fmt)
            elif fill:
                ws.write_blank(r, c - 1, None, fmt(fill))
            if messages:
                comment = clean_control_chars("\n".join(messages))
                ws.write_comment(r, c - 1, comment, {"author": AUTHOR, "x_scale": 2})
        if number == header_row:
            ws.write_string(r, col - 1, ERROR_HEADER, error_fmt)
        elif number in notes.rows:
            ws.write_string(r, col - 1, clean_control_chars("；\n".join(notes.rows[number])), wrap)
    wb.close()
    return out.getvalue()


def _write(ws: Any, r: int, c: int, value: Any, fill: str, fmt: Any) -> None:
    if isinstance(value, bool):
        ws.write_boolean(r, c, value, fmt(fill))
    elif isinstance(value, int | float | Decimal):
        ws.write_number(r, c, float(value), fmt(fill))
    elif isinstance(value, dt.datetime | dt.date):
        stamp = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        ws.write_datetime(r, c, stamp, fmt(fill, date=True))
    else:
        # The exports' rule: XlsxWriter would write a CR or a control character as an
        # `_xHHHH_` escape that openpyxl, and so the next upload's reader, takes literally.
        text, risky = safe_text(str(value))
        ws.write_string(r, c, text, fmt(fill, quote=risky))


def _sheet_title(name: str) -> str:
    # Excel's rules for sheet names; a CSV "sheet" or an odd name must still make a valid file.
    cleaned = "".join("_" if ch in "[]:*?/\\" or ord(ch) < 32 else ch for ch in name).strip("'")
    return cleaned[:31] or "名单"
