"""Working days per country: which days a country's people are at work, so that a
reminder due on a weekend or a public holiday goes out on the next working day, and a
deadline that falls on one can be flagged.

A participant code that is an ISO 3166 country code the `holidays` library knows (GT,
MX, US …) has that country's public holidays; any other participant (the SACM, RNCOM)
has the weekend only. `[calendar]` in rcmflow.toml sets both:

    [calendar]
    weekend = ["sat", "sun"]   # the days no one works; [] for none
    holidays = true            # false: public holidays count as working days
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import holidays as holiday_calendars

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: a year of holidays is looked up once per country and process
_SUPPORTED = frozenset(holiday_calendars.list_supported_countries())


@lru_cache(maxsize=None)
def _calendar(country: str, year: int) -> dict[dt.date, str]:
    return dict(holiday_calendars.country_holidays(country, years=year, language="en_US").items())


@dataclass(frozen=True)
class WorkingDays:
    weekend: frozenset[int] = frozenset({5, 6})
    holidays: bool = True

    @classmethod
    def from_settings(cls, section: dict[str, Any]) -> "WorkingDays":
        """From the `[calendar]` section of rcmflow.toml (already checked against its shape)."""
        weekend = section.get("weekend", ["sat", "sun"])
        return cls(frozenset(DAY_NAMES.index(day) for day in weekend), bool(section.get("holidays", True)))

    def holiday(self, country: str | None, day: dt.date) -> str | None:
        """The name of the public holiday `day` is in `country`, or None."""
        if not self.holidays or country not in _SUPPORTED:
            return None
        return _calendar(country, day.year).get(day)

    def closed(self, country: str | None, day: dt.date) -> str | None:
        """Why `day` is no working day in `country` ("Saturday", "Good Friday"), or None."""
        if day.weekday() in self.weekend:
            return WEEKDAYS[day.weekday()]
        return self.holiday(country, day)

    def is_working(self, country: str | None, day: dt.date) -> bool:
        return self.closed(country, day) is None

    def next_working(self, country: str | None, day: dt.date) -> dt.date:
        """`day` itself if `country` works then, else the first working day after it."""
        for _ in range(366):  # a weekend of seven days would never end
            if self.is_working(country, day):
                return day
            day += dt.timedelta(days=1)
        return day

    def days_off(self, day: dt.date, countries: list[str] | tuple[str, ...]) -> str | None:
        """Why `day` is no working day for some of `countries`, in words ("a Sunday",
        "a public holiday in GT (Good Friday), HN (Good Friday)"), or None."""
        if day.weekday() in self.weekend:
            return f"a {WEEKDAYS[day.weekday()]}"
        off = [f"{code} ({name})" for code in countries if (name := self.holiday(code, day))]
        return f"a public holiday in {', '.join(off)}" if off else None
