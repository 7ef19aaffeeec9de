"""Today's date where the ledger is kept: designations expire by Chongqing's calendar."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Annotated

from pydantic import BeforeValidator

# China keeps UTC+8 all year (no daylight saving), so a fixed offset needs no tz database.
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def today() -> date:
    return datetime.now(CHINA).date()


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    # Pydantic's lax date also takes numbers (and numeric strings) as Unix timestamps, so
    # `as_of=0` meant 1970-01-01. The API's dates are YYYY-MM-DD, as its schema says.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DAY.fullmatch(value.strip())):
        return value
    raise ValueError("format|应为日期（YYYY-MM-DD）")


# A calendar day in a request: an ISO date string (or a date), never a number.
IsoDate = Annotated[date, BeforeValidator(_iso_day)]
