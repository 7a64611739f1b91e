"""Values as users write them: ISO dates and times, durations, and the param types.

This is the one place that reads a date, a date and time or a duration from text;
every message names the form that would be valid.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rcmflow.errors import BadInput
from rcmflow.language import _

DURATION = re.compile(r"^(\d+)\s*([wdhm])$")
DURATION_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}


#: the years rcmflow supports: date arithmetic (a deadline's reminders, a timeout, the end
#: of a day) stays in Python's range for every date in them
YEARS = range(1900, 9001)


def supported(moment: Any, text: Any = None) -> Any:
    """`moment` (a date or datetime) if its year is one rcmflow supports, else BadInput."""
    if moment.year not in YEARS:
        raise BadInput(_("{value} is outside the years rcmflow supports ({first} to {last})").format(
            value=repr(str(text or moment)), first=YEARS[0], last=YEARS[-1]))
    return moment


def parse_date(text: Any) -> dt.date:
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    try:
        return supported(dt.date.fromisoformat(str(text).strip()), text)
    except ValueError:
        raise BadInput(_("{value} is not a date; write it as YYYY-MM-DD, e.g. 2017-04-20").format(value=repr(text))) from None


def parse_datetime(text: Any) -> dt.datetime:
    if isinstance(text, dt.datetime):
        return text
    if isinstance(text, dt.date):
        return dt.datetime.combine(text, dt.time())
    try:
        return supported(dt.datetime.fromisoformat(str(text).strip()), text)
    except ValueError:
        raise BadInput(_("{value} is not a date and time; write it as ISO 8601, e.g. 2017-04-24T15:00").format(
            value=repr(text))) from None


def parse_moment(text: Any, zone: dt.tzinfo) -> dt.datetime:
    """A date and time as UTC; one without a zone is read in `zone` (the home's)."""
    moment = parse_datetime(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(dt.timezone.utc)


def parse_duration(text: Any) -> dt.timedelta:
    match = DURATION.match(str(text).strip())
    if not match:
        raise BadInput(_("{value} is not a duration; write a number and a unit, e.g. 14d, 12h, 2w, 30m").format(
            value=repr(text)))
    amount, unit = match.groups()
    try:
        return dt.timedelta(**{DURATION_UNITS[unit]: int(amount)})
    except (OverflowError, ValueError):
        raise BadInput(_("{value} is too long a duration; write at most 999999999d, e.g. 14d").format(
            value=repr(str(text)[:40]))) from None


def parse_bool(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    lowered = str(text).strip().lower()
    if lowered in {"true", "yes", "1", "on"}:
        return True
    if lowered in {"false", "no", "0", "off"}:
        return False
    raise BadInput(_("{value} is not a yes/no value; use true or false").format(value=repr(text)))


def _parse_int(text: Any) -> int:
    if isinstance(text, bool):
        raise BadInput(_("{value} is not a whole number").format(value=repr(text)))
    try:
        return int(str(text).strip())
    except ValueError:
        raise BadInput(_("{value} is not a whole number").format(value=repr(text))) from None


def _parse_float(text: Any) -> float:
    try:
        return float(str(text).strip())
    except ValueError:
        raise BadInput(_("{value} is not a number").format(value=repr(text))) from None


def _parse_list(text: Any) -> list[str]:
    """A list param is given as comma-separated words: --set subgroup=MX,GT,HN."""
    items = text if isinstance(text, list) else str(text).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


PARAM_TYPES = {
    "str": lambda v: str(v),
    "text": lambda v: str(v),
    "list": _parse_list,
    "int": _parse_int,
    "float": _parse_float,
    "bool": parse_bool,
    "date": parse_date,
    "datetime": parse_datetime,
}


def to_json_value(value: Any) -> Any:
    """Dates become ISO strings so that params and data can be stored as JSON."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def to_plain(value: Any) -> Any:
    """The loader's containers as plain dicts and lists, dates as ISO strings."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return to_json_value(value)
