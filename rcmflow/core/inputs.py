"""What a trigger may be given (`fire --set`): values are checked before anything is
decided, so that what plugins read back later is what the definition allows."""

from __future__ import annotations

from typing import Any

from rcmflow.core.runtime import Runtime
from rcmflow.errors import BadInput
from rcmflow.model.definition import Definition


def owned_keys(rt: Runtime, definition: Definition) -> dict[str, Any]:
    """The data keys that the in-transaction actions of `definition` write (their
    registered `owns`), each with the action that owns it."""
    registry = rt.plugins.registry.actions
    owned: dict[str, Any] = {}
    for mdef in filter(None, (definition.instance, definition.track)):
        calls = [c for state in mdef.states.values() for c in (*state.on_enter, *state.on_exit)]
        calls += [c for t in mdef.transitions for c in t.actions]
        for call in calls:
            action = registry.get(call.name)
            if action is not None and action.in_transaction:
                owned.update(dict.fromkeys(action.owned(call.args), action))
    return owned


def check(rt: Runtime, definition: Definition, values: dict[str, Any]) -> None:
    """Refuse a value given with the trigger under a key that an action owns: what an
    action reads back must be what it wrote, not what someone typed."""
    owned = owned_keys(rt, definition) if values else {}
    for key in values:
        if key in owned:
            action = owned[key]
            raise BadInput(f"--set {key}: {definition.name} keeps {key!r} itself (the {action.name} action "
                           f"of {action.plugin}); it cannot be given with --set")
