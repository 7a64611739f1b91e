"""What every section reader of a workflow file shares: where problems go, the plugin
registry and the members it checks names against, and how `{{ }}` references and named
calls (guards, actions) are read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from rcmflow.language import _
from rcmflow.model.definition import Call, Param
from rcmflow.model.loader import Problems, line_of
from rcmflow.model.members import Members
from rcmflow.model.refs import Template, nested_strings, reference_problems
from rcmflow.model.values import to_plain

NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


class Checked(Protocol):
    """A registered guard or action, as validation sees it (`rcmflow.plugins.Registered`)."""

    plugin: str

    def check(self, args: Any) -> str | None: ...


class Names(Protocol):
    """The plugin registry, as validation sees it (`rcmflow.plugins.Registry`)."""

    guards: Mapping[str, Checked]
    actions: Mapping[str, Checked]


@dataclass
class Reader:
    """What every section reader needs: where problems go, what is registered and known."""

    problems: Problems
    registry: Names
    members: Members
    params: dict[str, Param] = field(default_factory=dict)

    def add(self, node: Any, message: str, key: Any = None) -> None:
        self.problems.add(node, message, key)


def template(reader: Reader, node: Any, key: Any, value: Any) -> Template:
    text = str(value)
    for message in reference_problems(text, reader.params):
        reader.add(node, message, key)
    return Template(text)


def read_calls(reader: Reader, node: dict, key: str, kind: str) -> tuple[Call, ...]:
    """The guards or actions listed under `key`, each known to the registry and checked by its plugin."""
    items = node.get(key) or []
    known = reader.registry.guards if kind == "guard" else reader.registry.actions
    calls = []
    for index, item in enumerate(items):
        name, args = (item, None) if isinstance(item, str) else next(iter(item.items()))
        if name not in known:
            unknown = _("unknown guard {name!r}; registered guards: {valid}") if kind == "guard" else _(
                "unknown action {name!r}; registered actions: {valid}")
            reader.add(items, unknown.format(name=name, valid=", ".join(sorted(known)) or _("none")), index)
            continue
        args = to_plain(args)
        message = _plugin_check(known[name], args)
        if message:
            prefix = _("guard {name}: {message}") if kind == "guard" else _("action {name}: {message}")
            reader.add(items, prefix.format(name=name, message=message), index)
        for text in nested_strings(args):
            if "{{" in text:
                template(reader, items, index, text)
        calls.append(Call(name, args, line_of(items, index)))
    return tuple(calls)


def _plugin_check(registered: Checked, args: Any) -> str | None:
    """The plugin's own check of the arguments; a check that fails is a problem, not a crash."""
    try:
        return registered.check(args)
    except Exception as exc:  # noqa: BLE001 - any plugin bug becomes one line naming the plugin
        return _("the check of plugin {plugin} failed on these arguments: {error}").format(
            plugin=registered.plugin, error=f"{type(exc).__name__}: {exc}")
