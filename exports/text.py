"""Formula-safe text: the one place that decides how user text enters a workbook or a CSV file.

The rule, applied to every string an export writes (RELIABILITY.md, acceptance test 11):

1. Line endings are normalised as XML itself does: ``\\r\\n`` and a lone ``\\r`` become ``\\n``.
   A raw CR cannot survive an XML reader, and XlsxWriter's ``_x000D_`` escape is read back
   literally by openpyxl, so the importer would see a changed value.
2. The other C0 control characters (U+0000–U+0008, U+000B, U+000C, U+000E–U+001F), the XML
   non-characters U+FFFE and U+FFFF, and lone surrogates (U+D800–U+DFFF, which UTF-8 cannot
   encode) are each replaced by U+FFFD REPLACEMENT CHARACTER, so the reader sees that something
   was there instead of two words silently joined.
3. Everything else is kept byte for byte: tab, line feed, DEL, C1 controls, full-width forms.
4. Text whose first character is one of ``= + - @ \\t \\r \\n`` or a full-width ``＝ ＋ － ＠``
   is still written as text, never as a formula: in a workbook the cell carries ``quotePrefix``
   (Excel, WPS and LibreOffice then show it as typed and never evaluate it); in a CSV file the
   field is prefixed with ``'`` as OWASP's CSV-injection cheat sheet advises.

Excel holds at most 32 767 characters in a cell; XlsxWriter truncates longer text.
A literal ``_xHHHH_`` in user text is written as ``_x005F_xHHHH_`` (the OOXML escape of the
underscore): Excel and LibreOffice show the original, openpyxl shows the escape (undo it with
``openpyxl.utils.escape.unescape``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Final, TextIO

REPLACEMENT: Final = "\ufffd"

# First characters that make Excel, WPS, LibreOffice or Google Sheets treat typed or imported
# text as a formula (or, for tab and line breaks, hide such a character in front of one).
FORMULA_TRIGGERS: Final = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")

# What a workbook cannot hold (XML 1.0), UTF-8 cannot encode, or PostgreSQL refuses (NUL): the
# ledger refuses it on the way in (service.inputs, the roster reader) and replaces it on the way
# out (`clean_control_chars`), by this one class.
UNSTORABLE: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CR: Final = re.compile("\r\n?")

# One search that finds every string needing more than a plain write: a trigger in front, or any
# character the cleaning rule changes.  Most ledger text matches nothing, so this keeps the
# per-cell cost of the export to a single C-level call.
_ATTENTION: Final = re.compile(
    "^[=+\\-@\t\r\n\uff1d\uff0b\uff0d\uff20]|[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]"
)
needs_attention: Final = _ATTENTION.search


def clean_control_chars(text: str) -> str:
    """Return ``text`` with line endings normalised and other control characters replaced."""
    if "\r" in text:
        text = _CR.sub("\n", text)
    return UNSTORABLE.sub(REPLACEMENT, text)


def unstorable_reason(text: str) -> str | None:
    """Why `text` cannot be kept, in Chinese, naming its first unstorable character; else None."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    return f"不能包含控制字符（第{found.start() + 1}个字符为U+{ord(found.group()):04X}）"


def needs_quote_prefix(text: str) -> bool:
    """Tell whether ``text`` starts with a character that could make it read as a formula."""
    return text[:1] in FORMULA_TRIGGERS


def safe_text(text: str) -> tuple[str, bool]:
    """Return the cleaned text and whether its cell must carry ``quotePrefix``."""
    if needs_attention(text) is None:
        return text, False
    cleaned = clean_control_chars(text)
    return cleaned, needs_quote_prefix(cleaned)


def safe_sheet_name(name: str, used: set[str]) -> str:
    """Return a legal, unique (case-insensitively) worksheet name and remember it in ``used``."""
    cleaned = clean_control_chars(name).replace(REPLACEMENT, "")
    cleaned = re.sub(r"[\[\]:*?/\\]", "_", cleaned).strip().strip("'") or "Sheet"
    base = cleaned[:31]
    candidate, n = base, 1
    while candidate.casefold() in used or candidate.casefold() == "history":
        n += 1
        suffix = f"({n})"
        candidate = base[: 31 - len(suffix)] + suffix
    used.add(candidate.casefold())
    return candidate


def safe_file_name(name: str) -> str:
    """Return ``name`` usable as a zip member or download file name on every platform."""
    cleaned = clean_control_chars(name).replace(REPLACEMENT, "").replace("\n", " ")
    cleaned = re.sub(r'[<>:"/\\|?*\t]', "_", cleaned).strip(" .")
    return cleaned[:120] or "workbook"


CsvValue = str | int | float | Decimal | dt.date | bool | None


def csv_field(value: CsvValue) -> str:
    """Render one CSV field: text cleaned, ``'``-prefixed when risky, and always double-quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return '"是"' if value else '"否"'
    if isinstance(value, int | float | Decimal):
        # Numbers stay unquoted so spreadsheet programs read them as numbers (−1234.5 too).
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    cleaned, risky = safe_text(value)
    if risky:
        cleaned = "'" + cleaned
    return '"' + cleaned.replace('"', '""') + '"'


def write_csv(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[CsvValue]]) -> None:
    """Write an RFC 4180 CSV (CRLF records, quoted text) with OWASP formula neutralisation.

    Open ``out`` with ``encoding="utf-8-sig"`` and ``newline=""`` so Excel detects UTF-8.
    """
    out.write(",".join(csv_field(h) for h in header) + "\r\n")
    for row in rows:
        out.write(",".join(csv_field(v) for v in row) + "\r\n")
