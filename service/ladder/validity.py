"""The validity of a designation: pure date arithmetic, light to import (the roster reader's
process plans designations with it)."""

from __future__ import annotations

from datetime import date, timedelta


def validity_end(designated_on: date, years: int) -> date:
    """The last valid day of a title valid for `years` years from `designated_on`."""
    try:
        same_day = designated_on.replace(year=designated_on.year + years)
    except ValueError:  # 29 February in a non-leap target year
        same_day = designated_on.replace(year=designated_on.year + years, day=28)
    return same_day - timedelta(days=1)
