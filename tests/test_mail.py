"""The mailroom through the command line, on the default Maildir (inbox/ in the home):
the countries' replies are fetched once, matched to their own country's track, and
accepted with their files; auto-replies, bounces, strangers and broken messages are
kept, said, and never taken as input."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
from pathlib import Path

import pytest

from tests import mailcorpus as corpus
from tests.conftest import one_line


def requests(home: Path) -> dict[str, str]:
    """The Message-ID of each request rcmflow wrote to outbox/, by recipient address."""
    found = {}
    for path in sorted((home / "outbox").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found[msg["To"].addresses[0].addr_spec.lower()] = msg["Message-ID"]
    return found


def inbox(rcmflow) -> dict[int, dict]:
    result = rcmflow("mail", "inbox", "--json")
    assert result.exit_code == 0, result.stderr
    return {m["id"]: m for m in json.loads(result.stdout)["messages"]}


def tracks(rcmflow, instance: str = "theme-1") -> dict[str, str]:
    data = json.loads(rcmflow("status", instance, "--json").stdout)
    return {code: t["state"] for code, t in data["instances"][0]["tracks"].items()}


@pytest.fixture
def asked(opened, home):
    """theme-1 opened: the request of every country, by address."""
    return requests(home)


def test_replies_from_three_clients_are_matched_once_and_accepted_with_identical_files(
        engine, asked, home, rcmflow, snapshot):
    docx = corpus.docx_bytes("Aporte de México sobre el tema 1")
    corpus.drop(home / "inbox",
                corpus.outlook_reply(asked["focal@mx.example.org"], attachment=("aporte-mexico.docx", docx)),
                corpus.gmail_reply(asked["focal@gt.example.org"]),
                corpus.apple_reply(asked["focal@cr.example.org"]))
    fetched = rcmflow("mail", "fetch")
    assert fetched.exit_code == 0, fetched.stderr
    assert "3 new messages" in fetched.stdout
    messages = inbox(rcmflow)
    assert sorted((m["participant"], m["status"], m["kind"]) for m in messages.values()) == [
        ("CR", "proposed", "reply"), ("GT", "proposed", "reply"), ("MX", "proposed", "reply")]
    assert all("spf=pass" in m["authentication"] for m in messages.values())

    before = snapshot()
    again = rcmflow("mail", "fetch")
    assert "0 new messages" in again.stdout and snapshot() == before  # fetching twice stores nothing twice

    mx = next(m for m in messages.values() if m["participant"] == "MX")
    accepted = rcmflow("mail", "accept", str(mx["id"]))
    assert accepted.exit_code == 0, accepted.stderr
    states = tracks(rcmflow)
    assert states["MX"] == "submitted"
    assert {code for code, state in states.items() if state != "requested"} == {"MX"}
    files = engine.attachments("theme-1", "MX")
    assert [(f.filename, f.content) for f in files] == [("aporte-mexico.docx", docx)]
    assert files[0].sha256 == hashlib.sha256(docx).hexdigest()
    submit = [e for e in engine.history("theme-1") if e.trigger == "submit"]
    assert len(submit) == 1 and submit[0].participant == "MX" and submit[0].actor == "ts-officer"
    assert submit[0].note.startswith(f"received by e-mail from focal@mx.example.org (mail {mx['id']}, ")
    assert "Adjunto el aporte de México." in submit[0].note and "Sent: Monday" not in submit[0].note

    before = snapshot()
    twice = rcmflow("mail", "accept", str(mx["id"]))
    assert twice.exit_code != 0 and "accepted already" in one_line(twice)
    assert snapshot() == before


def test_a_sender_is_only_ever_matched_to_its_own_country(asked, home, rcmflow, snapshot):
    corpus.drop(home / "inbox",
                corpus.gmail_reply(asked["focal@mx.example.org"], sender="Someone <someone@elsewhere.example>"),
                corpus.gmail_reply(asked["focal@mx.example.org"], sender="Guatemala <focal@gt.example.org>"),
                corpus.subject_only(),
                corpus.subject_only(sender="stranger@elsewhere.example"),
                corpus.forwarded(asked["focal@pa.example.org"]))
    assert rcmflow("mail", "fetch").exit_code == 0
    by_sender = {(m["from"], m["subject"][:4]): m for m in inbox(rcmflow).values()}
    stranger = by_sender[("someone@elsewhere.example", "Re: ")]
    assert (stranger["status"], stranger["participant"]) == ("held", None)
    assert "not an address of members.yaml" in stranger["reason"]
    other = by_sender[("focal@gt.example.org", "Re: ")]
    assert (other["status"], other["participant"]) == ("held", None)
    assert "answered the message sent to MX" in other["reason"]
    assert by_sender[("focal@sv.example.org", "Apor")]["participant"] == "SV"
    assert by_sender[("stranger@elsewhere.example", "Apor")]["status"] == "held"
    assert by_sender[("focal@pa.example.org", "Fwd:")]["participant"] == "PA"

    before = snapshot()
    refused = rcmflow("mail", "accept", str(stranger["id"]))
    assert refused.exit_code != 0 and "is held" in one_line(refused) and snapshot() == before
    wrong = rcmflow("mail", "assign", str(stranger["id"]), "--instance", "theme-1", "--participant", "XX")
    assert wrong.exit_code != 0 and "no track for 'XX'" in one_line(wrong) and snapshot() == before

    for command in (["assign", str(stranger["id"]), "-i", "theme-1", "-p", "GT"],
                    ["reject", str(other["id"]), "--note", "x"]):
        foreign = rcmflow("mail", *command, actor="gt-focal")
        assert foreign.exit_code == 4 and "only the secretariat" in one_line(foreign) and snapshot() == before
    assert rcmflow("mail", "assign", str(stranger["id"]), "-i", "theme-1", "-p", "MX").exit_code == 0
    assert rcmflow("mail", "accept", str(stranger["id"])).exit_code == 0
    assert rcmflow("mail", "reject", str(other["id"]), "--note", "GT wrote on Mexico's thread").exit_code == 0
    states = tracks(rcmflow)
    assert states["MX"] == "submitted" and states["GT"] == "requested"
    assert inbox(rcmflow)[other["id"]]["status"] == "rejected"


def test_out_of_office_replies_are_recorded_on_the_track_with_their_return_date(engine, asked, home, rcmflow):
    corpus.drop(home / "inbox", corpus.out_of_office_es(asked["focal@hn.example.org"]),
                corpus.out_of_office_en(None),
                corpus.out_of_office_en(asked["focal@mx.example.org"], sender="focal+{mail.__class__}@mx.example.org"))
    assert rcmflow("mail", "fetch").exit_code == 0
    messages = sorted(inbox(rcmflow).values(), key=lambda m: m["from"])
    [braces] = [messages.pop(i) for i, m in enumerate(messages) if "{" in m["from"]]
    assert [(m["from"], m["kind"], m["status"], m["until"]) for m in messages] == [
        ("focal@bz.example.org", "auto_reply", "noted", "2026-12-09"),
        ("focal@hn.example.org", "auto_reply", "noted", "2026-12-14")]
    events = {e.participant: e for e in engine.history("theme-1") if e.trigger == "out_of_office"}
    assert set(events) == {"BZ", "HN", "MX"} and "until 2026-12-14" in events["HN"].note
    assert f"auto-reply from focal+{{mail.__class__}}@mx.example.org, mail {braces['id']}" in events["MX"].note
    assert tracks(rcmflow)["HN"] == "requested"  # an auto-reply is not input
    shown = rcmflow("status").stdout
    assert "HN on theme-1: out of office until 2026-12-14" in shown
    refused = rcmflow("mail", "accept", str(messages[1]["id"]))
    assert refused.exit_code != 0 and "an auto-reply, not input" in one_line(refused)


def test_a_bounce_marks_the_address_failing_and_reroutes_the_next_reminder(asked, home, rcmflow):
    corpus.drop(home / "inbox", corpus.dsn_bounce(asked["focal@mx.example.org"]))
    assert rcmflow("mail", "fetch").exit_code == 0
    [bounce] = inbox(rcmflow).values()
    assert (bounce["kind"], bounce["participant"], bounce["failed"]) == ("bounce", "MX", ["focal@mx.example.org"])
    assert "focal@mx.example.org (MX): failing" in rcmflow("status").stdout

    written = set((home / "outbox").glob("*.eml"))
    assert rcmflow("tick", "--now", "2030-04-15T09:00").exit_code == 0  # 5 days before the deadline (a Monday)
    reminders = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                 for p in set((home / "outbox").glob("*.eml")) - written]
    to = {msg["To"].addresses[0].addr_spec for msg in reminders}
    assert "focal@mx.example.org" not in to
    assert {"officer@ts.example.org", "coordinator@ts.example.org", "focal@gt.example.org"} <= to


def test_nothing_from_a_message_reaches_a_template_or_markup(asked, home, rcmflow):
    sneaky = "{{ 7 * 7 }} {% for x in range(3) %}boom{% endfor %} [link=https://evil.example]x[/link]"
    corpus.drop(home / "inbox",
                corpus.apple_reply(asked["focal@cr.example.org"], text=sneaky),
                corpus.html_only(asked["focal@ni.example.org"], "focal@ni.example.org",
                                 "<p>Nuestro <b>aporte</b></p><script>alert('x')</script>"),
                corpus.apple_reply(asked["focal@pa.example.org"], sender="focal@pa.example.org",
                                   text="\x1b]0;pwned\x07\x1b[2J our input"))
    assert rcmflow("mail", "fetch").exit_code == 0
    messages = {m["participant"]: m for m in inbox(rcmflow).values()}
    shown = rcmflow("mail", "show", str(messages["CR"]["id"])).stdout
    assert sneaky in shown and "boomboom" not in shown
    html = rcmflow("mail", "show", str(messages["NI"]["id"])).stdout
    assert "Nuestro aporte" in html and "<b>" not in html and "alert" not in html
    terminal = rcmflow("mail", "show", str(messages["PA"]["id"])).stdout
    assert "\x1b" not in terminal and "␛]0;pwned␇" in terminal  # shown, not obeyed by the terminal
    written = set((home / "outbox").glob("*.eml"))
    assert rcmflow("mail", "accept", str(messages["CR"]["id"])).exit_code == 0
    [receipt] = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default).get_body().get_content()
                 for p in set((home / "outbox").glob("*.eml")) - written]
    assert sneaky in receipt and "boomboom" not in receipt  # the note quoted as it came, never evaluated


def test_malformed_and_oversized_messages_are_held_never_lost(asked, home, rcmflow):
    (home / "rcmflow.toml").write_text("[mail]\nmax_message_bytes = 200000\nmax_attachment_bytes = 100\n")
    corpus.drop(home / "inbox", corpus.malformed(), corpus.oversized(asked["focal@do.example.org"], 300_000),
                corpus.gmail_reply(asked["focal@gt.example.org"]))
    assert rcmflow("mail", "fetch").exit_code == 0
    messages = {m["from"]: m for m in inbox(rcmflow).values()}
    broken = messages["focal@ni.example.org"]
    assert (broken["kind"], broken["status"]) == ("malformed", "held")
    big = messages["focal@do.example.org"]
    assert (big["kind"], big["status"]) == ("oversized", "held") and "bytes" in big["reason"]
    pdf = messages["focal@gt.example.org"]["attachments"][0]
    assert pdf["refused"].startswith("over the limit of 100 bytes")
    assert "NOT ACCEPTED" in rcmflow("mail", "show", str(messages["focal@gt.example.org"]["id"])).stdout
    assert rcmflow("mail", "show", str(broken["id"])).exit_code == 0
    assert rcmflow("mail", "fetch").stdout.startswith("0 new messages")


def test_auto_accept_takes_a_known_focal_points_reply_at_once(engine, asked, home, rcmflow):
    (home / "rcmflow.toml").write_text("[mail]\nauto_accept = true\n")
    corpus.drop(home / "inbox", corpus.gmail_reply(asked["focal@gt.example.org"]),
                corpus.gmail_reply(asked["focal@mx.example.org"], sender="someone@elsewhere.example"))
    assert rcmflow("mail", "fetch").exit_code == 0
    assert tracks(rcmflow)["GT"] == "submitted" and tracks(rcmflow)["MX"] == "requested"
    [submit] = [e for e in engine.history("theme-1") if e.trigger == "submit"]
    assert submit.actor == "gt-focal" and "received by e-mail from focal@gt.example.org" in submit.note


def test_tick_reads_the_inbox_when_there_is_one(asked, home, rcmflow):
    corpus.drop(home / "inbox", corpus.gmail_reply(asked["focal@gt.example.org"]))
    assert rcmflow("tick", actor=None).exit_code == 0
    assert [m["participant"] for m in inbox(rcmflow).values()] == ["GT"]


def test_mailbox_mistakes_are_one_line_and_change_nothing(opened, home, rcmflow, snapshot):
    before = snapshot()
    missing = rcmflow("mail", "fetch")
    assert missing.exit_code != 0 and "no Maildir at" in one_line(missing)
    unknown = rcmflow("mail", "show", "99")
    assert unknown.exit_code != 0 and "no mail 99" in one_line(unknown)
    (home / "rcmflow.toml").write_text('[mail.inbound]\nhost = "127.0.0.1"\nport = 1\nsecurity = "none"\n'
                                       'username = "rcm"\n')
    no_password = rcmflow("mail", "fetch")
    assert no_password.exit_code != 0 and "RCMFLOW_IMAP_PASSWORD" in one_line(no_password)
    (home / "rcmflow.toml").write_text('[mail.inbound]\nhost = "127.0.0.1"\nusername = "rcm"\npassword = "x"\n')
    in_file = rcmflow("mail", "fetch")
    assert in_file.exit_code != 0 and "set the environment variable RCMFLOW_IMAP_PASSWORD" in one_line(in_file)
    (home / "rcmflow.toml").write_text('[mail.inbound]\nhost = "127.0.0.1"\nsecurity = "ssl"\n')
    bad = rcmflow("mail", "fetch")
    assert bad.exit_code != 0 and "rcmflow.toml:3: [mail.inbound] security must be one of" in one_line(bad)
    assert snapshot() == before


def test_an_unreachable_imap_server_is_one_line(opened, home, rcmflow, snapshot, monkeypatch):
    monkeypatch.setenv("RCMFLOW_IMAP_PASSWORD", "secret")
    (home / "rcmflow.toml").write_text('[mail.inbound]\nhost = "127.0.0.1"\nport = 1\nsecurity = "none"\n'
                                       'username = "rcm"\n')
    before = snapshot()
    result = rcmflow("mail", "fetch")
    assert result.exit_code != 0 and "cannot reach the IMAP server 127.0.0.1:1" in one_line(result)
    tick = rcmflow("tick", actor=None)
    assert tick.exit_code == 0 and "the mailbox was not read" in tick.stderr
    assert snapshot() == before


def test_status_and_the_page_show_a_reply_awaiting_confirmation(asked, home, rcmflow, tmp_path):
    corpus.drop(home / "inbox", corpus.outlook_reply(asked["focal@mx.example.org"]),
                corpus.subject_only(sender="<b>stranger</b>@elsewhere.example"))
    assert rcmflow("mail", "fetch").exit_code == 0
    line = "MX on theme-1: reply received, awaiting confirmation (rcmflow mail show 1)"
    assert line in rcmflow("status").stdout
    assert "1 message held for the secretariat" in rcmflow("status").stdout
    assert rcmflow("report", "--html", str(tmp_path / "status.html")).exit_code == 0
    assert line in (tmp_path / "status.html").read_text()
    assert rcmflow("mail", "accept", "1").exit_code == 0
    assert "awaiting confirmation" not in rcmflow("status").stdout
