"""Reliable dispatch: the outbox is the only source of work, and nothing is lost or
doubled when rcmflow is killed between the commit and the action, or inside it."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.fixture_workflows  # tests/workflows/, not the roadmap

START = dt.datetime(2030, 4, 1, 9, 0, tzinfo=dt.timezone.utc)

PING = """\
workflow: ping
title: Ping
initial: waiting
states:
  - waiting
  - {name: pinged, final: true}
transitions:
  - {trigger: ping, source: waiting, dest: pinged, actions: [{record: "pinged {{ instance.id }}"}]}
"""



@pytest.fixture
def pinger(home: Path, initialised, make_engine, recorder):
    (home / "workflows" / "ping.yaml").write_text(PING)
    engine = make_engine()
    for n in (1, 2):
        engine.start("ping", f"ping-{n}")
    return engine


def fire_in_a_process_that_dies(home: Path, db_url: str, instance: str, before_dispatch: bool) -> int:
    """Fire in a child process that is SIGKILLed after the commit: before the dispatcher
    starts, or (with plugins/die.txt) inside the action."""
    code = textwrap.dedent(f"""
        import os, signal
        from rcmflow.core.engine import Engine
        engine = Engine({str(home)!r}, {db_url!r}, "ts-officer", entry_points=False)
        if {before_dispatch!r}:
            engine.dispatcher.run = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
        engine.fire({instance!r}, "ping")
    """)
    env = {**os.environ, "RCMFLOW_ENTRY_POINTS": "0"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True).returncode


def test_a_kill_between_commit_and_dispatch_loses_nothing(pinger, home, db_url, recorder):
    assert fire_in_a_process_that_dies(home, db_url, "ping-1", before_dispatch=True) == -signal.SIGKILL
    assert pinger.get("ping-1").state == "pinged"  # the transition was committed
    assert recorder.runs() == []
    [item] = pinger.dispatcher.items()
    assert (item["status"], item["attempts"]) == ("pending", 0)
    assert pinger.tick().actions_done == 1
    assert pinger.tick().actions_done == 0
    assert recorder.runs() == ["outbox-1 pinged ping-1"]


def test_a_kill_inside_the_action_is_retried_once_its_claim_expires(pinger, home, db_url, recorder):
    recorder.die()
    assert fire_in_a_process_that_dies(home, db_url, "ping-2", before_dispatch=False) == -signal.SIGKILL
    recorder.die(False)
    [item] = pinger.dispatcher.items()
    assert (item["status"], item["attempts"]) == ("running", 1)
    # Another dispatcher leaves a claimed action alone while its claim lasts...
    assert pinger.tick().actions_done == 0
    # ...and takes it over once the claim (10 minutes) has expired; once.
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=11)
    assert pinger.tick(later).actions_done == 1
    assert pinger.tick(later + dt.timedelta(hours=1)).actions_done == 0
    assert recorder.runs() == ["outbox-1 pinged ping-2"]


def test_the_outbox_lists_and_retries(pinger, home, rcmflow, recorder):
    recorder.fail()
    pinger.fire("ping-1", "ping")
    failed = json.loads(rcmflow("outbox", "--json").stdout)
    assert [(i["id"], i["action"], i["status"], i["last_error"]) for i in failed] == [
        (1, "record", "pending", "ConnectionError: mail server down")]
    table = rcmflow("outbox").stdout
    assert "mail server down" in table and "pending" in table
    again = rcmflow("outbox", "retry", "1")
    assert again.exit_code == 1 and "action 1 failed again: ConnectionError: mail server down" in again.stderr
    recorder.fail(False)
    assert rcmflow("outbox", "retry", "1").stdout == "action 1 (record for ping-1) done\n"
    assert recorder.runs() == ["outbox-1 pinged ping-1"]
    done = rcmflow("outbox", "retry", "1")
    assert done.exit_code == 1 and done.stderr == "Error: action 1 has already succeeded; nothing to retry\n"
    missing = rcmflow("outbox", "retry", "99")
    assert missing.exit_code == 1 and "no action 99 in the outbox" in missing.stderr
    assert json.loads(rcmflow("outbox", "--failed", "--json").stdout) == []


def test_an_action_that_keeps_failing_is_marked_failed(pinger, home, recorder):
    from rcmflow.core.outbox import MAX_ATTEMPTS

    recorder.fail()
    pinger.fire("ping-1", "ping")
    now = dt.datetime.now(dt.timezone.utc)
    for _ in range(MAX_ATTEMPTS):
        now += dt.timedelta(hours=7)  # past the longest pause between attempts
        pinger.tick(now)
    [item] = pinger.dispatcher.items(failed_only=True)
    assert (item["status"], item["attempts"]) == ("failed", MAX_ATTEMPTS)
    assert pinger.tick(now + dt.timedelta(days=1)).actions_failed == 0  # given up: no more attempts
    assert recorder.runs() == []


def test_a_build_whose_process_died_before_the_outbox_heard_is_not_built_again(home, initialised, make_engine):
    # The process dies after the action recorded its build, before the row is marked
    # done (as SIGKILL leaves it); once the claim expires, the next tick runs it again.
    engine = make_engine()
    engine.start("thematic-consultation", params={"theme": "1", "deadline": "2030-04-20"})
    engine.fire("theme-1", "open")
    for country in engine.members.groups["members"]:
        engine.fire("theme-1", "submit", participant=country)

    class Killed(BaseException):
        pass

    doomed = engine.acting_as("ts-officer")
    perform = doomed.dispatcher.perform

    def build_then_die(item):
        perform(item)
        raise Killed

    doomed.dispatcher.perform = build_then_die
    with pytest.raises(Killed):
        doomed.fire("theme-1", "close_collection")
    [item] = engine.dispatcher.items()
    assert (item["status"], item["attempts"]) == ("running", 1)

    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=11)
    assert engine.tick(later).actions_done == 1
    builds = [e for e in engine.history("theme-1") if e.trigger == "build"]
    assert [e.data["action"] for e in builds] == ["outbox-1"]
    assert engine.dispatcher.items()[0]["status"] == "done"
