"""Rows of a vetted workbook or CSV as (Excel row number, cell values from column A), streamed."""

from __future__ import annotations

import csv
import io
from collections.abc import Generator
from types import TracebackType
from typing import Any, Literal

from importers import errors as E
from importers.errors import ImportFileError
from importers.normalize import Cell
from importers.safety import FileKind, Limits, SheetInfo, Vetted, assert_defusedxml

Engine = Literal["calamine", "openpyxl"]
Row = tuple[int, list[Cell]]

# The name a CSV's only "sheet" gets in ParsedRoster and error messages.
CSV_SHEET = "CSV"


class Book:
    """An opened upload. Only sheets that the vetting bounded are ever handed to a reader."""

    def __init__(
        self,
        data: bytes,
        vetted: Vetted,
        *,
        engine: Engine = "calamine",
        limits: Limits | None = None,
    ) -> None:
        self.data = data
        self.vetted = vetted
        self.engine = engine
        self.limits = limits or Limits()
        self._calamine: Any = None
        self._openpyxl: Any = None
        self._sheets: dict[str, Any] = {}

    def __enter__(self) -> Book:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._sheets.clear()
        if self._calamine is not None:
            self._calamine.close()
            self._calamine = None
        if self._openpyxl is not None:
            self._openpyxl.close()
            self._openpyxl = None

    def candidates(self, requested: str | None) -> list[SheetInfo]:
        """The sheet the user named, or every visible worksheet in workbook order."""
        if self.vetted.kind is FileKind.CSV:
            return [SheetInfo(name=CSV_SHEET, part="")]
        sheets = list(self.vetted.sheets)
        if requested is not None:
            for info in sheets:
                if info.name == requested:
                    return [info]
            names = "、".join(f"“{s.name}”" for s in sheets[:20])
            raise ImportFileError(
                E.SHEET_NOT_FOUND, f"工作簿中没有名为“{requested[:40]}”的工作表（现有：{names}）"
            )
        visible = [s for s in sheets if s.state == "visible"]
        return visible or sheets

    def rows(self, info: SheetInfo, *, streaming: bool = False) -> Generator[Row, None, None]:
        """Every row from row 1 to the sheet's last used row; short rows are not padded.
        `streaming` reads with openpyxl's read-only mode whatever the engine, for a caller that
        wants only the first rows (python-calamine reads a sheet whole)."""
        if self.vetted.kind is FileKind.CSV:
            return self._csv_rows()
        if self.engine == "openpyxl" or streaming:
            return self._openpyxl_rows(info)
        return self._calamine_rows(info)

    def _csv_rows(self) -> Generator[Row, None, None]:
        text = self.vetted.text or ""
        sample = text[:8192]
        delimiter = ","
        first = sample.split("\n", 1)[0]
        if "\t" in first and "," not in first:
            delimiter = "\t"
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            for number, record in enumerate(reader, start=1):
                if len(record) > self.limits.max_columns:
                    raise ImportFileError(
                        E.SHEET_TOO_LARGE,
                        f"CSV 第{number}行有 {len(record)} 列，"
                        f"超过上限 {self.limits.max_columns} 列",
                    )
                yield number, [v if v.strip() else None for v in record]
        except csv.Error as exc:
            raise ImportFileError(
                E.CORRUPT_WORKBOOK, f"CSV 文件格式有误（{str(exc)[:80]}）：请检查引号是否成对"
            ) from exc

    def _calamine_sheet(self, info: SheetInfo) -> Any:
        import python_calamine

        sheet = self._sheets.get(info.name)
        if sheet is not None:
            return sheet
        try:
            if self._calamine is None:
                self._calamine = python_calamine.CalamineWorkbook.from_filelike(
                    io.BytesIO(self.data)
                )
            sheet = self._calamine.get_sheet_by_name(self._calamine_name(info.name))
        except python_calamine.PasswordError as exc:
            raise ImportFileError(
                E.WORKBOOK_ENCRYPTED, "工作簿设置了密码，请取消后重新上传"
            ) from exc
        except python_calamine.CalamineError as exc:
            raise ImportFileError(
                E.CORRUPT_WORKBOOK, f"无法读取工作表“{info.name[:40]}”（{str(exc)[:120]}）"
            ) from exc
        # Only the sheet being read is kept: each holds its whole range in memory.
        self._sheets = {info.name: sheet}
        return sheet

    def _calamine_name(self, name: str) -> str:
        # An XML parser turns a tab or line break in an attribute into a space; python-calamine
        # keeps it. The vetting parsed the names the XML way.
        names: list[str] = self._calamine.sheet_names
        if name in names:
            return name
        wanted = " ".join(name.split())
        return next((n for n in names if " ".join(n.replace("\t", " ").split()) == wanted), name)

    def sheet_width(self, info: SheetInfo) -> int:
        """The last used column of a workbook sheet (1-based), 0 when it is empty."""
        if self.vetted.kind is FileKind.CSV:
            return max((len(v) for _n, v in self._csv_rows()), default=0)
        end = self._calamine_sheet(info).end
        return 0 if end is None else int(end[1]) + 1

    def _calamine_rows(self, info: SheetInfo) -> Generator[Row, None, None]:
        import python_calamine

        sheet = self._calamine_sheet(info)
        start = sheet.start
        if start is None:
            return
        # python-calamine yields rows from the sheet's first row but columns only from its
        # first used column: put the missing columns back so that index 0 is column A.
        pad: list[Cell] = [None] * start[1]
        try:
            for number, values in enumerate(sheet.iter_rows(), start=1):
                yield number, pad + values if pad else values
        except python_calamine.CalamineError as exc:
            raise ImportFileError(
                E.CORRUPT_WORKBOOK, f"无法读取工作表“{info.name[:40]}”（{str(exc)[:120]}）"
            ) from exc
        finally:
            self._sheets.pop(info.name, None)

    def _openpyxl_rows(self, info: SheetInfo) -> Generator[Row, None, None]:
        assert_defusedxml()
        import openpyxl

        try:
            if self._openpyxl is None:
                self._openpyxl = openpyxl.load_workbook(
                    io.BytesIO(self.data),
                    read_only=True,
                    data_only=True,
                    keep_links=False,
                    keep_vba=False,
                )
            ws = self._openpyxl[info.name]
            # The <dimension> may lie; never pad rows to it.
            ws.reset_dimensions()
            for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
                yield number, list(values)
        except ImportFileError:
            raise
        except Exception as exc:  # openpyxl raises many unrelated types on damaged parts
            raise ImportFileError(
                E.CORRUPT_WORKBOOK, f"无法读取工作表“{info.name[:40]}”（{str(exc)[:120]}）"
            ) from exc
