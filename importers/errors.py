"""The importer's two kinds of failure: a refused file (ImportFileError) and a row problem."""

from __future__ import annotations

from dataclasses import dataclass

# Stable codes of refused files (RELIABILITY.md); programs match on these, people read the message.
EMPTY_FILE = "EMPTY_FILE"
FILE_TOO_LARGE = "FILE_TOO_LARGE"
UNSUPPORTED_FILE_TYPE = "UNSUPPORTED_FILE_TYPE"
NOT_XLSX = "NOT_XLSX"
XLS_NOT_SUPPORTED = "XLS_NOT_SUPPORTED"
WORKBOOK_ENCRYPTED = "WORKBOOK_ENCRYPTED"
CORRUPT_WORKBOOK = "CORRUPT_WORKBOOK"
ZIP_BOMB = "ZIP_BOMB"
UNSAFE_ZIP_ENTRY = "UNSAFE_ZIP_ENTRY"
XML_DTD_FORBIDDEN = "XML_DTD_FORBIDDEN"
SHEET_TOO_LARGE = "SHEET_TOO_LARGE"
MERGE_TOO_LARGE = "MERGE_TOO_LARGE"
TOO_MANY_ROWS = "TOO_MANY_ROWS"
CSV_ENCODING = "CSV_ENCODING"
SHEET_NOT_FOUND = "SHEET_NOT_FOUND"
NO_ROSTER_FOUND = "NO_ROSTER_FOUND"
EMPTY_WORKBOOK = "EMPTY_WORKBOOK"
REQUIRED_COLUMN_MISSING = "REQUIRED_COLUMN_MISSING"
READER_FAILED = "READER_FAILED"

FILE_ERROR_CODES = frozenset(
    {
        EMPTY_FILE,
        FILE_TOO_LARGE,
        UNSUPPORTED_FILE_TYPE,
        NOT_XLSX,
        XLS_NOT_SUPPORTED,
        WORKBOOK_ENCRYPTED,
        CORRUPT_WORKBOOK,
        ZIP_BOMB,
        UNSAFE_ZIP_ENTRY,
        XML_DTD_FORBIDDEN,
        SHEET_TOO_LARGE,
        MERGE_TOO_LARGE,
        TOO_MANY_ROWS,
        CSV_ENCODING,
        SHEET_NOT_FOUND,
        NO_ROSTER_FOUND,
        EMPTY_WORKBOOK,
        REQUIRED_COLUMN_MISSING,
        READER_FAILED,
    }
)


class ImportFileError(Exception):
    """The whole file is refused: a stable code and a Chinese message that names the limit."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one cell or row, as the user sees it in Excel.

    `row` is the Excel row number, `column` the header as written in the file ("" for a
    whole-row problem), `value` the cell's text, `code` a stable code, `message` Chinese.
    `column_number` (1-based) lets the annotated workbook find the cell.
    """

    row: int
    column: str
    value: str
    code: str
    message: str
    column_number: int | None = None
