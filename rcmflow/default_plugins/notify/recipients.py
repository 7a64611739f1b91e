"""Who gets a message: the rules of ``to:`` resolved against members.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rcmflow.default_plugins.notify.common import KEYWORDS, NotifyError, log, parse_address

if TYPE_CHECKING:
    from rcmflow.context import ActionContext
    from rcmflow.model.members import Person


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    language: str
    #: the person's id in members.yaml, None for a bare address
    person: str | None = None
    country: str | None = None


def resolve(ctx: "ActionContext", to: Any) -> list[Recipient]:
    """The people `to` names, each once, in the order the rule lists them; on a reminder
    that escalates, also the further people its event names (`escalate`)."""
    found: dict[str, Recipient] = {}
    without_address: list[str] = []
    further = (ctx.event.data or {}).get("escalate") or []
    for rule in [*(to if isinstance(to, list) else [to]), *further]:
        people = _people(ctx, str(rule).strip())
        if not people and rule in further:  # the reminder still goes to those it names
            log(ctx).warning("an escalation names nobody in members.yaml; not notified", to=rule,
                             participant=ctx.event.participant)
            continue
        if not people:
            raise NotifyError(f"to: {rule!r} names nobody on {ctx.instance.id}: members.yaml has no focal point "
                              f"or person for it")
        for person in people:
            if isinstance(person, Recipient):
                found.setdefault(person.email.lower(), person)
                continue
            if not person.email:
                without_address.append(person.id)
                continue
            parsed = parse_address(person.email)
            if parsed is None:
                raise NotifyError(f"{person.id} has an invalid e-mail address {person.email!r} in members.yaml")
            found.setdefault(parsed.addr_spec.lower(), Recipient(
                parsed.addr_spec, person.name, person.language, person.id, person.country))
    if not found:
        raise NotifyError(f"to: nobody to send to: {', '.join(without_address)} "
                          f"{'has' if len(without_address) == 1 else 'have'} no e-mail address in members.yaml")
    if without_address:
        log(ctx).warning("no e-mail address in members.yaml; not notified", people=without_address)
    return list(found.values())


def _people(ctx: "ActionContext", rule: str) -> list["Person | Recipient"]:
    members = ctx.members
    if rule == "participants":
        return _focal_points(ctx, list(ctx.instance.tracks))
    if rule == "participant":
        if not ctx.event.participant:
            raise NotifyError(f"to: participant needs a track transition; {ctx.event.trigger} on "
                              f"{ctx.instance.id} has no participant (use participants or a group)")
        return _focal_points(ctx, [ctx.event.participant])
    if rule in ("secretariat", "ppt"):
        return [members.people[person_id] for person_id in members.holders(rule)]
    if rule in members.groups:
        return _focal_points(ctx, list(members.groups[rule]))
    if rule in members.known_roles():  # e.g. head_of_delegation: on a track, that country's
        holders = [members.people[person_id] for person_id in members.holders(rule)]
        country = ctx.event.participant
        return [p for p in holders if p.country == country] if country else holders
    person = members.person(rule)
    if person is not None:
        return [person]
    parsed = parse_address(rule)
    if parsed is not None:  # someone outside members.yaml: the home's language, no name
        return [Recipient(parsed.addr_spec, "", str(ctx.config.settings.get("language", "en")))]
    groups = ", ".join(sorted(members.groups)) or "none"
    raise NotifyError(f"to: {rule!r} is not one of {', '.join(KEYWORDS)}, a group of members.yaml "
                      f"({groups}), a person id or an e-mail address")


def _focal_points(ctx: "ActionContext", countries: list[str]) -> list["Person"]:
    people = []
    mailroom = getattr(ctx.engine, "mail", None)
    failing = mailroom.failing() if mailroom is not None else {}
    for code in countries:
        found = ctx.members.focal_points(code)
        if not found:
            log(ctx).warning("no focal point in members.yaml; not notified", country=code)
        working = [p for p in found if (p.email or "").lower() not in failing]
        if len(working) < len(found):  # an address that bounces: the others, and the secretariat, hear of it
            log(ctx).warning("a focal point's address bounces; sent to the others and the secretariat", country=code)
            working += [ctx.members.people[p] for p in ctx.members.holders("secretariat")]
        people.extend(working)
    return people
