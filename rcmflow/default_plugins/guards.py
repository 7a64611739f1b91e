"""The built-in guards. Each returns None to allow a transition, or why it waits.

`approved_by` comes with the in-transaction action it reads, `record_approval`: a
step that several roles must approve (the TS **and** the PPT sign off the draft)
waits until a person of each role has approved the text as it now stands.

    - {trigger: sign_off, source: drafting, dest: drafting, roles: [secretariat, ppt],
       actions: [record_approval]}
    - {trigger: circulate, source: drafting, dest: circulating,
       guards: [{approved_by: [secretariat, ppt]}]}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from rcmflow import hookimpl
from rcmflow.context import GuardContext
from rcmflow.language import _
from rcmflow.model.values import parse_datetime


def _state_list(args: Any) -> list[str] | None:
    if isinstance(args, str):
        return [args]
    if isinstance(args, list) and args and all(isinstance(a, str) for a in args):
        return args
    return None


def _check_states(args: Any) -> str | None:
    if _state_list(args) is None:
        return _("give the track states as a list, e.g. [submitted, accepted]")
    return None


def tracks_in(ctx: GuardContext, args: Any) -> str | None:
    """Every participant's track is in one of the given states."""
    states = _state_list(args)
    waiting = [p for p, t in ctx.tracks.items() if t.state not in states]
    if not waiting:
        return None
    done = len(ctx.tracks) - len(waiting)
    return _("waiting for {waiting}: {done} of {total} tracks in {states}").format(
        waiting=", ".join(waiting), done=done, total=len(ctx.tracks), states="|".join(states))


def _check_tracks_min(args: Any) -> str | None:
    if not isinstance(args, dict) or set(args) != {"count", "states"}:
        return _("write {count: N, states: [submitted, accepted]}")
    if not isinstance(args["count"], int) or args["count"] < 1:
        return _("count must be a whole number from 1")
    return _check_states(args["states"])


def tracks_min(ctx: GuardContext, args: Any) -> str | None:
    """At least `count` tracks are in one of the given `states` (a quorum)."""
    states = _state_list(args["states"])
    count = args["count"]
    ready = [p for p, t in ctx.tracks.items() if t.state in states]
    if len(ready) >= count:
        return None
    if not ready:
        return _("needs {count} tracks in {states}, has 0").format(count=count, states="|".join(states))
    return _("needs {count} tracks in {states}, has {ready}: {who}").format(
        count=count, states="|".join(states), ready=len(ready), who=", ".join(ready))


def _names(args: Any) -> list[str]:
    return [args] if isinstance(args, str) else list(args)


def _check_names(args: Any) -> str | None:
    if isinstance(args, str) or (isinstance(args, list) and args and all(isinstance(a, str) for a in args)):
        return None
    return _("give a param name or a list of names")


def param_set(ctx: GuardContext, args: Any) -> str | None:
    """The named values are set: as a param, in the instance data, or given with the trigger."""
    missing = [
        name for name in _names(args)
        if all(source.get(name) in (None, "") for source in (ctx.instance.params, ctx.instance.data, ctx.given))
    ]
    if not missing:
        return None
    return _("{names} not set: give it with --set {first}=VALUE").format(names=", ".join(missing), first=missing[0])


def _moment(value: Any) -> dt.date | dt.datetime:
    if isinstance(value, dt.date):
        return value
    text = str(value)
    return dt.date.fromisoformat(text) if len(text) == 10 else parse_datetime(text)


def _check_moment(args: Any) -> str | None:
    if isinstance(args, str) and "{{" in args:
        return None
    try:
        _moment(args)
    except ValueError:
        return _("{value} is not a date (YYYY-MM-DD) or date and time").format(value=repr(args))
    return None


def _is_past(ctx: GuardContext, moment: dt.date | dt.datetime) -> bool:
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ctx.now.tzinfo)
        return ctx.now >= moment
    return ctx.today > moment


def before(ctx: GuardContext, args: Any) -> str | None:
    """Allowed up to the given date (inclusive) or until the given time."""
    if args in (None, ""):
        return _("no date is set for this step")
    moment = _moment(args)
    return _("the deadline {moment} has passed").format(moment=moment.isoformat()) if _is_past(ctx, moment) else None


def after(ctx: GuardContext, args: Any) -> str | None:
    """Allowed once the given date is over, or from the given time on."""
    if args in (None, ""):
        return _("no date is set for this step")
    moment = _moment(args)
    return None if _is_past(ctx, moment) else _("not before {moment} has passed").format(moment=moment.isoformat())


# --- approvals -------------------------------------------------------------------------


def text_version(data: dict[str, Any]) -> str:
    """What an approval is of: the instance's text (`data.text`, or its language versions
    `data.texts`) as it stands."""
    texts = data.get("texts")
    text = ({code: v.get("text") for code, v in texts.items() if isinstance(v, dict)}
            if isinstance(texts, dict) and texts else data.get("text"))
    return hashlib.sha256(json.dumps(text, sort_keys=True, default=str).encode()).hexdigest()[:16]


def record_approval(ctx, args: Any) -> None:
    """Record that the acting person approves the text, once for each of their roles."""
    person = ctx.members.person(ctx.event.actor)
    roles = sorted(person.roles) if person is not None else []
    approvals = dict(ctx.data.get("approvals") or {})
    for role in roles:
        approvals[role] = {"by": ctx.event.actor, "at": ctx.event.at.isoformat(), "of": text_version(ctx.data)}
    ctx.data["approvals"] = approvals


def approved_by(ctx: GuardContext, args: Any) -> str | None:
    """A person of each of the given roles has approved the text as it now stands
    (a revision of the text asks for the approvals again)."""
    approvals = ctx.instance.data.get("approvals")
    approvals = approvals if isinstance(approvals, dict) else {}
    current = text_version(ctx.instance.data)
    done = {role: a for role, a in approvals.items() if isinstance(a, dict) and a.get("of") == current}
    missing = [role for role in _names(args) if role not in done]
    if not missing:
        return None
    given = [_("{role} approved by {who}").format(role=role, who=a.get("by"))
             for role, a in sorted(done.items()) if role in _names(args)]
    stale = [role for role in missing if role in approvals]
    reason = _("waiting for the approval of {roles}").format(roles=_(" and ").join(missing))
    if stale:
        reason += " " + _("({roles} approved an earlier text)").format(roles=", ".join(stale))
    return "; ".join([reason, *given])


@hookimpl
def register_actions(register):
    register("record_approval", record_approval, in_transaction=True, owns=["approvals"])


@hookimpl
def register_guards(register):
    register("tracks_in", tracks_in, check=_check_states)
    register("tracks_min", tracks_min, check=_check_tracks_min)
    register("param_set", param_set, check=_check_names)
    register("before", before, check=_check_moment)
    register("after", after, check=_check_moment)
    register("approved_by", approved_by, check=_check_names)
