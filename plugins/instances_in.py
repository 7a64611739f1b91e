"""The `instances_in` guard: a step that waits for other processes.

The regional review compiles the regional inputs of the thematic consultations, so
it can start only once each of them has been submitted:

    guards:
      - instances_in: {workflow: thematic-consultation, states: [submitted], min: 6}

`params` narrows the instances looked at (e.g. {theme: 3}); `min` is how many must
exist at all (default 1), so that a consultation not yet started is not forgotten.
An instance in one of the `settled` states (default: cancelled) waits for nothing more
and counts as done; the reason names it, so nobody wonders where it went.
"""

from __future__ import annotations

import rcmflow
from rcmflow.language import _

KEYS = {"workflow", "states", "params", "min", "settled"}


def _check(args):
    if not isinstance(args, dict) or not {"workflow", "states"} <= set(args) or set(args) - KEYS:
        return _("write {workflow: NAME, states: [..]} (and optionally params: {..}, min: N)")
    if not isinstance(args["states"], list) or not args["states"]:
        return _("states must be a list of states")
    if not isinstance(args.get("settled", []), list):
        return _("settled must be a list of states (default: [cancelled])")
    return None


def instances_in(ctx, args):
    """Other instances of a workflow (matching params) are all in the given states."""
    workflow, states = args["workflow"], args["states"]
    rows = ctx.instances(workflow, **(args.get("params") or {}))
    needed = int(args.get("min", 1))
    settled = [r for r in rows if r.state in args.get("settled", ["cancelled"])]
    behind = [f"{r.id} ({r.state})" for r in rows if r.state not in states and r.id not in {s.id for s in settled}]
    aside = f" ({', '.join(f'{r.id} {r.state}' for r in settled)})" if settled else ""
    if behind:
        done = len(rows) - len(behind)
        return _("waiting for {behind}: {done} of {total} {workflow} in {states}").format(
            behind=", ".join(behind), done=done, total=len(rows), workflow=workflow, states="|".join(states)) + aside
    if len(rows) < needed:
        return _("{count} {workflow} started, {needed} needed: start the others first").format(
            count=len(rows), workflow=workflow, needed=needed) + aside
    return None


@rcmflow.hookimpl
def register_guards(register):
    register("instances_in", instances_in, check=_check)
