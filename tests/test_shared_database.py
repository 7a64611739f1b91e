"""Several machines, one database: two `tick` loops (cron on two machines) and two
`serve` processes run against one database at once, and every timeout, reminder and
e-mail happens exactly once: what one serial tick does, no more, no less."""

from __future__ import annotations

import collections
import email
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

from rcmflow.core.engine import Engine
from rcmflow.store.models import EVENTS, OUTBOX

NOW = "2030-04-24T09:00"  # theme-1..3 had until 2030-04-20: timeouts and overdue reminders are due
TICKS_PER_LOOP = 3


def setup(make_engine) -> None:
    """theme-1 complete (its timeout fires), theme-2 half submitted, theme-3 silent."""
    engine = make_engine()
    engine.init()
    for theme in (1, 2, 3):
        view = engine.start("thematic-consultation", params={"theme": str(theme), "deadline": "2030-04-20"})
        engine.fire(view.id, "open")
    for n, country in enumerate(engine.get("theme-1").tracks):
        engine.fire("theme-1", "submit", country)
        if n % 2:
            engine.fire("theme-2", "submit", country)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(home: Path, db_url: str) -> dict[str, str]:
    return {**os.environ, "RCMFLOW_HOME": str(home), "RCMFLOW_DB": db_url, "RCMFLOW_ACTOR": "ts-officer",
            "RCMFLOW_ENTRY_POINTS": "0"}


RCMFLOW = str(Path(sys.executable).parent / "rcmflow")


def rcmflow_process(env, *args: str) -> subprocess.Popen:
    return subprocess.Popen([RCMFLOW, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def page(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
        return response.status


def wait_for(port: int, server: subprocess.Popen) -> None:
    for _ in range(300):
        assert server.poll() is None, server.stderr.read()
        try:
            page(port)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the status page on port {port} never answered")


def done(db_url: str, home: Path) -> dict[str, collections.Counter]:
    """What happened: the events (instance, participant, trigger, note), the outbox
    items by state, and the e-mails written (recipient, subject)."""
    db = sa.create_engine(db_url)
    with db.connect() as conn:
        events = collections.Counter(tuple(r) for r in conn.execute(
            sa.select(EVENTS.c.instance_id, EVENTS.c.participant, EVENTS.c.trigger, EVENTS.c.dest)))
        outbox = collections.Counter(r.status for r in conn.execute(sa.select(OUTBOX.c.status)))
    db.dispose()
    mails = collections.Counter()
    for path in (home / "outbox").glob("**/*.eml"):
        message = email.message_from_bytes(path.read_bytes())
        mails[(message["To"], message["Subject"], message["Message-ID"])] += 1
    return {"events": events, "outbox": outbox, "mails": mails}


def test_two_tick_loops_and_two_servers_on_one_database_do_nothing_twice(home, db_url, make_engine, tmp_path):
    setup(make_engine)
    # what one machine alone does: the same story in a home and a database of its own
    alone = tmp_path / "alone"
    shutil.copytree(home, alone, ignore=shutil.ignore_patterns("outbox", "rcmflow.db*"))
    alone_url = f"sqlite:///{tmp_path / 'alone.db'}"
    reference = Engine(alone, alone_url, "ts-officer", entry_points=False)
    setup(lambda: reference)
    reference.close()
    subprocess.run([RCMFLOW, "tick", "--now", NOW], env=env_for(alone, alone_url), check=True, capture_output=True)
    expected = done(alone_url, alone)
    assert expected["mails"] and expected["events"]

    env = env_for(home, db_url)
    ports = [free_port(), free_port()]
    servers = [rcmflow_process(env, "serve", "--port", str(port)) for port in ports]
    try:
        for port, server in zip(ports, servers):
            wait_for(port, server)
        loop = f"for i in $(seq {TICKS_PER_LOOP}); do {RCMFLOW} tick --now {NOW} || exit 1; done"
        ticks = [subprocess.Popen(["sh", "-c", loop], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
        answered = 0
        while any(t.poll() is None for t in ticks):
            answered += sum(page(port) == 200 for port in ports)
        for t in ticks:
            out, err = t.communicate()
            assert t.returncode == 0, err
            assert "Traceback" not in err, err
        assert answered >= 2  # the pages answered while the ticks ran
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)

    happened = done(db_url, home)
    assert happened["outbox"] == expected["outbox"]
    assert happened["events"] == expected["events"]  # each timeout and reminder once
    assert sorted(m[:2] for m in happened["mails"]) == sorted(m[:2] for m in expected["mails"])
    assert set(happened["mails"].values()) == {1}  # no message written twice
