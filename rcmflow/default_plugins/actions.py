"""The built-in actions: `log` (an effect, after the commit) and `set` (in the transaction)."""

from __future__ import annotations

from typing import Any

from rcmflow import hookimpl
from rcmflow.context import ActionContext

LEVELS = ("debug", "info", "warning", "error")


def _check_log(args: Any) -> str | None:
    if isinstance(args, str):
        return None
    if isinstance(args, dict) and "message" in args and args.get("level", "info") in LEVELS:
        return None
    return f"write a message, or {{message: TEXT, level: one of {', '.join(LEVELS)}}}"


def log(ctx: ActionContext, args: Any) -> None:
    """Write a line to the rcmflow log, bound to the instance and event."""
    message, level = (args, "info") if isinstance(args, str) else (args["message"], args.get("level", "info"))
    getattr(ctx.log, level)(message, event_seq=ctx.event.seq)


def _check_set(args: Any) -> str | None:
    if isinstance(args, dict) and args and all(isinstance(k, str) for k in args):
        return None
    return "write a mapping of names to values, e.g. {set: {consolidated: true}}"


def set_data(ctx: ActionContext, args: dict[str, Any]) -> None:
    """Set values in the instance's data, as part of the transition itself."""
    ctx.data.update(args)


@hookimpl
def register_actions(register):
    register("log", log, check=_check_log)
    register("set", set_data, check=_check_set, in_transaction=True, owns=lambda args: list(args or {}))
