"""The events of the calendar: which dates of which instances, and what each says.

Each instance gives one all-day event per distinct due date of its tracks, one per
other date param (a meeting or a deadline), and one timed event for its pending
timeout. An instance finished or cancelled gives the same events CANCELLED, and so
does a timeout of a state the instance has left, for as long as the database keeps
them: a client that imported them before removes them. UIDs name what an event is
and the database it comes from (its namespace), never when it was exported. Titles
and descriptions are in the home's language.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rcmflow.errors import DefinitionError, NotFound, RcmflowError
from rcmflow.language import _, current, ngettext, state_name
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
    #: no longer planned: the step finished or was cancelled, or the state was left
    cancelled: bool = False

    @property
    def day(self) -> dt.date:
        return self.start.date() if isinstance(self.start, dt.datetime) else self.start


def calendar_entries(engine: "Engine") -> list[Entry]:
    """The events of every instance, by date (then UID, so every export is in the same
    order): an open instance's as planned, a finished one's cancelled."""
    entries = []
    namespace = engine.namespace()
    for view in engine.status():
        try:
            definition = engine.definition_of(view)
        except (NotFound, DefinitionError):
            # Without its workflow file an instance's params cannot be read as dates;
            # `rcmflow workflows validate` says what is wrong with the file.
            continue
        entries += instance_entries(engine, view, definition, namespace)
    return sorted(entries, key=lambda e: (e.day, e.uid))


def instance_entries(engine: "Engine", view: "InstanceView", definition: Definition,
                     namespace: str = UID_DOMAIN) -> list[Entry]:
    # Typed by the engine; a stored value the file no longer accepts stays text and is left out.
    params = {k: v for k, v in view.params.items()
              if k not in definition.params or not isinstance(v, str) or definition.params[k].type == "str"}
    context = _Context(engine, view, definition, params, namespace, engine.is_final(view))
    entries = _track_deadlines(context) + _left_timeouts(context)
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
    namespace: str = UID_DOMAIN
    #: the instance is finished: every event it had is cancelled
    final: bool = False

    def uid(self, *what: str) -> str:
        return ".".join((self.view.id, *what)) + f"@{self.namespace}.{UID_DOMAIN}"

    def entry(self, uid: str, kind: str, start: dt.date | dt.datetime, summary: str, lines: list[str],
              cancelled: bool = False) -> Entry:
        return Entry(uid, kind, start, summary, "\n".join(lines), self.view.version, self.view.updated_at,
                     cancelled or self.final)

    def heading(self) -> str:
        return _("{title} {instance} (state: {state})").format(
            title=self.definition.title_in(current()), instance=self.view.id, state=state_name(self.view.state))

    def labels(self) -> list[str]:
        """The readable names of the params' values, e.g. the theme's title."""
        return [f"{label} ({name.replace('_', ' ')} {self.params[name]})"
                for name, param in self.definition.params.items()
                if param.type != "list" and (label := param.label(self.params.get(name), current()))]

    def described(self, text: str) -> list[str]:
        """A description from the workflow files, which are written in English: as a
        sentence in an English calendar, left out of another."""
        return [f"{text.strip().rstrip('.')}."] if text.strip() and current() == "en" else []

    def names(self, codes: list[str]) -> str:
        countries = self.engine.members.countries
        return ", ".join(countries[c].name(current()) if c in countries else c for c in codes)


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
        who = (ngettext("{count} country", "{count} countries", len(codes)) if members
               else ngettext("{count} participant", "{count} participants", len(codes))).format(count=len(codes))
        what = c.definition.params[key].description if key in c.definition.params else ""
        # A date other than the one the workflow plans (a track given more time) is its own event.
        uid = c.uid(key) if due == planned or len(dues) == 1 else c.uid(key, due.isoformat())
        met = (_("Not met yet by {pending} of {total}: {names}.").format(
            pending=len(pending), total=len(codes), names=c.names(pending)) if pending else _("Met by all."))
        lines = [c.heading(), *c.labels(), *c.described(what), met]
        summary = _("{instance}: input due from {who}").format(instance=c.view.id, who=who)
        entries.append(c.entry(uid, DEADLINE, due, summary, lines))
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
        named = _phrase(what) if c.described(what) else _("meeting")
        summary, when = f"{c.definition.title_in(current())}: {named}", _("Meeting: {day}.").format(day=day)
    else:
        named = _phrase(what) if c.described(what) else param.name.replace("_", " ")
        summary, when = f"{c.view.id}: {named}", _("Deadline: {day}.").format(day=day)
    lines = [c.heading(), *c.labels(), *c.described(what), when]
    return c.entry(c.uid(param.name), kind, start, summary, lines)


def _timeout(c: _Context) -> Entry:
    state = c.definition.instance.states.get(c.view.state)
    trigger = state.timeout.trigger if state and state.timeout else "timeout"
    return c.entry(c.uid(TIMEOUT, c.view.state), TIMEOUT, c.view.timeout_at.astimezone(dt.timezone.utc),
                   _("{instance}: {trigger} (timeout)").format(instance=c.view.id, trigger=trigger),
                   [c.heading(), *c.labels(), *_timeout_lines(c, trigger, c.view.state)])


def _timeout_lines(c: _Context, trigger: str, name: str) -> list[str]:
    state = c.definition.instance.states.get(name)
    return [_("At this time `rcmflow tick` fires {trigger} on {instance}, which is in {state}; if a guard "
              "still refuses, the step waits and tick tries again.").format(
                  trigger=trigger, instance=c.view.id, state=state_name(name)),
            *c.described(state.description if state else "")]


def _left_timeouts(c: _Context) -> list[Entry]:
    """The timeouts of the states the instance has left, cancelled, with the UIDs they
    had, so that a calendar that imported one removes it (dated when it was left)."""
    states = c.definition.instance.states
    pending = c.view.state if c.view.timeout_at is not None else None
    timed = {name for name, state in states.items() if state.timeout and name != pending}
    if not timed:
        return []
    left: dict[str, dt.datetime] = {}
    for event in c.engine.history(c.view.id):
        if event.participant is None and event.source in timed and event.source != event.dest:
            left[event.source] = event.at
    return [c.entry(c.uid(TIMEOUT, name), TIMEOUT, at.astimezone(dt.timezone.utc),
                    _("{instance}: {trigger} (timeout)").format(instance=c.view.id,
                                                                trigger=states[name].timeout.trigger),
                    [c.heading(), *_timeout_lines(c, states[name].timeout.trigger, name)], cancelled=True)
            for name, at in sorted(left.items())]


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

