"""What travels with a message besides its text: the documents it announces, a
calendar invitation to a meeting, and its place in the conversation with one person.

- ``attach: [TEMPLATE, …]`` attaches the files built from those document templates,
  in the recipient's edition (``out/<instance>/TEMPLATE.es.docx`` and ``.es.html`` for a
  Spanish speaker; the home's edition for a language that has none); ``files`` in the list attaches
  those given with the step that queued the message (``fire --attach``). Above ``[notify] attach_limit``
  (bytes, or "10 MB"; default 10 MB for all of them) the message carries no file but
  a link to each on the status page (``[notify] status_page``, its address).
- ``invitation: PARAM`` attaches an iCalendar invitation (METHOD:REQUEST) to the
  meeting on the date param PARAM, with the UID of the same event in
  ``rcmflow calendar``, so a calendar that imported the export updates that event.
- Every message to a person about one instance after the first is a reply to the
  first (In-Reply-To, References): one conversation per request in their mail client.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rcmflow.default_plugins.documents.editions import home_language, reader_edition
from rcmflow.default_plugins.documents.files import edition_of
from rcmflow.default_plugins.notify.common import NotifyError

if TYPE_CHECKING:
    from rcmflow.context import ActionContext
    from rcmflow.default_plugins.notify.recipients import Recipient

DEFAULT_LIMIT = 10 * 1024 * 1024
#: in `attach:`, the files attached to the step that queued the message (`fire --attach`)
EVENT_FILES = "files"
UNITS = {"": 1, "b": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3}
TYPES = {".docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
         ".html": ("text", "html"), ".ics": ("text", "calendar"), ".md": ("text", "markdown"),
         ".pdf": ("application", "pdf"), ".txt": ("text", "plain")}


@dataclass(frozen=True)
class Part:
    filename: str
    content: bytes

    @property
    def mime(self) -> tuple[str, str]:
        suffix = self.filename[self.filename.rfind("."):].lower() if "." in self.filename else ""
        return TYPES.get(suffix, ("application", "octet-stream"))


@dataclass(frozen=True)
class Documents:
    """The built files a message announces: attached, or (too big) linked."""

    parts: tuple[Part, ...] = ()
    #: (file name, address on the status page) of the files too big to attach
    links: tuple[tuple[str, str], ...] = ()


def attach_limit(ctx: "ActionContext") -> int:
    value = ctx.config.section("notify").get("attach_limit", DEFAULT_LIMIT)
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?b?)\s*", str(value).lower())
    if match is None or isinstance(value, bool):
        raise NotifyError(f"rcmflow.toml [notify] attach_limit = {value!r} is not a size; write bytes "
                          f"(10485760) or e.g. \"10 MB\"")
    return int(match.group(1)) * UNITS[match.group(2) if match.group(2) != "b" else ""]


def built_documents(ctx: "ActionContext", names: list[str], language: str | None = None) -> Documents:
    """The files built from the document templates `names` for the instance, in the
    edition of `language` (else the home's), and, for `files`, those attached to the
    step that queued the message: attached if they fit the limit, else linked on the
    status page."""
    folder = ctx.home / "out" / ctx.instance.id
    # (file name, size, its address on the status page, how to read it)
    found: list[tuple[str, int, str, Any]] = []
    for name in names:
        if name == EVENT_FILES:
            found += [(a.filename, a.size, f"instances/{ctx.instance.id}", lambda a=a: a.content)
                      for a in ctx.attachments() if a.event_seq == ctx.event.seq]
            continue
        found += [(path.name, path.stat().st_size, f"out/{ctx.instance.id}/{path.name}", path.read_bytes)
                  for path in edition_files(folder, name, language, home_language(ctx.engine))]
    if sum(size for _, size, _, _ in found) <= attach_limit(ctx):
        return Documents(parts=tuple(Part(filename, read()) for filename, _, _, read in found))
    base = str(ctx.config.section("notify").get("status_page") or "http://127.0.0.1:8000").rstrip("/")
    return Documents(links=tuple((filename, f"{base}/{where}") for filename, _, where, _ in found))


def edition_files(folder, template: str, language: str | None, home: str) -> list:
    """The built files of `template` in `folder` for a reader of `language`: its edition
    (each format), or the single-language files of a build made before editions."""
    files = sorted(path for path in folder.glob(f"{template}.*") if path.is_file() and not path.name.startswith("."))
    editions = {path: edition_of(path.name) for path in files}
    languages = sorted({e.language for e in editions.values() if e is not None and e.template == template})
    chosen = reader_edition(language, languages, home)
    if chosen is None:
        return [path for path in files if editions[path] is None and path.name.count(".") == 1]
    return [path for path, e in editions.items() if e is not None and e.template == template and e.language == chosen]


def invitation(ctx: "ActionContext", param: str, recipient: "Recipient", organizer: str) -> Part | None:
    """The meeting on `param` as an invitation to `recipient`, or None without a date."""
    from icalendar import Calendar, Event, vCalAddress

    from rcmflow.default_plugins.calendar.entries import MEETING, instance_entries
    from rcmflow.default_plugins.calendar.ical import PRODID

    entries = [e for e in instance_entries(ctx.engine, ctx.instance, ctx.definition, ctx.engine.namespace())
               if e.kind == MEETING and e.uid.startswith(f"{ctx.instance.id}.{param}@")]
    if not entries:
        return None
    [entry] = entries
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", ctx.event.at.astimezone(dt.timezone.utc))
    event.add("dtstart", entry.start)
    if not isinstance(entry.start, dt.datetime):
        event.add("dtend", entry.start + dt.timedelta(days=1))
    event.add("summary", entry.summary)
    event.add("description", entry.description)
    event.add("sequence", entry.sequence)
    event.add("organizer", vCalAddress(f"mailto:{organizer}"))
    attendee = vCalAddress(f"mailto:{recipient.email}")
    attendee.params.update({"CN": recipient.name or recipient.email, "ROLE": "REQ-PARTICIPANT",
                            "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"})
    event.add("attendee", attendee)
    calendar.add_component(event)
    return Part("invitation.ics", calendar.to_ical())


def thread_key(ctx: "ActionContext", email: str) -> str:
    """The ledger key of the first message to `email` about this instance."""
    return f"thread:{ctx.instance.id}:{email.lower()}"


def thread_of(ctx: "ActionContext", email: str) -> str | None:
    """The Message-ID this message replies to: the first one sent to `email` about the instance."""
    first = ctx.ledger.get(thread_key(ctx, email)) if ctx.ledger is not None else None
    return first.get("message_id") if first else None


def check_attach(args: dict[str, Any]) -> str | None:
    """What is wrong with `attach:` and `invitation:` of a notify, or None."""
    attach = args.get("attach", [])
    if not isinstance(attach, list) or not all(isinstance(a, str) and re.fullmatch(r"[a-z0-9][a-z0-9_-]*", a)
                                               for a in attach):
        return f"attach: a list of document templates, e.g. attach: [declaration-draft]; got {attach!r}"
    param = args.get("invitation")
    if param is not None and not (isinstance(param, str) and re.fullmatch(r"\w+", param)):
        return f"invitation: the date param of the meeting, e.g. invitation: meeting; got {param!r}"
    return None
