"""What a trigger may be given (`fire --set`): values are checked before anything is
decided, so that what plugins read back later is what the definition allows."""

from __future__ import annotations

from typing import Any

from rcmflow.core.runtime import Runtime
from rcmflow.errors import BadInput
from rcmflow.language import _
from rcmflow.model.definition import JOINT, Definition, TransitionDef
from rcmflow.model.values import to_json_value


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


def check(rt: Runtime, definition: Definition, transition: TransitionDef, values: dict[str, Any],
          given: dict[str, Any]) -> dict[str, Any]:
    """The values given with the trigger, checked and typed: a workflow's param is fixed
    at start; a transition that declares its inputs takes those only, each of its type;
    and no value may be given under a key an action owns (what an action reads back
    must be what it wrote, not what someone typed)."""
    for key in values:
        # a param the instance started without may be given by the step that needs it
        if key in definition.params and given.get(key) is not None:
            fixed = _("--set {key}: {key} is a param of {workflow}, fixed when the instance started").format(
                key=key, workflow=definition.name)
            if definition.params[key].type == "date":
                fixed += "; " + _("move a deadline with 'rcmflow extend'")
            raise BadInput(fixed)
    owned = owned_keys(rt, definition) if values else {}
    for key in values:
        if key in owned:
            action = owned[key]
            raise BadInput(_("--set {key}: {workflow} keeps {quoted} itself (the {action} action of {plugin}); "
                             "it cannot be given with --set").format(key=key, workflow=definition.name,
                                                                     quoted=repr(key), action=action.name,
                                                                     plugin=action.plugin))
    return declared(definition, transition, values)


def declared(definition: Definition, transition: TransitionDef, values: dict[str, Any]) -> dict[str, Any]:
    """`values` by the transition's declared inputs (as they are when it declares none)."""
    if transition.inputs is None:
        return values
    accepted = {p.name: p for p in transition.inputs}
    for key in values:
        if key not in accepted and key != JOINT:  # the members of a joint move, which --joint gives
            valid = (_("it accepts {names}").format(names=", ".join(accepted)) if accepted
                     else _("it accepts no --set"))
            raise BadInput(_("{trigger} has no input {key}; {valid}").format(
                trigger=transition.trigger, key=repr(key), valid=valid))
    typed = {}
    for name, param in accepted.items():
        if name in values:
            typed[name] = to_json_value(param.parse(values[name]))
        elif param.required:
            needs = _("{trigger} needs {name}: add --set {name}=VALUE").format(trigger=transition.trigger, name=name)
            raise BadInput(f"{needs} ({param.description})" if param.description else needs)
    return {**typed, **({JOINT: values[JOINT]} if JOINT in values else {})}
