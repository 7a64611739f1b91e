"""Every bad input is one line, and a failure changes nothing; a step that committed and
then saw something fail after it says so, and exits 0."""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from rcmflow.store.database import SCHEMA_REVISION

from .conftest import one_line

MIB = 1024 * 1024


@contextmanager
def at_most(seconds: int):
    """Fail instead of hanging (a FIFO that nobody writes to)."""
    def hung(*_):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--attach", "--set-file"])
@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_only_regular_files_are_read(rcmflow, opened, snapshot, tmp_path, option, kind):
    path = "/dev/zero" if kind == "device" else str(tmp_path / "pipe")
    if kind == "fifo":
        os.mkfifo(path)
    value = path if option == "--attach" else f"input={path}"
    before = snapshot()
    with at_most(20):
        result = rcmflow("fire", opened, "submit", "-p", "MX", option, value, actor="mx-focal")
    assert result.exit_code == 1
    assert one_line(result).endswith(f"{path!r}: not a regular file (a device, a pipe or a folder); "
                                     f"give a file of up to 20 MiB")
    assert snapshot() == before


def test_a_file_over_the_limit_is_refused_by_its_size(rcmflow, opened, snapshot, tmp_path, monkeypatch):
    monkeypatch.setattr("rcmflow.core.files.MAX_ATTACHMENT_BYTES", MIB)
    big = tmp_path / "input.docx"
    big.write_bytes(b"x" * (MIB + 1))
    before = snapshot()
    result = rcmflow("fire", opened, "submit", "-p", "MX", "--attach", str(big), actor="mx-focal")
    assert (result.exit_code, one_line(result)) == (1, "Error: attachment input.docx is 1,048,577 bytes; the limit is 1 MiB")
    assert snapshot() == before


def test_a_file_that_grows_while_read_stops_at_the_limit(tmp_path, monkeypatch):
    from rcmflow.core import files
    from rcmflow.errors import BadInput

    path = tmp_path / "growing.bin"
    path.write_bytes(b"x" * 10)
    real_fstat = os.fstat

    def small_fstat(fd):  # it says 10 bytes; it has grown to 3 chunks by the time it is read
        result = real_fstat(fd)
        path.write_bytes(b"x" * (3 * files.CHUNK))
        return result

    monkeypatch.setattr(files.os, "fstat", small_fstat)
    reads = []
    real_fdopen = os.fdopen

    def counting_fdopen(*args, **kwargs):
        handle = real_fdopen(*args, **kwargs)
        original = handle.read
        handle.read = lambda n: reads.append(n) or original(n)  # type: ignore[method-assign]
        return handle

    monkeypatch.setattr(files.os, "fdopen", counting_fdopen)
    with pytest.raises(BadInput, match="growing.bin is over the limit of 1,000 bytes"):
        files.read_limited(path, 1000)
    assert sum(reads) <= 1001


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("tick", "--now", "9999-12-31T23:59:59"),
    ("tick", "--now", "1899-12-31T23:59:59"),
    ("start", "thematic-consultation", "--set", "theme=2", "--set", "deadline=9999-12-31"),
    ("start", "thematic-consultation", "--set", "theme=2", "--set", "deadline=0001-01-01"),
])
def test_dates_outside_the_supported_years_are_refused_before_any_write(rcmflow, opened, snapshot, args):
    before = snapshot()
    result = rcmflow(*args)
    assert result.exit_code == 1
    assert "is outside the years rcmflow supports (1900 to 9000)" in one_line(result)
    assert snapshot() == before


def test_tick_at_the_edge_of_the_supported_years_works(rcmflow, opened):
    assert rcmflow("tick", "--now", "9000-12-30T00:00").exit_code == 0


# --- the schema ----------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("init",), ("status",), ("fire", "theme-1", "cancel"), ("tick",), ("quickstart",)])
def test_a_database_of_a_newer_schema_asks_for_a_newer_rcmflow(rcmflow, opened, db_url, snapshot, args):
    sql = sa.create_engine(db_url)
    with sql.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    before = snapshot()
    result = rcmflow(*args)
    assert result.exit_code == 1
    assert one_line(result).endswith("was written by a newer rcmflow (schema 0099); upgrade rcmflow "
                                     f"(this one knows schemas up to {SCHEMA_REVISION})")
    assert snapshot() == before
    with sql.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0099"
    sql.dispose()


# --- plugins -------------------------------------------------------------------------------


@pytest.mark.parametrize("body, words", [
    ("import sys\n\nsys.exit(0)\n", "plugins/zz_bad.py:3: cannot load plugin: it called sys.exit(0)"),
    ("import sys\nsys.exit('bye')\n", "plugins/zz_bad.py:2: cannot load plugin: it called sys.exit('bye')"),
    ("class Stop(BaseException):\n    pass\n\n\nraise Stop('no')\n", "plugins/zz_bad.py:5: cannot load plugin: Stop: no"),
    ("raise GeneratorExit()\n", "plugins/zz_bad.py:1: cannot load plugin: GeneratorExit"),
])
@pytest.mark.parametrize("args", [("status",), ("fire", "theme-1", "cancel")])
def test_a_plugin_that_exits_on_import_is_named(rcmflow, opened, home, snapshot, body, words, args):
    (home / "plugins" / "zz_bad.py").write_text(body)
    before = snapshot()
    result = rcmflow(*args)
    assert result.exit_code == 1
    assert words in one_line(result)
    assert snapshot() == before


# --- values that plugins read back ---------------------------------------------------------


@pytest.fixture
def amending(rcmflow, opened):
    assert rcmflow("start", "declaration-adoption", "--set", "year=2017", "--set", "meeting=2017-04-24",
                   "--set", "amendments_due=2017-04-14").exit_code == 0
    return "declaration-2017"


def test_a_key_an_action_owns_cannot_be_given(rcmflow, amending, home, snapshot):
    (home / "base.md").write_text("1. Migrants' rights\n")
    assert rcmflow("--replay", "fire", amending, "share_base_text", "--set-file",  # a 2017 deadline
                   f"text={home / 'base.md'}").exit_code == 0
    before = snapshot()
    result = rcmflow("fire", amending, "propose_amendment", "-p", "GT", "--set", "change=x",
                     "--set", "amendments=oops", actor="gt-focal")
    assert result.exit_code == 1
    assert one_line(result) == ("Error: --set amendments: declaration-adoption keeps 'amendments' itself (the "
                                "record_amendment action of plugins/amendments.py); it cannot be given with --set")
    assert snapshot() == before
    refused = rcmflow("fire", "theme-1", "cancel", "--set", "consolidated=no")  # the `set` action's key
    assert refused.exit_code == 1 and "keeps 'consolidated' itself (the set action" in one_line(refused)
    assert rcmflow("amendments", amending).exit_code == 0


def test_a_bad_value_kept_elsewhere_breaks_no_command(rcmflow, amending, db_url):
    # a workflow without record_amendment keeps what a country gave (before submit declared
    # its inputs, anything), as data; and a database of an older rcmflow may hold anything
    from rcmflow.store.models import Track

    sql = sa.create_engine(db_url)
    tracks = Track.__table__
    with sql.begin() as conn:
        for instance, country, value in (("theme-1", "MX", "oops"), (amending, "GT", "oops"),
                                         (amending, "HN", ["x", {"item": 2}])):
            conn.execute(sa.update(tracks).where(tracks.c.instance_id == instance, tracks.c.participant == country)
                         .values(data={"amendments": value}))
    sql.dispose()
    for instance in ("theme-1", amending):
        result = rcmflow("amendments", instance)
        assert result.exit_code == 0 and result.stderr == "", result.stderr
    assert "HN 1  item 2: None  -> no disposition yet" in rcmflow("amendments", amending).stdout


# --- a step that stands, and what failed after it ------------------------------------------

PING = """\
workflow: ping
title: Ping
initial: waiting
states:
  - waiting
  - {name: pinged, final: true}
transitions:
  - {trigger: ping, source: waiting, dest: pinged, actions: [{record: "pinged"}]}
"""


@pytest.fixture
def pinging(rcmflow, home, recorder):
    (home / "workflows" / "ping.yaml").write_text(PING)
    assert rcmflow("init").exit_code == 0
    assert rcmflow("start", "ping", "--id", "ping-1").exit_code == 0
    return "ping-1"


def test_an_action_that_fails_after_the_commit_is_a_warning(rcmflow, pinging, recorder):
    recorder.fail()
    result = rcmflow("fire", pinging, "ping")
    assert result.exit_code == 0
    assert result.stdout.strip() == "ping-1: waiting -> pinged (ping, event 2)"
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert warnings == ["Warning: ping ping-1: the step was taken (event 2); after it, the record action "
                        "(outbox 1) failed: ConnectionError: mail server down; 'rcmflow tick' retries it"]
    assert "pinged" in rcmflow("status", pinging).stdout


def test_a_database_failure_after_the_commit_is_a_warning(rcmflow, pinging, monkeypatch, recorder):
    from rcmflow.core.outbox import Dispatcher
    from rcmflow.errors import DatabaseError

    def disk_full(self, item_id, now):
        raise DatabaseError("cannot use the database: disk I/O error")

    monkeypatch.setattr(Dispatcher, "_claim", disk_full)
    result = rcmflow("fire", pinging, "ping", "--json")
    assert result.exit_code == 0
    assert '"state": "pinged"' in result.stdout
    assert one_line(result) == ("Warning: ping ping-1: the step was taken (event 2); after it, "
                                "DatabaseError: cannot use the database: disk I/O error")
    assert recorder.runs() == []
