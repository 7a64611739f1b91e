"""The `instances_in` guard: a step that waits for other processes.

The regional review compiles the regional inputs of the thematic consultations, so
it can start only once each of them has been submitted:

    guards:
      - instances_in: {workflow: thematic-consultation, states: [submitted], min: 6}

`params` narrows the instances looked at (e.g. {theme: 3}); `min` is how many must
exist at all (default 1), so that a consultation not yet started is not forgotten.
"""

from __future__ import annotations

import rcmflow

KEYS = {"workflow", "states", "params", "min"}


def _check(args):
    if not isinstance(args, dict) or not {"workflow", "states"} <= set(args) or set(args) - KEYS:
        return "write {workflow: NAME, states: [..]} (and optionally params: {..}, min: N)"
    if not isinstance(args["states"], list) or not args["states"]:
        return "states must be a list of states"
    return None


def instances_in(ctx, args):
    """Other instances of a workflow (matching params) are all in the given states."""
    workflow, states = args["workflow"], args["states"]
    rows = ctx.instances(workflow, **(args.get("params") or {}))
    needed = int(args.get("min", 1))
    behind = [f"{r.id} ({r.state})" for r in rows if r.state not in states]
    if behind:
        done = len(rows) - len(behind)
        return f"waiting for {', '.join(behind)}: {done} of {len(rows)} {workflow} in {'|'.join(states)}"
    if len(rows) < needed:
        return f"{len(rows)} {workflow} started, {needed} needed: start the others first"
    return None


@rcmflow.hookimpl
def register_guards(register):
    register("instances_in", instances_in, check=_check)
