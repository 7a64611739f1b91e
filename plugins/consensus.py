"""The `consensus` guard: the RCM adopts by consensus.

Every member country either agrees or does not object, and no objection stands: one
standing objection blocks adoption. Observers (RNCOM, IOM, …) have no vote and are
not counted. A blocked adoption names the objecting countries and their reasons
(the `reason` a country gave with `fire … object --set reason=…`).

    guards:
      - consensus: {agree: [agreed, no_objection], object: [objected]}
"""

from __future__ import annotations

import rcmflow


def _check(args):
    if not isinstance(args, dict) or not {"agree", "object"} <= set(args) or set(args) - {"agree", "object", "reason"}:
        return "write {agree: [track states], object: [track states]} (and optionally reason: a data key)"
    return None


def consensus(ctx, args):
    """Every member agrees or does not object, and no objection stands."""
    reason_key = args.get("reason", "reason")
    voters = {p: t for p, t in ctx.tracks.items() if ctx.members.countries.get(p) is None
              or ctx.members.countries[p].member}
    objecting = [p for p, t in voters.items() if t.state in args["object"]]
    if objecting:
        details = [f'{p} ("{voters[p].data[reason_key]}")' if voters[p].data.get(reason_key) else p
                   for p in objecting]
        return f"an objection stands: {', '.join(details)}"
    undecided = [p for p, t in voters.items() if t.state not in args["agree"]]
    if undecided:
        ready = len(voters) - len(undecided)
        return (f"no consensus yet: waiting for {', '.join(undecided)} "
                f"({ready} of {len(voters)} members agree or do not object)")
    return None


@rcmflow.hookimpl
def register_guards(register):
    register("consensus", consensus, check=_check)
