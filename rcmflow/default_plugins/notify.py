"""The built-in `notify` action: e-mail from templates, in each recipient's language.

A definition writes ``{notify: {to: RULE, template: NAME}}``. RULE names who gets
the message:

- ``participants``: the focal points of every participant of the instance;
- ``participant``: the focal points of the participant whose track moved;
- ``secretariat`` or ``ppt``: the people with that role;
- a group of ``members.yaml`` (``members``, ``troika``, …): its countries' focal points;
- a person id or an e-mail address;
- or a list of any of these.

NAME is a pair of Jinja2 files in the home's ``workflows/templates/``,
``NAME.en.txt.j2`` and ``NAME.es.txt.j2`` (or any language of members.yaml); a
recipient whose language has no file gets the English one. The first line of a
template is ``Subject: …``, then a blank line, then the plain-text body. A template
sees, for each recipient:

- ``instance`` (id, workflow, state, params, data) and ``definition`` (name, title);
- ``recipient`` (name, email, language) and ``country``, the name of the
  recipient's country; ``track`` (participant, state, due, overdue), that country's
  track, with its due date as ``deadline`` (both None for someone without one);
- ``event`` (trigger, participant, actor, note): what queued the notification;
- ``documents``: the files built for the instance (``out/<instance-id>/…``);
- ``theme_title``, when the workflow has a ``theme`` param: its label;
- ``language``, and the filter ``longdate`` (20 April 2030, 20 de abril de 2030).

Names and titles come in the language of the template used.

How a run goes, and why:

1. Resolve the recipients, and drop those this outbox action already reached (its
   ``ctx.ledger``, keyed by ``ctx.idempotency_key`` and address).
2. Render every remaining message before sending any, so that a template error
   sends nothing. Templates come from files anyone with access to the home can
   edit, so they run in Jinja's immutable sandbox, with undefined names as errors.
   The subject is rendered from the template's first line on its own: whatever a
   value contains, the subject stays one line, and line breaks never reach a header.
3. Deliver each message (SMTP, or an ``.eml`` file in the outbox folder when no
   SMTP host is set) and mark it in the ledger right after, in a short transaction
   of its own. If the server fails half-way, the action raises, stays in the
   outbox, and the retry sends only to those not yet marked. What cannot be made
   exactly-once is a crash between the server's "250 OK" and that mark; the retry
   then resends a message with the same Message-ID (derived from the action and
   the recipient), which lets mail systems recognise the duplicate.

Settings (``rcmflow.toml``)::

    language = "es"              # for addresses that are not people of members.yaml
    [smtp]
    host = "smtp.example.org"    # RCMFLOW_SMTP_HOST; no host: write .eml files instead
    port = 587                   # RCMFLOW_SMTP_PORT; default 587 with starttls, else 25
    starttls = true
    username = "rcm-ts"          # RCMFLOW_SMTP_USER
    from = "RCM Technical Secretariat <secretariat@example.org>"
    timeout = 30                 # seconds
    [outbox]
    folder = "outbox"            # relative to the home

The password is read only from the environment (``RCMFLOW_SMTP_PASSWORD``), never
from a file that may be copied or committed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from rcmflow import hookimpl
from rcmflow.errors import RcmflowError
from rcmflow.log import get_logger

# The command line loads every built-in plugin to list its commands, so the mail
# and TLS modules are imported when a notification is built, not here.
if TYPE_CHECKING:
    import smtplib
    from email.headerregistry import Address
    from email.message import EmailMessage

    import jinja2

    from rcmflow.context import ActionContext
    from rcmflow.model.members import Person

KEYWORDS = ("participants", "participant", "secretariat", "ppt")
TEMPLATE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
DEFAULT_FROM = "RCM Technical Secretariat <secretariat@localhost>"
TEMPLATE_FOLDER = Path("workflows") / "templates"
# Everything str.splitlines() breaks on, and the other control characters: none of
# them belongs in a subject or a display name.
LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
}
DATE_FORMATS = {"en": "{d} {m} {y}", "es": "{d} de {m} de {y}", "fr": "{d} {m} {y}"}


class NotifyError(RcmflowError):
    """A notification that cannot go out as asked; the action stays in the outbox."""


# --- the definition's arguments ----------------------------------------------------


def check(args: Any) -> str | None:
    """Validate ``{to: RULE, template: NAME}`` when definitions are loaded."""
    usage = "write {to: RULE, template: NAME}, e.g. {notify: {to: participants, template: input-request}}"
    if not isinstance(args, dict):
        return usage
    unknown = sorted(str(k) for k in set(args) - {"to", "template"})
    if unknown:
        return f"unknown key {unknown[0]!r}; {usage}"
    template = args.get("template")
    if not isinstance(template, str) or not TEMPLATE_NAME.match(template):
        return (f"template {template!r} must be a name like input-request "
                f"(for the files workflows/templates/NAME.en.txt.j2 and NAME.es.txt.j2)")
    to = args.get("to")
    rules = to if isinstance(to, list) else [to]
    if to is None or not rules:
        return f"to: who gets the message: {', '.join(KEYWORDS)}, a group, a person id, an e-mail address, or a list"
    for rule in rules:
        problem = _rule_problem(rule)
        if problem:
            return f"to: {problem}"
    return None


def _rule_problem(rule: Any) -> str | None:
    if not isinstance(rule, str) or not rule.strip():
        return f"{rule!r} is not a rule; use {', '.join(KEYWORDS)}, a group, a person id or an e-mail address"
    if "{{" in rule:  # rendered when the action is queued; resolved when it runs
        return None
    if LINE_BREAKS.search(rule) or " " in rule:
        return f"{rule!r} has spaces or line breaks; a rule, group, person id or address has none"
    if "@" in rule and _address(rule) is None:
        return f"{rule!r} is not a valid e-mail address"
    # Groups and people live in members.yaml, which this check cannot see: an unknown
    # name is reported when the action runs.
    return None


def _address(text: str) -> Address | None:
    """The address if `text` is exactly one valid addr-spec, else None."""
    from email.headerregistry import Address

    if not text or LINE_BREAKS.search(text):
        return None
    try:
        address = Address(addr_spec=text)
    except Exception:  # the header parser raises several types for malformed input
        return None
    return address if address.username and address.domain else None


# --- who gets it -------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    language: str
    #: the person's id in members.yaml, None for a bare address
    person: str | None = None
    country: str | None = None


def resolve(ctx: "ActionContext", to: Any) -> list[Recipient]:
    """The people `to` names, each once, in the order the rule lists them."""
    found: dict[str, Recipient] = {}
    without_address: list[str] = []
    for rule in to if isinstance(to, list) else [to]:
        people = _people(ctx, str(rule).strip())
        if not people:
            raise NotifyError(f"to: {rule!r} names nobody on {ctx.instance.id}: members.yaml has no focal point "
                              f"or person for it")
        for person in people:
            if isinstance(person, Recipient):
                found.setdefault(person.email.lower(), person)
                continue
            if not person.email:
                without_address.append(person.id)
                continue
            address = _address(person.email)
            if address is None:
                raise NotifyError(f"{person.id} has an invalid e-mail address {person.email!r} in members.yaml")
            found.setdefault(address.addr_spec.lower(), Recipient(
                address.addr_spec, person.name, person.language, person.id, person.country))
    if not found:
        raise NotifyError(f"to: nobody to send to: {', '.join(without_address)} "
                          f"{'has' if len(without_address) == 1 else 'have'} no e-mail address in members.yaml")
    if without_address:
        _log(ctx).warning("no e-mail address in members.yaml; not notified", people=without_address)
    return list(found.values())


def _people(ctx: "ActionContext", rule: str) -> list["Person | Recipient"]:
    members = ctx.members
    if rule == "participants":
        return _focal_points(ctx, list(ctx.instance.tracks))
    if rule == "participant":
        if not ctx.event.participant:
            raise NotifyError(f"to: participant needs a track transition; {ctx.event.trigger} on "
                              f"{ctx.instance.id} has no participant (use participants or a group)")
        return _focal_points(ctx, [ctx.event.participant])
    if rule in ("secretariat", "ppt"):
        return [members.people[person_id] for person_id in members.holders(rule)]
    if rule in members.groups:
        return _focal_points(ctx, list(members.groups[rule]))
    person = members.person(rule)
    if person is not None:
        return [person]
    address = _address(rule)
    if address is not None:  # someone outside members.yaml: the home's language, no name
        return [Recipient(address.addr_spec, "", str(ctx.config.settings.get("language", "en")))]
    groups = ", ".join(sorted(members.groups)) or "none"
    raise NotifyError(f"to: {rule!r} is not one of {', '.join(KEYWORDS)}, a group of members.yaml "
                      f"({groups}), a person id or an e-mail address")


def _focal_points(ctx: "ActionContext", countries: list[str]) -> list["Person"]:
    people = []
    for code in countries:
        found = ctx.members.focal_points(code)
        if not found:
            _log(ctx).warning("no focal point in members.yaml; not notified", country=code)
        people.extend(found)
    return people


# --- what it says --------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    recipient: Recipient
    language: str
    subject: str
    body: str


def _long_date(value: Any, language: str = "en") -> str:
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


class _Templates:
    """The templates of one home, each file compiled once per run of the action."""

    def __init__(self, home: Path):
        import jinja2
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        @jinja2.pass_context
        def longdate(context, value):
            return _long_date(value, context.get("language", "en"))

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
            raise NotifyError(f"template {filename}{_template_line(exc, filename)}: "
                              f"{type(exc).__name__}: {message}") from None
        subject = _one_line(subject)
        if not subject:
            raise NotifyError(f"template {filename}, line 1: the subject is empty")
        return used, subject, body.strip("\n") + "\n"


def _template_line(exc: BaseException, filename: str) -> str:
    # Jinja rewrites the traceback so that template frames carry the template's lines.
    line = ""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = f", line {tb.tb_lineno}"
        tb = tb.tb_next
    return line


def _one_line(text: str) -> str:
    """Line breaks and control characters become spaces: a header value stays one line."""
    return " ".join(LINE_BREAKS.sub(" ", text).split())


def _documents(ctx: "ActionContext") -> list[str]:
    """The documents built for the instance: files under out/<instance-id>/, relative to the home."""
    folder = ctx.home / "out" / ctx.instance.id
    if not folder.is_dir():
        return []
    # Hidden files are a build's work in progress, not documents.
    return sorted(p.relative_to(ctx.home).as_posix() for p in folder.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def template_scope(ctx: "ActionContext", recipient: Recipient,
                   documents: list[str]) -> Callable[[str], dict[str, Any]]:
    """The names a template sees, for one recipient, as a function of the language the
    template turned out to be in, so that titles and names match the text around them."""
    view, definition = ctx.instance, ctx.definition
    track = view.tracks.get(recipient.country) if recipient.country else None
    country = ctx.members.countries.get(recipient.country) if recipient.country else None

    def scope(language: str) -> dict[str, Any]:
        names: dict[str, Any] = {
            "instance": {"id": view.id, "workflow": view.workflow, "state": view.state,
                         "params": dict(view.params), "data": dict(view.data)},
            "definition": {"name": definition.name, "title": definition.title_in(language)},
            "track": ({"participant": track.participant, "state": track.state, "due": track.due,
                       "overdue": track.overdue} if track else None),
            "deadline": track.due if track else None,
            "recipient": {"name": recipient.name, "email": recipient.email, "language": recipient.language},
            "country": country.name(language) if country else None,
            "event": {"trigger": ctx.event.trigger, "participant": ctx.event.participant,
                      "actor": ctx.event.actor, "note": ctx.event.note},
            "documents": list(documents),
        }
        theme = definition.params.get("theme")
        if theme is not None and view.params.get("theme") is not None:
            names["theme_title"] = theme.label(view.params["theme"], language)
        return names

    return scope


# --- how it travels --------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    sender: "Address"
    host: str | None
    port: int
    starttls: bool
    username: str | None
    password: str | None
    timeout: float
    folder: Path

    @classmethod
    def of(cls, ctx: "ActionContext") -> "Settings":
        from email.headerregistry import Address
        from email.utils import parseaddr

        smtp, env = ctx.config.section("smtp"), os.environ
        name, addr = parseaddr(str(smtp.get("from") or DEFAULT_FROM))
        sender = _address(addr)
        if sender is None:
            raise NotifyError(f"rcmflow.toml [smtp] from = {smtp.get('from')!r} is not an address like "
                              f"\"RCM Technical Secretariat <secretariat@example.org>\"")
        starttls = smtp.get("starttls", False)
        if not isinstance(starttls, bool):
            raise NotifyError("rcmflow.toml [smtp] starttls must be true or false")
        port_text = env.get("RCMFLOW_SMTP_PORT") or smtp.get("port") or (587 if starttls else 25)
        try:
            port, timeout = int(port_text), float(smtp.get("timeout", 30))
        except (TypeError, ValueError):
            raise NotifyError(f"SMTP port {port_text!r} and [smtp] timeout {smtp.get('timeout', 30)!r} "
                              f"must be numbers") from None
        if "password" in smtp:
            _log(ctx).warning("rcmflow.toml [smtp] password is ignored; set RCMFLOW_SMTP_PASSWORD instead")
        folder = Path(str(ctx.config.section("outbox").get("folder") or "outbox")).expanduser()
        return cls(
            sender=Address(display_name=_one_line(name), username=sender.username, domain=sender.domain),
            host=(env.get("RCMFLOW_SMTP_HOST") or str(smtp.get("host") or "")).strip() or None,
            port=port,
            starttls=starttls,
            username=env.get("RCMFLOW_SMTP_USER") or smtp.get("username") or None,
            password=env.get("RCMFLOW_SMTP_PASSWORD") or None,
            timeout=timeout,
            folder=folder if folder.is_absolute() else ctx.home / folder,
        )


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
    """The message, its headers set through the API from cleaned one-line values, so
    that no name or subject can add a header of its own."""
    from email import policy
    from email.headerregistry import Address
    from email.message import EmailMessage
    from email.utils import format_datetime

    to = _address(rendered.recipient.email)
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = settings.sender
    msg["To"] = Address(display_name=_one_line(rendered.recipient.name), username=to.username, domain=to.domain)
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = msgid
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the secretariat
    msg.set_content(rendered.body, cte="quoted-printable")  # 7-bit safe for any server
    msg["Content-Language"] = rendered.language  # after set_content, which resets Content-*
    return msg


class _Smtp:
    """One connection for the whole run, opened when the first message goes."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.client: "smtplib.SMTP | None" = None

    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def send(self, msg: "EmailMessage", to: str) -> None:
        if self.client is None:
            self.client = self._connect()
        self.client.send_message(msg, from_addr=self.settings.sender.addr_spec, to_addrs=[to])

    def _connect(self) -> "smtplib.SMTP":
        import smtplib
        import ssl

        s = self.settings
        try:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        except OSError as exc:
            raise NotifyError(f"cannot reach the SMTP server {self.where()}: {exc}") from None
        try:
            if s.starttls:
                client.starttls(context=ssl.create_default_context())
            if s.username:
                if not s.password:
                    raise NotifyError(f"[smtp] username is {s.username!r} but RCMFLOW_SMTP_PASSWORD is not set")
                if not s.starttls and not _is_loopback(s.host):
                    raise NotifyError(f"refusing to send the SMTP password to {s.host} unencrypted; "
                                      f"set starttls = true in rcmflow.toml [smtp]")
                client.login(s.username, s.password)
        except BaseException:
            client.close()
            raise
        return client

    def close(self) -> None:
        import smtplib

        if self.client is not None:
            try:
                self.client.quit()
            except (OSError, smtplib.SMTPException):
                self.client.close()


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refused_message(exc: BaseException) -> bool:
    """Whether the server refused this one message (its recipient, or its content for
    good), rather than failing as a whole (gone, closing, "try again later")."""
    import smtplib

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return True
    return isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600


def _smtp_reason(exc: BaseException) -> str:
    import smtplib

    def text(value: Any) -> str:
        return value.decode(errors="replace") if isinstance(value, bytes) else str(value)

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
        return f"{code} {text(reply)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {text(exc.smtp_error)}"
    return str(exc) or type(exc).__name__


def _write_eml(folder: Path, msg: "EmailMessage", msgid: str) -> Path:
    # Named after the Message-ID's left part (no user text), so a retry overwrites the
    # same file; written through a temporary file so no reader sees half a message.
    import tempfile

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (re.sub(r"[^A-Za-z0-9.-]", "_", msgid.strip("<>").split("@")[0]) + ".eml")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(msg.as_bytes())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


# --- the record of what went out ------------------------------------------------------


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


# --- the action ------------------------------------------------------------------------


def notify(ctx: "ActionContext", args: dict[str, Any]) -> None:
    """Send an e-mail from workflows/templates/, in each recipient's language."""
    import smtplib

    if not isinstance(args.get("template"), str) or not TEMPLATE_NAME.match(args["template"]):
        raise NotifyError(f"template {args.get('template')!r} is not a template name")  # it makes a file name
    log = _log(ctx)
    settings = Settings.of(ctx)
    ledger = _ledger(ctx)
    recipients = resolve(ctx, args["to"])
    keys = {r.email: sent_key(ctx, r.email) for r in recipients}
    pending = [r for r in recipients if not ledger.seen(keys[r.email])]
    if not pending:
        return

    templates = _Templates(ctx.home)
    documents = _documents(ctx)
    messages = []
    for recipient in pending:  # all rendered before any goes: a template error sends nothing
        language, subject, body = templates.render(
            args["template"], template_scope(ctx, recipient, documents), recipient.language)
        messages.append(Rendered(recipient, language, subject, body))

    smtp = _Smtp(settings) if settings.host else None
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
                path = _write_eml(settings.folder, msg, msgid)
            else:
                try:
                    smtp.send(msg, email)
                except (OSError, smtplib.SMTPException) as exc:
                    if _refused_message(exc):
                        # This message only: the others may still go; the retry tries it again.
                        refused.append(f"{email} ({_smtp_reason(exc)})")
                        continue
                    raise NotifyError(f"SMTP server {smtp.where()} failed after {sent} of {len(messages)} "
                                      f"messages: {type(exc).__name__}: {_smtp_reason(exc)}") from None
            _record(ctx, keys[email], rendered, msgid, transport, path)
            sent += 1
            log.info("notification sent", to=email, template=args["template"], language=rendered.language,
                     message_id=msgid, transport=transport)
    finally:
        if smtp is not None:
            smtp.close()
    if refused:
        raise NotifyError(f"SMTP server {smtp.where()} refused {len(refused)} of {len(messages)} messages: "
                          f"{'; '.join(refused)}")


def _log(ctx: "ActionContext"):
    return ctx.log if ctx.log is not None else get_logger(instance=ctx.instance.id, action="notify")


@hookimpl
def register_actions(register):
    register("notify", notify, check=check)
