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
from rcmflow.language import _
from rcmflow.model.definition import JOINT, Joint
from rcmflow.store.records import InstanceRecord


def refuse_given(values: dict[str, Any]) -> None:
    """`joint` is written by `--joint` only: typed with --set, it would claim a group."""
    if JOINT in values:
        raise BadInput(_("--set joint: joint input is sent with --joint, which moves every member of the group"))


def fire(rt: Runtime, conn: Connection, row: InstanceRecord, move: Move, contexts: Contexts) -> Outcome:
    """`move` on the track of every member of the group, as their joint input."""
    definition = rt.definition_of(row.workflow, row.definition_hash)
    rules = [t.joint for t in (definition.track.transitions if definition.track else ()) if t.trigger == move.trigger]
    rule = next((r for r in rules if r is not None), None)
    if rule is None:
        joint = [t.trigger for t in definition.track.transitions if t.joint] if definition.track else []
        said = (_("{trigger} on {instance} cannot be sent jointly; joint triggers: {known}") if joint else
                _("{trigger} on {instance} cannot be sent jointly: {workflow} has no joint: rule"))
        raise BadInput(said.format(trigger=move.trigger, instance=row.id, known=", ".join(dict.fromkeys(joint)),
                                   workflow=definition.name))
    members = group(rule, row)
    check_sender(rt, rule, members, move.actor, row.id)
    values = {**move.values, JOINT: members}
    outcome = transition.fire_tracks(rt, conn, row, replace(move, values=values), members, None, contexts)
    return outcome


def group(rule: Joint, row: InstanceRecord) -> list[str]:
    """The members whose tracks move together; a group needs two of them, each with a track."""
    members = row.params.get(rule.members)
    if not isinstance(members, list) or len(members) < 2:
        raise BadInput(_("{instance} has no {param} of two or more members for joint input; "
                         "start it with --set {param}=MX,GT").format(instance=row.id, param=rule.members))
    missing = [m for m in members if row.track(m) is None]
    if missing:
        raise BadInput(_("{code} of the {param} has no track in {instance}").format(
            code=missing[0], param=rule.members, instance=row.id))
    return list(members)


def check_sender(rt: Runtime, rule: Joint, members: list[str], actor: str, instance_id: str) -> None:
    """A person of a member country may send for the whole group only with a role the
    rule names; anyone else is decided track by track, as for any move."""
    person = rt.members.person(actor)
    if person is None or person.country is None:
        return
    if person.country not in members:
        raise Forbidden(_("{instance}: {person} is a focal point of {country}, which is not one of "
                          "the {param} ({members})").format(instance=instance_id, person=person.id,
                                                            country=person.country, param=rule.members,
                                                            members=", ".join(members)))
    if not person.roles & set(rule.roles):
        raise Forbidden(_("{instance}: {person} may not send the joint input of {members}: "
                          "the definition lets only {roles} do it").format(
            instance=instance_id, person=person.id, members=", ".join(members),
            roles=", ".join(rule.roles) or _("no one of a member country")))

