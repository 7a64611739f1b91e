"""The shape of the files users write, declared once: a workflow definition and
`workflows/members.yaml` (`rcmflow.toml` is in `model.settings`).

pydantic checks the keys, their types and which are required; `shape_problems` turns
its errors into `file:line: message` through the loader's line table, each saying
what was wrong and what would be valid. What the names mean (states, roles, guards,
countries) is checked afterwards, in `model.validate` and `model.members`.
"""

import datetime as dt
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from rcmflow.errors import BadInput, Problem
from rcmflow.language import _
from rcmflow.model.addresses import DisplayName, EmailAddress
from rcmflow.model.loader import Problems, line_of
from rcmflow.model.values import parse_duration


def N_(text: str) -> str:  # a text for the catalogs: `_` translates it when a message is made of it
    return text


#: pydantic's error types in words: "<where> must be <words>"
TYPE_WORDS = {
    "string_type": N_("text"), "bool_type": N_("true or false"), "int_type": N_("a whole number"),
    "int_parsing": N_("a whole number"), "int_from_float": N_("a whole number"), "float_type": N_("a number"),
    "dict_type": N_("a mapping"), "model_type": N_("a mapping"), "model_attributes_type": N_("a mapping"),
    "list_type": N_("a list"), "too_short": N_("non-empty"), "greater_than_equal": N_("at least {ge}"),
    "less_than_equal": N_("at most {le}"), "greater_than": N_("more than {gt}"),
    "finite_number": N_("a finite number"), "literal_error": N_("one of {expected}"),
}


class Shape(BaseModel):
    """A mapping with exactly these keys, each of exactly its type (no conversions)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _kind(value: Any) -> str | None:
    for kind, classes in (("flag", bool), ("text", str), ("date", dt.date), ("number", (int, float)),
                        ("mapping", dict), ("list", list)):
        if isinstance(value, classes):
            return kind
    return None


def either(hint: str, **branches: Any) -> Any:
    """A value written in one of several shapes, told apart by its kind (text, list,
    mapping, date...); any other kind is an error that says `hint`."""
    choices = tuple(Annotated[shape, Tag(kind)] for kind, shape in branches.items())
    return Annotated[Union[choices], Discriminator(_kind, custom_error_type="shape", custom_error_message=hint)]


def hint(text: str, default: Any = None, missing: str | None = None, **constraints: Any) -> Any:
    """A field's description of what is valid; `missing` is the message when it is required and absent."""
    extra = {"missing": missing} if missing else None
    if missing:
        return Field(description=text, json_schema_extra=extra, **constraints)
    return Field(default, description=text, json_schema_extra=extra, **constraints)


CALL_HINTS = {"action": N_("a action name, or a mapping {name: arguments}"),
              "guard": N_("a guard name, or a mapping {name: arguments}")}
ENTRY_RULES = {"action": N_("a action is a name or a mapping {name: arguments}"),
               "guard": N_("a guard is a name or a mapping {name: arguments}")}


def _one_entry(kind: str):
    def check(value: dict) -> dict:
        if len(value) != 1:
            raise PydanticCustomError("rule", _(ENTRY_RULES[kind]))
        return value

    return check


def _duration(text: str) -> str:
    try:
        parse_duration(text)
    except BadInput as exc:
        raise PydanticCustomError("rule", str(exc)) from None
    return text


#: a number and a unit: 14d, 12h, 2w, 30m
Duration = Annotated[str, AfterValidator(_duration)]


def calls(kind: str) -> Any:
    entry = either(CALL_HINTS[kind], text=str,
                   mapping=Annotated[dict[str, Any], AfterValidator(_one_entry(kind))])
    return list[entry]


Names = either(N_("a name or a list of names"), text=str, list=list[str])
Texts = either(N_("a text, or one text per language like {en: Consultation, es: Consulta}"),
               text=str, mapping=dict[str, str])
ActionCalls, GuardCalls = calls("action"), calls("guard")
Moment = either(N_("a date like 2017-04-20, a date and time, or a reference like '{{ params.deadline }}'"),
                text=str, date=Any)


# --- a workflow definition --------------------------------------------------------------


class ParamShape(Shape):
    type: str = hint(N_("a param type such as str, int, date, list"), "str")
    choices: list[Any] = hint(N_("a list of the values allowed"), [])
    labels: dict[Any, Texts] = hint(N_("a mapping of choice: its name, e.g. {1: {en: Health, es: Salud}}"), {})
    required: bool = hint(N_("true or false"), False)
    default: Any = None
    description: str = hint(N_("text"), "")


class TimeoutShape(Shape):
    trigger: str = hint(N_("the trigger to fire"),
                        missing=N_("a timeout needs the trigger it fires, e.g. trigger: expire"))
    at: Moment | None = None
    after: Duration | None = hint(N_("a duration like 14d, 12h, 2w or 30m"))
    #: a track state's: the grace after the track's own deadline (which `extend` may move)
    after_deadline: Duration | None = hint(N_("a grace period after the track's deadline, like 0d or 3d"))

    @model_validator(mode="after")
    def _at_or_after(self):
        if [self.at, self.after, self.after_deadline].count(None) != 2:
            raise PydanticCustomError("rule", _("a timeout needs one of at (a date), after (e.g. 14d) or, in a "
                                                "track state, after_deadline (e.g. 3d), and a trigger"))
        return self


class StateShape(Shape):
    name: str = hint(N_("the state's name"), missing=N_("a state is a name or a mapping with a name"))
    final: bool = hint(N_("true or false"), False)
    on_enter: ActionCalls = hint(N_("a list of actions, e.g. [{notify: {to: participants, template: x}}]"), [])
    on_exit: ActionCalls = hint(N_("a list of actions"), [])
    timeout: TimeoutShape | None = hint(N_("a mapping {after: 14d, trigger: NAME} or {at: DATE, trigger: NAME} "
                                        "(in a track state: {after_deadline: 3d, trigger: NAME})"))
    description: str = hint(N_("text"), "")


States = Annotated[list[either(N_("a name or a mapping with a name"), text=str, mapping=StateShape)],
                   Field(min_length=1)]


class DeadlineShape(Shape):
    date: Moment | None = None
    met: list[str] = hint(N_("a list of track states"), [])


Sources = either(N_("a state, a list of states, or '*'"), text=str, list=Annotated[list[str], Field(min_length=1)])
Participants = either(N_("a group of members.yaml or a list of country codes"), text=str, list=list[str])
Deadline = either(N_("a date, a reference like '{{ params.deadline }}', or {date: ..., met: [states]}"),
                  text=str, date=Any, mapping=DeadlineShape)


class JointShape(Shape):
    members: str = hint(N_("a list param, e.g. subgroup"),
                        missing=N_("joint: needs members: the list param, e.g. subgroup"))
    roles: list[str] = hint(N_("a list of roles, e.g. [focal_point]"), [])


class TransitionShape(Shape):
    trigger: str = hint(N_("a lower case name like close_collection"),
                        missing=N_("a transition needs a trigger: a lower case name like close_collection"))
    source: Sources = hint("", missing=N_("a transition needs a source state (a name, a list, or '*')"))
    dest: str = hint(N_("a state"), missing=N_("a transition needs a dest: the state it goes to"))
    guards: GuardCalls = hint(N_("a list of guards, e.g. [{tracks_in: [submitted]}]"), [])
    roles: list[str] = hint(N_("a list of roles, e.g. [secretariat]"), [])
    actions: ActionCalls = hint(N_("a list of actions, e.g. [{log: done}]"), [])
    description: str = hint(N_("text"), "")
    #: what `fire --set` may give: absent, anything; given, only these
    inputs: dict[str, ParamShape] | None = hint(N_("a mapping of name: {type: text, required: true}"))
    #: a group (the members of a list param) may take it together: fire --joint
    joint: JointShape | None = hint(N_("a mapping like {members: subgroup, roles: [focal_point]}"))


class EscalationShape(Shape):
    after: Annotated[int, Field(ge=1)] | None = hint(N_("a number of reminders sent, e.g. after: 3"))
    after_overdue: Duration | None = hint(N_("a duration past the deadline, e.g. after_overdue: 10d"))
    to: Annotated[list[str], Field(min_length=1)] = hint(
        N_("a list of roles or people, e.g. [head_of_delegation, ppt]"),
        missing=N_("an escalation needs to: [head_of_delegation, ...]"))

    @model_validator(mode="after")
    def _after_or_overdue(self):
        if (self.after is None) == (self.after_overdue is None):
            raise PydanticCustomError("rule", _("an escalation has either after: N (reminders sent) or "
                                                "after_overdue: (e.g. 10d), and to: [...]"))
        return self


class ReminderShape(Shape):
    before: Duration | None = hint(N_("a duration like 7d"))
    every: Duration | None = hint(N_("a duration like 3d"))
    escalate: EscalationShape | None = hint(N_("a mapping like {after: 3, to: [head_of_delegation, ppt]}"))
    actions: ActionCalls = hint(N_("a list of actions"), missing=N_("a reminder has either before: (e.g. 7d) or "
                                    "every: (e.g. 3d), and actions: [...]"))

    @model_validator(mode="after")
    def _before_or_every(self):
        if (self.before is None) == (self.every is None):
            raise PydanticCustomError("rule", _("a reminder has either before: (e.g. 7d) or every: (e.g. 3d), "
                                                "and actions: [...]"))
        return self


class NamedDeadlineShape(Shape):
    """One of a track's `deadlines:`, e.g. finalised: {date: "{{ params.meeting }}", ...}."""

    date: Moment = hint("", missing=N_("a deadline needs a date: a date or a reference like '{{ params.meeting }}'"))
    met: list[str] = hint(N_("a list of track states"), [])
    title: Texts | None = None
    reminders: list[ReminderShape] = hint(N_("a list like [{before: 7d, actions: [...]}]"), [])


class TrackShape(Shape):
    initial: str = hint(N_("a state of the track"), missing=N_("{where} has no initial state: add 'initial: <state>'"))
    states: States = hint(N_("a list of states"), missing=N_("{where} needs a list of states"))
    transitions: list[TransitionShape] = hint(N_("a list of transitions {trigger, source, dest}"), [])
    deadline: Deadline | None = None
    #: several named deadlines, each with its reminders (instead of deadline: and reminders:)
    deadlines: dict[str, NamedDeadlineShape] | None = hint(
        N_("a mapping of name: {date: ..., met: [states], reminders: [...]}"))
    active_in: list[str] = hint(N_("a list of workflow states"), [])
    reminders: list[ReminderShape] = hint(N_("a list like [{before: 7d, actions: [...]}]"), [])


class WorkflowShape(Shape):
    workflow: str = hint(N_("the workflow's name in lower case, e.g. thematic-consultation"),
                         missing=N_("'workflow:' must name the workflow in lower case, e.g. thematic-consultation"))
    version: int = hint(N_("a whole number from 1"), 1, ge=1)
    title: Texts | None = None
    description: str = hint(N_("text"), "")
    params: dict[str, ParamShape | None] = hint(N_("a mapping of name: {type: ...}"), {})
    participants: Participants | None = None
    track: TrackShape | None = hint(N_("a mapping with initial, states and transitions"))
    initial: str = hint(N_("a state"), missing=N_("{where} has no initial state: add 'initial: <state>'"))
    states: States = hint(N_("a list of states"), missing=N_("{where} needs a list of states"))
    transitions: list[TransitionShape] = hint(N_("a list of transitions {trigger, source, dest}"), [])
    id: str | None = hint(N_("an id template like 'theme-{{ params.theme }}'"))


# --- workflows/members.yaml -------------------------------------------------------------


class CountryShape(Shape):
    name: Texts | None = None
    language: str = hint(N_("a language code: en, es or fr"), "en")


class PersonShape(Shape):
    id: str = hint(N_("a person id like mx-focal"), missing=N_("each person needs at least an id"))
    name: DisplayName | None = hint(N_("text"))
    email: EmailAddress = hint(N_("an e-mail address"), "")
    language: str | None = hint(N_("a language code: en, es or fr"))
    roles: list[str] = hint(N_("a list of roles, e.g. [secretariat]"), [])
    country: str | None = hint(N_("a country code of countries:, like MX"))


class MembersShape(Shape):
    countries: dict[str, CountryShape | None] = hint(
        N_("a mapping of codes, like MX: {name: Mexico, language: es}"), {})
    observers: dict[str, CountryShape | None] = hint(N_("a mapping of codes, like RNCOM: {name: RNCOM}"), {})
    people: list[PersonShape] = hint(N_("a list of people, like [{id: mx-focal, country: MX}]"), [])
    groups: dict[str, list[str] | None] = hint(N_("a mapping of group: [country codes]"), {})


# --- errors as file:line: message --------------------------------------------------------


def shape_problems(shape: type[Shape], data: Any, problems: Problems, root: str, toml: bool = False) -> bool:
    """Check `data` against `shape`; add one problem per error. True when it fits."""
    try:
        shape.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            line, path, found = _locate(data, error["loc"])
            problems.append(Problem(problems.file, line, _message(shape, error, path, root, toml)))
        return False
    return True


def _locate(data: Any, loc: tuple) -> tuple[int, list, bool]:
    """The line of the value at `loc`, its path of keys and indexes (tags left out), and
    whether the last key was there (a missing key is reported at its mapping)."""
    node, parent, key, path, found = data, None, None, [], True
    for part in loc:
        if isinstance(node, dict) and part in node:
            parent, key, node = node, part, node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            parent, key, node = node, part, node[part]
        elif part == "[key]" or (part in _TAGS and not (isinstance(node, dict) and part in node)):
            continue
        else:
            found = False
        path.append(part)
    if not found:
        return line_of(node), path, False
    return (line_of(parent, key) if parent is not None else line_of(data)), path, True


_UNIONS = (Union, types.UnionType)
_TAGS = {"flag", "text", "date", "number", "mapping", "list"}


def _message(shape: type[Shape], error: dict, path: list, root: str, toml: bool) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "rule":
        return error["msg"]
    field, parent_type = _field_at(shape, loc)
    where = _where(path, toml) or _(root)
    parent = _where(path[:-1], toml) or _(root)
    if kind == "extra_forbidden":
        valid = ", ".join(sorted(f.alias or name for name, f in getattr(parent_type, "model_fields", {}).items()))
        return _("unknown key {key} in {where}; valid keys: {valid}").format(key=repr(path[-1]), where=parent,
                                                                              valid=valid)
    if kind == "missing":
        extra = (field.json_schema_extra or {}) if field else {}
        if extra.get("missing"):
            return _(extra["missing"]).format(where=parent)
        if field and field.description:
            return _("{where} needs {key}: {words}").format(where=parent, key=path[-1], words=_(field.description))
        return _("{where} needs {key}").format(where=parent, key=path[-1])
    if "[key]" in loc:
        return _("key {key} in {where} must be {words}").format(key=repr(path[-1]), where=parent,
                                                                words=_(TYPE_WORDS.get(kind, "text")))
    if kind == "shape":
        words = _(error["msg"])
    elif field is not None and field.description and loc[-1] not in _TAGS and not isinstance(loc[-1], int):
        words = _(field.description)
    elif field is None and parent_type is not None and hasattr(parent_type, "extra_hint"):
        words = _(parent_type.extra_hint)
    elif kind in TYPE_WORDS:
        words = _(TYPE_WORDS[kind]).format(**error.get("ctx", {}))
    else:
        words = error["msg"][0].lower() + error["msg"][1:]  # pydantic's own words
    return _("{where} must be {words} (got {value})").format(where=where, words=words,
                                                             value=_shown(error.get("input")))


def _field_at(shape: type[Shape], loc: tuple) -> tuple[Any, Any]:
    """The pydantic field that `loc` ends in (or None), and the model holding it."""
    tp, field, holder = shape, None, None
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            holder = tp
            field = next((f for name, f in tp.model_fields.items() if part in (name, f.alias)), None)
            tp = field.annotation if field else None
            continue
        field = None
        origin, args = get_origin(tp), get_args(tp)
        if origin is list:
            tp = args[0]
        elif origin is dict:
            tp = args[0] if part == "[key]" else args[1]
        elif origin in _UNIONS:
            tp = next((a for a in args if any(getattr(m, "tag", None) == part for m in getattr(a, "__metadata__", ()))),
                      None)
        else:
            tp = None
    return field, holder


def _unwrap(tp: Any) -> Any:
    """`Annotated[X, ...]` as X, and `X | None` as X."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        args = get_args(tp)
        if get_origin(tp) in _UNIONS and type(None) in args and len(args) == 2:
            tp = next(a for a in args if a is not type(None))
            continue
        return tp


def _where(path: list, toml: bool) -> str:
    if not path:
        return ""
    if toml:
        keys = [str(p) for p in path if not isinstance(p, int)]
        return keys[0] if len(keys) == 1 else f"[{'.'.join(keys[:-1])}] {keys[-1]}"
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _shown(value: Any) -> str:
    if isinstance(value, (dict, list)) and len(value) > 3:
        return _("a mapping") if isinstance(value, dict) else _("a list")
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
