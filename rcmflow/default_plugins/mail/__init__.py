"""The mailroom: the countries' answers by e-mail, read from a Maildir or an IMAP
account, matched to the request they answer and to the sender's country, and
accepted on its track by the secretariat (or at once, with `auto_accept`).

How it fits: `mailbox` reads the messages, `reading` tells what each is (a reply,
an auto-reply, a bounce), `matching` finds its track, `fetch` keeps each once
(`Engine.mail`, in the database) and acts on it, `commands` is `rcmflow mail …`.
The notify action marks every message it sends (its Message-ID, instance,
participant and template) in its ledger: that is what a reply is matched against.
"""

from __future__ import annotations

import rcmflow
from rcmflow.errors import RcmflowError
from rcmflow.log import get_logger


@rcmflow.hookimpl
def register_commands(cli, pass_engine):
    from rcmflow.default_plugins.mail.commands import add_commands

    add_commands(cli, pass_engine)


@rcmflow.hookimpl
def on_tick(engine, now):
    """Read the mailbox when inbound mail is set up ([mail.inbound], or an inbox/ folder)."""
    from rcmflow.default_plugins.mail.fetch import fetch
    from rcmflow.default_plugins.mail.settings import mail_settings

    try:
        settings = mail_settings(engine.config)
        if not settings.configured:
            return
        report = fetch(engine, settings)
    except Exception as exc:  # noqa: BLE001 - the mailbox failing must not stop the timeouts and reminders
        if not isinstance(exc, RcmflowError):
            get_logger().exception("reading the mailbox failed")
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        engine.on_warning(f"tick: the mailbox was not read: {reason}")
        return
    for line in report.problems:
        engine.on_warning(line)


@rcmflow.hookimpl
def status_notes(engine, instances):
    from rcmflow.default_plugins.mail.notes import notes

    return notes(engine, instances)
