"""Reading ids and days out of request parameters without ever raising: a bad value is None (or is clamped).

`str.isdigit()` is no guard before `int()`: "²" and "①" are digits to it but not to `int()`, and "١٢" (Arabic-
Indic digits) is read by `int()` as 12. An id is a plain ASCII number, and dates stay where datetime arithmetic
and the database's time-zone conversion cannot overflow. Shared by the clients and bookings views.
"""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError

# Primary keys are bigints; anything larger cannot name a row.
MAX_ID = 2**63 - 1
_ASCII_NUMBER = re.compile(r"[0-9]{1,19}")

# Days the dashboard reads and computes with: far enough from date.min/date.max that adding a week, a month or
# a time-zone offset never leaves datetime's range, and wide enough for any real booking or client record.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)
DAY_RANGE_ERROR = f"Choose a date between {EARLIEST_DAY.year} and {LATEST_DAY.year}."


def parse_id(raw: object) -> int | None:
    """The positive bigint `raw` spells in ASCII digits (surrounding spaces allowed), otherwise None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _ASCII_NUMBER.fullmatch(raw.strip()):
        value = int(raw.strip())
    else:
        return None
    return value if 0 < value <= MAX_ID else None


def day_in_range(day: date) -> bool:
    return EARLIEST_DAY <= day <= LATEST_DAY


def checked_day(day: date | None) -> date | None:
    """A form's date, refused (ValidationError) outside the range where day arithmetic cannot overflow."""
    if day is not None and not day_in_range(day):
        raise ValidationError(DAY_RANGE_ERROR, code="out_of_range")
    return day


def clamp_day(day: date) -> date:
    """`day`, moved to the nearest end of the range the dashboard works in."""
    return min(max(day, EARLIEST_DAY), LATEST_DAY)
