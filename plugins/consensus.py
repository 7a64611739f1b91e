"""The `consensus` guard: the RCM adopts by consensus.

Every member country either agrees or does not object, and no objection stands: one
standing objection blocks adoption. Observers (RNCOM, IOM, …) have no vote and are
not counted. A blocked adoption names the objecting countries and their reasons
(the `reason` a country gave with `fire … object --set reason=…`).

    guards:
      - consensus: {agree: [agreed, no_objection], object: [objected]}

The silence procedure of intergovernmental bodies: with `silence: consent` and a
deadline `by`, a member that neither agreed nor objected once that day is over counts
as not objecting. The `silence_procedure` action (in the same transition) records who
consented by silence in the instance's data, for the adopted record:

      - consensus: {agree: [...], object: [...], silence: consent, by: "{{ params.adoption_due }}"}
    actions: [{silence_procedure: {agree: [...], object: [...], by: "{{ params.adoption_due }}"}}]
"""

from __future__ import annotations

import datetime as dt

import rcmflow
from rcmflow.language import _

KEYS = {"agree", "object", "reason", "silence", "by"}


def _check(args):
    if not isinstance(args, dict) or not {"agree", "object"} <= set(args) or set(args) - KEYS:
        return _("write {agree: [track states], object: [track states]} (and optionally reason: a data key, "
                 "silence: consent with by: a date)")
    if args.get("silence") not in (None, "consent") or (args.get("silence") and not args.get("by")):
        return _("silence: consent needs by: the date after which silence counts as consent")
    return None


def _check_action(args):
    if not isinstance(args, dict) or not {"agree", "object", "by"} <= set(args):
        return _("write {agree: [track states], object: [track states], by: DATE}")
    return None


def voters(ctx):
    """The tracks of the members that vote (observers do not)."""
    return {p: t for p, t in ctx.instance.tracks.items() if ctx.members.countries.get(p) is None
            or ctx.members.countries[p].member}


def deadline(args) -> dt.date | None:
    by = args.get("by")
    if by in (None, ""):
        return None
    return by if isinstance(by, dt.date) else dt.date.fromisoformat(str(by)[:10])


def silent(ctx, args) -> list[str]:
    """The members that neither agreed nor objected."""
    return [p for p, t in voters(ctx).items() if t.state not in args["agree"] and t.state not in args["object"]]


def consensus(ctx, args):
    """Every member agrees or does not object (or stayed silent past the deadline of a
    silence procedure), and no objection stands."""
    reason_key = args.get("reason", "reason")
    members = voters(ctx)
    objecting = [p for p, t in members.items() if t.state in args["object"]]
    if objecting:
        details = [f'{p} ("{members[p].data[reason_key]}")' if members[p].data.get(reason_key) else p
                   for p in objecting]
        return _("an objection stands: {who}").format(who=", ".join(details))
    undecided = silent(ctx, args)
    if not undecided:
        return None
    by = deadline(args) if args.get("silence") == "consent" else None
    if by is not None and ctx.now.date() > by:
        return None  # the silence procedure: no answer by the deadline is no objection
    ready = len(members) - len(undecided)
    reason = _("no consensus yet: waiting for {who} ({ready} of {total} members agree or do not object)").format(
        who=", ".join(undecided), ready=ready, total=len(members))
    if by:
        reason += "; " + _("silence counts as consent after {day}").format(day=by.isoformat())
    return reason


def silence_procedure(ctx, args):
    """Record who consented by silence (the members still silent after the deadline)."""
    by = deadline(args)
    if by is not None and ctx.now.astimezone(ctx.config.timezone).date() > by:
        ctx.data["consented_by_silence"] = silent(ctx, args)


@rcmflow.hookimpl
def register_guards(register):
    register("consensus", consensus, check=_check)


@rcmflow.hookimpl
def register_actions(register):
    register("silence_procedure", silence_procedure, check=_check_action, in_transaction=True,
             owns=lambda args: ["consented_by_silence"])
