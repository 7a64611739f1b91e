"""Who may fire a transition (roles), and whether its guards let it: one decision,
used alike by `fire` and by `triggers`.

Actors are people or nobody: every change is made by a person of members.yaml (whose
roles and country decide what they may fire) or by rcmflow itself (`SYSTEM_ACTOR`:
timeouts, reminders, what actions record after a commit). Anyone may read; a name
that members.yaml does not list may change nothing, even a transition without `roles:`
(which is open to every person)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcmflow.context import SYSTEM_ACTOR, GuardContext
from rcmflow.errors import Forbidden
from rcmflow.language import _
from rcmflow.model.definition import TransitionDef
from rcmflow.model.members import Members
from rcmflow.model.refs import render_value
from rcmflow.plugins import Registry


@dataclass(frozen=True)
class Verdict:
    """Whether a transition may fire now: `role` says why the actor may not, `guards`
    what the process still waits for."""

    role: str | None
    guards: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return self.role is None and not self.guards

    @property
    def reasons(self) -> list[str]:
        return [self.role] if self.role else list(self.guards)


def decide(transition: TransitionDef, ctx: GuardContext, registry: Registry, scope: dict[str, Any],
           check_roles: bool = True) -> Verdict:
    """The one place guards are evaluated. Roles come first: a guard is not asked on
    behalf of someone who may not fire the transition at all."""
    role = role_problem(transition, ctx) if check_roles else None
    if role:
        return Verdict(role, ())
    return Verdict(None, tuple(guard_reasons(transition, ctx, registry, scope)))


def guard_reasons(transition: TransitionDef, ctx: GuardContext, registry: Registry,
                  scope: dict[str, Any]) -> list[str]:
    """Why the guards of `transition` refuse it now; empty when they all allow it."""
    reasons = []
    for call in transition.guards:
        reason = registry.guards[call.name].function(ctx, render_value(call.args, scope))
        if reason:
            reasons.append(reason)
    return reasons


def role_problem(transition: TransitionDef, ctx: GuardContext) -> str | None:
    """Why the actor may not fire `transition`, or None. Checked before any guard."""
    if ctx.actor == SYSTEM_ACTOR:
        return None
    person = ctx.members.person(ctx.actor)
    if person and person.country and ctx.participant and person.country != ctx.participant \
            and not (transition.joint and transition.joint.lets(ctx.given, ctx.instance.params, person.country,
                                                                person.roles, ctx.participant)):
        return _("{person} is a focal point of {country} and cannot act on {participant}'s track").format(
            person=person.id, country=person.country, participant=ctx.participant)
    if not transition.roles:
        return None if person else f"{transition.trigger}: {not_a_person(ctx.actor)}"
    needed = "|".join(transition.roles)
    if person is None:
        return _("{trigger} needs role {roles}, and actor {actor} is not in workflows/members.yaml; "
                 "choose one with --actor or RCMFLOW_ACTOR").format(trigger=transition.trigger, roles=needed,
                                                                    actor=repr(ctx.actor))
    if not person.roles & set(transition.roles):
        held = ", ".join(sorted(person.roles)) or _("no role")
        return _("{trigger} needs role {roles}; {person} has {held}").format(
            trigger=transition.trigger, roles=needed, person=person.id, held=held)
    return None


def not_a_person(actor: str) -> str:
    if not actor:
        return _("no actor given: say who you are with --actor ID or RCMFLOW_ACTOR (or actor in rcmflow.toml), "
                 "a person id of workflows/members.yaml such as ts-officer")
    return _("actor {actor} is not a person of workflows/members.yaml, and only they can change anything; "
             "choose one with --actor or RCMFLOW_ACTOR").format(actor=repr(actor))


def require_person(members: Members, actor: str, what: str) -> None:
    """Refuse a change (`what`: "start theme-3") by an actor who is not a person."""
    if members.person(actor) is None:
        raise Forbidden(f"{what}: {not_a_person(actor)}")
