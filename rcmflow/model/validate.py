"""Validation: turn one parsed workflow document into a frozen Definition.

Every problem becomes a `file:line: message`; guards and actions are checked
against the plugin registry by name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from rcmflow.errors import BadInput
from rcmflow.model.definition import (
    Call, Definition, MachineDef, Param, Reminder, StateDef, Timeout, TrackDef, TransitionDef,
)
from rcmflow.model.loader import Problems, check_keys, line_of
from rcmflow.model.members import Members
from rcmflow.model.refs import REFERENCE, REFERENCE_ROOTS, Template
from rcmflow.model.values import PARAM_TYPES, parse_datetime, parse_duration, to_json_value, to_plain

if TYPE_CHECKING:
    from rcmflow.plugins import Registry

NAME = re.compile(r"^[a-z][a-z0-9_-]*$")

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
            args = to_plain(args)
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
                param = Param(param.name, ptype, param.choices, param.required, to_plain(default), param.description)
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
        id_template=id_template, source=to_plain(data),
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


