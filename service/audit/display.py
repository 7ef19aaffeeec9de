"""How a value reads in the audit trail and in an import's diffs. Pure, and light to import:
the roster reader's process plans with it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any


def display(value: Any) -> Any:
    """A JSON-safe value that reads as the user entered it (Decimals keep their digits)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [display(v) for v in value]
    return str(value)
