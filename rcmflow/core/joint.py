"""Joint input: the countries of a group (a consultation's thematic subgroup) send one
input together, in one command. Every member's track moves with the same note, values
and files, in one transaction, all or nothing; each event's values carry `joint`, the
members, which the track keeps, so that documents and `status` say whose joint input
it is. Who may send it for the group is the transition's `joint:` rule."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.engine import Connection

from rcmflow.core import transition
from rcmflow.core.runtime import Runtime
from rcmflow.core.transition import Contexts, Move
from rcmflow.core.unit_of_work import Outcome
from rcmflow.errors import BadInput, Forbidden
from rcmflow.model.definition import JOINT, Joint
from rcmflow.store.records import InstanceRecord


def refuse_given(values: dict[str, Any]) -> None:
    """`joint` is written by `--joint` only: typed with --set, it would claim a group."""
    if JOINT in values:
        raise BadInput("--set joint: joint input is sent with --joint, which moves every member of the group")


def fire(rt: Runtime, conn: Connection, row: InstanceRecord, move: Move, contexts: Contexts) -> Outcome:
    """`move` on the track of every member of the group, as their joint input."""
    definition = rt.definition_of(row.workflow, row.definition_hash)
    rules = [t.joint for t in (definition.track.transitions if definition.track else ()) if t.trigger == move.trigger]
    rule = next((r for r in rules if r is not None), None)
    if rule is None:
        joint = [t.trigger for t in definition.track.transitions if t.joint] if definition.track else []
        raise BadInput(f"{move.trigger} on {row.id} cannot be sent jointly"
                       + (f"; joint triggers: {', '.join(dict.fromkeys(joint))}" if joint
                          else f": {definition.name} has no joint: rule"))
    members = group(rule, row)
    check_sender(rt, rule, members, move.actor, row.id)
    values = {**move.values, JOINT: members}
    outcome = transition.fire_tracks(rt, conn, row, replace(move, values=values), members, None, contexts)
    return outcome


def group(rule: Joint, row: InstanceRecord) -> list[str]:
    """The members whose tracks move together; a group needs two of them, each with a track."""
    members = row.params.get(rule.members)
    if not isinstance(members, list) or len(members) < 2:
        raise BadInput(f"{row.id} has no {rule.members} of two or more members for joint input; "
                       f"start it with --set {rule.members}=MX,GT")
    missing = [m for m in members if row.track(m) is None]
    if missing:
        raise BadInput(f"{missing[0]} of the {rule.members} has no track in {row.id}")
    return list(members)


def check_sender(rt: Runtime, rule: Joint, members: list[str], actor: str, instance_id: str) -> None:
    """A person of a member country may send for the whole group only with a role the
    rule names; anyone else is decided track by track, as for any move."""
    person = rt.members.person(actor)
    if person is None or person.country is None:
        return
    if person.country not in members:
        raise Forbidden(f"{instance_id}: {person.id} is a focal point of {person.country}, which is not one of "
                        f"the {rule.members} ({', '.join(members)})")
    if not person.roles & set(rule.roles):
        raise Forbidden(f"{instance_id}: {person.id} may not send the joint input of {', '.join(members)}: "
                        f"the definition lets only {', '.join(rule.roles) or 'no one of a member country'} do it")

