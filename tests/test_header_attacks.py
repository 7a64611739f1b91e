"""Headers that cannot be forged: a corpus of header attacks sent through a real SMTP
server on loopback (each message must reach exactly its recipient and carry exactly
rcmflow's headers), and a corpus of malformed addresses in members.yaml and
rcmflow.toml, each a `file:line: message` and exit 1."""

from __future__ import annotations

import base64
import textwrap

import pytest

from tests.test_malformed import MEMBERS, MEMBERS_TEXT, SETTINGS, assert_reported, problem_lines, run  # noqa: F401
from tests.test_notify import _no_smtp_environment, add_to_members, mailer, smtp, start  # noqa: F401

EVE = "eve@ts.example.org"
HEADERS = sorted(["From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "Content-Type",
                  "Content-Transfer-Encoding", "MIME-Version", "Content-Language"])
# The note reaches the subject and the body: the template is the attacker's target.
PROBE = """\
    Subject: About {{ instance.params.topic }} {{ event.note or '' }}

    Dear {{ recipient.name }}, this is about {{ instance.params.topic }}.
    """


def q(text: str) -> str:
    return "=?utf-8?q?" + "".join(f"={b:02X}" if b < 33 or b > 126 or chr(b) in "=?_" else chr(b)
                                  for b in text.encode()) + "?="


def b(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


INJECT = "hi\r\nBcc: spy@evil.example\r\nX-Injected: yes"
LONG = "Consulta " + "migración-regular-ordenada-y-segura " * 60

# (topic, note, display name of the recipient in members.yaml)
ATTACKS = {
    "crlf-in-topic": (INJECT, None, "Eve"),
    "crlf-in-note": ("theme", INJECT, "Eve"),
    "lf-and-cr-alone": ("a\nBcc: spy@evil.example", "b\rX-Injected: yes", "Eve"),
    "q-encoded-crlf-in-note": ("theme", "=?utf-8?q?hi=0D=0ABcc:_spy@evil.example?=", "Eve"),
    "q-encoded-crlf-in-topic": (q(INJECT), None, "Eve"),
    "b-encoded-crlf": (b(INJECT), b("\r\nCc: spy2@evil.example"), "Eve"),
    "encoded-twice": (q(q(INJECT)), q(b(INJECT)), "Eve"),
    "encoded-word-glued-to-text": ("x" + q(INJECT) + "y", None, "Eve"),
    "unicode-line-breaks-and-c1": ("a\u2028Bcc: spy@evil.example\u0085X-Injected: yes\x9b\x00", None, "Eve"),
    "encoded-crlf-in-name": ("theme", None, "Eve" + q("\r\nBcc: spy@evil.example")),
    "comma-in-name": ("theme", None, "Doe, Eve, spy@evil.example"),
    "quotes-and-angles-in-name": ("theme", None, 'Eve" <spy@evil.example>, "Mallory'),
    "encoded-comma-address-in-name": ("theme", None, q('x", spy@evil.example, "y')),
    "backslash-and-parens-in-name": ("theme", None, 'Eve \\" (spy@evil.example) \\'),
    "very-long-values": (LONG, LONG, "Señora " + "Ñúñez-" * 80),
    "non-ascii-name": ("consulta temática", "notes ✓", "José Pérez Ñúñez 日本語"),
    "non-ascii-encoded-name": ("theme", None, q("Zoë, \"Ünïcode\" <spy@evil.example>")),
}


@pytest.mark.parametrize("topic, note, name", ATTACKS.values(), ids=ATTACKS.keys())
def test_a_header_attack_reaches_only_its_recipient_and_adds_no_header(mailer, smtp, home, topic, note, name):
    add_to_members(home, {"id": "eve", "name": name, "email": EVE})
    engine = mailer(PROBE)
    instance = start(engine, topic=topic, to="eve")
    engine.fire(instance, "poke", note=note)

    [(mail_from, rcpts, message)] = smtp.mailbox.received
    assert (mail_from, rcpts) == ("secretariat@rcm.example.org", [EVE])
    assert sorted(message.keys()) == HEADERS
    assert [a.addr_spec for a in message["To"].addresses] == [EVE]
    assert [a.addr_spec for a in message["From"].addresses] == ["secretariat@rcm.example.org"]
    assert message["Cc"] is None and message["Bcc"] is None and message["X-Injected"] is None
    assert not message.defects
    for header, value in message.items():
        assert not any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f or c in "\u2028\u2029" for c in str(value)), header
        assert "=?" not in str(value) or header in ("Message-ID",), (header, str(value))
    assert message["Subject"].startswith("About ")
    shown = message["To"].addresses[0].display_name
    assert "\n" not in shown and "\r" not in shown


def test_a_long_non_ascii_subject_is_folded_and_reads_back_whole(mailer, smtp, home):
    add_to_members(home, {"id": "eve", "name": "José Pérez Ñúñez", "email": EVE})
    engine = mailer(PROBE)
    engine.fire(start(engine, topic=LONG, to="eve"), "poke")
    [(_, _, message)] = smtp.mailbox.received
    assert message["Subject"] == "About " + " ".join(LONG.split())
    assert message["To"].addresses[0].display_name == "José Pérez Ñúñez"


# --- the files: an address that is not one is refused when the file is read ---------------

BAD_EMAILS = {
    "no-domain": ("focal@", "is not an e-mail address"),
    "no-dot": ("focal@mx", "is not an e-mail address"),
    "no-at": ("focal.mx.example.org", "is not an e-mail address"),
    "two-ats": ("focal@@mx.example.org", "is not an e-mail address"),
    "two-addresses": ("'focal@mx.example.org, spy@evil.example'", "is not an e-mail address"),
    "a-display-name": ("'Focal <focal@mx.example.org>'", "is not an e-mail address"),
    "crlf-bcc": ('"focal@mx.example.org\\r\\nBcc: spy@evil.example"', "control characters"),
    "a-space": ("'focal @mx.example.org'", "is not an e-mail address"),
    "leading-space": ("' focal@mx.example.org'", "spaces or control characters"),
    "nul": ('"focal@mx.example.org\\0"', "control characters"),
}


@pytest.mark.parametrize("address, words", BAD_EMAILS.values(), ids=BAD_EMAILS.keys())
def test_a_malformed_address_in_members_is_a_line_of_it(run, home, address, words):
    (home / MEMBERS).write_text(MEMBERS_TEXT.replace("email: focal@mx.example.org", f"email: {address}", 1))
    result = run("workflows", "validate")
    assert result.exit_code == 1
    assert_reported([line for line in result.stdout.splitlines() if line.startswith(MEMBERS)], MEMBERS, 8, words)
    result = run("status")
    assert result.exit_code == 1 and result.stdout == ""
    assert_reported(problem_lines(result.stderr, MEMBERS), MEMBERS, 8, words)


@pytest.mark.parametrize("name", ['"TS\\r\\nBcc: spy@evil.example"', '"TS\\nofficer"', '"TS\\u2028officer"'])
def test_a_name_with_a_line_break_in_members_is_a_line_of_it(run, home, name):
    (home / MEMBERS).write_text(MEMBERS_TEXT.replace("name: TS officer", f"name: {name}", 1))
    result = run("workflows", "validate")
    assert result.exit_code == 1
    assert_reported(result.stdout.splitlines(), MEMBERS, 7, "has a line break or a control character")


@pytest.mark.parametrize("sender, words", [
    ('"RCM TS <ts@example.org>, spy@evil.example"', "is not one address"),
    ('"RCM TS <ts@localhost>"', "is not an e-mail address"),
    ('"RCM TS"', "is not one address"),
    ('"RCM\\r\\nBcc: spy@evil.example <ts@example.org>"', "line break or a control character"),
    ('"RCM TS <ts@example.org>\\nBcc: spy@evil.example"', "line break or a control character"),
])
def test_a_malformed_sender_is_a_line_of_rcmflow_toml(run, home, sender, words):
    (home / SETTINGS).write_text(textwrap.dedent(f"""\
        [smtp]
        host = "127.0.0.1"
        from = {sender}
        """), encoding="utf-8")
    result = run("workflows", "validate")
    assert result.exit_code == 1
    assert_reported(problem_lines(result.stderr, SETTINGS), SETTINGS, 3, words)


def test_a_valid_sender_with_a_quoted_name_is_accepted(run, home):
    (home / SETTINGS).write_text('[smtp]\nfrom = "\\"Secretaría, RCM\\" <ts@example.org>"\n', encoding="utf-8")
    result = run("workflows", "validate")
    assert result.exit_code == 0, result.stdout + result.stderr
