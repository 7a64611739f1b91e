"""The events of the calendar: which dates of which open instances, and what each says.

Each instance not in a final state gives one all-day event per distinct due date of
its tracks, one per other date param (a meeting or a deadline), and one timed event
for its pending timeout. UIDs name what an event is, never when it was exported.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rcmflow.errors import DefinitionError, NotFound, RcmflowError
from rcmflow.model.definition import Definition, Param
from rcmflow.model.values import parse_date

if TYPE_CHECKING:
    from rcmflow import Engine
    from rcmflow.context import InstanceView

DEADLINE, MEETING, TIMEOUT = "deadline", "meeting", "timeout"
UID_DOMAIN = "rcmflow"

_MEETING_WORD = re.compile(r"\bmeeting\b", re.IGNORECASE)


def date_kind(param: Param) -> str:
    """Whether a date param is a MEETING or a DEADLINE; the one place that decides.

    The YAML has no field for it, so the param says it in words: a date whose name or
    description has the word "meeting" is a meeting (`meeting`: "The online meeting
    that opens the discussion", `date`: "Day of the meeting", `stocktaking`: "The
    stocktaking meeting in Mexico"). Every other date is a day by which something is
    due (`deadline`, `comments_due`: "Last day for comments on the compilation", …).
    """
    return MEETING if _MEETING_WORD.search(f"{param.name} {param.description}") else DEADLINE


@dataclass(frozen=True)
class Entry:
    """One calendar event: all day when `start` is a date, timed when a datetime (UTC)."""

    uid: str
    kind: str
    start: dt.date | dt.datetime
    summary: str
    description: str
    #: the instance's version and last change, so that a client takes the newer copy
    sequence: int
    last_modified: dt.datetime | None

    @property
    def day(self) -> dt.date:
        return self.start.date() if isinstance(self.start, dt.datetime) else self.start


def calendar_entries(engine: "Engine") -> list[Entry]:
    """The events of every open instance, by date (then UID, so every export is in the same order)."""
    entries = []
    for view in engine.status():
        try:
            definition = engine.definition_of(view)
        except (NotFound, DefinitionError):
            # Without its workflow file an instance's params cannot be read as dates;
            # `rcmflow workflows validate` says what is wrong with the file.
            continue
        if not engine.is_final(view):
            entries += instance_entries(engine, view, definition)
    return sorted(entries, key=lambda e: (e.day, e.uid))


def instance_entries(engine: "Engine", view: "InstanceView", definition: Definition) -> list[Entry]:
    # Typed by the engine; a stored value the file no longer accepts stays text and is left out.
    params = {k: v for k, v in view.params.items()
              if k not in definition.params or not isinstance(v, str) or definition.params[k].type == "str"}
    context = _Context(engine, view, definition, params)
    entries = _track_deadlines(context)
    # The date the tracks' deadline is made from is already their event.
    covered = {_deadline_param(definition)} if entries else set()
    for name, param in definition.params.items():
        value = params.get(name)
        if param.type in ("date", "datetime") and value is not None and name not in covered:
            entries.append(_date_param(context, param, value))
    if view.timeout_at is not None:
        entries.append(_timeout(context))
    return entries


# --- the events of one instance ---------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    engine: "Engine"
    view: "InstanceView"
    definition: Definition
    params: dict[str, Any]

    def uid(self, *what: str) -> str:
        return ".".join((self.view.id, *what)) + f"@{UID_DOMAIN}"

    def entry(self, uid: str, kind: str, start: dt.date | dt.datetime, summary: str, lines: list[str]) -> Entry:
        return Entry(uid, kind, start, summary, "\n".join(lines), self.view.version, self.view.updated_at)

    def heading(self, language: str) -> str:
        state = "state" if language == "en" else "estado"
        return f"{self.definition.title_in(language)} {self.view.id} ({state}: {self.view.state})"

    def labels(self) -> list[str]:
        """The readable names of the params' values, e.g. the theme's title."""
        return [f"{label} ({name.replace('_', ' ')} {self.params[name]})"
                for name, param in self.definition.params.items()
                if param.type != "list" and (label := param.label(self.params.get(name)))]

    def names(self, codes: list[str], language: str) -> str:
        countries = self.engine.members.countries
        return ", ".join(countries[c].name(language) if c in countries else c for c in codes)


def _track_deadlines(c: _Context) -> list[Entry]:
    track = c.definition.track
    dues = sorted({t.due for t in c.view.tracks.values() if t.due is not None})
    if track is None or not dues:
        return []
    key = _deadline_param(c.definition) or "deadline"
    planned = _planned_due(c)
    countries = c.engine.members.countries
    entries = []
    for due in dues:
        codes = [p for p, t in c.view.tracks.items() if t.due == due]
        pending = [p for p in codes if c.view.tracks[p].state not in track.deadline_met]
        members = all(p in countries and countries[p].member for p in codes)
        who = counted(len(codes), "country" if members else "participant", "countries" if members else None)
        quien = counted(len(codes), "país" if members else "participante", "países" if members else None)
        what = c.definition.params[key].description if key in c.definition.params else ""
        # A date other than the one the workflow plans (a track given more time) is its own event.
        uid = c.uid(key) if due == planned or len(dues) == 1 else c.uid(key, due.isoformat())
        if pending:
            met = f"Not met yet by {len(pending)} of {len(codes)}: {c.names(pending, 'en')}."
            met_es = f"Pendiente para {len(pending)} de {len(codes)}: {c.names(pending, 'es')}."
        else:
            met, met_es = "Met by all.", "Cumplida por todos."
        lines = [c.heading("en"), *c.labels(), *([f"{what.rstrip('.')}."] if what else []), met, "",
                 c.heading("es"), f"Fecha límite para {quien}. {met_es}"]
        entries.append(c.entry(uid, DEADLINE, due, f"{c.view.id}: input due from {who}", lines))
    return entries


def _date_param(c: _Context, param: Param, value: dt.date | dt.datetime) -> Entry:
    kind = date_kind(param)
    what = param.description or param.name.replace("_", " ")
    if isinstance(value, dt.datetime):  # a moment in the project's time zone, written in UTC
        start = (value if value.tzinfo else value.replace(tzinfo=c.engine.config.timezone)).astimezone(dt.timezone.utc)
    else:
        start = value
    day = f"{start:%Y-%m-%d %H:%M} UTC" if isinstance(start, dt.datetime) else start.isoformat()
    if kind == MEETING:
        # Named by the step it belongs to: "Troika meeting RCM–SACM: day of the meeting".
        summary = f"{c.definition.title_in('en')}: {_phrase(what)}"
        spanish = f"Reunión: {day}."
    else:
        summary = f"{c.view.id}: {_phrase(what)}"
        spanish = f"Fecha límite: {day}."
    lines = [c.heading("en"), *c.labels(), f"{what.rstrip('.')}.", "", c.heading("es"), spanish]
    return c.entry(c.uid(param.name), kind, start, summary, lines)


def _timeout(c: _Context) -> Entry:
    state = c.definition.instance.states.get(c.view.state)
    trigger = state.timeout.trigger if state and state.timeout else "its timeout"
    about = f" ({state.description.rstrip('.')})" if state and state.description else ""
    lines = [c.heading("en"), *c.labels(),
             f"At this time `rcmflow tick` fires {trigger} on {c.view.id}, which is in {c.view.state}{about}; "
             f"if a guard still refuses, the step waits and tick tries again.", "",
             c.heading("es"),
             f"Plazo: a esta hora `rcmflow tick` dispara {trigger} en {c.view.id} (estado {c.view.state}); "
             f"si una condición aún lo impide, el paso espera y tick lo vuelve a intentar."]
    start = c.view.timeout_at.astimezone(dt.timezone.utc)
    return c.entry(c.uid(TIMEOUT, c.view.state), TIMEOUT, start, f"{c.view.id}: {trigger} (timeout)", lines)


def _deadline_param(definition: Definition) -> str | None:
    """The param the tracks' deadline is made from (`deadline` in "{{ params.deadline }}")."""
    template = definition.track.deadline if definition.track else None
    match = re.fullmatch(r"\{\{\s*params\.(\w+)\s*\}\}", template.text.strip()) if template else None
    return match.group(1) if match else None


def _planned_due(c: _Context) -> dt.date | None:
    template = c.definition.track.deadline
    value = template.render({"params": c.params}) if template else None
    try:
        return parse_date(value) if value not in (None, "") else None
    except RcmflowError:
        return None


def _phrase(text: str) -> str:
    """A description as part of a title: "The stocktaking meeting" -> "stocktaking meeting"."""
    text = re.sub(r"^the\s+", "", text.strip().rstrip("."), flags=re.IGNORECASE)
    return text[:1].lower() + text[1:]


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 event", "3 events", "2 countries"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
