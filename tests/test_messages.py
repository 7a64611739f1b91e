"""Every step that asks something of people tells them, with what they need: the
documents attached (or linked, above the size limit), a calendar invitation to a
meeting, in the recipient's language, each follow-up a reply in the conversation of
the request. Through the command line, with a real SMTP server on loopback, the
messages read back with the `email` package."""

from __future__ import annotations

import io

import docx
import pytest
from icalendar import Calendar

from .conftest import REPO
from .test_notify import SmtpServer

MEMBERS = ["BZ", "CA", "CR", "DO", "SV", "GT", "HN", "MX", "NI", "PA", "US"]
#: who speaks for each member country: Canada has a focal point per language, and
#: El Salvador's vice-ministry, the PPT, hears what El Salvador is asked
FOCAL = {"CA": ["focal@ca.example.org", "pointfocal@ca.example.org"], "SV": ["focal@sv.example.org", "ppt@sv.example.org"],
         **{c: [f"focal@{c.lower()}.example.org"] for c in MEMBERS if c not in ("CA", "SV")}}
EVERY_MEMBER = sorted(a for addresses in FOCAL.values() for a in addresses)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail(home, rcmflow, smtp, monkeypatch):
    """The roadmap's home sending through the test's SMTP server; `settings` adds to rcmflow.toml."""
    for name in ("RCMFLOW_SMTP_HOST", "RCMFLOW_SMTP_PORT", "RCMFLOW_SMTP_USER", "RCMFLOW_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)

    def setup(settings: str = "") -> None:
        (home / "rcmflow.toml").write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\n'
                                           f'from = "RCM Technical Secretariat <secretariat@rcm.example.org>"\n{settings}')
        assert rcmflow("init").exit_code == 0

    return setup


def fire(rcmflow, *args, actor="ts-officer"):
    result = rcmflow("fire", *args, actor=actor)
    assert result.exit_code == 0 and "Warning" not in result.stderr, result.stdout + result.stderr
    return result


def take(smtp) -> dict:
    """The messages received since the last call, by recipient (one each, or the test fails)."""
    received = {}
    for _, recipients, message in smtp.mailbox.received:
        for address in recipients:
            assert address not in received, f"{address} got two messages"
            received[address] = message
    smtp.mailbox.received.clear()
    return received


def attachments(message) -> dict[str, tuple[str, bytes]]:
    return {part.get_filename(): (part.get_content_type(), part.get_payload(decode=True))
            for part in message.iter_attachments()}


def text(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def subject(message) -> str:
    return " ".join(str(message["Subject"]).split())


def calendar_uid(rcmflow, home, summary_part: str) -> str:
    assert rcmflow("calendar", "--out", str(home / "roadmap.ics")).exit_code == 0
    calendar = Calendar.from_ical((home / "roadmap.ics").read_bytes())
    [uid] = [str(e["UID"]) for e in calendar.walk("VEVENT") if summary_part in str(e["SUMMARY"])]
    return uid


def test_the_declaration_is_shared_and_circulated_with_its_documents_and_the_meeting(mail, rcmflow, smtp, home,
                                                                                     monkeypatch):
    mail()
    monkeypatch.setenv("RCMFLOW_REPLAY", "1")  # the 2017 dates, today
    assert rcmflow("start", "declaration-adoption", "--set", "year=2017", "--set", "meeting=2017-04-24",
                   "--set", "amendments_due=2017-04-14").exit_code == 0
    fire(rcmflow, "declaration-2017", "share_base_text", "--set-file", f"text={REPO / 'samples' / 'mexico-7-items.md'}")
    shared = take(smtp)
    assert sorted(shared) == EVERY_MEMBER
    mexico = shared["focal@mx.example.org"]
    assert subject(mexico) == "Texto base para enmiendas: Declaración política (declaration-2017), plazo: 14 de abril de 2017"
    assert text(mexico).startswith("Estimado/a Alejandra Ruiz Navarro:\n")
    files = attachments(mexico)
    # a Spanish-speaking focal point gets the Spanish edition
    assert sorted(files) == ["base-text.es.docx", "base-text.es.html"] and files["base-text.es.docx"][0] == DOCX
    paragraphs = [p.text for p in docx.Document(io.BytesIO(files["base-text.es.docx"][1])).paragraphs]
    assert paragraphs[0] == "Declaración política 2017: texto base para enmiendas"
    assert any("modern slavery" in p for p in paragraphs)
    assert "Se adjunta: base-text.es.docx, base-text.es.html." in text(mexico)
    french = shared["pointfocal@ca.example.org"]
    assert french["Content-Language"] == "fr" and text(french).startswith("Bonjour Geneviève Tremblay,")
    assert subject(shared["focal@us.example.org"]).startswith("Base text for amendments: Political declaration")

    for country in MEMBERS:
        fire(rcmflow, "declaration-2017", "no_comments", "-p", country)
    fire(rcmflow, "declaration-2017", "agree_draft")
    fire(rcmflow, "declaration-2017", "draft_declaration", actor="sv-ppt")
    fire(rcmflow, "declaration-2017", "sign_off")
    fire(rcmflow, "declaration-2017", "sign_off", actor="sv-ppt")
    assert take(smtp) == {}  # steps that ask nothing of the countries tell them nothing
    fire(rcmflow, "declaration-2017", "circulate_declaration")
    circulated = take(smtp)
    assert sorted(circulated) == EVERY_MEMBER
    uid = calendar_uid(rcmflow, home, "online meeting")
    for address, message in circulated.items():
        files = attachments(message)
        # each in their edition: English for Belize, Canada (its French focal point too: there is no French one)
        # and the United States, Spanish for the others
        edition = "en" if address.split("@")[1] in ("bz.example.org", "ca.example.org", "us.example.org") else "es"
        assert sorted(files) == [f"declaration-draft.{edition}.docx", f"declaration-draft.{edition}.html",
                                 "invitation.ics"], address
        ics_type = [p for p in message.iter_attachments() if p.get_filename() == "invitation.ics"][0]
        assert ics_type.get_content_type() == "text/calendar" and ics_type.get_param("method") == "REQUEST"
        invitation = Calendar.from_ical(files["invitation.ics"][1])
        [event] = invitation.walk("VEVENT")
        assert str(invitation["METHOD"]) == "REQUEST" and str(event["UID"]) == uid
        assert event.decoded("DTSTART").isoformat() == "2017-04-24"
        assert str(event["ATTENDEE"]) == f"mailto:{address}"
        # the same conversation as the base text's request
        assert message["In-Reply-To"] == message["References"] == shared[address]["Message-ID"]
    assert "la reunión virtual del 24 de abril de 2017" in text(circulated["focal@gt.example.org"])


def test_every_follow_up_replies_in_the_thread_of_the_request(mail, rcmflow, smtp):
    mail()
    assert rcmflow("start", "thematic-consultation", "--set", "theme=1", "--set", "deadline=2030-04-20").exit_code == 0
    fire(rcmflow, "theme-1", "open")
    request = take(smtp)["focal@mx.example.org"]
    assert request["In-Reply-To"] is None
    fire(rcmflow, "theme-1", "submit", "-p", "MX", actor="mx-focal")
    fire(rcmflow, "theme-1", "return_for_revision", "-p", "MX", "--note", "please add data")
    assert rcmflow("tick", "--now", "2030-04-15T12:00:00+00:00").exit_code == 0
    assert rcmflow("tick", "--now", "2030-04-19T12:00:00+00:00").exit_code == 0
    follow_ups = [m for _, to, m in smtp.mailbox.received if to == ["focal@mx.example.org"]]
    assert [subject(m).split(":")[0] for m in follow_ups] == [
        "Insumos recibidos", "Insumos devueltos para revisión", "Recordatorio, quedan 5 días", "El plazo vence mañana"]
    for message in follow_ups:
        assert message["In-Reply-To"] == message["References"] == request["Message-ID"]


def test_above_the_size_limit_the_documents_are_linked(mail, rcmflow, smtp):
    mail('[notify]\nattach_limit = "1 KB"\nstatus_page = "https://rcm.example.org/"\n')
    assert rcmflow("start", "ts-deliverable", "--set", "kind=best-practices", "--set", "review_due=2030-06-30").exit_code == 0
    draft = REPO / "samples" / "input-mx.docx"
    fire(rcmflow, "best-practices", "send_for_review", "--attach", str(draft))
    sent = take(smtp)
    assert sorted(sent) == EVERY_MEMBER
    message = sent["focal@us.example.org"]
    assert attachments(message) == {}
    assert "too large to attach; they are on the status page:\n    - input-mx.docx: " \
           "https://rcm.example.org/instances/best-practices" in text(message)


def test_a_draft_for_review_travels_with_its_request(mail, rcmflow, smtp):
    mail()
    assert rcmflow("start", "ts-deliverable", "--set", "kind=background-paper", "--set", "review_due=2030-05-31").exit_code == 0
    draft = (REPO / "samples" / "input-mx.docx").read_bytes()
    fire(rcmflow, "background-paper", "send_for_review", "--attach", str(REPO / "samples" / "input-mx.docx"))
    sent = take(smtp)
    assert sorted(sent) == EVERY_MEMBER
    assert {address: attachments(m) for address, m in sent.items()} == {
        address: {"input-mx.docx": (DOCX, draft)} for address in EVERY_MEMBER}
    assert subject(sent["focal@bz.example.org"]) == "For your review: Technical Secretariat deliverable (background-paper), due 31 May 2030"


def test_the_troika_is_called_for_items_and_invited_to_its_meeting(mail, rcmflow, smtp, home):
    mail()
    assert rcmflow("start", "troika-meeting", "--set", "date=2030-03-30", "--set", "proposals_due=2030-03-20").exit_code == 0
    fire(rcmflow, "troika-2030-03-30", "call_for_agenda")
    called = take(smtp)
    participants = sorted(called)
    assert "ts@sacm.example.org" in participants and "focal@hn.example.org" in participants
    assert subject(called["ts@sacm.example.org"]) == ("Convocatoria de puntos de agenda: Reunión de Troikas CRM–CSM, "
                                                       "30 de marzo de 2030")
    for code in ("HN", "SV", "PA", "SACM"):
        fire(rcmflow, "troika-2030-03-30", "no_items", "-p", code)
    fire(rcmflow, "troika-2030-03-30", "agree_agenda", "--set", "agenda=1. Exchange of experiences")
    invited = take(smtp)
    assert sorted(invited) == participants
    uid = calendar_uid(rcmflow, home, "Troika meeting")
    for message in invited.values():
        [event] = Calendar.from_ical(attachments(message)["invitation.ics"][1]).walk("VEVENT")
        assert str(event["UID"]) == uid
        assert "1. Exchange of experiences" in text(message)


def test_a_language_without_a_template_is_said_in_the_message(mail, rcmflow, smtp, home):
    (home / "workflows" / "templates" / "input-request.fr.txt.j2").unlink()
    mail()
    assert rcmflow("start", "thematic-consultation", "--set", "theme=2", "--set", "deadline=2030-04-20").exit_code == 0
    fire(rcmflow, "theme-2", "open")
    french = take(smtp)["pointfocal@ca.example.org"]
    assert french["Content-Language"] == "en"
    assert text(french).startswith("[This message is in English: there is no French version of it yet.]\n\n"
                                   "Dear Geneviève Tremblay,")


def test_the_regional_input_goes_to_every_member_for_agreement(mail, rcmflow, smtp):
    mail()
    assert rcmflow("start", "thematic-consultation", "--set", "theme=4", "--set", "deadline=2030-04-20").exit_code == 0
    fire(rcmflow, "theme-4", "open")
    for country in MEMBERS:
        fire(rcmflow, "theme-4", "decline" if country == "US" else "submit", "-p", country)
        if country != "US":
            fire(rcmflow, "theme-4", "accept", "-p", country)
    fire(rcmflow, "theme-4", "close_collection")
    smtp.mailbox.received.clear()
    fire(rcmflow, "theme-4", "circulate")
    sent = take(smtp)
    assert sorted(sent) == EVERY_MEMBER
    assert sorted(attachments(sent["focal@pa.example.org"])) == ["regional-input.es.docx", "regional-input.es.html"]
    assert subject(sent["focal@pa.example.org"]).startswith("Insumo regional para acuerdo: Consulta temática, tema 4")
