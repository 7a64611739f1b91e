"""Workflow definitions: load `workflows/*.yaml`, validate, and freeze.

A definition is data only. Names of guards and actions are checked against the
plugin registry; values may refer to `{{ params.NAME }}`, `{{ data.NAME }}`,
`{{ instance.id }}` or `{{ event.participant }}` and nothing else: no Python
expression is ever evaluated from a file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rcmflow.errors import BadInput, Problem
from rcmflow.model.loader import Problems, check_keys, line_of, load_yaml
from rcmflow.model.members import Members

if TYPE_CHECKING:
    from rcmflow.plugins import Registry

NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
REFERENCE = re.compile(r"\{\{\s*([a-z_]+)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
REFERENCE_ROOTS = {"params", "data", "instance", "event"}
DURATION = re.compile(r"^(\d+)\s*([wdhm])$")
DURATION_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}


# --- values -------------------------------------------------------------------------


#: the years rcmflow supports: date arithmetic (a deadline's reminders, a timeout, the end
#: of a day) stays in Python's range for every date in them
YEARS = range(1900, 9001)


def supported(moment: Any, text: Any = None) -> Any:
    """`moment` (a date or datetime) if its year is one rcmflow supports, else BadInput."""
    if moment.year not in YEARS:
        raise BadInput(f"{str(text or moment)!r} is outside the years rcmflow supports ({YEARS[0]} to {YEARS[-1]})")
    return moment


def parse_date(text: Any) -> dt.date:
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    try:
        return supported(dt.date.fromisoformat(str(text).strip()), text)
    except ValueError:
        raise BadInput(f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2017-04-20") from None


def parse_datetime(text: Any) -> dt.datetime:
    if isinstance(text, dt.datetime):
        return text
    if isinstance(text, dt.date):
        return dt.datetime.combine(text, dt.time())
    try:
        return supported(dt.datetime.fromisoformat(str(text).strip()), text)
    except ValueError:
        raise BadInput(f"{text!r} is not a date and time; write it as ISO 8601, e.g. 2017-04-24T15:00") from None


def parse_bool(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    lowered = str(text).strip().lower()
    if lowered in {"true", "yes", "1", "on"}:
        return True
    if lowered in {"false", "no", "0", "off"}:
        return False
    raise BadInput(f"{text!r} is not a yes/no value; use true or false")


def _parse_int(text: Any) -> int:
    if isinstance(text, bool):
        raise BadInput(f"{text!r} is not a whole number")
    try:
        return int(str(text).strip())
    except ValueError:
        raise BadInput(f"{text!r} is not a whole number") from None


def _parse_float(text: Any) -> float:
    try:
        return float(str(text).strip())
    except ValueError:
        raise BadInput(f"{text!r} is not a number") from None


def _parse_list(text: Any) -> list[str]:
    """A list param is given as comma-separated words: --set subgroup=MX,GT,HN."""
    items = text if isinstance(text, list) else str(text).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


PARAM_TYPES = {
    "str": lambda v: str(v),
    "list": _parse_list,
    "int": _parse_int,
    "float": _parse_float,
    "bool": parse_bool,
    "date": parse_date,
    "datetime": parse_datetime,
}


def parse_duration(text: Any) -> dt.timedelta:
    match = DURATION.match(str(text).strip())
    if not match:
        raise BadInput(f"{text!r} is not a duration; write a number and a unit, e.g. 14d, 12h, 2w, 30m")
    amount, unit = match.groups()
    return dt.timedelta(**{DURATION_UNITS[unit]: int(amount)})


def to_json_value(value: Any) -> Any:
    """Dates become ISO strings so that params and data can be stored as JSON."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Template:
    """A value from YAML that may refer to `{{ root.name }}`; rendered when used."""

    text: str

    def render(self, scope: dict[str, dict[str, Any]]) -> Any:
        whole = REFERENCE.fullmatch(self.text.strip())
        if whole:  # a lone reference keeps its type (a date stays a date)
            return scope.get(whole.group(1), {}).get(whole.group(2))
        return REFERENCE.sub(lambda m: str(scope.get(m.group(1), {}).get(m.group(2), "")), self.text)


def render_value(value: Any, scope: dict[str, dict[str, Any]]) -> Any:
    """Render every template string inside a (nested) argument value."""
    if isinstance(value, str) and "{{" in value:
        return to_json_value(Template(value).render(scope))
    if isinstance(value, dict):
        return {k: render_value(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, scope) for v in value]
    return to_json_value(value)


# --- the frozen definition ---------------------------------------------------------


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
        """The choice's name in `language`, else in English, else ""."""
        names = self.labels.get(value, {})
        return names.get(language) or names.get("en") or next(iter(names.values()), "")

    def parse(self, raw: Any) -> Any:
        """Convert a given value to this param's type; the error names what is valid."""
        try:
            value = PARAM_TYPES[self.type](raw)
        except BadInput as exc:
            raise BadInput(f"param {self.name}: {exc}") from None
        for item, shown in zip(value, value) if self.type == "list" else [(value, raw)]:
            if self.choices and item not in self.choices:
                valid = ", ".join(str(c) for c in self.choices)
                raise BadInput(f"param {self.name}: {shown!r} is not one of {valid}")
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


@dataclass(frozen=True)
class StateDef:
    name: str
    final: bool = False
    on_enter: tuple[Call, ...] = ()
    on_exit: tuple[Call, ...] = ()
    timeout: Timeout | None = None
    description: str = ""


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


@dataclass(frozen=True)
class MachineDef:
    initial: str
    states: dict[str, StateDef]
    transitions: tuple[TransitionDef, ...]

    def triggers_from(self, state: str) -> list[TransitionDef]:
        return [t for t in self.transitions if state in t.sources]

    def trigger_names(self) -> list[str]:
        return sorted({t.trigger for t in self.transitions})


@dataclass(frozen=True)
class Reminder:
    """Actions (a notify, typically) for each track still owing its input: `before`
    the deadline, or `every` so often once it is overdue."""

    actions: tuple[Call, ...]
    before: dt.timedelta | None = None
    every: dt.timedelta | None = None

    def describe(self) -> str:
        if self.before is not None:
            return f"{self.before.days} days before the deadline" if self.before.days else "on the deadline"
        return f"every {self.every.days} days while overdue"


@dataclass(frozen=True)
class TrackDef(MachineDef):
    deadline: Template | None = None
    #: track states in which the participant has done what the deadline asked
    deadline_met: tuple[str, ...] = ()
    #: instance states in which tracks may move; empty means any state
    active_in: tuple[str, ...] = ()
    reminders: tuple[Reminder, ...] = ()


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

    def title_in(self, language: str = "en") -> str:
        return self.title.get(language) or self.title.get("en") or self.name

    def parse_params(self, given: dict[str, Any]) -> dict[str, Any]:
        """Typed params from `--set` strings: unknown, missing and bad values are errors."""
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            valid = ", ".join(self.params) or "none"
            raise BadInput(f"{self.name} has no param {unknown[0]!r}; its params are: {valid}")
        values: dict[str, Any] = {}
        for name, param in self.params.items():
            if name in given:
                values[name] = param.parse(given[name])
            elif param.default is not None:
                values[name] = param.parse(param.default)
            elif param.required:
                raise BadInput(f"{self.name} needs param {name}: add --set {name}=VALUE")
        return values


# --- loading and validation ----------------------------------------------------------

WORKFLOW_KEYS = {
    "workflow", "version", "title", "description", "params", "participants",
    "track", "initial", "states", "transitions", "id",
}
TRACK_KEYS = {"initial", "states", "transitions", "deadline", "active_in", "reminders"}
STATE_KEYS = {"name", "final", "on_enter", "on_exit", "timeout", "description"}
TRANSITION_KEYS = {"trigger", "source", "dest", "guards", "roles", "actions", "description"}
PARAM_KEYS = {"type", "choices", "labels", "required", "default", "description"}


@dataclass
class _Reader:
    """Turns one parsed YAML document into a Definition, collecting problems."""

    problems: Problems
    registry: "Registry"
    members: Members
    params: dict[str, Param] = field(default_factory=dict)

    def template(self, node: Any, key: Any, value: Any) -> Template | None:
        text = str(value)
        for match in REFERENCE.finditer(text):
            root, name = match.groups()
            if root not in REFERENCE_ROOTS:
                self.problems.add(node, f"{{{{ {root}.{name} }}}}: only params, data, instance and event can be referred to", key)
            elif root == "params" and name not in self.params:
                valid = ", ".join(self.params) or "none"
                self.problems.add(node, f"{{{{ params.{name} }}}} is not a param; params: {valid}", key)
        if "{{" in REFERENCE.sub("", text):
            self.problems.add(node, f"{text!r}: only references like {{{{ params.NAME }}}} are allowed", key)
        return Template(text)

    def calls(self, node: Any, key: str, kind: str) -> tuple[Call, ...]:
        items = node.get(key)
        if items is None:
            return ()
        if not isinstance(items, list):
            self.problems.add(node, f"{key} must be a list of {kind}s", key)
            return ()
        known = self.registry.guards if kind == "guard" else self.registry.actions
        calls = []
        for index, item in enumerate(items):
            line = line_of(items, index)
            if isinstance(item, str):
                name, args = item, None
            elif isinstance(item, dict) and len(item) == 1:
                name, args = next(iter(item.items()))
            else:
                self.problems.add(items, f"a {kind} is a name or a mapping {{name: arguments}}", index)
                continue
            if name not in known:
                valid = ", ".join(sorted(known)) or "none"
                self.problems.add(items, f"unknown {kind} {name!r}; registered {kind}s: {valid}", index)
                continue
            args = _plain(args)
            message = known[name].check(args)
            if message:
                self.problems.add(items, f"{kind} {name}: {message}", index)
            self._check_templates(items, index, args)
            calls.append(Call(str(name), args, line))
        return tuple(calls)

    def _check_templates(self, node: Any, key: Any, value: Any) -> None:
        if isinstance(value, str) and "{{" in value:
            self.template(node, key, value)
        elif isinstance(value, dict):
            for v in value.values():
                self._check_templates(node, key, v)
        elif isinstance(value, list):
            for v in value:
                self._check_templates(node, key, v)

    def read_params(self, node: Any) -> None:
        if node is None:
            return
        if not isinstance(node, dict):
            self.problems.add(node, "params must be a mapping of name: {type: ...}")
            return
        for name, spec in node.items():
            spec = spec or {}
            if not isinstance(spec, dict):
                self.problems.add(node, f"param {name} must be a mapping like {{type: date}}", name)
                continue
            check_keys(spec, PARAM_KEYS, f"param {name}", self.problems)
            ptype = str(spec.get("type", "str"))
            if ptype not in PARAM_TYPES:
                self.problems.add(spec, f"param {name}: unknown type {ptype!r}; types: {', '.join(PARAM_TYPES)}", "type")
                continue
            param = Param(str(name), ptype, required=bool(spec.get("required", False)),
                          description=str(spec.get("description", "")))
            choices = []
            item_type = Param(param.name, "str" if ptype == "list" else ptype)
            for index, choice in enumerate(spec.get("choices") or []):
                try:
                    choices.append(item_type.parse(choice))
                except BadInput as exc:
                    self.problems.add(spec["choices"], f"choice {choice!r}: {exc}", index)
            param = Param(param.name, ptype, tuple(choices), param.required, None, param.description)
            default = spec.get("default")
            if default is not None:
                try:
                    param.parse(default)
                except BadInput as exc:
                    self.problems.add(spec, f"default: {exc}", "default")
                param = Param(param.name, ptype, param.choices, param.required, _plain(default), param.description)
            labels = {}
            for key, text in (spec.get("labels") or {}).items():
                try:
                    # a label is one text (English), or {en: …, es: …}
                    labels[item_type.parse(key)] = ({str(k): str(v) for k, v in text.items()}
                                                    if isinstance(text, dict) else {"en": str(text)})
                except BadInput as exc:
                    self.problems.add(spec["labels"], f"label {key!r}: {exc}", key)
            self.params[param.name] = replace(param, labels=labels)

    def read_machine(self, node: Any, where: str) -> tuple[str, dict[str, StateDef], tuple[TransitionDef, ...]]:
        states: dict[str, StateDef] = {}
        raw_states = node.get("states")
        if not isinstance(raw_states, list) or not raw_states:
            self.problems.add(node, f"{where} needs a list of states", "states" if "states" in node else None)
            raw_states = []
        timeouts: list[tuple[Any, Timeout, str]] = []
        for index, item in enumerate(raw_states):
            if isinstance(item, str):
                name = item
                spec: dict = {}
            elif isinstance(item, dict) and "name" in item:
                name, spec = str(item["name"]), item
                check_keys(spec, STATE_KEYS, f"state {name}", self.problems)
            else:
                self.problems.add(raw_states, "a state is a name or a mapping with a name", index)
                continue
            if not NAME.match(name):
                self.problems.add(raw_states, f"state name {name!r} must be lower case letters, digits, - or _", index)
            if name in states:
                self.problems.add(raw_states, f"state {name!r} is declared twice in {where}", index)
                continue
            timeout = None
            if "timeout" in spec:
                timeout = self.read_timeout(spec, name)
                if timeout:
                    timeouts.append((spec, timeout, name))
            states[name] = StateDef(
                name,
                final=bool(spec.get("final", False)),
                on_enter=self.calls(spec, "on_enter", "action"),
                on_exit=self.calls(spec, "on_exit", "action"),
                timeout=timeout,
                description=str(spec.get("description", "")),
            )

        initial = node.get("initial")
        if initial is None:
            self.problems.add(node, f"{where} has no initial state: add 'initial: <state>'")
            initial = ""
        elif initial not in states:
            self.problems.add(node, f"initial state {initial!r} is not one of the states of {where}", "initial")

        transitions = []
        seen: dict[tuple[str, str], int] = {}
        raw = node.get("transitions") or []
        if not isinstance(raw, list):
            self.problems.add(node, f"transitions of {where} must be a list", "transitions")
            raw = []
        for index, spec in enumerate(raw):
            if not isinstance(spec, dict):
                self.problems.add(raw, "a transition is a mapping {trigger, source, dest}", index)
                continue
            check_keys(spec, TRANSITION_KEYS, "a transition", self.problems)
            trigger = spec.get("trigger")
            if not trigger or not NAME.match(str(trigger)):
                self.problems.add(spec, f"trigger {trigger!r} must be a lower case name like close_collection", "trigger" if trigger else None)
                continue
            source = spec.get("source")
            if source == "*":
                sources = tuple(s for s in states if not states[s].final)
            elif isinstance(source, str):
                sources = (source,)
            elif isinstance(source, list) and source:
                sources = tuple(str(s) for s in source)
            else:
                self.problems.add(spec, f"transition {trigger} needs a source state (a name, a list, or '*')")
                continue
            dest = spec.get("dest")
            for s in sources:
                if s not in states:
                    self.problems.add(spec, f"transition {trigger} starts from unknown state {s!r}; states: {', '.join(states)}", "source")
                elif states[s].final:
                    self.problems.add(spec, f"transition {trigger} leaves final state {s!r}", "source")
                key = (str(trigger), s)
                if key in seen:
                    self.problems.add(spec, f"trigger {trigger} from {s} is defined twice (first at line {seen[key]})", "trigger")
                seen[key] = line_of(spec, "trigger")
            if dest not in states:
                self.problems.add(spec, f"transition {trigger} goes to unknown state {dest!r}; states: {', '.join(states)}", "dest" if "dest" in spec else None)
                continue
            roles = tuple(str(r) for r in (spec.get("roles") or []))
            known_roles = self.members.known_roles()
            for role in roles:
                if role not in known_roles:
                    self.problems.add(spec, f"unknown role {role!r}; roles: {', '.join(sorted(known_roles))}", "roles")
            transitions.append(TransitionDef(
                trigger=str(trigger), sources=sources, dest=str(dest),
                guards=self.calls(spec, "guards", "guard"),
                roles=roles,
                actions=self.calls(spec, "actions", "action"),
                description=str(spec.get("description", "")),
                line=line_of(spec),
            ))

        for spec, timeout, state in timeouts:
            if (timeout.trigger, state) not in seen:
                self.problems.add(spec, f"timeout of {state} fires {timeout.trigger!r}, which is not a trigger from {state}", "timeout")

        if initial in states:
            for name in _unreachable(initial, states, transitions):
                index = next(i for i, s in enumerate(raw_states) if (s if isinstance(s, str) else s.get("name")) == name)
                self.problems.add(raw_states, f"state {name!r} of {where} cannot be reached from {initial!r}", index)
        return str(initial), states, tuple(transitions)

    def read_reminders(self, node: dict, has_deadline: bool) -> tuple[Reminder, ...]:
        items = node.get("reminders") or []
        if items and not has_deadline:
            self.problems.add(node, "reminders need a track deadline to count from", "reminders")
        if not isinstance(items, list):
            self.problems.add(node, "reminders must be a list like [{before: 7d, actions: [...]}]", "reminders")
            return ()
        reminders = []
        for index, spec in enumerate(items):
            if not isinstance(spec, dict) or ("before" in spec) == ("every" in spec) or "actions" not in spec:
                self.problems.add(items, "a reminder has either before: (e.g. 7d) or every: (e.g. 3d), "
                                         "and actions: [...]", index)
                continue
            check_keys(spec, {"before", "every", "actions"}, "a reminder", self.problems)
            try:
                when = {key: parse_duration(spec[key]) for key in ("before", "every") if key in spec}
            except BadInput as exc:
                self.problems.add(items, str(exc), index)
                continue
            if when.get("every") is not None and when["every"] < dt.timedelta(days=1):
                self.problems.add(items, "every: must be at least 1d, or countries get a message each tick", index)
            reminders.append(Reminder(self.calls(spec, "actions", "action"), **when))
        return tuple(reminders)

    def read_timeout(self, spec: dict, state: str) -> Timeout | None:
        node = spec["timeout"]
        if not isinstance(node, dict) or "trigger" not in node or ("at" in node) == ("after" in node):
            self.problems.add(spec, f"timeout of {state} needs a trigger and either at (a date) or after (e.g. 14d)", "timeout")
            return None
        check_keys(node, {"at", "after", "trigger"}, f"timeout of {state}", self.problems)
        if "after" in node:
            try:
                return Timeout(str(node["trigger"]), after=parse_duration(node["after"]))
            except BadInput as exc:
                self.problems.add(node, str(exc), "after")
                return None
        at = node["at"]
        if not isinstance(at, (dt.date, dt.datetime)) and "{{" not in str(at):
            try:
                parse_datetime(at)
            except BadInput as exc:
                self.problems.add(node, str(exc), "at")
                return None
        return Timeout(str(node["trigger"]), at=self.template(node, "at", to_json_value(at)))


def _unreachable(initial: str, states: dict, transitions: list[TransitionDef]) -> list[str]:
    seen, queue = {initial}, deque([initial])
    while queue:
        state = queue.popleft()
        for t in transitions:
            if state in t.sources and t.dest not in seen:
                seen.add(t.dest)
                queue.append(t.dest)
    return [s for s in states if s not in seen]


def _plain(value: Any) -> Any:
    """The loader's containers as plain dicts and lists, dates as ISO strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return to_json_value(value)


def read_definition(data: Any, problems: Problems, registry: "Registry", members: Members) -> Definition | None:
    if not isinstance(data, dict):
        problems.add(data, "a workflow file is a mapping that starts with 'workflow: NAME'")
        return None
    reader = _Reader(problems, registry, members)
    check_keys(data, WORKFLOW_KEYS, "a workflow", problems)
    name = str(data.get("workflow", ""))
    if not NAME.match(name):
        problems.add(data, f"'workflow:' must name the workflow in lower case, e.g. thematic-consultation (got {name!r})", "workflow" if "workflow" in data else None)
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.add(data, f"version must be a whole number from 1 (got {version!r})", "version")
        version = 1
    title = data.get("title") or name
    title = {"en": str(title)} if isinstance(title, str) else {str(k): str(v) for k, v in title.items()}

    reader.read_params(data.get("params"))
    initial, states, transitions = reader.read_machine(data, "the workflow")
    instance = MachineDef(initial, states, transitions)

    track = None
    participants: tuple[str, ...] = ()
    if "track" in data:
        node = data["track"]
        if not isinstance(node, dict):
            problems.add(data, "track must be a mapping with initial, states and transitions", "track")
        else:
            check_keys(node, TRACK_KEYS, "track", problems)
            t_initial, t_states, t_transitions = reader.read_machine(node, "the track")
            deadline, met = None, ()
            if "deadline" in node:
                spec = node["deadline"]
                if isinstance(spec, dict):
                    check_keys(spec, {"date", "met"}, "track deadline", problems)
                    met = tuple(str(s) for s in (spec.get("met") or ()))
                    for s in met:
                        if s not in t_states:
                            problems.add(spec, f"deadline met in unknown track state {s!r}", "met")
                    spec = spec.get("date")
                if spec is not None:
                    deadline = reader.template(node, "deadline", to_json_value(spec))
            if not met:
                met = tuple(s for s, d in t_states.items() if d.final)
            active_in = tuple(str(s) for s in (node.get("active_in") or ()))
            for s in active_in:
                if s not in states:
                    problems.add(node, f"active_in names unknown workflow state {s!r}", "active_in")
            reminders = reader.read_reminders(node, deadline is not None)
            track = TrackDef(t_initial, t_states, t_transitions, deadline, met, active_in, reminders)
        if "participants" not in data:
            problems.add(data, "a workflow with a track needs participants (a group of members.yaml or a list of codes)", "track")
    if "participants" in data:
        participants = _read_participants(data, problems, members)
        if track is None:
            problems.add(data, "participants need a track: the machine each participant moves through", "participants")

    id_template = reader.template(data, "id", data["id"]) if "id" in data else None
    return Definition(
        name=name, version=version, title=title, description=str(data.get("description", "")),
        params=reader.params, instance=instance, track=track, participants=participants,
        id_template=id_template, source=_plain(data),
    )


def _read_participants(data: dict, problems: Problems, members: Members) -> tuple[str, ...]:
    spec = data["participants"]
    if isinstance(spec, str):
        if spec not in members.groups:
            groups = ", ".join(members.groups) or "none (add groups to workflows/members.yaml)"
            problems.add(data, f"participants: unknown group {spec!r}; groups: {groups}", "participants")
            return ()
        codes = members.groups[spec]
    else:
        codes = tuple(str(c) for c in (spec or []))
        for code in codes:
            if code not in members.countries:
                problems.add(data, f"participants: unknown country {code!r}", "participants")
    if not codes:
        problems.add(data, "participants is empty", "participants")
    return tuple(codes)


@dataclass
class Catalog:
    """Every definition found in a home's `workflows/`, and what was wrong with them."""

    definitions: dict[str, Definition]
    problems: list[Problem]

    def get(self, name: str) -> Definition:
        from rcmflow.errors import NotFound

        if name not in self.definitions:
            valid = ", ".join(sorted(self.definitions)) or "none (add a YAML file to workflows/)"
            raise NotFound(f"unknown workflow {name!r}; workflows: {valid}")
        return self.definitions[name]


def workflow_files(home: Path) -> list[Path]:
    folder = home / "workflows"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.y*ml") if p.stem not in {"members", "roadmap"})


def load_catalog(home: Path, registry: "Registry", members: Members, files: list[Path] | None = None) -> Catalog:
    """Load and validate definitions (all of `workflows/` unless `files` is given)."""
    definitions: dict[str, Definition] = {}
    problems: list[Problem] = []
    for path in files if files is not None else workflow_files(home):
        try:
            display = str(path.relative_to(home))
        except ValueError:
            display = str(path)
        data, file_problems = load_yaml(path, display)
        if data is not None:
            definition = read_definition(data, file_problems, registry, members)
            if definition is not None and not file_problems:
                if definition.name in definitions:
                    file_problems.add(data, f"workflow {definition.name!r} is also defined in {definitions[definition.name].path}", "workflow")
                else:
                    definitions[definition.name] = _with_path(definition, display)
        problems.extend(file_problems)
    return Catalog(definitions, problems)


def _with_path(definition: Definition, path: str) -> Definition:
    return replace(definition, path=path)
