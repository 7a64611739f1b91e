"""Exactly once, as far as SMTP allows (issue 14, item 7).

`rcmflow fire` runs in a process of its own and sends one message to each of the
members' focal points through a real SMTP server (aiosmtpd) on loopback. The server
SIGKILLs the sender at a point it picks at random: while it names a recipient, while
it sends the message, after it has kept a message and before it answers 250, or just
after its answer; other trials kill it after a random delay from its start, anywhere
from loading the definitions to the ledger's commit. Then `tick`, once the dead
process's claim has expired, finishes the work.

What may never happen: a message lost, or one sent twice outside the window SMTP
leaves open, between the server keeping a message and the ledger row that says so.
A message sent twice must carry the same Message-ID both times, so that mail clients
fold the copies. The figures are printed (run with -s) and set `RCMFLOW_KILL_TRIALS`
for more trials than the default.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.test_notify import SENDER, _no_smtp_environment, focal_addresses, free_port, sent_rows  # noqa: F401

BROADCAST = """\
workflow: broadcast
version: 1
title: Broadcast
initial: planned
states:
  - planned
  - {name: informed, final: true}
transitions:
  - trigger: inform
    source: planned
    dest: informed
    roles: [secretariat]
    actions: [{notify: {to: members, template: broadcast}}]
"""
TEMPLATE = "Subject: Broadcast {{ instance.id }}\n\nDear {{ recipient.name }}, this is {{ instance.id }}.\n"
MEMBERS = ["BZ", "CA", "CR", "DO", "SV", "GT", "HN", "MX", "NI", "PA", "US"]
TRIALS = int(os.environ.get("RCMFLOW_KILL_TRIALS", "24"))
RCMFLOW = str(Path(sys.executable).with_name("rcmflow"))
#: where the server kills the sender, and the delay after its start for "anywhere"
PHASES = ("rcpt", "data", "kept", "answered", "anywhere")


class Server:
    """Keeps every message, and kills the sender where the trial says."""

    def __init__(self):
        self.kept: list[tuple[str, str, str]] = []  # (instance, recipient, Message-ID)
        self.victim: int | None = None
        self.phase: str | None = None
        self.at_message = 0  # the message of the trial at which to kill (1-based)
        self.after = 0.0  # seconds, for "answered"
        self.seen = 0
        #: "drop": keep the message and close the connection instead of answering
        self.drop_on_data: str | None = None

    def arm(self, pid: int | None, phase: str | None, at_message: int = 0, after: float = 0.0) -> None:
        self.victim, self.phase, self.at_message, self.after, self.seen = pid, phase, at_message, after, 0

    def kill(self) -> None:
        if self.victim is not None:
            try:
                os.kill(self.victim, signal.SIGKILL)
            except ProcessLookupError:  # it had finished
                pass
            self.victim = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.seen += 1
        if self.phase == "rcpt" and self.seen == self.at_message:
            self.kill()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(random.uniform(0, 0.004))  # a server that takes its time
        if self.phase == "data" and self.seen == self.at_message:
            self.kill()  # before the server has kept it: as a transfer cut short
            return "451 4.3.0 transfer aborted"
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        instance = str(message["Subject"]).removeprefix("Broadcast ")
        for rcpt in envelope.rcpt_tos:
            self.kept.append((instance, rcpt, str(message["Message-ID"])))
        if self.drop_on_data == "drop":  # kept, but the sender never hears so
            self.drop_on_data = None
            server.transport.abort()
            return "250 OK"
        if self.phase == "kept" and self.seen == self.at_message:
            self.kill()  # kept, the answer not given
        if self.phase == "answered" and self.seen == self.at_message:
            asyncio.get_running_loop().call_later(self.after, self.kill)
        return "250 OK"

    def copies(self, instance: str) -> dict[str, list[str]]:
        """Recipient -> the Message-IDs of every copy the server kept for `instance`."""
        found: dict[str, list[str]] = defaultdict(list)
        for kept_for, rcpt, msgid in self.kept:
            if kept_for == instance:
                found[rcpt].append(msgid)
        return found


@pytest.fixture
def server():
    handler = Server()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def broadcaster(home: Path, initialised, make_engine, server):
    handler, port = server
    (home / "workflows" / "broadcast.yaml").write_text(BROADCAST)
    (home / "workflows" / "templates" / "broadcast.en.txt.j2").write_text(TEMPLATE)
    (home / "rcmflow.toml").write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {port}\n{SENDER}')
    return make_engine()


def recover(engine) -> None:
    """What cron's `tick` does once the dead sender's claim (10 minutes) has expired."""
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=11)
    engine.tick(later)
    assert engine.tick(later + dt.timedelta(hours=1)).actions_failed == 0


def ledger_of(db_url: str, instance: str) -> dict[str, str]:
    return {row.recipient: row.message_id for row in sent_rows(db_url) if row.instance_id == instance}


def fire_in_a_process(home: Path, db_url: str, instance: str) -> subprocess.Popen:
    env = {**os.environ, "RCMFLOW_ENTRY_POINTS": "0"}
    return subprocess.Popen([RCMFLOW, "--home", str(home), "--db", db_url, "--actor", "ts-officer",
                             "fire", instance, "inform"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def test_a_killed_sender_loses_nothing_and_repeats_only_in_the_window(broadcaster, server, home, db_url):
    handler, _ = server
    engine = broadcaster
    everyone = focal_addresses(engine, MEMBERS)
    rng = random.Random(int(os.environ.get("RCMFLOW_KILL_SEED", "14")))
    figures: Counter = Counter()
    by_phase: dict[str, Counter] = defaultdict(Counter)

    # A first send that nobody kills: exactly once, and how long a send takes.
    calm = engine.start("broadcast").id
    began = time.monotonic()
    assert fire_in_a_process(home, db_url, calm).wait(120) == 0
    span = time.monotonic() - began
    assert Counter({r: len(ids) for r, ids in handler.copies(calm).items()}) == Counter(dict.fromkeys(everyone, 1))

    for trial in range(TRIALS):
        instance = engine.start("broadcast").id
        phase = PHASES[trial % len(PHASES)]
        sender = fire_in_a_process(home, db_url, instance)
        handler.arm(sender.pid, phase, at_message=rng.randint(1, len(everyone)), after=rng.uniform(0, 0.02))
        if phase == "anywhere":
            time.sleep(rng.uniform(0, span * 1.2))
            handler.kill()
        killed = sender.wait(120) == -signal.SIGKILL
        handler.arm(None, None)

        # The window as the kill left it: kept by the server, not marked in the ledger.
        window = set(handler.copies(instance)) - set(ledger_of(db_url, instance))
        committed = engine.get(instance).state == "informed"
        if not committed:  # killed before the transition's commit: nothing was due yet
            assert not handler.copies(instance)
            engine.fire(instance, "inform")
        recover(engine)

        copies = handler.copies(instance)
        twice = {r for r, ids in copies.items() if len(ids) > 1}
        lost = everyone - set(copies)
        assert not lost, (trial, phase, lost)
        assert len(window) <= 1 and twice <= window, (trial, phase, window, twice)
        if db_url.startswith("sqlite"):  # a killed SQLite writer commits nothing more
            assert twice == window
        for recipient, ids in copies.items():
            assert set(ids) == {ledger_of(db_url, instance)[recipient]}, (trial, recipient, ids)
            assert len(ids) <= 2
        figures.update(trials=1, killed=killed, before_commit=not committed,
                       duplicates=len(twice), lost=len(lost), messages=sum(map(len, copies.values())))
        by_phase[phase].update(trials=1, killed=killed, duplicates=len(twice))

    print(f"\nexactly-once kill run on {db_url.split(':')[0]}: {dict(figures)}; "
          f"by phase: { {p: dict(c) for p, c in by_phase.items()} }")
    assert figures["killed"] >= TRIALS // 2  # the kills did land
    assert figures["lost"] == 0


def test_a_connection_dropped_before_the_answer_is_resent_with_the_same_message_id(broadcaster, server, db_url):
    handler, _ = server
    engine = broadcaster
    everyone = focal_addresses(engine, MEMBERS)
    instance = engine.start("broadcast").id
    handler.drop_on_data = "drop"  # the first message is kept, then the line goes dead
    engine.fire(instance, "inform")
    [item] = engine.dispatcher.items()
    assert item["status"] == "pending" and "SMTPServerDisconnected" in item["last_error"]
    [(_, first, msgid)] = handler.kept
    assert ledger_of(db_url, instance) == {}  # the sender never heard the 250

    recover(engine)
    copies = handler.copies(instance)
    assert set(copies) == everyone
    assert copies[first] == [msgid, msgid]  # sent again, and foldable: the same Message-ID
    assert all(len(ids) == 1 for r, ids in copies.items() if r != first)
    assert ledger_of(db_url, instance)[first] == msgid
