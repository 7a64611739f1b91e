"""The frozen definition: what a workflow file says, once it has been validated.

Plain data only: the states, transitions, guards and actions by name, params with
their types. `model.validate` builds these; nothing here reads a file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from rcmflow.errors import BadInput
from rcmflow.language import _
from rcmflow.model.refs import Template
from rcmflow.model.values import PARAM_TYPES


@dataclass(frozen=True)
class Param:
    name: str
    type: str = "str"
    choices: tuple[Any, ...] = ()
    required: bool = False
    default: Any = None
    description: str = ""
    #: a readable name for each choice (the title of each theme), per language
    labels: dict[Any, dict[str, str]] = field(default_factory=dict)

    def label(self, value: Any, language: str = "en") -> str:
        """The choice's name in `language`, else in English, else ""; for a list, its items' names."""
        if isinstance(value, (list, tuple)):  # a list param (a subgroup): never a key of labels
            return ", ".join(filter(None, (self.label(item, language) for item in value)))
        try:
            names = self.labels.get(value, {})
        except TypeError:  # a stored value that cannot be a key (a dict): it has no name
            return ""
        return names.get(language) or names.get("en") or next(iter(names.values()), "")

    def parse(self, raw: Any) -> Any:
        """Convert a given value to this param's type; the error names what is valid."""
        try:
            value = PARAM_TYPES[self.type](raw)
        except BadInput as exc:
            raise BadInput(_("param {name}: {error}").format(name=self.name, error=exc)) from None
        for item, shown in zip(value, value) if self.type == "list" else [(value, raw)]:
            if self.choices and item not in self.choices:
                valid = ", ".join(str(c) for c in self.choices)
                raise BadInput(_("param {name}: {value} is not one of {valid}").format(
                    name=self.name, value=repr(shown), valid=valid))
        return value


@dataclass(frozen=True)
class Call:
    """One use of a named guard or action, with its arguments as written."""

    name: str
    args: Any = None
    line: int = 0


@dataclass(frozen=True)
class Timeout:
    trigger: str
    at: Template | None = None
    after: dt.timedelta | None = None
    #: a track state's timeout: when the track's deadline day is over and this grace has passed
    after_deadline: dt.timedelta | None = None


@dataclass(frozen=True)
class StateDef:
    name: str
    final: bool = False
    on_enter: tuple[Call, ...] = ()
    on_exit: tuple[Call, ...] = ()
    timeout: Timeout | None = None
    description: str = ""


#: the value that marks a joint move (`fire --joint`): the members of the group
JOINT = "joint"


@dataclass(frozen=True)
class Joint:
    """A track transition that a group of participants may take together, in one command
    (`fire INSTANCE TRIGGER --joint`): the members are the list param `members` (a
    consultation's subgroup); a person with one of `roles` in any member country may
    take it for all of them."""

    members: str
    roles: tuple[str, ...] = ()

    def lets(self, given: dict[str, Any], params: dict[str, Any], country: str, roles: frozenset[str],
             participant: str) -> bool:
        """Whether a person of `country` with `roles` may move `participant`'s track: as part
        of the group's joint input (`given` marks it), both being members, by this rule."""
        members = given.get(JOINT)
        return (isinstance(members, list) and members == params.get(self.members) and country in members
                and participant in members and bool(roles & set(self.roles)))


@dataclass(frozen=True)
class TransitionDef:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    guards: tuple[Call, ...] = ()
    roles: tuple[str, ...] = ()
    actions: tuple[Call, ...] = ()
    description: str = ""
    line: int = 0
    #: the values `fire --set` may give (None: any, as before transitions declared them)
    inputs: tuple[Param, ...] | None = None
    #: whether, and by whom, a group may take it together (`fire --joint`)
    joint: Joint | None = None


@dataclass(frozen=True)
class MachineDef:
    initial: str
    states: dict[str, StateDef]
    transitions: tuple[TransitionDef, ...]

    def triggers_from(self, state: str) -> list[TransitionDef]:
        return [t for t in self.transitions if state in t.sources]

    def trigger_names(self) -> list[str]:
        return sorted({t.trigger for t in self.transitions})


def days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


@dataclass(frozen=True)
class Escalation:
    """Further people a reminder also goes to, once, when a country stays silent: once
    `after` reminders have gone to it for this deadline, or `after_overdue` past it."""

    to: tuple[str, ...]
    after: int | None = None
    after_overdue: dt.timedelta | None = None

    def due(self, reminders_sent: int, overdue: dt.timedelta) -> bool:
        if self.after is not None:
            return reminders_sent >= self.after
        return overdue >= self.after_overdue


@dataclass(frozen=True)
class Reminder:
    """Actions (a notify, typically) for each track still owing its input: `before`
    the deadline, or `every` so often once it is overdue; it may `escalate`."""

    actions: tuple[Call, ...]
    before: dt.timedelta | None = None
    every: dt.timedelta | None = None
    escalate: Escalation | None = None

    def describe(self) -> str:
        if self.before is not None:
            return f"{days(self.before.days)} before the deadline" if self.before.days else "on the deadline"
        return f"every {days(self.every.days)} while overdue" if self.every.days != 1 else "every day while overdue"


@dataclass(frozen=True)
class Deadline:
    """One day a track owes something by (amendments, finalised input): its `date`, the
    track states that meet it, its own reminders, and what it is called in each language."""

    name: str
    date: Template
    met: tuple[str, ...] = ()
    reminders: tuple[Reminder, ...] = ()
    title: dict[str, str] = field(default_factory=dict)

    def title_in(self, language: str = "en") -> str:
        return self.title.get(language) or self.title.get("en") or ""


@dataclass(frozen=True)
class TrackDef(MachineDef):
    #: the track's deadlines, in the order written; the first is each track's `due` day,
    #: which the overdue marks and the silence timeout count from
    deadlines: tuple[Deadline, ...] = ()
    #: instance states in which tracks may move; empty means any state
    active_in: tuple[str, ...] = ()

    def moves_in(self, instance_state: str | None) -> bool:
        """Whether tracks may move (and their deadlines run) while the instance is in `instance_state`."""
        return instance_state is not None and (not self.active_in or instance_state in self.active_in)

    @property
    def deadline(self) -> Template | None:
        return self.deadlines[0].date if self.deadlines else None

    @property
    def deadline_met(self) -> tuple[str, ...]:
        """The track states in which the participant has done what the (first) deadline asked."""
        if self.deadlines:
            return self.deadlines[0].met
        return tuple(name for name, state in self.states.items() if state.final)

    @property
    def reminders(self) -> tuple[Reminder, ...]:
        return tuple(r for d in self.deadlines for r in d.reminders)

    def deadline_named(self, name: str | None) -> Deadline:
        """A deadline by name (None: the first); the error lists the names there are."""
        if not self.deadlines:
            raise BadInput("this workflow's tracks have no deadline")
        found = next((d for d in self.deadlines if d.name == name), None) if name else self.deadlines[0]
        if found is None:
            raise BadInput(f"no deadline {name!r}; deadlines: {', '.join(d.name for d in self.deadlines)}")
        return found


@dataclass(frozen=True)
class Definition:
    name: str
    version: int
    title: dict[str, str]
    description: str
    params: dict[str, Param]
    instance: MachineDef
    track: TrackDef | None
    participants: tuple[str, ...]
    id_template: Template | None
    path: str = ""
    source: dict = field(default_factory=dict, compare=False, repr=False)
    #: the SHA-256 of the file's text, which pins an instance to this definition, and the text
    digest: str = ""
    text: str = field(default="", compare=False, repr=False)

    @property
    def label(self) -> str:
        """The version as users see it: the file's `version` and the start of its digest."""
        return f"v{self.version} ({self.digest[:8]})" if self.digest else f"v{self.version}"

    def title_in(self, language: str = "en") -> str:
        return self.title.get(language) or self.title.get("en") or self.name

    def parse_params(self, given: dict[str, Any]) -> dict[str, Any]:
        """Typed params from `--set` strings: unknown, missing and bad values are errors."""
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            valid = ", ".join(self.params) or _("none")
            raise BadInput(_("{workflow} has no param {name}; its params are: {valid}").format(
                workflow=self.name, name=repr(unknown[0]), valid=valid))
        values: dict[str, Any] = {}
        for name, param in self.params.items():
            if name in given:
                values[name] = param.parse(given[name])
            elif param.default is not None:
                values[name] = param.parse(param.default)
            elif param.required:
                raise BadInput(_("{workflow} needs param {name}: add --set {name}=VALUE").format(
                    workflow=self.name, name=name))
        return values
