"""The `build_document` action: `{build_document: {template: NAME, formats: [docx, html]}}`.

It runs after the commit like every effect; a failing template leaves it in the
outbox with a one-line error and writes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rcmflow.context import SYSTEM_ACTOR
from rcmflow.errors import BadInput
from rcmflow.default_plugins.documents.files import FORMATS, check_formats, check_template_name

if TYPE_CHECKING:
    from rcmflow.context import ActionContext


def build_document(ctx: "ActionContext", args: dict[str, Any]) -> None:
    """Build a document from a template into out/<instance>/ (docx, html) and record it."""
    from rcmflow.default_plugins.documents.build import build  # the document libraries load on first build

    # A run that died after recording its build, before the outbox marked it done, is run
    # again: its `build` event says the work is done (the files it wrote are the same).
    if any(e.trigger == "build" and e.data.get("action") == ctx.idempotency_key
           for e in ctx.engine.history(ctx.instance.id)):
        return
    build(ctx.engine, ctx.instance, args["template"], tuple(args.get("formats") or FORMATS),
          actor=SYSTEM_ACTOR, cause={"event_seq": ctx.event.seq, "action": ctx.idempotency_key})


def check_build_document(args: Any) -> str | None:
    """What is wrong with the action's arguments in a definition, or None."""
    if not isinstance(args, dict) or "template" not in args:
        return "write {template: NAME, formats: [docx, html]} (NAME of workflows/templates/NAME.md.j2)"
    unknown = sorted(set(args) - {"template", "formats"})
    if unknown:
        return f"unknown argument {unknown[0]!r}; build_document takes template and formats"
    try:
        check_template_name(args["template"])
    except BadInput as exc:
        return str(exc)
    return check_formats(args["formats"]) if "formats" in args else None
