"""The action: resolve, render every message, then deliver each and mark it in the ledger."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from rcmflow.default_plugins.notify.common import TEMPLATE_NAME, NotifyError, Refused, log
from rcmflow.default_plugins.notify.compose import (Rendered, Templates, build, documents, fallback_notice, message_id,
                                                   template_scope)
from rcmflow.default_plugins.notify.parts import Documents, built_documents, invitation, thread_key, thread_of
from rcmflow.default_plugins.notify.recipients import Recipient, resolve
from rcmflow.default_plugins.notify.transport import (Settings, Smtp, permanent, refused_message, smtp_reason,
                                                      write_eml)

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


def _outbox_id(ctx: "ActionContext") -> int | None:
    outbox = re.fullmatch(r"outbox-(\d+)", ctx.idempotency_key)
    return int(outbox.group(1)) if outbox else None


def notify(ctx: "ActionContext", args: dict[str, Any]) -> None:
    """Send an e-mail from workflows/templates/, in each recipient's language."""
    template = args.get("template")
    if not isinstance(template, str) or not TEMPLATE_NAME.match(template):
        raise NotifyError(f"template {template!r} is not a template name")  # it makes a file name
    ledger = _ledger(ctx)
    recipients = resolve(ctx, args["to"])
    keys = {r.email: sent_key(ctx, r.email) for r in recipients}
    pending = [r for r in recipients if not ledger.seen(keys[r.email])]
    if not pending:
        return
    try:
        settings = Settings.of(ctx)
    except NotifyError as exc:  # nobody can be reached: say so for each
        _report(ctx, template, {r.email: (r, str(exc), isinstance(exc, Refused)) for r in pending})
        raise
    _deliver(ctx, template, _render(ctx, args, pending, settings), settings, keys)


def _render(ctx: "ActionContext", args: dict[str, Any], recipients: list[Recipient],
            settings: Settings) -> list[Rendered]:
    """Every message, before any goes: a template error sends nothing."""
    templates = Templates(ctx.home)
    built = documents(ctx)
    editions: dict[str, Documents] = {}  # the documents for a reader of each language: their edition
    messages = []
    for recipient in recipients:
        if recipient.language not in editions:
            editions[recipient.language] = built_documents(ctx, list(args.get("attach") or []), recipient.language)
        travelling = editions[recipient.language]
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
    """Send (or write) each message and mark it in the ledger the moment the server has
    taken it; then put who was not reached, and why, in the ledger (for `status` and
    `rcmflow outbox`) and raise: `Refused` if every failure was a 5xx, else NotifyError."""
    import smtplib

    ledger, outbox_id = _ledger(ctx), _outbox_id(ctx)
    smtp = Smtp(settings) if settings.host else None
    transport = "smtp" if smtp else "file"
    missed: dict[str, tuple[Recipient, str, bool]] = {}  # address -> (whom, why, for good)
    failure: str | None = None
    sent = 0
    try:
        for index, rendered in enumerate(messages):
            email = rendered.recipient.email
            msgid = message_id(ctx, rendered.recipient, settings.sender.domain)
            msg = build(rendered, settings, msgid, ctx.now)
            path = write_eml(settings.folder, msg, msgid) if smtp is None else None
            try:
                if smtp is not None:
                    smtp.send(msg, email)
            except (OSError, smtplib.SMTPException, NotifyError) as exc:
                reason, lasting = smtp_reason(exc), permanent(exc)
                if refused_message(exc):  # this message only: the others may still go
                    missed[email] = (rendered.recipient, reason, lasting)
                    continue
                failure = str(exc) if isinstance(exc, NotifyError) else (
                    f"SMTP server {smtp.where()} failed after {sent} of {len(messages)} messages: "
                    f"{type(exc).__name__}: {reason}")
                missed.update((m.recipient.email, (m.recipient, reason, lasting)) for m in messages[index:])
                break
            # The window SMTP leaves open: a crash between the server's 250 and this mark
            # sends the message again on the retry, with the same Message-ID. Nothing else
            # happens in between. A run that outlived its claim may have marked it first.
            ledger.mark(keys[email], outbox_id=outbox_id, instance_id=ctx.instance.id, recipient=email,
                        language=rendered.language, subject=rendered.subject, message_id=msgid,
                        transport=transport, path=str(path) if path else None,
                        # what a reply to it is matched by (the mailroom)
                        participant=rendered.recipient.country if rendered.recipient.country in ctx.instance.tracks
                        else None, template=template)
            # The first message to this person about the instance opens the conversation the others reply to.
            ledger.mark(thread_key(ctx, email), message_id=msgid)
            sent += 1
            log(ctx).info("notification sent", to=email, template=template, language=rendered.language,
                          message_id=msgid, transport=transport)
    finally:
        if smtp is not None:
            smtp.close()
    _report(ctx, template, missed)
    if missed:
        refused = "; ".join(f"{email} ({reason})" for email, (_, reason, _) in missed.items())
        error = Refused if all(lasting for _, _, lasting in missed.values()) else NotifyError
        raise error(f"{len(missed)} of {len(messages)} e-mails could not go out: "
                    f"{failure or f'SMTP server {smtp.where()} refused {refused}'}")


def _report(ctx: "ActionContext", template: str, missed: dict[str, tuple[Recipient, str, bool]]) -> None:
    """Put whom this run did not reach in the ledger (or that it reached everyone, over
    an earlier run's word): what `status` and `rcmflow outbox` show."""
    key = f"{ctx.idempotency_key}:not-reached"
    if not missed and not _ledger(ctx).seen(key):
        return
    _ledger(ctx).put(key, outbox_id=_outbox_id(ctx), instance_id=ctx.instance.id, template=template, not_reached={
        email: {"reason": reason, "permanent": lasting, "participant": whom.country, "name": whom.name}
        for email, (whom, reason, lasting) in missed.items()})
