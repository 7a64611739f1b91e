"""A failed e-mail is seen (issue 10, item 9): a permanent refusal (5xx) gives the action
up at once with the server's reason, a temporary one is retried, and `fire`, `rcmflow
outbox`, `status INSTANCE` and the status page say which country was not reached and why.
Through the command line, with a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import json
import re

import pytest

from rcmflow.default_plugins.web.app import StatusApp
from tests.conftest import one_line
from tests.test_notify import (  # noqa: F401 - fixtures
    MEMBERS, SENDER, _no_smtp_environment, focal_addresses, mailer, make_home, outbox, sent_rows, smtp, start)
from tests.test_web import wsgi

GT = "focal@gt.example.org"
#: past every backoff and claim, before any reminder of the consultation (due 2030-04-20)
FAR = "2030-04-02T10:00"


@pytest.fixture(autouse=True)
def _commands_after_the_engines_start(monkeypatch):
    """The engines here start instances on their own clock (1 April 2030); the commands
    run an hour later, as the history's time order asks."""
    monkeypatch.setenv("RCMFLOW_NOW", "2030-04-01T10:00")


def test_a_permanent_refusal_fails_at_once_and_shows_everywhere(mailer, smtp, rcmflow, db_url):
    engine = mailer()
    smtp.mailbox.refuse = {GT: "550 5.1.1 <focal@gt.example.org>: mailbox unavailable"}
    instance = start(engine)
    fired = rcmflow("fire", instance, "open")
    assert fired.exit_code == 0  # the step was taken; the e-mail failed after it
    assert "collecting_input" in fired.stdout
    [warning] = [line for line in fired.stderr.splitlines() if line.startswith("Warning:")]
    assert "the step was taken" in warning and "could not go out" in warning
    assert f"{GT} (550 5.1.1 <{GT}>: mailbox unavailable)" in warning
    assert "given up; 'rcmflow outbox retry 1' runs it again once that is fixed" in warning
    everyone = focal_addresses(engine, MEMBERS)
    assert set(smtp.mailbox.per_recipient()) == everyone - {GT}

    [item] = outbox(db_url)
    assert (item.status, item.attempts) == ("failed", 1)  # at once: no 8 attempts
    assert rcmflow("tick", "--now", FAR).exit_code == 0
    assert outbox(db_url)[0].attempts == 1 and len(smtp.mailbox.received) == len(everyone) - 1

    [listed] = json.loads(rcmflow("outbox", "--json").stdout)
    assert (listed["template"], listed["to"], listed["status"]) == ("input-request", "participants", "failed")
    people = {p["address"]: p for p in listed["recipients"]}
    assert set(people) == everyone
    assert people[GT] == {"address": GT, "participant": "GT", "reached": False, "permanent": True,
                          "reason": f"550 5.1.1 <{GT}>: mailbox unavailable"}
    assert all(p["reached"] for a, p in people.items() if a != GT)
    table = rcmflow("outbox").stdout
    assert "notify input-request" in table and "GT focal@gt.example.org: not reached" in table

    shown = rcmflow("status", instance).stdout
    assert "Not reached by e-mail" in shown and "mailbox unavailable" in shown
    assert re.search(r"GT\s.*Guatemala.*NOT REACHED", shown)
    assert [line for line in shown.splitlines() if "NOT REACHED" in line] == [
        line for line in shown.splitlines() if line.strip().startswith("GT ")][:1]
    assert "rcmflow outbox retry 1" in shown

    # Fixed at the server: the retry sends to Guatemala alone, and the marks go.
    smtp.mailbox.refuse = {}
    assert rcmflow("outbox", "retry", "1").stdout == f"action 1 (notify for {instance}) done\n"
    assert smtp.mailbox.received[-1][1] == [GT] and smtp.mailbox.per_recipient()[GT] == 1
    assert "NOT REACHED" not in rcmflow("status", instance).stdout
    assert engine.undelivered(instance) == []


def test_the_status_page_marks_the_country_not_reached(mailer, smtp, home):
    engine = mailer()
    smtp.mailbox.refuse = {GT: "550 5.7.1 rejected by policy"}
    instance = start(engine)
    engine.fire(instance, "open")
    status, _, page = wsgi(StatusApp(engine, token="t0ken"), f"/instances/{instance}", "127.0.0.1",
                           query="token=t0ken")
    assert status == 200
    assert "Not reached by e-mail" in page and "550 5.7.1 rejected by policy" in page
    assert re.search(r'<tr data-participant="GT" data-address="focal@gt.example.org">', page)
    row = re.search(r'<tr data-participant="GT">.*?</tr>', page, re.S).group(0)
    assert "NOT REACHED" in row
    assert page.count("NOT REACHED") == 1


class StrictMailbox:
    """A server that refuses the sender for good, as a strict one does `@localhost`."""

    def __init__(self, mailbox):
        self.mailbox = mailbox

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        return "504 5.5.2 <%s>: Sender address rejected: need fully-qualified address" % address

    def __getattr__(self, name):
        return getattr(self.mailbox, name)


def test_a_refused_sender_reaches_nobody_and_says_why_at_once(mailer, smtp, rcmflow, db_url):
    engine = mailer()
    smtp.stop()
    smtp.mailbox = StrictMailbox(smtp.mailbox)
    smtp.start()
    instance = start(engine)
    fired = rcmflow("fire", instance, "open")
    assert fired.exit_code == 0 and "need fully-qualified address" in fired.stderr
    [item] = outbox(db_url)
    assert (item.status, item.attempts) == ("failed", 1)
    assert "SMTPSenderRefused: 504 5.5.2" in item.last_error
    missed = engine.undelivered(instance)
    assert {m["participant"] for m in missed} == set(MEMBERS)
    assert {m["status"] for m in missed} == {"failed"} and sent_rows(db_url) == []


def test_a_server_that_is_down_is_shown_and_retried(mailer, smtp, rcmflow, db_url):
    engine = mailer()
    smtp.stop()
    instance = start(engine)
    fired = rcmflow("fire", instance, "open")
    assert fired.exit_code == 0
    assert "could not go out" in fired.stderr and "cannot reach the SMTP server" in fired.stderr
    assert "'rcmflow tick' retries it" in fired.stderr
    assert outbox(db_url)[0].status == "pending"
    shown = rcmflow("status", instance).stdout
    assert shown.count("NOT REACHED") == len(MEMBERS)
    assert "'rcmflow tick' retries it" in shown and "Connection refused" in shown

    smtp.start()
    assert "1 actions done, 0 failed" in rcmflow("tick", "--now", FAR).stdout
    assert set(smtp.mailbox.per_recipient().values()) == {1}
    assert "NOT REACHED" not in rcmflow("status", instance).stdout


@pytest.mark.parametrize("sender, line", [
    (None, "rcmflow.toml:1: [smtp] from must be the secretariat's real address to send through an SMTP server "
           "(it is not set), e.g. from = \"RCM Technical Secretariat <secretariat@example.org>\""),
    ('"RCM Technical Secretariat <secretariat@localhost>"',
     "rcmflow.toml:3: 'secretariat@localhost' is not an e-mail address: The part after the @-sign is not valid. "
     "It should have a period."),
])
def test_smtp_without_a_real_sender_is_refused_at_start_up(home, initialised, rcmflow, snapshot, sender, line):
    before = snapshot()
    make_home(home, '[smtp]\nhost = "smtp.example.org"\n' + (f"from = {sender}\n" if sender else ""))
    for command in (("status",), ("start", "mail-test", "--set", "theme=1", "--set", "deadline=2030-04-20")):
        result = rcmflow(*command)
        assert (result.exit_code, result.stdout) == (1, "")
        assert one_line(result) == f"Error: {line}"
    assert snapshot() == before


def test_an_smtp_host_from_the_environment_needs_a_real_sender_too(home, initialised, rcmflow, smtp, db_url,
                                                                 monkeypatch):
    make_home(home, "")
    monkeypatch.setenv("RCMFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RCMFLOW_SMTP_PORT", str(smtp.port))
    rcmflow("start", "mail-test", "--set", "theme=1", "--set", "deadline=2030-04-20")
    fired = rcmflow("fire", "mail-1", "open")
    assert fired.exit_code == 0 and "[smtp] from must be the secretariat's real address" in fired.stderr
    [item] = outbox(db_url)
    assert item.status == "failed" and smtp.mailbox.received == []

    (home / "rcmflow.toml").write_text(SENDER.join(["[smtp]\n", ""]))
    assert rcmflow("outbox", "retry", "1").exit_code == 0
    assert len(smtp.mailbox.received) == len(sent_rows(db_url)) > 0
