"""Validation: turn one parsed workflow document into a frozen Definition.

First the shape (`model.schema`: keys, types, what is required), then what the
names mean: states and transitions, reachability, params and their references,
guards and actions by name against the plugin registry, roles and participants
against members.yaml. Every problem becomes a `file:line: message`.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from typing import Any

from rcmflow.errors import BadInput
from rcmflow.language import _
from rcmflow.model.definition import (
    Deadline, Definition, Escalation, Joint, MachineDef, Param, Reminder, StateDef, Timeout, TrackDef, TransitionDef,
)
from rcmflow.model.loader import Problems, line_of, prune
from rcmflow.model.members import Members
from rcmflow.model.reader import NAME, Names, Reader, read_calls, template
from rcmflow.model.schema import N_, WorkflowShape, shape_problems
from rcmflow.model.values import PARAM_TYPES, parse_datetime, parse_duration, to_json_value, to_plain


def read_definition(data: Any, problems: Problems, registry: Names, members: Members) -> Definition | None:
    """The definition a document describes, or None when its shape is wrong."""
    if not isinstance(data, dict):
        problems.add(data, _("a workflow file is a mapping that starts with 'workflow: NAME'"))
        return None
    prune(data)
    if not shape_problems(WorkflowShape, data, problems, N_("the workflow")):
        return None
    reader = Reader(problems, registry, members)
    name = data["workflow"]
    if not NAME.match(name):
        problems.add(data, _("'workflow:' must name the workflow in lower case, e.g. thematic-consultation "
                             "(got {name!r})").format(name=name), "workflow")
    title = data.get("title") or name
    read_params(reader, data.get("params") or {})
    instance = MachineDef(*read_machine(reader, data, N_("the workflow")))
    for spec in data.get("transitions") or []:
        if spec.get("joint") is not None:
            reader.add(spec, _("joint: is for track transitions: it moves the tracks of a group's members"), "joint")
    track = read_track(reader, data, instance) if data.get("track") is not None else None
    participants = read_participants(reader, data, track is not None)
    id_template = template(reader, data, "id", data["id"]) if data.get("id") is not None else None
    return Definition(
        name=name, version=data.get("version", 1),
        title={"en": title} if isinstance(title, str) else dict(title),
        description=data.get("description", ""), params=reader.params, instance=instance, track=track,
        participants=participants, id_template=id_template, source=to_plain(data),
    )


# --- params -------------------------------------------------------------------------------


def read_params(reader: Reader, node: dict) -> None:
    for name, spec in node.items():
        param = read_param(reader, node, name, spec or {})
        if param is not None:
            reader.params[param.name] = param


def read_param(reader: Reader, node: dict, name: str, spec: dict) -> Param | None:
    ptype = spec.get("type", "str")
    if ptype not in PARAM_TYPES:
        reader.add(spec, _("param {name}: unknown type {type!r}; types: {valid}").format(
            name=name, type=ptype, valid=", ".join(PARAM_TYPES)), "type")
        return None
    item_type = Param(name, "str" if ptype == "list" else ptype)
    choices = []
    for index, choice in enumerate(spec.get("choices") or []):
        try:
            choices.append(item_type.parse(choice))
        except BadInput as exc:
            reader.add(spec["choices"], _("choice {choice!r}: {reason}").format(choice=choice, reason=exc), index)
    param = Param(name, ptype, tuple(choices), spec.get("required", False), None, spec.get("description", ""))
    default = spec.get("default")
    if default is not None:
        try:
            param.parse(default)
        except BadInput as exc:
            reader.add(spec, _("default: {reason}").format(reason=exc), "default")
    labels = {}
    for key, text in (spec.get("labels") or {}).items():
        try:
            # a label is one text (English), or {en: …, es: …}
            labels[item_type.parse(key)] = dict(text) if isinstance(text, dict) else {"en": text}
        except BadInput as exc:
            reader.add(spec["labels"], _("label {key!r}: {reason}").format(key=key, reason=exc), key)
    return Param(name, ptype, param.choices, param.required, to_plain(default), param.description, labels)


# --- a machine: states, transitions, timeouts, reachability ---------------------------------


def read_machine(reader: Reader, node: dict, where: str) -> tuple[str, dict[str, StateDef], tuple[TransitionDef, ...]]:
    raw_states = node["states"]
    states = read_states(reader, raw_states, where)
    initial = node["initial"]
    if initial not in states:
        reader.add(node, _("initial state {initial!r} is not one of the states of {where}").format(
            initial=initial, where=_(where)), "initial")
    transitions, seen = read_transitions(reader, node.get("transitions") or [], states)
    for spec, state in _timeouts(raw_states):
        trigger = spec["timeout"]["trigger"]
        if (trigger, state) not in seen:
            reader.add(spec, _("timeout of {state} fires {trigger!r}, which is not a trigger from {state}").format(
                state=state, trigger=trigger), "timeout")
        # a track's time is its own deadline's; the instance has none of its own
        relative = spec["timeout"].get("after_deadline") is not None
        if relative != (where == "the track"):
            message = (_("timeout of track state {state}: write after_deadline: DURATION (e.g. 3d), counted from "
                         "the end of the track's own deadline day") if where == "the track" else
                       _("timeout of {state}: after_deadline is for track states; use at or after"))
            reader.add(spec, message.format(state=state), "timeout")
    if initial in states:
        for name in _unreachable(initial, states, transitions):
            index = next(i for i, s in enumerate(raw_states) if _state_name(s) == name)
            reader.add(raw_states, _("state {state} of {where} cannot be reached from {initial}").format(
                state=repr(name), where=_(where), initial=repr(initial)), index)
    return initial, states, tuple(transitions)


def _state_name(item: str | dict) -> str:
    return item if isinstance(item, str) else item["name"]


def _timeouts(raw_states: list) -> list[tuple[dict, str]]:
    return [(s, s["name"]) for s in raw_states if isinstance(s, dict) and s.get("timeout") is not None]


def read_states(reader: Reader, raw_states: list, where: str) -> dict[str, StateDef]:
    states: dict[str, StateDef] = {}
    for index, item in enumerate(raw_states):
        name, spec = _state_name(item), ({} if isinstance(item, str) else item)
        if not NAME.match(name):
            reader.add(raw_states, _("state name {name!r} must be lower case letters, digits, - or _").format(
                name=name), index)
        if name in states:
            reader.add(raw_states, _("state {name!r} is declared twice in {where}").format(name=name, where=_(where)),
                       index)
            continue
        states[name] = StateDef(
            name,
            final=spec.get("final", False),
            on_enter=read_calls(reader, spec, "on_enter", "action"),
            on_exit=read_calls(reader, spec, "on_exit", "action"),
            timeout=read_timeout(reader, spec, name) if spec.get("timeout") is not None else None,
            description=spec.get("description", ""),
        )
    return states


def read_timeout(reader: Reader, spec: dict, state: str) -> Timeout | None:
    node = spec["timeout"]
    if node.get("after_deadline") is not None:
        try:
            return Timeout(node["trigger"], after_deadline=parse_duration(node["after_deadline"]))
        except BadInput as exc:
            reader.add(node, str(exc), "after_deadline")
            return None
    if node.get("after") is not None:
        try:
            return Timeout(node["trigger"], after=parse_duration(node["after"]))
        except BadInput as exc:
            reader.add(node, str(exc), "after")
            return None
    at = node["at"]
    if not isinstance(at, (dt.date, dt.datetime)) and "{{" not in str(at):
        try:
            parse_datetime(at)
        except BadInput as exc:
            reader.add(node, str(exc), "at")
            return None
    return Timeout(node["trigger"], at=template(reader, node, "at", to_json_value(at)))


def read_transitions(reader: Reader, raw: list, states: dict[str, StateDef]
                     ) -> tuple[list[TransitionDef], dict[tuple[str, str], int]]:
    transitions: list[TransitionDef] = []
    seen: dict[tuple[str, str], int] = {}
    for spec in raw:
        trigger = spec["trigger"]
        if not NAME.match(trigger):
            reader.add(spec, _("trigger {trigger!r} must be a lower case name like close_collection").format(
                trigger=trigger), "trigger")
            continue
        source = spec["source"]
        sources = (tuple(s for s in states if not states[s].final) if source == "*"
                   else (source,) if isinstance(source, str) else tuple(source))
        for s in sources:
            _check_source(reader, spec, s, states, seen)
        dest = spec["dest"]
        if dest not in states:
            reader.add(spec, _("transition {trigger} goes to unknown state {dest!r}; states: {valid}").format(
                trigger=trigger, dest=dest, valid=", ".join(states)), "dest")
            continue
        roles = tuple(spec.get("roles") or ())
        known_roles = reader.members.known_roles()
        for role in roles:
            if role not in known_roles:
                reader.add(spec, _("unknown role {role!r}; roles: {valid}").format(
                    role=role, valid=", ".join(sorted(known_roles))), "roles")
        transitions.append(TransitionDef(
            trigger=trigger, sources=sources, dest=dest,
            guards=read_calls(reader, spec, "guards", "guard"),
            roles=roles,
            actions=read_calls(reader, spec, "actions", "action"),
            description=spec.get("description", ""),
            line=line_of(spec),
            inputs=read_inputs(reader, spec),
            joint=read_joint(reader, spec),
        ))
    return transitions, seen


def read_joint(reader: Reader, spec: dict) -> Joint | None:
    """Who may take a track transition for a whole group: the members are a list param."""
    node = spec.get("joint")
    if node is None:
        return None
    param = reader.params.get(node["members"])
    if param is None or param.type != "list":
        lists = ", ".join(n for n, p in reader.params.items() if p.type == "list") or _("none")
        reader.add(node, _("joint members: {members!r} is not a list param; list params: {valid}").format(
            members=node["members"], valid=lists), "members")
    known = reader.members.known_roles()
    for role in node.get("roles") or ():
        if role not in known:
            reader.add(node, _("joint: unknown role {role!r}; roles: {valid}").format(
                role=role, valid=", ".join(sorted(known))), "roles")
    return Joint(node["members"], tuple(node.get("roles") or ()))


def read_inputs(reader: Reader, spec: dict) -> tuple[Param, ...] | None:
    """A transition's declared inputs, read as params are."""
    if spec.get("inputs") is None:
        return None
    return tuple(p for name, item in spec["inputs"].items()
                 if (p := read_param(reader, spec["inputs"], name, item or {})) is not None)


def _check_source(reader: Reader, spec: dict, source: str, states: dict[str, StateDef],
                  seen: dict[tuple[str, str], int]) -> None:
    trigger = spec["trigger"]
    if source not in states:
        reader.add(spec, _("transition {trigger} starts from unknown state {source!r}; states: {valid}").format(
            trigger=trigger, source=source, valid=", ".join(states)), "source")
    elif states[source].final:
        reader.add(spec, _("transition {trigger} leaves final state {source!r}").format(
            trigger=trigger, source=source), "source")
    if (trigger, source) in seen:
        reader.add(spec, _("trigger {trigger} from {source} is defined twice (first at line {line})").format(
            trigger=trigger, source=source, line=seen[trigger, source]), "trigger")
    seen[trigger, source] = line_of(spec, "trigger")


def _unreachable(initial: str, states: dict, transitions: list[TransitionDef]) -> list[str]:
    seen, queue = {initial}, deque([initial])
    while queue:
        state = queue.popleft()
        for t in transitions:
            if state in t.sources and t.dest not in seen:
                seen.add(t.dest)
                queue.append(t.dest)
    return [s for s in states if s not in seen]


# --- the track and who takes part -------------------------------------------------------


def read_track(reader: Reader, data: dict, instance: MachineDef) -> TrackDef:
    node = data["track"]
    t_initial, t_states, t_transitions = read_machine(reader, node, N_("the track"))
    active_in = tuple(node.get("active_in") or ())
    for s in active_in:
        if s not in instance.states:
            reader.add(node, _("active_in names unknown workflow state {state!r}").format(state=s), "active_in")
    if data.get("participants") is None:
        reader.add(data, _("a workflow with a track needs participants (a group of members.yaml or a list of codes)"),
                   "track")
    return TrackDef(t_initial, t_states, t_transitions, read_deadlines(reader, node, t_states), active_in)


#: the one-deadline form (`deadline:` and `reminders:`) is the deadline of this name
SINGLE = "deadline"


def read_deadlines(reader: Reader, node: dict, states: dict) -> tuple[Deadline, ...]:
    """The track's deadlines: several named ones under `deadlines:`, or the one-deadline
    form, `deadline:` with the track's `reminders:`."""
    finals = tuple(s for s, d in states.items() if d.final)
    named = node.get("deadlines")
    if named is not None:
        for key in ("deadline", "reminders"):
            if node.get(key) is not None:
                reader.add(node, _("{key}: goes inside each of deadlines: (a track has one or the other)").format(
                    key=key), key)
        if not named:
            reader.add(node, _("deadlines is empty: name at least one, e.g. deadlines: {input: {date: ...}}"),
                       "deadlines")
        found = []
        for name, spec in named.items():
            if not isinstance(name, str) or not NAME.match(name) or name == "escalate":
                reader.add(named, _("deadline name {name!r}: use a lower case name like finalised").format(
                    name=name), name)
                continue
            met = _met(reader, spec, states) or finals
            found.append(Deadline(name, template(reader, spec, "date", to_json_value(spec["date"])), met,
                                  read_reminders(reader, spec, True), _texts(spec.get("title"))))
        return tuple(found)
    spec, met = node.get("deadline"), ()
    if isinstance(spec, dict):
        met = _met(reader, spec, states)
        spec = spec.get("date")
    reminders = read_reminders(reader, node, spec is not None)
    if spec is None:
        return ()
    return (Deadline(SINGLE, template(reader, node, "deadline", to_json_value(spec)), met or finals, reminders),)


def _texts(value: Any) -> dict[str, str]:
    """A text written once or per language, as {language: text}."""
    return {} if value is None else {"en": value} if isinstance(value, str) else dict(value)


def _met(reader: Reader, spec: dict, states: dict) -> tuple[str, ...]:
    met = tuple(spec.get("met") or ())
    for s in met:
        if s not in states:
            reader.add(spec, _("deadline met in unknown track state {state!r}; track states: {valid}").format(
                state=s, valid=", ".join(states)), "met")
    return met


def read_reminders(reader: Reader, node: dict, has_deadline: bool) -> tuple[Reminder, ...]:
    items = node.get("reminders") or []
    if items and not has_deadline:
        reader.add(node, _("reminders need a track deadline to count from"), "reminders")
    reminders = []
    for index, spec in enumerate(items):
        try:
            when = {key: parse_duration(spec[key]) for key in ("before", "every") if spec.get(key) is not None}
        except BadInput as exc:
            reader.add(items, str(exc), index)
            continue
        if when.get("every") is not None and when["every"] < dt.timedelta(days=1):
            reader.add(items, _("every: must be at least 1d, or countries get a message each tick"), index)
        escalate = read_escalation(reader, spec["escalate"]) if spec.get("escalate") else None
        reminders.append(Reminder(read_calls(reader, spec, "actions", "action"), escalate=escalate, **when))
    return tuple(reminders)


#: what an escalation's `to:` may name besides roles, groups, people and addresses
ESCALATION_KEYWORDS = ("participant", "participants")


def read_escalation(reader: Reader, spec: dict) -> Escalation:
    members = reader.members
    for index, rule in enumerate(spec["to"]):
        if rule not in ESCALATION_KEYWORDS and rule not in members.known_roles() and rule not in members.groups \
                and members.person(rule) is None and "@" not in rule:
            roles = ", ".join(sorted(members.known_roles()))
            reader.add(spec["to"], _("escalate to: {rule!r} is not a role ({roles}), a group, a person id "
                                     "or an e-mail address of members.yaml").format(rule=rule, roles=roles), index)
    overdue = parse_duration(spec["after_overdue"]) if spec.get("after_overdue") is not None else None
    return Escalation(tuple(spec["to"]), spec.get("after"), overdue)


def read_participants(reader: Reader, data: dict, has_track: bool) -> tuple[str, ...]:
    spec = data.get("participants")
    if spec is None:
        return ()
    if not has_track:
        reader.add(data, _("participants need a track: the machine each participant moves through"), "participants")
    members = reader.members
    if isinstance(spec, str):
        if spec not in members.groups:
            groups = ", ".join(members.groups) or _("none (add groups to workflows/members.yaml)")
            reader.add(data, _("participants: unknown group {group!r}; groups: {valid}").format(
                group=spec, valid=groups), "participants")
            return ()
        codes = members.groups[spec]
    else:
        codes = tuple(spec)
        for code in codes:
            if code not in members.countries:
                reader.add(data, _("participants: unknown country {code!r}").format(code=code), "participants")
    if not codes:
        reader.add(data, _("participants is empty"), "participants")
    return tuple(codes)
