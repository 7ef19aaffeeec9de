"""File downloads: safe Content-Disposition with a Chinese file name, never inline."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO
from urllib.parse import quote

from fastapi.responses import StreamingResponse

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP = "application/zip"


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback plus filename*=UTF-8''…; CR/LF and quotes cannot get in."""
    clean = re.sub(r"[\x00-\x1f\x7f\"\\/]", "_", filename)[:150]
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", clean) or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(clean, safe='')}"


def stream_workbook(
    spool: IO[bytes], filename: str, *, media_type: str = XLSX
) -> StreamingResponse:
    """Send a finished workbook (or zip of them) from a spooled temporary file, then close it."""
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while block := spool.read(256 * 1024):
                yield block

    return StreamingResponse(
        chunks(),
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(filename),
            "X-Content-Type-Options": "nosniff",
        },
    )
