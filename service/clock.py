"""Today's date where the ledger is kept: designations expire by Chongqing's calendar."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

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


_ISO_MOMENT = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)


def _iso_moment(value: object) -> object:
    # As for dates: `until=0.5` must not mean half a second after 1970.
    if isinstance(value, datetime) or (
        isinstance(value, str) and _ISO_MOMENT.fullmatch(value.strip())
    ):
        return value
    raise ValueError("format|应为时间（YYYY-MM-DDTHH:MM:SS，可带时区）")


def _in_china(value: datetime) -> datetime:
    # Users write times as they read them on the wall: without an offset, Chongqing time.
    return value if value.tzinfo is not None else value.replace(tzinfo=CHINA)


# A moment in a request: an ISO 8601 string (or a datetime), never a number; offset-less
# times are Chongqing time.
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_moment), AfterValidator(_in_china)]
