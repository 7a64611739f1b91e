"""The action: resolve, render every message, then deliver each and mark it in the ledger."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rcmflow.default_plugins.notify.common import TEMPLATE_NAME, NotifyError, log
from rcmflow.default_plugins.notify.compose import (Rendered, Templates, build, documents, fallback_notice, message_id,
                                                   template_scope)
from rcmflow.default_plugins.notify.parts import built_documents, invitation, thread_key, thread_of
from rcmflow.default_plugins.notify.recipients import Recipient, resolve
from rcmflow.default_plugins.notify.transport import Settings, Smtp, refused_message, smtp_reason, write_eml

if TYPE_CHECKING:
    from rcmflow.context import ActionContext


def sent_key(ctx: "ActionContext", email: str) -> str:
    """The ledger key of this action's message to `email`."""
    key = f"{ctx.idempotency_key}:{email.lower()}"
    if len(key) > 200:  # as sent_messages kept it (a long address as its hash), so upgraded rows still match
        key = f"{ctx.idempotency_key}:sha256:{hashlib.sha256(email.lower().encode()).hexdigest()}"
    return key


def _ledger(ctx: "ActionContext"):
    if getattr(ctx, "ledger", None) is None:
        raise NotifyError("notify runs after the commit, from the outbox: its context has no ledger "
                          "to keep who has been sent what")
    return ctx.ledger


def _record(ctx: "ActionContext", key: str, rendered: Rendered, msgid: str, transport: str,
            path: Path | None) -> None:
    # A run of this action that outlived its claim may have marked it first: then mark() keeps that one.
    outbox = re.fullmatch(r"outbox-(\d+)", ctx.idempotency_key)
    _ledger(ctx).mark(key, outbox_id=int(outbox.group(1)) if outbox else None, instance_id=ctx.instance.id,
                      recipient=rendered.recipient.email, language=rendered.language, subject=rendered.subject,
                      message_id=msgid, transport=transport, path=str(path) if path else None)
    # The first message to this person about the instance opens the conversation the others reply to.
    _ledger(ctx).mark(thread_key(ctx, rendered.recipient.email), message_id=msgid)


def notify(ctx: "ActionContext", args: dict[str, Any]) -> None:
    """Send an e-mail from workflows/templates/, in each recipient's language."""
    template = args.get("template")
    if not isinstance(template, str) or not TEMPLATE_NAME.match(template):
        raise NotifyError(f"template {template!r} is not a template name")  # it makes a file name
    settings = Settings.of(ctx)
    ledger = _ledger(ctx)
    recipients = resolve(ctx, args["to"])
    keys = {r.email: sent_key(ctx, r.email) for r in recipients}
    pending = [r for r in recipients if not ledger.seen(keys[r.email])]
    if pending:
        _deliver(ctx, template, _render(ctx, args, pending, settings), settings, keys)


def _render(ctx: "ActionContext", args: dict[str, Any], recipients: list[Recipient],
            settings: Settings) -> list[Rendered]:
    """Every message, before any goes: a template error sends nothing."""
    templates = Templates(ctx.home)
    built = documents(ctx)
    travelling = built_documents(ctx, list(args.get("attach") or []))
    messages = []
    for recipient in recipients:
        scope = template_scope(ctx, recipient, built, travelling, args.get("invitation"))
        language, subject, body = templates.render(args["template"], scope, recipient.language)
        body = fallback_notice(recipient.language, language) + body
        parts = travelling.parts
        if args.get("invitation"):
            meeting = invitation(ctx, args["invitation"], recipient, settings.sender.addr_spec)
            parts += (meeting,) if meeting else ()
        messages.append(Rendered(recipient, language, subject, body, parts, thread_of(ctx, recipient.email)))
    return messages


def _deliver(ctx: "ActionContext", template: str, messages: list[Rendered], settings: Settings,
             keys: dict[str, str]) -> None:
    """Send (or write) each message and mark it in the ledger; raise at the end if
    the server refused some, at once if it failed as a whole."""
    import smtplib

    smtp = Smtp(settings) if settings.host else None
    transport = "smtp" if smtp else "file"
    refused: list[str] = []
    sent = 0
    try:
        for rendered in messages:
            email = rendered.recipient.email
            msgid = message_id(ctx, rendered.recipient, settings.sender.domain)
            msg = build(rendered, settings, msgid, ctx.now)
            path = None
            if smtp is None:
                path = write_eml(settings.folder, msg, msgid)
            else:
                try:
                    smtp.send(msg, email)
                except (OSError, smtplib.SMTPException) as exc:
                    if refused_message(exc):
                        # This message only: the others may still go; the retry tries it again.
                        refused.append(f"{email} ({smtp_reason(exc)})")
                        continue
                    raise NotifyError(f"SMTP server {smtp.where()} failed after {sent} of {len(messages)} "
                                      f"messages: {type(exc).__name__}: {smtp_reason(exc)}") from None
            _record(ctx, keys[email], rendered, msgid, transport, path)
            sent += 1
            log(ctx).info("notification sent", to=email, template=template, language=rendered.language,
                          message_id=msgid, transport=transport)
    finally:
        if smtp is not None:
            smtp.close()
    if refused:
        raise NotifyError(f"SMTP server {smtp.where()} refused {len(refused)} of {len(messages)} messages: "
                          f"{'; '.join(refused)}")
