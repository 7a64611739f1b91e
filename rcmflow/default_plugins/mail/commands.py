"""`rcmflow mail …`: the mailroom's commands. Each docstring is the command's help."""

from __future__ import annotations

from typing import Any

import click

from rcmflow.language import _, ngettext
from rcmflow.output import emit_json, terminal_text

KINDS = {"reply": "reply", "auto_reply": "auto-reply", "bounce": "bounce", "malformed": "malformed",
         "oversized": "oversized"}


def mail_json(row: dict[str, Any]) -> dict[str, Any]:
    """A message as `mail inbox --json` and `mail show --json` give it (stable keys)."""
    data = row.get("data") or {}
    return {
        "id": row["id"], "kind": row["kind"], "status": row["status"], "from": row["sender"],
        "subject": row["subject"], "message_id": row["message_id"],
        "sent_at": row["sent_at"].isoformat() if row["sent_at"] else None,
        "received_at": row["received_at"].isoformat(), "instance": row["instance_id"],
        "participant": row["participant"], "reason": row["reason"], "authentication": row["authentication"],
        "until": data.get("until"), "failed": data.get("failed", []), "event_seq": row["event_seq"],
        "decided_by": row["decided_by"], "note": row["note"],
        "attachments": [{"filename": f["filename"], "type": f["content_type"], "size": f["size"],
                         "sha256": f["sha256"], "refused": f["refused"]} for f in row.get("attachments", [])],
    }


def add_commands(cli: click.Group, pass_engine: Any) -> None:
    @cli.group()
    def mail():
        """The mailroom: the countries' answers by e-mail, read, matched and confirmed.

        \b
        rcmflow mail fetch                          read what is new in the mailbox
        rcmflow mail inbox                          what came in: matched, held, auto-replies, bounces
        rcmflow mail show 4                         one message, as text, with its attachments
        rcmflow mail accept 4                       fire submit on its country's track, with its files
        rcmflow mail assign 5 -i theme-3 -p MX      give a held message its track
        rcmflow mail reject 6 --note "not input"    close it, saying why

        The mailbox is the Maildir inbox/ of the home, or the IMAP account of
        [mail.inbound] in rcmflow.toml (the password in RCMFLOW_IMAP_PASSWORD).
        """

    _reading(mail, pass_engine)
    _deciding(mail, pass_engine)


def _reading(mail: click.Group, pass_engine: Any) -> None:
    @mail.command("fetch")
    @click.option("--json", "as_json", is_flag=True, help="Print what was read as JSON.")
    @pass_engine
    def fetch_command(engine, as_json: bool):
        """Read the new messages of the mailbox, once each, and match them.

        Nothing on the server is moved or marked as read. A message already kept (by its
        IMAP UID, its Maildir name or its Message-ID) is not kept again.
        """
        from rcmflow.default_plugins.mail.fetch import fetch

        shown = (lambda s: None) if as_json else (
            lambda s: click.echo(terminal_text(f"mail {s[0]}: {KINDS[s[1]]}, {s[2]} ({s[3]})")))
        report = fetch(engine, progress=shown)
        if as_json:
            return emit_json(report.as_json())
        for line in report.problems:
            click.echo(_("Warning: {line}").format(line=line), err=True)
        click.echo(_("{new} new messages from {source}, {kept} kept already").format(
            new=len(report.stored), source=report.source, kept=report.skipped))

    @mail.command("inbox")
    @click.option("--status", type=click.Choice(["proposed", "held", "accepted", "rejected", "noted"]),
                  help="Only the messages with this status.")
    @click.option("--json", "as_json", is_flag=True, help="Print the messages as JSON.")
    @pass_engine
    def inbox(engine, status: str | None, as_json: bool):
        """What came in: proposed replies, held messages, auto-replies and bounces."""
        rows = engine.mail.messages(status)
        if as_json:
            return emit_json({"messages": [mail_json(r) for r in rows]})
        if not rows:
            return click.echo(_("no messages; 'rcmflow mail fetch' reads the mailbox"))
        for row in rows:
            where = f"{row['instance_id']}/{row['participant']}" if row["participant"] else (row["instance_id"] or "-")
            count = len(row["attachments"])
            files = ", " + ngettext("{count} attachment", "{count} attachments", count).format(count=count) \
                if count else ""
            click.echo(terminal_text(f"{row['id']:>4}  {row['status']:<8}  {KINDS[row['kind']]:<10}  {where:<16}  "
                                     f"{row['sender'] or '?'}  {row['subject'] or ''!r}{files}"))
            click.echo(terminal_text(f"      {row['reason']}"))

    @mail.command("show")
    @click.argument("mail_id", type=int)
    @click.option("--json", "as_json", is_flag=True, help="Print the message as JSON, with its text.")
    @pass_engine
    def show(engine, mail_id: int, as_json: bool):
        """One message as text (never as HTML), with its attachments and their size and type."""
        row = engine.mail.message(mail_id)
        if as_json:
            return emit_json({**mail_json(row), "text": row["text"]})
        print_message(row)


def _deciding(mail: click.Group, pass_engine: Any) -> None:
    @mail.command("accept")
    @click.argument("mail_id", type=int)
    @click.option("--trigger", default="submit", show_default=True, help="The trigger to fire on the track.")
    @pass_engine
    def accept(engine, mail_id: int, trigger: str):
        """Fire TRIGGER on the message's track, with its text as the note and its files.

        The step is recorded as "received by e-mail from ADDRESS" with the message's id;
        the message and the step are written together, so a message is accepted once.
        """
        result = engine.mail.accept(mail_id, trigger)
        click.echo(_("{instance}: {participant} {source} -> {dest} (event {seq}, from mail {mail})").format(
            instance=result.id, participant=result.participant, source=result.source, dest=result.dest,
            seq=result.event_seq, mail=mail_id))
        for failure in result.failures:
            click.echo(_("Warning: {line}").format(line=failure), err=True)

    @mail.command("assign")
    @click.argument("mail_id", type=int)
    @click.option("--instance", "-i", required=True, help="The instance the message answers.")
    @click.option("--participant", "-p", required=True, metavar="CODE", help="The country whose track it is.")
    @pass_engine
    def assign(engine, mail_id: int, instance: str, participant: str):
        """Give a held message the track it answers; then 'rcmflow mail accept' takes it."""
        engine.mail.assign(mail_id, instance, participant)
        click.echo(_("mail {mail}: proposed for {participant} on {instance}; 'rcmflow mail accept {mail}'").format(
            mail=mail_id, participant=participant, instance=instance))

    @mail.command("reject")
    @click.argument("mail_id", type=int)
    @click.option("--note", required=True, help="Why it is not input.")
    @pass_engine
    def reject(engine, mail_id: int, note: str):
        """Close a message that is not input, saying why; nothing moves."""
        engine.mail.reject(mail_id, note)
        click.echo(_("mail {mail}: rejected").format(mail=mail_id))


def print_message(row: dict[str, Any]) -> None:
    """The message's headers and text as plain text: nothing in it is interpreted."""
    shown = mail_json(row)
    for label, key in ((_("From"), "from"), (_("Subject"), "subject"), (_("Date"), "sent_at"),
                       ("Message-ID", "message_id"), (_("Kind"), "kind"), (_("Status"), "status"),
                       (_("Track"), "participant"), (_("Instance"), "instance"), (_("Why"), "reason"),
                       (_("Until"), "until"), ("Authentication-Results", "authentication")):
        if shown[key]:
            click.echo(terminal_text(f"{label}: {shown[key]}"))
    if shown["failed"]:
        click.echo(terminal_text(_("Failing: {addresses}").format(addresses=", ".join(shown["failed"]))))
    for f in shown["attachments"]:
        refused = "  " + _("NOT ACCEPTED: {why}").format(why=f["refused"]) if f["refused"] else ""
        click.echo(terminal_text(_("Attachment: {name} ({type}, {size:,} bytes)").format(
            name=f["filename"], type=f["type"], size=f["size"]) + refused))
    click.echo("")
    click.echo(terminal_text(row["text"] or _("(no text)")))
