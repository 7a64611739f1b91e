"""The return date an out-of-office reply gives, in Spanish or English."""

from __future__ import annotations

import datetime as dt
import re

MONTHS = {name: number for number, names in enumerate((
    ("january", "jan", "enero", "ene"), ("february", "feb", "febrero"), ("march", "mar", "marzo"),
    ("april", "apr", "abril", "abr"), ("may", "mayo"), ("june", "jun", "junio"), ("july", "jul", "julio"),
    ("august", "aug", "agosto", "ago"), ("september", "sep", "sept", "septiembre", "setiembre"),
    ("october", "oct", "octubre"), ("november", "nov", "noviembre"), ("december", "dec", "diciembre", "dic"),
), 1) for name in names}
_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
#: what introduces the day of return; Spanish writes day/month, English month/day
CUE = re.compile(r"\b(?P<es>hasta el|hasta|regreso el|regresar[eé] el|de regreso el|volver[eé] el|"
                 r"estar[eé] de vuelta el|a partir del)|\b(until|till|back on|back in the office on|"
                 r"return(ing)? on|return to the office on|returning|back)\b", re.I)
DATES = (
    ("iso", re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")),
    ("slash", re.compile(r"(?P<a>\d{1,2})/(?P<b>\d{1,2})(/(?P<y>\d{2,4}))?")),
    ("dmy", re.compile(rf"(?P<d>\d{{1,2}})(º|°)?( de)? {_MONTH}(,?( de)? (?P<y>\d{{4}}))?", re.I)),
    ("mdy", re.compile(rf"{_MONTH} (?P<d>\d{{1,2}})(st|nd|rd|th)?(,? (?P<y>\d{{4}}))?", re.I)),
)


def return_date(text: str, sent: dt.datetime | None) -> dt.date | None:
    """The first date after a cue such as "until", "back on", "hasta el", "regreso el";
    a date without a year is the next one after the message was sent."""
    for cue in CUE.finditer(text[:4000]):
        window = text[cue.end():cue.end() + 60]
        found = _first_date(window, spanish=bool(cue.group("es")))
        if found:
            return _complete(found, (sent or dt.datetime.now(dt.timezone.utc)).date())
    return None


def _first_date(window: str, spanish: bool) -> tuple[int | None, int, int] | None:
    matches = [(m.start(), kind, m) for kind, pattern in DATES if (m := pattern.search(window))]
    if not matches:
        return None
    _, kind, m = min(matches, key=lambda found: found[0])
    year = int(m.group("y")) if m.groupdict().get("y") else None
    if year is not None and year < 100:
        year += 2000
    if kind == "slash":
        first, second = int(m.group("a")), int(m.group("b"))
        day, month = (first, second) if spanish or first > 12 else (second, first)
    elif kind == "iso":
        day, month = int(m.group("d")), int(m.group("m"))
    else:
        day = int(m.group("d"))
        month = next(MONTHS[g.lower()] for g in m.groups() if g and g.lower() in MONTHS)
    return year, month, day


def _complete(found: tuple[int | None, int, int], today: dt.date) -> dt.date | None:
    year, month, day = found
    try:
        if year is not None:
            return dt.date(year, month, day)
        candidate = dt.date(today.year, month, day)
        return candidate if candidate >= today else dt.date(today.year + 1, month, day)
    except ValueError:
        return None
