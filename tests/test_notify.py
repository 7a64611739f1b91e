"""The `notify` action: the right people, in their language, once, and safely.

Messages go to a real SMTP server (aiosmtpd) on the loopback interface, started by
the test; without an SMTP host they are written as .eml files to the outbox folder.
"""

from __future__ import annotations

import datetime as dt
import email
import socket
import textwrap
from collections import Counter
from email import policy
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from rcmflow.default_plugins.notify import check
from rcmflow.store.models import LedgerEntry, OutboxItem

START = dt.datetime(2030, 4, 1, 9, 0, tzinfo=dt.timezone.utc)
LATER = START + dt.timedelta(minutes=30)  # past the first retry's backoff
MEMBERS = ["BZ", "CA", "CR", "DO", "SV", "GT", "HN", "MX", "NI", "PA", "US"]
THEME_1 = "Human rights of all migrants, social inclusion, cohesion, and all forms of discrimination"
TEMA_1 = "Derechos humanos de todas las personas migrantes, inclusión social y cohesión"

# A consultation like the shipped one, with notifications wired in, and a `poke`
# that sends the `probe` template (written by each test) to whoever params.to names.
MAIL = f"""\
workflow: mail-test
version: 1
title: {{en: Thematic consultation, es: Consulta temática, fr: Consultation thématique}}
id: "mail-{{{{ params.theme }}}}"
params:
  theme:
    type: int
    choices: [1, 2]
    required: true
    labels:
      1: {{en: "{THEME_1}", es: "{TEMA_1}"}}
      2: Drivers of migration
  deadline: {{type: date, required: true}}
  meeting: {{type: date}}
  topic: {{type: str}}
  to: {{type: list}}
participants: members
track:
  initial: requested
  states: [requested, submitted, returned]
  deadline: {{date: "{{{{ params.deadline }}}}", met: [submitted]}}
  reminders:
    - {{before: 7d, actions: [{{notify: {{to: participant, template: input-reminder}}}}]}}
    - {{every: 3d, actions: [{{notify: {{to: participant, template: input-reminder}}}}]}}
  transitions:
    - trigger: submit
      source: [requested, returned]
      dest: submitted
      roles: [focal_point, secretariat]
      actions: [{{notify: {{to: participant, template: input-received}}}}]
    - trigger: return_for_revision
      source: submitted
      dest: returned
      roles: [secretariat]
      actions: [{{notify: {{to: participant, template: returned-for-revision}}}}]
initial: planned
states:
  - planned
  - name: collecting_input
    on_enter: [{{notify: {{to: participants, template: input-request}}}}]
  - {{name: circulated, final: true}}
transitions:
  - {{trigger: open, source: planned, dest: collecting_input, roles: [secretariat]}}
  - trigger: circulate
    source: collecting_input
    dest: circulated
    roles: [secretariat]
    actions: [{{notify: {{to: [troika, secretariat], template: declaration-circulated, attach: [regional-input]}}}}]
  - trigger: poke
    source: planned
    dest: planned
    roles: [secretariat]
    actions: [{{notify: {{to: "{{{{ params.to }}}}", template: probe}}}}]
"""


#: the From of every test that sends through SMTP: a real address, as rcmflow.toml must give
SENDER = 'from = "RCM Technical Secretariat <secretariat@rcm.example.org>"\n'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """What the SMTP server accepted, and how it should misbehave."""

    def __init__(self):
        self.received: list[tuple[str, list[str], email.message.EmailMessage]] = []
        #: address -> the server's answer to its RCPT TO (e.g. "550 5.1.1 mailbox unavailable")
        self.refuse: dict[str, str] = {}
        #: after this many messages, answer "421 closing" and drop the connection
        self.close_after: int | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.close_after is not None and len(self.received) >= self.close_after:
            return "421 4.3.2 shutting down"
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    def per_recipient(self) -> Counter:
        return Counter(rcpt for _, rcpts, _ in self.received for rcpt in rcpts)

    def to(self, address: str) -> email.message.EmailMessage:
        [message] = [m for _, rcpts, m in self.received if address in rcpts]
        return message


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 that a test can stop and start again."""

    def __init__(self, **options):
        self.port = free_port()
        self.mailbox = Mailbox()
        self.options = options
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture(autouse=True)
def _no_smtp_environment(monkeypatch):
    for name in ("RCMFLOW_SMTP_HOST", "RCMFLOW_SMTP_PORT", "RCMFLOW_SMTP_USER", "RCMFLOW_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def make_home(home: Path, settings: str = "", probe: str | None = None) -> None:
    (home / "workflows" / "mail-test.yaml").write_text(MAIL)
    (home / "rcmflow.toml").write_text(textwrap.dedent(settings))
    if probe is not None:
        (home / "workflows" / "templates" / "probe.en.txt.j2").write_text(textwrap.dedent(probe))


@pytest.fixture
def mailer(home: Path, make_engine, smtp: SmtpServer):
    """An engine whose rcmflow.toml sends through the test's SMTP server."""

    def build(probe: str | None = None):
        make_home(home, f"[smtp]\nhost = \"127.0.0.1\"\nport = {smtp.port}\n{SENDER}", probe)
        engine = make_engine(clock=Clock(START))
        engine.init()
        return engine

    return build


def start(engine, **params):
    values = {"theme": "1", "deadline": "2030-04-20", **params}
    return engine.start("mail-test", params=values).id


def rows(db_url: str, model, order) -> list:
    """Every row of one table, read straight from the database."""
    db = sa.create_engine(db_url)
    try:
        with db.connect() as conn:
            return conn.execute(sa.select(model.__table__).order_by(order)).all()
    finally:
        db.dispose()


def outbox(db_url: str) -> list:
    return rows(db_url, OutboxItem, OutboxItem.id)


def sent_rows(db_url: str) -> list:
    """The messages notify has marked as sent in the action ledger, by key (not the
    first message of each conversation, which it marks too)."""
    return [SimpleNamespace(key=row.key, at=row.at, **row.data)
            for row in rows(db_url, LedgerEntry, LedgerEntry.key)
            if row.action == "notify" and "recipient" in row.data and not row.key.startswith("thread:")]


def body(message: email.message.EmailMessage) -> str:
    """The text (of a message with attachments, its text part), with the line ends
    of a file (SMTP carries CRLF)."""
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def add_to_members(home: Path, person: dict | None = None, groups: dict | None = None) -> None:
    path = home / "workflows" / "members.yaml"
    members = yaml.safe_load(path.read_text())
    if person:
        members["people"].append(person)
    members["groups"].update(groups or {})
    path.write_text(yaml.safe_dump(members, allow_unicode=True))


def focal_addresses(engine, countries) -> set[str]:
    return {p.email for c in countries for p in engine.members.focal_points(c)}


# --- the definition ------------------------------------------------------------------


@pytest.mark.parametrize("args, problem", [
    ({"to": "participants", "template": "input-request"}, None),
    ({"to": ["mx-focal", "someone@example.org", "troika"], "template": "probe"}, None),
    ({"to": "{{ params.to }}", "template": "probe"}, None),
    ("participants", "write {to: RULE, template: NAME}"),
    ({"to": "participants"}, "template None must be a name"),
    ({"to": "participants", "template": "../../etc/passwd"}, "must be a name like input-request"),
    ({"to": "participants", "template": "x", "cc": "ppt"}, "unknown key 'cc'"),
    ({"to": [], "template": "x"}, "to: who gets the message"),
    ({"to": ["mx-focal", 3], "template": "x"}, "3 is not a rule"),
    ({"to": "not an@address", "template": "x"}, "has spaces or line breaks"),
    ({"to": "a@b\nBcc: c@d", "template": "x"}, "has spaces or line breaks"),
    ({"to": "focal@@mx", "template": "x"}, "is not a valid e-mail address"),
])
def test_check_validates_the_arguments(args, problem):
    message = check(args)
    assert message == problem if problem is None else problem in message


@pytest.mark.no_database
def test_a_bad_notify_is_reported_with_its_file_and_line(home, rcmflow):
    text = MAIL.replace("template: input-request}", "template: input request}")
    line = text[:text.index("input request")].count("\n") + 1
    (home / "workflows" / "mail-test.yaml").write_text(text)
    result = rcmflow("workflows", "validate")
    assert result.exit_code == 1
    assert (f"workflows/mail-test.yaml:{line}: action notify: template 'input request' must be a name"
            in result.stdout + result.stderr)


def test_notify_uses_only_the_plugin_api():
    import ast

    import rcmflow.default_plugins.notify as package

    # and the calendar plugin's events, so that an invitation has the UID of the calendar export's event,
    # and the documents plugin's editions, so that a message carries its reader's
    public = ("rcmflow.context", "rcmflow.errors", "rcmflow.log", "rcmflow.output", "rcmflow.model",
              "rcmflow.default_plugins.notify", "rcmflow.default_plugins.calendar",
              "rcmflow.default_plugins.documents.editions", "rcmflow.default_plugins.documents.files")
    for path in Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                if name.split(".")[0] == "rcmflow" and name != "rcmflow":
                    assert name.startswith(public), f"{path.name} imports {name}"


# --- who gets what ------------------------------------------------------------------


def test_participants_hear_in_their_own_language(mailer, smtp, db_url):
    engine = mailer()
    instance = start(engine)
    engine.fire(instance, "open")

    counts = smtp.mailbox.per_recipient()
    assert set(counts) == focal_addresses(engine, MEMBERS)
    assert set(counts.values()) == {1}
    for address in ("focal@mx.example.org", "focal@gt.example.org"):
        message = smtp.mailbox.to(address)
        assert message["Subject"] == "Solicitud de insumos: Consulta temática, tema 1 (plazo: 20 de abril de 2030)"
        assert message["Content-Language"] == "es"
        text = body(message)
        assert text.startswith("Estimado/a ")
        assert "a más tardar el 20 de abril de 2030" in text and TEMA_1 in text and THEME_1 not in text
    assert "los insumos de México" in body(smtp.mailbox.to("focal@mx.example.org"))
    for address in ("focal@us.example.org", "focal@bz.example.org", "focal@ca.example.org"):
        message = smtp.mailbox.to(address)
        assert message["Subject"] == "Request for input: Thematic consultation, theme 1 (due 20 April 2030)"
        text = body(message)
        assert "by 20 April 2030" in text and THEME_1 in text
    us = smtp.mailbox.to("focal@us.example.org")
    assert us["To"] == "Michael Brennan <focal@us.example.org>"
    assert body(us).startswith("Dear Michael Brennan,")
    assert us["From"] == "RCM Technical Secretariat <secretariat@rcm.example.org>"
    assert us["Message-ID"].startswith("<outbox-1.us-focal.") and us["Message-ID"].endswith("@rcm.example.org>")
    assert "the input of United States" in body(us)
    # Canada's French-speaking focal point, in French
    french = smtp.mailbox.to("pointfocal@ca.example.org")
    assert french["Content-Language"] == "fr" and body(french).startswith("Bonjour Geneviève Tremblay,")
    assert french["Subject"].strip() == "Demande de contribution : Consultation thématique, thème 1 (au plus tard le 20 avril 2030)"
    assert {mail_from for mail_from, _, _ in smtp.mailbox.received} == {"secretariat@rcm.example.org"}

    rows = sent_rows(db_url)
    assert len(rows) == len(counts) and {r.transport for r in rows} == {"smtp"}
    assert {r.key for r in rows} == {f"outbox-1:{a}" for a in counts}
    [item] = outbox(db_url)
    assert (item.status, item.attempts) == ("done", 1)


def test_a_track_transition_notifies_its_participant(mailer, smtp):
    engine = mailer()
    instance = start(engine)
    engine.fire(instance, "open")
    smtp.mailbox.received.clear()

    engine.acting_as("mx-focal").fire(instance, "submit", participant="MX", note="Aporte de México")
    [(_, [rcpt], message)] = smtp.mailbox.received
    assert rcpt == "focal@mx.example.org"
    assert message["Subject"] == "Insumos recibidos: Consulta temática, tema 1"
    assert 'Con la nota: "Aporte de México"' in body(message)

    engine.fire(instance, "submit", participant="US")
    engine.fire(instance, "return_for_revision", participant="US", note="Please add the figures for 2016.")
    us = [m for _, rcpts, m in smtp.mailbox.received if rcpts == ["focal@us.example.org"]]
    assert [m["Subject"] for m in us] == [
        "Input received: Thematic consultation, theme 1",
        "Input returned for revision: Thematic consultation, theme 1",
    ]
    text = body(us[1])
    assert "send it again by 20 April 2030" in text and "Please add the figures for 2016." in text

    engine.fire(instance, "return_for_revision", participant="MX", note="Falta la sección 2.")
    text = body([m for _, r, m in smtp.mailbox.received if r == ["focal@mx.example.org"]][-1])
    assert "enviarlos nuevamente a más tardar el 20 de abril de 2030" in text and "Falta la sección 2." in text
    assert smtp.mailbox.per_recipient() == Counter({"focal@mx.example.org": 2, "focal@us.example.org": 2})


def test_reminders_go_to_those_who_owe_their_input(mailer, smtp):
    engine = mailer()
    instance = start(engine)
    engine.fire(instance, "open")
    engine.fire(instance, "submit", participant="MX")
    smtp.mailbox.received.clear()

    engine.clock.now = dt.datetime(2030, 4, 15, 15, tzinfo=dt.timezone.utc)  # a working Monday, within the week before
    engine.tick(engine.clock.now)
    engine.tick(engine.clock.now + dt.timedelta(hours=1))
    counts = smtp.mailbox.per_recipient()
    assert set(counts) == focal_addresses(engine, set(MEMBERS) - {"MX"}) and set(counts.values()) == {1}
    guatemala = smtp.mailbox.to("focal@gt.example.org")
    assert guatemala["Subject"] == "Recordatorio, quedan 5 días: Consulta temática, tema 1 (plazo: 20 de abril de 2030)"
    assert "vence el 20 de abril de 2030" in body(guatemala)
    assert smtp.mailbox.to("focal@us.example.org")["Subject"].strip() == (
        "Reminder, 5 days left: Thematic consultation, theme 1 (due 20 April 2030)")

    smtp.mailbox.received.clear()
    engine.clock.now = dt.datetime(2030, 4, 23, 15, tzinfo=dt.timezone.utc)  # three days late (not Easter Monday)
    engine.tick(engine.clock.now)
    assert set(smtp.mailbox.per_recipient()) == focal_addresses(engine, set(MEMBERS) - {"MX"})
    overdue = smtp.mailbox.to("focal@us.example.org")
    assert overdue["Subject"] == "Input overdue: Thematic consultation, theme 1 (due 20 April 2030)"
    assert "which was due on 20 April 2030" in body(overdue)
    assert "cuyo plazo venció el 20 de abril de 2030" in body(smtp.mailbox.to("focal@hn.example.org"))


def test_a_group_and_a_role_with_the_documents_built(mailer, smtp, home):
    engine = mailer()
    instance = start(engine, meeting="2030-04-24")
    engine.fire(instance, "open")
    smtp.mailbox.received.clear()
    (home / "out" / instance).mkdir(parents=True)
    (home / "out" / instance / "regional-input.en.docx").write_bytes(b"PK")
    (home / "out" / instance / "regional-input.en.html").write_text("<p>")
    (home / "out" / instance / ".regional-input.pdf.tmp").write_text("half a build")

    engine.fire(instance, "circulate")
    counts = smtp.mailbox.per_recipient()
    assert set(counts) == focal_addresses(engine, ["HN", "SV", "PA"]) | {
        "coordinator@ts.example.org", "officer@ts.example.org"}
    assert set(counts.values()) == {1}
    officer = smtp.mailbox.to("officer@ts.example.org")
    assert officer["Subject"] == "Draft circulated: Thematic consultation (mail-1)"
    text = body(officer)
    assert "Attached: regional-input.en.docx, regional-input.en.html.\n\n" in text and ".tmp" not in text
    assert [(p.get_filename(), p.get_content_type(), p.get_content()) for p in officer.iter_attachments()] == [
        ("regional-input.en.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK"),
        ("regional-input.en.html", "text/html", "<p>")]
    assert "finalise your input before the online meeting on 24 April 2030" in text
    honduras = body(smtp.mailbox.to("focal@hn.example.org"))
    assert "finalizar los insumos de Honduras antes de la reunión virtual del 24 de abril de 2030" in honduras


def test_without_smtp_messages_are_written_to_the_outbox_folder(home, make_engine, db_url):
    make_home(home)
    engine = make_engine(clock=Clock(START))
    engine.init()
    instance = start(engine)
    engine.fire(instance, "open")

    files = sorted((home / "outbox").glob("*.eml"))
    assert len(files) == len(focal_addresses(engine, MEMBERS))
    by_name = {}
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert path.name == message["Message-ID"].strip("<>").split("@")[0] + ".eml"
        by_name[message["To"].addresses[0].addr_spec] = message
    assert set(by_name) == focal_addresses(engine, MEMBERS)
    assert by_name["focal@gt.example.org"]["Subject"].startswith("Solicitud de insumos")
    assert "20 de abril de 2030" in body(by_name["focal@gt.example.org"])
    rows = sent_rows(db_url)
    assert {r.transport for r in rows} == {"file"} and {Path(r.path) for r in rows} == set(files)
    assert not list((home / "outbox").glob(".*"))  # no temporary file left behind


def test_the_outbox_folder_is_a_setting(home, make_engine):
    make_home(home, '[outbox]\nfolder = "mail/sent"\n[smtp]\nfrom = "Secretaría Técnica <st@crmsv.example.org>"\n')
    engine = make_engine()
    engine.init()
    engine.fire(start(engine), "open")
    files = list((home / "mail" / "sent").glob("*.eml"))
    assert len(files) == len(focal_addresses(engine, MEMBERS))
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["From"] == "Secretaría Técnica <st@crmsv.example.org>"
    assert message["Message-ID"].endswith("@crmsv.example.org>")


# --- failures and retries -------------------------------------------------------------


def test_a_server_that_is_down_is_retried_and_each_message_goes_once(mailer, smtp, db_url):
    engine = mailer()
    smtp.stop()
    instance = start(engine)
    engine.fire(instance, "open")  # the transition stands; the notification waits
    assert engine.get(instance).state == "collecting_input"
    [item] = outbox(db_url)
    assert (item.status, item.attempts) == ("pending", 1)
    assert item.last_error.startswith("NotifyError: 13 of 13 e-mails could not go out: cannot reach the SMTP "
                                      f"server 127.0.0.1:{smtp.port}:")
    assert sent_rows(db_url) == []

    smtp.start()
    report = engine.tick(LATER)
    assert (report.actions_done, report.actions_failed) == (1, 0)
    for later in (LATER + dt.timedelta(hours=1), LATER + dt.timedelta(days=1)):
        assert engine.tick(later).actions_done == 0
    counts = smtp.mailbox.per_recipient()
    assert set(counts) == focal_addresses(engine, MEMBERS) and set(counts.values()) == {1}
    [item] = outbox(db_url)
    assert (item.status, item.attempts, item.last_error) == ("done", 2, None)


def test_a_server_that_stops_half_way_never_gets_a_message_twice(mailer, smtp, db_url):
    engine = mailer()
    smtp.mailbox.close_after = 5
    instance = start(engine)
    engine.fire(instance, "open")
    everyone = focal_addresses(engine, MEMBERS)
    assert len(smtp.mailbox.received) == 5
    [item] = outbox(db_url)
    assert item.status == "pending"
    assert f"failed after 5 of {len(everyone)} messages: SMTPDataError: 421 4.3.2 shutting down" in item.last_error
    assert len(sent_rows(db_url)) == 5

    # Half-way again on the next attempt: three more, then it fails once more.
    smtp.mailbox.close_after = 8
    assert engine.tick(LATER).actions_failed == 1
    assert len(smtp.mailbox.received) == 8

    smtp.mailbox.close_after = None
    assert engine.tick(LATER + dt.timedelta(hours=1)).actions_done == 1
    assert engine.tick(LATER + dt.timedelta(days=1)).actions_done == 0
    counts = smtp.mailbox.per_recipient()
    assert set(counts) == everyone and set(counts.values()) == {1}
    assert len(sent_rows(db_url)) == len(everyone)


def test_a_recipient_refused_for_now_is_retried_alone(mailer, smtp, db_url):
    engine = mailer()
    smtp.mailbox.refuse = {"focal@gt.example.org": "450 4.2.1 mailbox busy, try later"}
    instance = start(engine)
    engine.fire(instance, "open")
    everyone = focal_addresses(engine, MEMBERS)
    assert set(smtp.mailbox.per_recipient()) == everyone - {"focal@gt.example.org"}
    [item] = outbox(db_url)
    assert item.status == "pending"  # a 4xx: the next tick tries again
    assert item.last_error == (f"NotifyError: 1 of {len(everyone)} e-mails could not go out: SMTP server "
                               f"127.0.0.1:{smtp.port} refused focal@gt.example.org (450 4.2.1 mailbox busy, try later)")

    smtp.mailbox.refuse = {}
    assert engine.tick(LATER).actions_done == 1
    counts = smtp.mailbox.per_recipient()
    assert set(counts) == everyone and set(counts.values()) == {1}
    assert smtp.mailbox.received[-1][1] == ["focal@gt.example.org"]


def test_the_same_action_run_twice_sends_once(mailer, smtp):
    # What a dispatcher does when it takes over an action whose claim expired.
    from rcmflow.default_plugins.notify import notify

    engine = mailer()
    instance = start(engine)
    engine.fire(instance, "open")
    assert len(smtp.mailbox.received) == len(focal_addresses(engine, MEMBERS))
    view = engine.get(instance)
    event = [e for e in engine.history(instance) if e.trigger == "open"][0]
    ctx = engine.action_context(view, event, engine.definition("mail-test"), "outbox-1", "notify")
    notify(ctx, {"to": "participants", "template": "input-request"})
    assert set(smtp.mailbox.per_recipient().values()) == {1}


# --- safety -------------------------------------------------------------------------------

PROBE = """\
    Subject: About {{ instance.params.topic }}

    Dear {{ recipient.name }}, this is about {{ instance.params.topic }}.
    """


def test_line_breaks_in_names_and_data_cannot_add_headers(mailer, smtp, home):
    # a line break in members.yaml is refused when it is read (tests/test_header_attacks.py);
    # an encoded one is decoded, then folded to a space
    add_to_members(home, {"id": "eve", "name": "Eve=?utf-8?q?=0D=0ABcc:_spy@attacker.example?=",
                          "email": "eve@ts.example.org"})
    engine = mailer(PROBE)
    instance = start(engine, topic="theme 1\r\nBcc: spy@attacker.example\nX-Injected: yes", to="eve")
    engine.fire(instance, "poke")

    [(_, rcpts, message)] = smtp.mailbox.received
    assert rcpts == ["eve@ts.example.org"]
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert message["Subject"] == "About theme 1 Bcc: spy@attacker.example X-Injected: yes"
    assert message["To"].addresses[0].display_name == "Eve Bcc: spy@attacker.example"
    assert message["To"].addresses[0].addr_spec == "eve@ts.example.org"
    assert sorted(message.keys()) == sorted([
        "From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "Content-Type",
        "Content-Transfer-Encoding", "MIME-Version", "Content-Language"])


@pytest.mark.parametrize("probe, error", [
    ("Subject: hello\n\n{{ ''.__class__.__mro__ }}\n", "SecurityError: access to attribute '__class__' of 'str'"),
    ("Subject: hello\n\n{{ instance.__class__.__mro__ }}\n", "SecurityError: access to attribute '__class__' of 'dict'"),
    ("Subject: {{ instance.__class__.__mro__[1].__subclasses__() }}\n\nx\n", "line 1: SecurityError"),
    ("Subject: hello\n\n{{ recipient.name.format.__globals__ }}\n", "SecurityError"),
    ("Subject: hello\n\n{{ instance.data.update({'x': 1}) }}\n", "SecurityError"),
    ("Subject: hello\n\nline two\n{{ nothing_here }}\n", "line 4: UndefinedError: 'nothing_here' is undefined"),
    ("Subject: hello\n\n{% if %}\n", "line 3: syntax error"),
    ("Hello\n\nno subject line\n", "line 1: must be 'Subject: …'"),
])
def test_a_bad_template_fails_the_action_and_sends_nothing(mailer, smtp, db_url, probe, error):
    engine = mailer(probe)
    instance = start(engine, to="mx-focal,us-focal")
    engine.fire(instance, "poke")
    assert smtp.mailbox.received == []
    assert sent_rows(db_url) == []
    [item] = outbox(db_url)
    assert item.status == "pending"
    assert item.last_error.startswith("NotifyError: template probe.en.txt.j2")
    assert error in item.last_error and "\n" not in item.last_error


@pytest.mark.parametrize("to, error", [
    ("nobody-here", "to: 'nobody-here' is not one of participants, participant, secretariat, ppt, a group"),
    ("participant", "to: participant needs a track transition; poke on mail-1 has no participant"),
    ("mx-focal,agencies", "to: 'agencies' names nobody on mail-1"),
    ("nomail", "to: nobody to send to: nomail has no e-mail address in members.yaml"),
])
def test_who_cannot_be_resolved_is_a_clear_error(mailer, smtp, db_url, home, to, error):
    add_to_members(home, {"id": "nomail", "name": "No Mail", "roles": ["secretariat"]},
                   {"agencies": ["IOM", "UNHCR"]})  # observers without a focal point
    engine = mailer("Subject: x\n\ny\n")
    instance = start(engine, to=to)
    engine.fire(instance, "poke")
    [item] = outbox(db_url)
    assert item.status == "pending" and error in item.last_error
    assert smtp.mailbox.received == []


def test_the_password_comes_only_from_the_environment(home, make_engine, db_url, monkeypatch):
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    server = SmtpServer(authenticator=authenticate, auth_require_tls=False)
    server.start()
    try:
        make_home(home, f"""\
            [smtp]
            host = "127.0.0.1"
            from = "RCM TS <ts@rcm.example.org>"
            port = {server.port}
            username = "rcm-ts"
            password = "from-the-file"
            """, "Subject: x\n\ny\n")
        engine = make_engine(clock=Clock(START))
        engine.init()
        instance = start(engine, to="mx-focal")
        engine.fire(instance, "poke")
        [item] = outbox(db_url)
        assert "rcm-ts' but RCMFLOW_SMTP_PASSWORD is not set" in item.last_error
        assert logins == [] and server.mailbox.received == []

        monkeypatch.setenv("RCMFLOW_SMTP_PASSWORD", "s3cret")
        assert engine.tick(LATER).actions_done == 1
        assert logins == [(b"rcm-ts", b"s3cret")]
        assert list(server.mailbox.per_recipient()) == ["focal@mx.example.org"]
    finally:
        server.stop()


def test_the_environment_overrides_host_and_port(home, make_engine, smtp, monkeypatch):
    make_home(home, '[smtp]\nhost = "mail.invalid"\nport = 1\n' + SENDER, "Subject: x\n\ny\n")
    monkeypatch.setenv("RCMFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RCMFLOW_SMTP_PORT", str(smtp.port))
    engine = make_engine()
    engine.init()
    engine.fire(start(engine, to="focal@us.example.org,someone@partner.example.org"), "poke")
    assert smtp.mailbox.per_recipient() == Counter({"focal@us.example.org": 1, "someone@partner.example.org": 1})
    assert smtp.mailbox.to("someone@partner.example.org")["To"] == "someone@partner.example.org"


# --- upgrading -----------------------------------------------------------------------


def insert_row(conn, table: str, **values) -> None:
    """One row as an older schema stores it, whatever today's models say."""
    def column(name, value):
        kind = sa.JSON if isinstance(value, (dict, list)) else sa.DateTime if isinstance(value, dt.datetime) else None
        return sa.column(name, kind)

    conn.execute(sa.insert(sa.table(table, *(column(k, v) for k, v in values.items()))).values(**values))


def test_messages_sent_before_the_ledger_are_not_sent_again(home, db_url, make_engine, smtp):
    # A database at schema 0003, where a notification reached two of its three
    # recipients (kept in sent_messages) before its process died: after `rcmflow
    # init` the retry sends only to the third.
    from alembic import command

    from rcmflow.store.database import Database
    from rcmflow.store.migrations import alembic_config

    make_home(home, f"[smtp]\nhost = \"127.0.0.1\"\nport = {smtp.port}\n{SENDER}", "Subject: x\n\ny\n")
    to = ["focal@mx.example.org", "focal@us.example.org", "someone@partner.example.org"]
    then = START.replace(tzinfo=None)  # as stored: UTC without a zone
    old = Database(db_url)
    with old.engine.begin() as conn:
        command.upgrade(alembic_config(old, conn), "0003")
        insert_row(conn, "instances", id="mail-1", workflow="mail-test", definition_version=1, state="planned",
                   version=2, params={"theme": 1, "deadline": "2030-04-20", "to": to}, data={},
                   state_entered_at=then, created_at=then, updated_at=then)
        insert_row(conn, "events", seq=1, actor="ts-officer", instance_id="mail-1", trigger="poke",
                   source="planned", dest="planned", data={}, at=then)
        insert_row(conn, "outbox", id=1, instance_id="mail-1", event_seq=1, action="notify", status="running",
                   attempts=1, args={"to": to, "template": "probe"}, next_attempt_at=then, created_at=then)
        for n, address in enumerate(to[:2]):
            insert_row(conn, "sent_messages", key=f"outbox-1:{address}", outbox_id=1, instance_id="mail-1",
                       recipient=address, language="en", subject="x", message_id=f"<outbox-1.{n}@localhost>",
                       transport="smtp", path=None, sent_at=then)
    old.dispose()

    engine = make_engine(clock=Clock(START))
    engine.init()
    assert [(r.key, r.message_id, r.recipient, r.transport, r.outbox_id, r.at) for r in sent_rows(db_url)] == [
        (f"outbox-1:{address}", f"<outbox-1.{n}@localhost>", address, "smtp", 1, START)
        for n, address in enumerate(to[:2])]

    assert engine.tick(LATER).actions_done == 1
    assert smtp.mailbox.per_recipient() == Counter({"someone@partner.example.org": 1})
    assert [r.recipient for r in sent_rows(db_url)] == to
    [item] = outbox(db_url)
    assert (item.status, item.attempts) == ("done", 2)
