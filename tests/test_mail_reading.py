"""What the mailroom makes of a message by itself: auto-replies by their headers and
wording, return dates in Spanish and English, the new text of a reply, safe file names."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

import pytest

from rcmflow.default_plugins.mail.matching import address_key
from rcmflow.default_plugins.mail.reading import read, safe_filename
from rcmflow.default_plugins.mail.returns import return_date
from tests import mailcorpus as corpus

pytestmark = pytest.mark.no_database
SENT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("text, expected", [
    ("Estaré fuera de la oficina hasta el lunes 14 de diciembre de 2026.", dt.date(2026, 12, 14)),
    ("Me encuentro de vacaciones; regreso el 4/1/2027.", dt.date(2027, 1, 4)),
    ("Ausente hasta el 8 de enero.", dt.date(2027, 1, 8)),  # no year: the next 8 January
    ("I am out of the office until December 9, 2026.", dt.date(2026, 12, 9)),
    ("I'm away, back on 12/14.", dt.date(2026, 12, 14)),
    ("Out of office until 2026-12-18, limited access to e-mail.", dt.date(2026, 12, 18)),
    ("I am on leave with limited access to e-mail.", None),
])
def test_the_return_date_of_an_out_of_office(text, expected):
    assert return_date(text, SENT) == expected


def _message(**headers) -> bytes:
    msg = EmailMessage()
    msg["From"] = "focal@pa.example.org"
    msg["Subject"] = headers.pop("Subject", "Re: Request for input")
    msg["Message-ID"] = "<x-1@pa.example.org>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Thanks, we will send it next week.\n")
    return bytes(msg)


@pytest.mark.parametrize("headers", [
    {"Auto_Submitted": "auto-replied"}, {"X_Autoreply": "yes"}, {"X_Autorespond": "on"},
    {"Precedence": "auto_reply"}, {"X_Auto_Response_Suppress": "All"},
    {"Subject": "Fuera de la oficina: Solicitud de aportes"}, {"Subject": "Automatic reply: Request for input"},
])
def test_auto_replies_are_known_by_their_headers_or_subject(headers):
    assert read(_message(**headers)).kind == "auto_reply"


def test_a_person_writing_is_a_reply_even_with_auto_submitted_no():
    reading = read(_message(Auto_Submitted="no"))
    assert (reading.kind, reading.reply) == ("reply", "Thanks, we will send it next week.")


def test_the_new_text_of_each_client_leaves_the_quote_out():
    outlook, gmail, apple = (read(corpus.outlook_reply("<r@ts>")), read(corpus.gmail_reply("<r@ts>")),
                             read(corpus.apple_reply("<r@ts>")))
    assert outlook.reply == "Adjunto el aporte de México."
    assert gmail.reply == "Enviamos nuestro aporte en PDF."
    assert apple.reply.startswith("Costa Rica has no further comments") and ">" not in apple.reply
    assert [f.filename for f in outlook.files + gmail.files] == ["aporte-mexico.docx", "aporte-guatemala.pdf"]
    assert read(corpus.forwarded("<r@ts>")).reply.endswith("está adjunto.")  # a forward is kept whole


def test_a_bounce_names_the_failing_address_and_the_message_it_returns():
    reading = read(corpus.dsn_bounce("<outbox-2.mx-focal.abc@ts.example.org>"))
    assert (reading.kind, reading.failed) == ("bounce", ["focal@mx.example.org"])
    assert reading.returned == ["outbox-2.mx-focal.abc@ts.example.org"]


def test_unreadable_messages_are_malformed_not_errors():
    assert read(corpus.malformed()).kind == "malformed"
    assert read(b"\x00\xff not a message at all").kind == "malformed"


@pytest.mark.parametrize("name, safe", [
    ("../../etc/passwd", "passwd"), ("C:\\Users\\x\\aporte.docx", "aporte.docx"), ("a\r\nb.pdf", "a b.pdf"),
    ("", "attachment-3.bin"), ("..", "attachment-3.bin")])
def test_attachment_names_name_nothing_but_themselves(name, safe):
    assert safe_filename(name, 3) == safe


def test_addresses_compare_without_case_or_plus_tags():
    assert address_key("Focal+RCM@MX.Example.org") == address_key("focal@mx.example.org")
