"""`rcmflow mail fetch`: read what is new, keep each message once, and act on what it is."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rcmflow.default_plugins.mail.mailbox import Letter, open_mailbox
from rcmflow.default_plugins.mail.matching import Match, match, sender_of
from rcmflow.default_plugins.mail.reading import Reading, read, read_headers
from rcmflow.default_plugins.mail.settings import MailSettings, mail_settings
from rcmflow.errors import RcmflowError
from rcmflow.log import get_logger

if TYPE_CHECKING:
    from rcmflow import Engine


@dataclass
class FetchReport:
    source: str
    #: (mail id, kind, status, reason) of each message stored
    stored: list[tuple[int, str, str, str]] = field(default_factory=list)
    #: messages of the mailbox kept already (by their Message-ID)
    skipped: int = 0
    #: one line per thing that went wrong after a message was kept (it stays in the inbox)
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "skipped": self.skipped, "problems": self.problems,
                "stored": [{"id": i, "kind": k, "status": s, "reason": r} for i, k, s, r in self.stored]}


def fetch(engine: "Engine", settings: MailSettings | None = None, progress=None) -> FetchReport:
    """Read the new messages of the mailbox and keep each once, with what it is."""
    settings = settings or mail_settings(engine.config)
    box = open_mailbox(settings)
    report = FetchReport(box.source)
    try:
        known = engine.mail.known(box.source)
        sent = engine.mail.sent()
        instances = {view.id: view for view in engine.status()}
        for letter in box.letters(known):
            reading = read(letter.raw) if letter.whole else read_headers(letter.raw, letter.size)
            if engine.mail.seen(reading.fingerprint):
                report.skipped += 1
                continue
            found = match(reading, engine.members, sent, instances)
            view = instances.get(found.instance_id)
            if found.participant and (view is None or found.participant not in view.tracks):
                found = Match(found.instance_id, None, f"{found.reason}; no track for {found.participant} there")
            stored = _store(engine, box.source, letter, reading, found, settings)
            if stored is None:
                report.skipped += 1
                continue
            report.stored.append(stored)
            if progress:
                progress(stored)
            _follow(engine, stored[0], reading, found, settings, report)
    finally:
        box.close()
    return report


def _status(reading: Reading, found: Match) -> tuple[str, str]:
    if reading.kind in ("malformed", "oversized"):
        return "held", f"{reading.kind}: {reading.problem}"
    if reading.kind in ("auto_reply", "bounce"):
        return "noted", found.reason
    if not found.matched:
        return "held", found.reason
    if not reading.reply and not reading.files:
        return "held", f"{found.reason}, with no text and no attachment"
    return "proposed", found.reason


def _store(engine: "Engine", source: str, letter: Letter, reading: Reading, found: Match,
           settings: MailSettings) -> tuple[int, str, str, str] | None:
    status, reason = _status(reading, found)
    files = [_file(part, settings) for part in reading.files]
    data: dict[str, Any] = {"size": letter.size, "reply": reading.reply}
    if reading.until:
        data["until"] = reading.until.isoformat()
    if reading.kind == "bounce":
        data["failed"], data["returned"] = reading.failed, reading.returned
    message = {
        "source": source, "uid": letter.uid, "fingerprint": reading.fingerprint, "message_id": reading.message_id,
        "sender": (reading.sender or "")[:320] or None, "subject": reading.subject, "sent_at": reading.sent_at,
        "kind": reading.kind, "status": status, "instance_id": found.instance_id,
        "participant": found.participant if reading.kind != "bounce" or found.instance_id else None,
        "reason": reason, "text": reading.text, "authentication": reading.authentication, "data": data,
        "raw": letter.raw,
    }
    mail_id = engine.mail.store(message, files, _track_note(reading) if found.matched else None)
    return None if mail_id is None else (mail_id, reading.kind, status, reason)


def _track_note(reading: Reading) -> dict[str, Any] | None:
    """The event an auto-reply or a bounce leaves on its track; its note is made once the
    message has its id (a function, never a format string: a sender may write braces)."""
    if reading.kind == "auto_reply":
        until = reading.until.isoformat() if reading.until else None
        return {"kind": "out_of_office", "data": {"until": until},
                "note": lambda mail: f"out of office{' until ' + until if until else ''} "
                                     f"(auto-reply from {reading.sender}, mail {mail})"}
    if reading.kind == "bounce" and reading.failed:
        return {"kind": "address_failing", "data": {"failed": reading.failed},
                "note": lambda mail: f"{', '.join(reading.failed)} bounced (mail {mail}): the next reminder goes "
                                     f"to the other focal points and the secretariat"}
    return None


def _file(part, settings: MailSettings) -> dict[str, Any]:
    refused = None
    if not settings.accepts(part.filename):
        refused = f"type not accepted ({', '.join(settings.shape.accepted_types)})"
    elif len(part.content) > settings.shape.max_attachment_bytes:
        refused = f"over the limit of {settings.shape.max_attachment_bytes:,} bytes"
    return {"filename": part.filename, "content_type": part.content_type[:255], "size": len(part.content),
            "sha256": hashlib.sha256(part.content).hexdigest(), "content": None if refused else part.content,
            "refused": refused}


def _follow(engine: "Engine", mail_id: int, reading: Reading, found: Match, settings: MailSettings,
            report: FetchReport) -> None:
    """With auto_accept, a focal point's matched reply is accepted at once; if that
    fails (the track has moved on), the reply stays proposed in the inbox."""
    if not (reading.kind == "reply" and found.matched and settings.shape.auto_accept):
        return
    person = sender_of(engine.members, reading.sender)
    if person is None or person.country != found.participant:
        return
    try:
        engine.mail.accept(mail_id, actor=person.id)
    except RcmflowError as exc:
        get_logger().warning("mail kept, but not accepted", mail=mail_id, error=str(exc))
        report.problems.append(f"mail {mail_id}: kept in the inbox, not accepted: {str(exc).splitlines()[0]}")
