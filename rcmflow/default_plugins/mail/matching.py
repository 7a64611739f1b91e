"""What a message answers: the instance and the country's track, or why it is held.

A sender is known only by an address of members.yaml (compared in lower case, with
any +tag of the local part left out) and is matched only to its own country's
track: a message from anyone else waits for the secretariat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rcmflow.default_plugins.mail.reading import Reading

if TYPE_CHECKING:
    from rcmflow.context import InstanceView
    from rcmflow.model.members import Members, Person


def address_key(address: str) -> str:
    """An address as it is compared: lower case, without a +tag."""
    local, _, domain = address.strip().lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}" if local else address.strip().lower()


def sender_of(members: "Members", address: str | None) -> "Person | None":
    if not address:
        return None
    key = address_key(address)
    return next((p for p in members.people.values() if p.email and address_key(p.email) == key), None)


@dataclass(frozen=True)
class Match:
    instance_id: str | None
    participant: str | None
    #: how it was matched, or why it is held, in words
    reason: str

    @property
    def matched(self) -> bool:
        return self.participant is not None


def match(reading: Reading, members: "Members", sent: dict[str, dict[str, Any]],
          instances: dict[str, "InstanceView"]) -> Match:
    """The track `reading` answers, by its thread, else by an instance id in its subject."""
    person = sender_of(members, reading.sender)
    refs = reading.returned if reading.kind == "bounce" else reading.refs
    thread = next((sent[ref] for ref in refs if ref in sent), None)
    if reading.kind == "bounce":
        return _bounced(thread, members)
    country = person.country if person else None
    if country is None:
        return Match(None, None, f"{reading.sender or 'no sender'} is not an address of members.yaml")
    if thread is not None:
        answered = thread.get("participant") or _country_of(members, thread.get("recipient"))
        instance = instances.get(thread.get("instance_id"))
        if answered and answered != country:
            return Match(thread.get("instance_id"), None, f"{person.id} ({country}) answered the message "
                                                           f"sent to {answered}")
        return _on_track(instance, country, f"a reply to {thread.get('template') or 'a message'} "
                                            f"sent to {thread.get('recipient')}")
    named = [i for i in _ids_in(reading.subject) if i in instances]
    if named:
        return _on_track(instances[named[0]], country, f"{named[0]} named in the subject")
    if reading.kind == "auto_reply":
        last = next((r for r in reversed(list(sent.values()))
                     if address_key(str(r.get("recipient", ""))) == address_key(reading.sender or "")), None)
        if last is not None:
            return _on_track(instances.get(last.get("instance_id")), country, "the last message sent there")
    return Match(None, None, f"from {person.id} ({country}) but in no thread of rcmflow's and with no instance "
                             f"id in the subject")


def _on_track(instance: "InstanceView | None", country: str, how: str) -> Match:
    if instance is None:
        return Match(None, None, f"{how}, of an instance that no longer exists")
    if country not in instance.tracks:
        return Match(instance.id, None, f"{how}, but {instance.id} has no track for {country}")
    return Match(instance.id, country, how)


def _bounced(thread: dict[str, Any] | None, members: "Members") -> Match:
    if thread is None:
        return Match(None, None, "a bounce of no message rcmflow sent")
    participant = thread.get("participant") or _country_of(members, thread.get("recipient"))
    return Match(thread.get("instance_id"), participant, f"the bounce of {thread.get('template') or 'a message'} "
                                                         f"sent to {thread.get('recipient')}")


def _country_of(members: "Members", address: Any) -> str | None:
    person = sender_of(members, str(address)) if address else None
    return person.country if person else None


def _ids_in(subject: str) -> list[str]:
    return [token.lower().rstrip("._-") for token in re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", subject or "")]
