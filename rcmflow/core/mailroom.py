"""`Engine.mail`: the mailroom's messages in the database, for the mail plugin.

Reading what a message is belongs to the plugin (`default_plugins/mail`); this part
keeps each message once and makes the secretariat's decisions about it writes of
their own: accepting a message fires its trigger and marks the message accepted in
one transaction, so a reply is never taken twice, nor marked without its step.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from rcmflow.context import SYSTEM_ACTOR
from rcmflow.core import policy, transition
from rcmflow.core.transition import FireResult, Move
from rcmflow.core.unit_of_work import Outcome
from rcmflow.errors import BadInput, Forbidden, NotFound
from rcmflow.language import _
from rcmflow.store import mail as statements

if TYPE_CHECKING:
    from rcmflow.core.engine import Engine

#: what a message can still become; accepted, rejected and noted messages are done
OPEN = ("proposed", "held")


class Mailroom:
    """The messages of the mailroom; each method is one short transaction."""

    def __init__(self, engine: "Engine"):
        self.engine = engine

    def _read(self, read):
        with self.engine.db.reading() as session, session.begin():
            return read(session.connection())

    def _require_secretariat(self, what: str) -> None:
        """Only the secretariat decides what a message answers, or that it answers nothing."""
        engine = self.engine
        engine.require_person(what)
        holders = engine.members.holders("secretariat")
        if engine.actor not in holders:
            raise Forbidden(_("{what}: only the secretariat ({holders}) decides what a message answers; "
                              "{actor} is not of it").format(
                what=what, holders=", ".join(holders) or _("nobody in members.yaml"), actor=engine.actor))

    def known(self, source: str) -> set[str]:
        """The keys (IMAP UIDs, Maildir names) of `source` already stored."""
        return self._read(lambda conn: statements.known_uids(conn, source))

    def seen(self, fingerprint: str) -> bool:
        """Whether a message with this fingerprint (of its Message-ID) is stored."""
        return self._read(lambda conn: statements.has_fingerprint(conn, fingerprint))

    def sent(self) -> dict[str, dict[str, Any]]:
        """What rcmflow sent, by Message-ID (lower case, without <>)."""
        rows = self._read(statements.sent_messages)
        # a message's own row, not the notify action's row that names a conversation's first message
        return {str(r["message_id"]).strip("<>").lower(): r for r in rows if r.get("message_id") and r.get("recipient")}

    def failing(self) -> dict[str, dict[str, Any]]:
        """The addresses that bounced and have not written since: {address: {"mail", "since"}}."""
        failing: dict[str, dict[str, Any]] = {}
        for row in self._read(statements.select_senders):
            if row["kind"] == "bounce":
                for address in (row["data"] or {}).get("failed", []):
                    failing[address.lower()] = {"mail": row["id"], "since": row["received_at"]}
            else:  # a message from the address shows that it works again
                failing.pop((row["sender"] or "").lower(), None)
        return failing

    def store(self, message: dict[str, Any], files: list[dict[str, Any]],
              track_note: dict[str, Any] | None = None) -> int | None:
        """Keep one message and its attachments; None if it is kept already (another
        fetch stored it a moment ago). With `track_note` ({"kind", "note", "data"}, "note" a
        function of the message's id that gives the event's note), what the message says
        about its track (out of office, a failing address) goes into the history as
        rcmflow's own event, in the same transaction: both or neither."""
        engine = self.engine

        def work(conn: Connection) -> Outcome:
            # the instance's row first, then the time: after whatever was recorded before us
            row = transition.load(conn, message["instance_id"], for_update=True) if track_note else None
            now = engine.now()
            mail_id = statements.insert_message(conn, {"received_at": now, **message}, files)
            if row is None:
                return Outcome(mail_id)
            track = row.track(message["participant"])
            event = transition.record(conn, row, now, SYSTEM_ACTOR, trigger=track_note["kind"], source=track.state,
                                      dest=track.state, participant=track.participant,
                                      note=track_note["note"](mail_id),
                                      data={**track_note["data"], "mail": mail_id})
            statements.update_message(conn, mail_id, event_seq=event.seq)
            return Outcome(mail_id, [event.seq], [], now)

        try:
            return engine.uow.run(work, SYSTEM_ACTOR, trigger="mail fetch").result
        except IntegrityError:
            return None

    def messages(self, status: str | None = None) -> list[dict[str, Any]]:
        """Every message (or those with `status`), oldest first, each with its
        attachments listed (without their content)."""
        def read(conn: Connection):
            rows = statements.select_messages(conn, status)
            by_message: dict[int, list[dict[str, Any]]] = {}
            for f in statements.select_files(conn, [r["id"] for r in rows]) if rows else []:
                by_message.setdefault(f["message"], []).append(f)
            for row in rows:
                row["attachments"] = by_message.get(row["id"], [])
            return rows

        return self._read(read)

    def message(self, message_id: int, content: bool = False) -> dict[str, Any]:
        """One message with its raw bytes and its attachments (with `content`, their bytes)."""
        def read(conn: Connection):
            row = _existing(conn, message_id)
            row["attachments"] = statements.select_files(conn, [message_id], content)
            return row

        return self._read(read)

    def accept(self, message_id: int, trigger: str = "submit", actor: str | None = None) -> FireResult:
        """Fire `trigger` on the message's track with its text as the note and its
        accepted attachments, and mark it accepted: both or neither."""
        engine = self.engine
        who = actor or engine.actor
        policy.require_person(engine.members, who, f"mail accept {message_id}")
        engine.catalog  # noqa: B018 - read the definitions before the write transaction opens

        def work(conn: Connection) -> Outcome:
            row = _existing(conn, message_id, for_update=True)
            if row["kind"] != "reply":
                raise BadInput(_("mail {id} is {kind}, not input; only a reply can be accepted "
                                 "(rcmflow mail inbox lists the replies)").format(
                    id=message_id, kind=_kind(row["kind"])))
            _check_open(row, "accepted")
            if not row["instance_id"] or not row["participant"]:
                raise BadInput(_("mail {id} is held ({reason}); give it a track first: "
                                 "rcmflow mail assign {id} --instance ID --participant CODE").format(
                    id=message_id, reason=row["reason"]))
            files = [(f["filename"], f["content"]) for f in statements.select_files(conn, [message_id], True)
                     if f["content"] is not None]
            text = (row["data"] or {}).get("reply") or row["text"] or ""
            note = f"received by e-mail from {row['sender']} (mail {message_id}, {row['message_id']})"
            move = Move(trigger, row["participant"], who, f"{note}\n\n{text}".strip(), {}, files, engine.now())
            target = transition.load(conn, row["instance_id"], for_update=True)
            outcome = transition.fire(engine.rt, conn, target, move, engine.action_context)
            statements.update_message(conn, message_id, status="accepted", event_seq=outcome.result.event_seq,
                                      decided_by=who)
            return outcome

        outcome = engine.uow.run(work, who, instance=f"mail {message_id}", trigger=trigger)
        return replace(outcome.result, failures=tuple(outcome.failures))

    def assign(self, message_id: int, instance_id: str, participant: str) -> dict[str, Any]:
        """Give a held message the track it answers; it is then proposed for acceptance."""
        engine = self.engine
        self._require_secretariat(f"mail assign {message_id}")

        def work(conn: Connection) -> Outcome:
            _open(conn, message_id, "assigned")
            target = transition.load(conn, instance_id)
            if target.track(participant) is None:
                tracks = ", ".join(t.participant for t in target.tracks) or _("none")
                raise BadInput(_("{instance} has no track for {participant}; its tracks: {tracks}").format(
                    instance=instance_id, participant=repr(participant), tracks=tracks))
            statements.update_message(conn, message_id, status="proposed", instance_id=instance_id,
                                      participant=participant, decided_by=engine.actor,
                                      reason=f"assigned by {engine.actor}")
            return Outcome(None)

        engine.uow.run(work, engine.actor, instance=instance_id, trigger="mail assign")
        return self.message(message_id)

    def reject(self, message_id: int, note: str) -> None:
        """Close a message that is not input, saying why; nothing moves."""
        engine = self.engine
        self._require_secretariat(f"mail reject {message_id}")

        def work(conn: Connection) -> Outcome:
            _open(conn, message_id, "rejected")
            statements.update_message(conn, message_id, status="rejected", decided_by=engine.actor, note=note)
            return Outcome(None)

        engine.uow.run(work, engine.actor, trigger="mail reject")


def _kind(kind: str) -> str:
    return {"auto_reply": _("an auto-reply"), "bounce": _("a bounce"), "malformed": _("a malformed message"),
            "oversized": _("an oversized message"), "reply": _("a reply")}.get(kind, kind)


def _existing(conn: Connection, message_id: int, for_update: bool = False) -> dict[str, Any]:
    row = statements.select_message(conn, message_id, for_update)
    if row is None:
        raise NotFound(_("no mail {id}; 'rcmflow mail inbox' lists the messages").format(id=message_id))
    return row


def _open(conn: Connection, message_id: int, becoming: str) -> dict[str, Any]:
    return _check_open(_existing(conn, message_id, for_update=True), becoming)


def _check_open(row: dict[str, Any], becoming: str) -> dict[str, Any]:
    message_id = row["id"]
    if row["status"] not in OPEN:
        said = (_("mail {id} is {status} already (event {seq}); only a proposed or held message can be {becoming}")
                if row["event_seq"] else
                _("mail {id} is {status} already; only a proposed or held message can be {becoming}"))
        raise BadInput(said.format(id=message_id, status=row["status"], seq=row["event_seq"], becoming=becoming))
    return row
