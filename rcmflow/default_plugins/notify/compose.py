"""What a message says: its template in the recipient's language (rendered in Jinja's
sandbox), the names the template sees, and the headers."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from rcmflow.default_plugins.notify.common import NotifyError, one_line, parse_address
from rcmflow.default_plugins.notify.parts import Documents, Part
from rcmflow.default_plugins.notify.recipients import Recipient
from rcmflow.model.addresses import display_name

if TYPE_CHECKING:
    from email.message import EmailMessage

    from rcmflow.context import ActionContext
    from rcmflow.default_plugins.notify.transport import Settings

LANGUAGE = re.compile(r"^[a-z]{2,3}$")
TEMPLATE_FOLDER = Path("workflows") / "templates"
MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
}
DATE_FORMATS = {"en": "{d} {m} {y}", "es": "{d} de {m} de {y}", "fr": "{d} {m} {y}"}


@dataclass(frozen=True)
class Rendered:
    recipient: Recipient
    language: str
    subject: str
    body: str
    #: files that travel with the message: built documents, a calendar invitation
    parts: tuple[Part, ...] = ()
    #: the Message-ID of the first message to this person about the instance, if this is not it
    in_reply_to: str | None = None


def long_date(value: Any, language: str = "en") -> str:
    """20 April 2030 / 20 de abril de 2030; '' for no date."""
    if value in (None, ""):
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value))
        except ValueError:
            return str(value)
    months = MONTHS.get(language, MONTHS["en"])
    pattern = DATE_FORMATS.get(language, DATE_FORMATS["en"])
    return pattern.format(d=value.day, m=months[value.month - 1], y=value.year)


class Templates:
    """The templates of one home, each file compiled once per run of the action."""

    def __init__(self, home: Path):
        import jinja2
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        @jinja2.pass_context
        def longdate(context, value):
            return long_date(value, context.get("language", "en"))

        self.folder = home / TEMPLATE_FOLDER
        # Immutable: a template cannot change what it is given. Plain text: nothing to escape.
        self.env = ImmutableSandboxedEnvironment(
            loader=jinja2.FileSystemLoader(self.folder), undefined=jinja2.StrictUndefined, autoescape=False,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
        self.env.filters["longdate"] = longdate
        self._compiled: dict[str, tuple[Any, Any]] = {}

    def file_for(self, name: str, language: str) -> tuple[str, str]:
        """(file name, language) of the version to use: the recipient's, else English."""
        wanted = [language] if LANGUAGE.match(language) else []  # it becomes part of a file name
        for lang in dict.fromkeys([*wanted, "en"]):
            filename = f"{name}.{lang}.txt.j2"
            if (self.folder / filename).is_file():
                return filename, lang
        raise NotifyError(f"template {name!r} not found: add {TEMPLATE_FOLDER.as_posix()}/{name}.en.txt.j2 "
                          f"(and {name}.es.txt.j2) to the home")

    def parts(self, filename: str) -> tuple[Any, Any]:
        """(subject template, body template) of a file."""
        if filename not in self._compiled:
            try:
                source = (self.folder / filename).read_text(encoding="utf-8-sig")  # a BOM from Notepad
            except (OSError, UnicodeDecodeError) as exc:
                raise NotifyError(f"template {filename}: cannot read it: {exc}") from None
            first, _, rest = source.replace("\r\n", "\n").partition("\n")
            if not first.lower().startswith("subject:"):
                raise NotifyError(f"template {filename}, line 1: must be 'Subject: …', "
                                  f"then a blank line, then the body")
            # The body is compiled with the subject's line left empty, so that errors
            # name the line of the file.
            self._compiled[filename] = (self._compile(first[len("subject:"):], filename),
                                        self._compile("\n" + rest, filename))
        return self._compiled[filename]

    def _compile(self, source: str, filename: str):
        import jinja2

        try:
            code = self.env.compile(source, name=filename, filename=filename)
        except jinja2.TemplateSyntaxError as exc:
            raise NotifyError(f"template {filename}, line {exc.lineno}: syntax error: {exc.message}") from None
        return self.env.template_class.from_code(self.env, code, self.env.make_globals(None))

    def render(self, name: str, scope_for: Callable[[str], dict[str, Any]],
               language: str) -> tuple[str, str, str]:
        """(language used, subject, body), with the names `scope_for(language used)` gives."""
        filename, used = self.file_for(name, language)
        subject_template, body_template = self.parts(filename)
        scope = {**scope_for(used), "language": used}
        try:
            subject = subject_template.render(scope)
            body = body_template.render(scope)
        except Exception as exc:  # SecurityError, UndefinedError, or a template's own TypeError…
            text = str(exc).strip()
            message = text.splitlines()[0] if text else ""
            raise NotifyError(f"template {filename}{template_line(exc, filename)}: "
                              f"{type(exc).__name__}: {message}") from None
        subject = one_line(subject).strip()
        if not subject:
            raise NotifyError(f"template {filename}, line 1: the subject is empty")
        return used, subject, body.strip("\n") + "\n"


def template_line(exc: BaseException, filename: str) -> str:
    # Jinja rewrites the traceback so that template frames carry the template's lines.
    line = ""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = f", line {tb.tb_lineno}"
        tb = tb.tb_next
    return line


def documents(ctx: "ActionContext") -> list[str]:
    """The documents built for the instance: files under out/<instance-id>/, relative to the home."""
    folder = ctx.home / "out" / ctx.instance.id
    if not folder.is_dir():
        return []
    # Hidden files are a build's work in progress, not documents.
    return sorted(p.relative_to(ctx.home).as_posix() for p in folder.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


LANGUAGE_NAMES = {"en": ("English", "inglés", "anglais"), "es": ("Spanish", "español", "espagnol"),
                  "fr": ("French", "francés", "français")}
FALLBACK = {"en": "[This message is in English: there is no {wanted} version of it yet.]",
            "es": "[Este mensaje está en español: aún no existe una versión en {wanted}.]",
            "fr": "[Ce message est en français : il n'en existe pas encore de version en {wanted}.]"}


def fallback_notice(wanted: str, used: str) -> str:
    """The first line of a message that is not in the recipient's language, in the one it is in."""
    if wanted == used:
        return ""
    column = {"en": 0, "es": 1, "fr": 2}.get(used, 0)
    name = LANGUAGE_NAMES.get(wanted, (wanted,) * 3)[column]
    return FALLBACK.get(used, FALLBACK["en"]).format(wanted=name) + "\n\n"


def template_scope(ctx: "ActionContext", recipient: Recipient, documents: list[str],
                   travelling: "Documents | None" = None,
                   meeting: str | None = None) -> Callable[[str], dict[str, Any]]:
    """The names a template sees, for one recipient, as a function of the language the
    template turned out to be in, so that titles and names match the text around them."""
    view, definition = ctx.instance, ctx.definition
    track = view.tracks.get(recipient.country) if recipient.country else None
    country = ctx.members.countries.get(recipient.country) if recipient.country else None
    deadline, due = _deadline_of(ctx, track)

    def scope(language: str) -> dict[str, Any]:
        names: dict[str, Any] = {
            "instance": {"id": view.id, "workflow": view.workflow, "state": view.state,
                         "params": dict(view.params), "data": dict(view.data)},
            "definition": {"name": definition.name, "title": definition.title_in(language)},
            "track": ({"participant": track.participant, "state": track.state, "due": track.due,
                       "overdue": track.overdue} if track else None),
            # the day the message is about: the reminded or moved deadline's, else the track's
            "deadline": due,
            # which of the track's deadlines (its name, and its title in this language)
            "deadline_name": deadline.name if deadline else None,
            "deadline_title": (deadline.title_in(language) or None) if deadline else None,
            # what tells the 7-day reminder from the 1-day one: counted from the step that
            # queued the message, not from when the outbox got to send it
            "days_left": (due - ctx.event.at.date()).days if due else None,
            "overdue": bool(due and ctx.event.at.date() > due),
            "recipient": {"name": recipient.name, "email": recipient.email, "language": recipient.language},
            "country": country.name(language) if country else None,
            "event": {"trigger": ctx.event.trigger, "participant": ctx.event.participant,
                      "actor": ctx.event.actor, "note": ctx.event.note, "data": dict(ctx.event.data or {})},
            "documents": list(documents),
            # the date of the meeting a message invites to (notify's invitation: PARAM)
            "meeting": view.params.get(meeting) if meeting else None,
            # what the track's deadline is for, in the words of its param ("Last day for amendments…")
            "due_what": (deadline.title_in(language) if deadline else "") or _deadline_description(definition, deadline),
            # the announced documents: attached (file names), or too big and linked (name, address)
            "attached": [part.filename for part in travelling.parts] if travelling else [],
            "links": [list(link) for link in travelling.links] if travelling else [],
        }
        group = view.params.get("subgroup")
        if isinstance(group, list) and group:  # the countries that work the theme together
            names["subgroup"] = [ctx.members.countries[c].name(language) if c in ctx.members.countries else c
                                 for c in group]
            names["in_subgroup"] = recipient.country in group
        else:
            names["subgroup"], names["in_subgroup"] = [], False
        theme = definition.params.get("theme")
        if theme is not None and view.params.get("theme") is not None:
            names["theme_title"] = theme.label(view.params["theme"], language)
        return names

    return scope


def _deadline_of(ctx: "ActionContext", track) -> tuple[Any, dt.date | None]:
    """The deadline a message is about and its day: the one a reminder or an extension
    names in its event (`deadline`, with `due` or `to`), else the track's first."""
    track_def, data = ctx.definition.track, ctx.event.data or {}
    if track_def is None or not track_def.deadlines:
        return None, track.due if track else None
    named = next((d for d in track_def.deadlines if d.name == data.get("deadline")), None)
    day = data.get("due") or data.get("to")
    if named is not None and day:
        return named, dt.date.fromisoformat(day)
    return track_def.deadlines[0], track.due if track else None


def _deadline_description(definition, deadline=None) -> str | None:
    template = deadline.date if deadline else definition.track.deadline if definition.track else None
    found = re.fullmatch(r"\{\{\s*params\.(\w+)\s*\}\}", template.text.strip()) if template else None
    param = definition.params.get(found.group(1)) if found else None
    return param.description if param is not None and param.description else None


# --- the message ----------------------------------------------------------------------


def message_id(ctx: "ActionContext", recipient: Recipient, domain: str) -> str:
    """The same for every attempt of this action to this recipient, and unlike any other:
    the readable part says which action and whom, the hash (of the instance, the event
    and the address) keeps two databases' `outbox-12` apart."""
    event = ctx.event
    digest = hashlib.sha256(
        f"{ctx.instance.id}|{event.seq}|{int(event.at.timestamp())}|{ctx.idempotency_key}|{recipient.email.lower()}"
        .encode()).hexdigest()[:12]
    who = _token(recipient.person or recipient.email.split("@")[0])
    return f"<{_token(ctx.idempotency_key)}.{who}.{digest}@{domain}>"


def _token(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-")[:40] or "x"


def build(rendered: Rendered, settings: Settings, msgid: str, when: dt.datetime) -> "EmailMessage":
    """The message, its headers set through the API of the modern policy from decoded,
    cleaned one-line values, so that no name or subject can add a header of its own."""
    from email import policy
    from email.headerregistry import Address
    from email.message import EmailMessage
    from email.utils import format_datetime

    to = parse_address(rendered.recipient.email)
    if to is None:
        raise NotifyError(f"{rendered.recipient.email!r} is not an e-mail address")
    # Headers unfolded up to RFC 5322's 998 characters: this Python's folder drops the
    # space between two encoded words ("thématique, thème" arrives as "thématique,thème").
    msg = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    msg["From"] = settings.sender
    msg["To"] = Address(display_name=display_name(rendered.recipient.name, to.addr_spec), addr_spec=to.addr_spec)
    msg["Subject"] = one_line(rendered.subject)
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = msgid
    if rendered.in_reply_to:  # a follow-up: the mail client shows one conversation per request
        msg["In-Reply-To"] = rendered.in_reply_to
        msg["References"] = rendered.in_reply_to
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the secretariat
    msg.set_content(rendered.body, cte="quoted-printable")  # 7-bit safe for any server
    for part in rendered.parts:
        maintype, subtype = part.mime
        params = {"method": "REQUEST"} if subtype == "calendar" else {}
        msg.add_attachment(part.content, maintype=maintype, subtype=subtype, filename=part.filename, params=params)
    # last: set_content resets the Content-* headers, and add_attachment moves them to the text part
    msg["Content-Language"] = rendered.language
    verify(msg, settings.sender.addr_spec, to.addr_spec)
    return msg


HEADERS = ("from", "to", "subject", "date", "message-id", "auto-submitted", "mime-version", "content-type",
           "content-transfer-encoding", "content-language")
#: the headers of a message with attachments, and of a follow-up
OPTIONAL = ("in-reply-to", "references")
MULTIPART = tuple(h for h in HEADERS if h != "content-transfer-encoding")


def verify(msg: "EmailMessage", sender: str, to: str) -> None:
    """The message as a server will read it has exactly our headers, once each, and
    names only its sender and its recipient: a last guard, whatever the `email`
    package of this Python does when it folds (CVE-2024-6923)."""
    import email
    from email import policy

    written = msg.as_bytes()
    back = email.message_from_bytes(written, policy=policy.default)
    names = sorted(name.lower() for name in back.keys())
    expected = sorted([*(MULTIPART if msg.is_multipart() else HEADERS),
                       *(h for h in OPTIONAL if h in (n.lower() for n in msg.keys()))])
    addresses = {name: [a.addr_spec for a in back[name].addresses] for name in ("from", "to") if back[name]}
    if names != expected or addresses != {"from": [sender], "to": [to]} or back.defects:
        raise NotifyError(f"the message to {to} would not read back as written (headers {', '.join(names)}); "
                          f"not sent")
