"""A history that proves itself: every event is hashed with the one of its instance
before it, the head ties the instances' chains together, and `rcmflow history verify`
names the first event that an edit, a deletion, a swap, an insertion or a truncation
after a recorded head broke. Through the command line, on SQLite and PostgreSQL, with
the tampering done in raw SQL as an intruder would."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading

import pytest
import sqlalchemy as sa

from rcmflow.store.chain import GENESIS, event_hash


@pytest.fixture
def raw(db_url):
    """A plain SQLAlchemy engine on the test's database: no rcmflow in the way."""
    engine = sa.create_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def story(rcmflow, home, consultation) -> list[dict]:
    """theme-1 opened, Mexico's input with a note and a file, accepted, the US declining,
    and theme-2 started in between: the history as `history --json` gives it."""
    (home / "input-mx.docx").write_bytes(b"our input \x00\xff")
    steps = [("submit", "MX", "mx-focal", ["--note", "nuestra contribución ✓ «final»", "--attach",
                                           str(home / "input-mx.docx")]),
             ("accept", "MX", "ts-officer", []),
             ("decline", "US", "us-focal", ["--note", "no input on this theme"])]
    for trigger, participant, actor, extra in steps:
        result = rcmflow("fire", "theme-1", trigger, "-p", participant, *extra, actor=actor)
        assert result.exit_code == 0, result.stderr
    assert rcmflow("start", "thematic-consultation", "--set", "theme=2", "--set", "deadline=2030-05-01").exit_code == 0
    assert rcmflow("fire", "theme-1", "submit", "-p", "GT", actor="gt-focal").exit_code == 0
    return json.loads(rcmflow("history", "theme-1", "--json").stdout)


def plain(value):
    """A raw column value as Python: SQLite gives JSON and times as text."""
    if isinstance(value, str) and value[:1] in "{[":
        return json.loads(value)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == " ":
        return dt.datetime.fromisoformat(value)
    return value


def when(event: dict) -> str:
    return f"{dt.datetime.fromisoformat(event['at']).astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"


def seq_of(events: list[dict], trigger: str, participant: str | None = None) -> int:
    return next(e["seq"] for e in events if e["trigger"] == trigger and e["participant"] == participant)


def verify(rcmflow, *args: str):
    return rcmflow("history", "verify", *args)


def head_of(conn, upto: int | None = None) -> str:
    """The head as the history defines it, from the raw rows: the last seq, and SHA-256
    over "instance:hash" lines (sorted) of each instance's last event up to it."""
    rows = conn.execute(sa.text("SELECT seq, instance_id, hash FROM events ORDER BY seq")).all()
    upto = upto or rows[-1].seq
    last = {r.instance_id: r.hash for r in rows if r.seq <= upto}
    digest = hashlib.sha256("".join(f"{i}:{h}\n" for i, h in sorted(last.items())).encode()).hexdigest()
    return f"{upto}:{digest}"


def relink(conn) -> None:
    """What an intruder who knows the scheme does after an edit: recompute every chain."""
    rows = conn.execute(sa.text("SELECT * FROM events ORDER BY seq")).mappings().all()
    prev: dict[str, str] = {}
    for row in rows:
        values = {k: plain(v) for k, v in row.items()}
        link = prev.get(row["instance_id"], GENESIS)
        digest = event_hash(link, values)
        conn.execute(sa.text("UPDATE events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                     {"p": link, "h": digest, "s": row["seq"]})
        prev[row["instance_id"]] = digest


def test_an_untouched_history_verifies_and_shows_its_head(rcmflow, story, raw):
    with raw.connect() as conn:
        total, last = conn.execute(sa.text("SELECT count(*), max(seq) FROM events")).one()
        last_hash = head_of(conn).split(":")[1]
        # each instance's chain: its first event follows GENESIS, each next one its own last
        rows = conn.execute(sa.text("SELECT instance_id, prev_hash, hash FROM events ORDER BY seq")).all()
    links: dict[str, str] = {}
    for instance_id, prev, digest in rows:
        assert prev == links.get(instance_id, GENESIS)
        links[instance_id] = digest
    assert set(links) == {"theme-1", "theme-2"}
    head = rcmflow("history", "head")
    assert head.exit_code == 0 and head.stdout.strip() == f"{last}:{last_hash}"
    result = verify(rcmflow)
    assert result.exit_code == 0, result.stdout
    assert result.stdout == f"verified {total} events, head {last}:{last_hash}\n"
    one = verify(rcmflow, "theme-1", "--head", head.stdout.strip())
    assert one.exit_code == 0
    assert one.stdout.startswith(f"verified {len(story)} events of theme-1 ({total} in the chain), head {last}:")
    assert json.loads(verify(rcmflow, "--json").stdout) == {
        "ok": True, "checked": total, "total": total, "instance": None,
        "head": {"seq": last, "hash": last_hash}, "recorded": None, "problems": []}
    assert json.loads(rcmflow("history", "head", "--json").stdout) == {"seq": last, "hash": last_hash}


def test_the_old_history_command_is_unchanged(rcmflow, story):
    assert json.loads(rcmflow("history", "--json", "theme-1").stdout) == story
    table = rcmflow("history", "theme-1")
    assert table.exit_code == 0 and "nuestra contribución" in table.stdout
    assert rcmflow("history", "theme-0").exit_code == 1


def test_an_edited_event_is_named(rcmflow, story, raw):
    edited = seq_of(story, "accept", "MX")
    with raw.begin() as conn:
        conn.execute(sa.text("UPDATE events SET actor = 'gt-focal', note = 'forged' WHERE seq = :s"), {"s": edited})
    result = verify(rcmflow)
    assert result.exit_code == 1
    event = next(e for e in story if e["seq"] == edited)
    assert result.stdout.splitlines() == [
        f"seq {edited} (theme-1: accept MX by gt-focal at {when(event)}): its content does not match its hash: "
        f"edited after it was written"]
    # the status warns in one line; the status of another instance does not
    status = rcmflow("status")
    assert status.exit_code == 0
    assert [line for line in status.stderr.splitlines() if line.startswith("Warning:")] == [
        f"Warning: the history does not verify: {result.stdout.strip()}; see 'rcmflow history verify'"]
    assert "does not verify" not in rcmflow("status", "theme-2").stderr
    assert verify(rcmflow, "theme-2").exit_code == 0


def test_edits_of_the_data_and_of_the_time_are_seen_too(rcmflow, story, raw):
    submitted = seq_of(story, "submit", "MX")
    with raw.begin() as conn:
        data = plain(conn.execute(sa.text("SELECT data FROM events WHERE seq = :s"), {"s": submitted}).scalar())
        data["attachments"][0]["sha256"] = "0" * 64
        conn.execute(sa.text("UPDATE events SET data = :d WHERE seq = :s"), {"d": json.dumps(data), "s": submitted})
        conn.execute(sa.text("UPDATE events SET at = at - interval '1 day' WHERE seq = 1") if raw.dialect.name != "sqlite"
                     else sa.text("UPDATE events SET at = '2017-01-01 00:00:00.000000' WHERE seq = 1"))
    result = verify(rcmflow, "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [(p["kind"], p["seq"]) for p in problems] == [("edited", 1), ("edited", submitted)]


def test_a_deleted_event_is_named(rcmflow, story, raw):
    accepted = seq_of(story, "accept", "MX")
    with raw.begin() as conn:
        conn.execute(sa.text("DELETE FROM events WHERE seq = :s"), {"s": accepted})
    result = verify(rcmflow)
    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert line.startswith(f"seq {accepted + 1} (")
    assert f"does not follow seq {accepted - 1}: seq {accepted} is missing (deleted)" in line
    # the broken chain is theme-1's: theme-2's verifies
    assert verify(rcmflow, "theme-1").exit_code == 1
    assert verify(rcmflow, "theme-2").exit_code == 0
    assert "Warning: the history does not verify" in rcmflow("status").stderr


def test_a_swapped_pair_is_named(rcmflow, story, raw):
    # The accept is moved before the submit it answers: both rows exchange everything but their seq.
    first, second = seq_of(story, "submit", "MX"), seq_of(story, "accept", "MX")
    columns = ["at", "actor", "instance_id", "participant", "trigger", "source", "dest", "note", "data",
               "prev_hash", "hash"]
    with raw.begin() as conn:
        rows = {r.seq: r for r in conn.execute(sa.text(f"SELECT seq, {', '.join(columns)} FROM events "
                                                       f"WHERE seq IN ({first}, {second})"))}
        for target, source in ((first, second), (second, first)):
            values = {c: getattr(rows[source], c) for c in columns}
            if not isinstance(values["data"], str):
                values["data"] = json.dumps(values["data"])
            conn.execute(sa.text(f"UPDATE events SET {', '.join(f'{c} = :{c}' for c in columns)} WHERE seq = :seq"),
                         {**values, "seq": target})
    result = verify(rcmflow)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"seq {first} (theme-1: accept MX by ts-officer")
    assert lines[0].endswith(f"is out of order: it follows seq {second}, which comes after it "
                             f"(events swapped or renumbered)")
    assert len(lines) == 1  # the moves that follow from it are not reported again


def test_a_truncation_after_a_recorded_head_is_named(rcmflow, story, raw):
    recorded = rcmflow("history", "head").stdout.strip()
    assert rcmflow("fire", "theme-1", "submit", "-p", "CR", actor="cr-focal").exit_code == 0
    head_seq = int(recorded.split(":")[0])
    assert verify(rcmflow, "--head", recorded).exit_code == 0  # later events are fine
    with raw.begin() as conn:
        conn.execute(sa.text("DELETE FROM events WHERE seq >= :s"), {"s": head_seq - 1})
    # Without the recorded head, a history cut at its end still verifies: that is what the head is for.
    assert verify(rcmflow).exit_code == 0
    result = verify(rcmflow, "--head", recorded)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"the history ends at seq {head_seq - 2}, before the recorded head {head_seq}: "
        f"the events after seq {head_seq - 2} were removed"]
    short = verify(rcmflow, "--head", recorded[:recorded.index(":") + 13], "--json")
    assert json.loads(short.stdout)["problems"][0]["kind"] == "truncated"


def test_a_rewritten_history_is_caught_by_the_recorded_head(rcmflow, story, raw):
    # An intruder who edits an event and recomputes every hash after it leaves chains
    # that verify; the head recorded outside the database does not match them any more.
    recorded = rcmflow("history", "head").stdout.strip()
    with raw.begin() as conn:
        conn.execute(sa.text("UPDATE events SET note = 'forged' WHERE seq = 2"))
        relink(conn)
    assert verify(rcmflow).exit_code == 0
    result = verify(rcmflow, "--head", recorded)
    assert result.exit_code == 1
    assert "is not the recorded head" in result.stdout and "the history up to it was rewritten" in result.stdout


def test_a_deleted_instance_is_caught_by_the_recorded_head(rcmflow, story, raw):
    # theme-2 and its whole chain gone: no link breaks, the head names it
    recorded = rcmflow("history", "head").stdout.strip()
    assert rcmflow("fire", "theme-1", "submit", "-p", "CR", actor="cr-focal").exit_code == 0
    assert verify(rcmflow, "--head", recorded).exit_code == 0  # later events are fine
    with raw.begin() as conn:
        conn.execute(sa.text("DELETE FROM events WHERE instance_id = 'theme-2'"))
    assert verify(rcmflow).exit_code == 0
    result = verify(rcmflow, "--head", recorded)
    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert line.startswith(f"the history up to seq {recorded.split(':')[0]} (theme-1: submit GT by gt-focal")
    assert line.endswith("is not the recorded head: its checkpoint is "
                         f"{head_of_now(raw, int(recorded.split(':')[0]))[:16]}…, the recorded one "
                         f"{recorded.split(':')[1][:16]}…: the history up to it was rewritten")


def head_of_now(raw, upto: int) -> str:
    with raw.connect() as conn:
        return head_of(conn, upto).split(":")[1]


def test_an_inserted_event_is_named(rcmflow, story, raw):
    # A forged acceptance, hashed correctly onto an earlier event and added at the end.
    with raw.begin() as conn:
        anchor = conn.execute(sa.text("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1 OFFSET 2")).one()
        last = conn.execute(sa.text("SELECT max(seq) FROM events")).one()
        at = plain(conn.execute(sa.text("SELECT at FROM events WHERE seq = :s"), {"s": last[0]}).scalar())
        values = {"at": at, "actor": "ts-officer", "instance_id": "theme-1", "participant": "US",
                  "trigger": "accept", "source": "declined", "dest": "accepted", "note": None, "data": {}}
        conn.execute(sa.text("INSERT INTO events (seq, at, actor, instance_id, participant, trigger, source, dest, "
                             "note, data, prev_hash, hash) VALUES (:seq, :at, :actor, :instance_id, :participant, "
                             ":trigger, :source, :dest, :note, :data, :prev_hash, :hash)"),
                     {**values, "data": "{}", "seq": last[0] + 1, "prev_hash": anchor.hash,
                      "hash": event_hash(anchor.hash, values)})
    result = verify(rcmflow)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"seq {last[0] + 1} (theme-1: accept US by ts-officer at {at:%Y-%m-%d %H:%M} UTC) was not in the chain: "
        f"it follows seq {anchor.seq}, not seq {last[0]} (inserted)"]


def test_a_bad_head_is_one_line(rcmflow, story):
    result = verify(rcmflow, "--head", "yesterday")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("Error: a head is SEQ:HASH as 'rcmflow history head' prints it "
                                     "(e.g. 120:3fa4c2d1…), not 'yesterday'")


def test_the_status_page_warns(engine, story, raw):
    from rcmflow.default_plugins.web.links import Links
    from rcmflow.default_plugins.web.pages import Pages

    pages = Pages(engine)
    assert "does not verify" not in pages.overview(Links())
    with raw.begin() as conn:
        conn.execute(sa.text("UPDATE events SET note = 'forged' WHERE seq = 2"))
    page = pages.overview(Links())
    assert "Warning: the history does not verify: seq 2 (theme-1: open by ts-officer" in page


def test_concurrent_writers_keep_their_chains(make_engine, engine, consultation):
    # engine.record leaves the instance's version alone and reads the instance unlocked:
    # without the instance's lock two of them could read the same last event and fork its chain.
    engine.start("thematic-consultation", params={"theme": "2", "deadline": "2030-04-20"})
    errors: list[BaseException] = []

    def write(instance: str, n: int) -> None:
        mine = make_engine()
        try:
            for i in range(n):
                mine.record(instance, "note", note=f"{instance} {i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"theme-{1 + k % 2}", 6)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check = engine.verify_history()
    assert check.ok, check.problems
    assert check.total == len(engine.history("theme-1")) + len(engine.history("theme-2"))


def test_the_migration_chains_the_events_of_a_0004_database(home, db_url, make_engine, rcmflow, raw):
    from alembic import command

    from rcmflow.store.database import Database
    from rcmflow.store.migrations import alembic_config

    old = Database(db_url)
    with old.engine.begin() as conn:
        command.upgrade(alembic_config(old, conn), "0004")
        conn.execute(sa.text(
            "INSERT INTO instances (id, workflow, definition_version, state, params, data, version, state_entered_at, "
            "created_at, updated_at) VALUES ('theme-1', 'thematic-consultation', 1, 'collecting_input', "
            "'{\"theme\": 1, \"deadline\": \"2017-04-20\"}', '{}', 3, '2017-03-29 09:00:00', '2017-03-29 09:00:00', "
            "'2017-03-30 10:15:00.250000')"))
        events = [("2017-03-29 09:00:00", "ts-officer", None, "start", None, "planned", None,
                   '{"params": {"theme": 1, "deadline": "2017-04-20"}}'),
                  ("2017-03-29 09:30:00.123456", "ts-officer", None, "open", "planned", "collecting_input", None, "{}"),
                  ("2017-03-30 10:15:00.250000", "mx-focal", "MX", "submit", "requested", "submitted",
                   "nuestra contribución ✓", '{"attachments": [{"filename": "mx.docx", "sha256": "'
                   + "ab" * 32 + '", "size": 12}], "values": {"pages": 3, "ratio": 0.5}}')]
        for values in events:  # seq 1, 2, 3 from the database's own sequence
            conn.execute(sa.text(
                "INSERT INTO events (at, actor, instance_id, participant, trigger, source, dest, note, data) "
                "VALUES (:at, :actor, 'theme-1', :participant, :trigger, :source, :dest, :note, :data)"),
                dict(zip(["at", "actor", "participant", "trigger", "source", "dest", "note", "data"], values)))
        conn.execute(sa.text(
            "INSERT INTO outbox (instance_id, event_seq, action, args, status, attempts, next_attempt_at, created_at) "
            "VALUES ('theme-1', 2, 'notify', '{}', 'done', 1, '2017-03-29 09:30:00', '2017-03-29 09:30:00')"))
    old.dispose()
    make_engine().init()

    result = verify(rcmflow)
    assert result.exit_code == 0, result.stdout
    assert result.stdout.startswith("verified 3 events, head 3:")
    with raw.connect() as conn:
        links = conn.execute(sa.text("SELECT seq, prev_hash, hash FROM events ORDER BY seq")).all()
        assert conn.execute(sa.text("SELECT count(*) FROM outbox")).scalar() == 1  # nothing cascaded away
    assert links[0].prev_hash == GENESIS and [p for _, p, _ in links[1:]] == [h for _, _, h in links[:-1]]
    # new events chain on top of the migrated ones
    assert rcmflow("start", "thematic-consultation", "--set", "theme=2", "--set", "deadline=2030-05-01").exit_code == 0
    assert verify(rcmflow).stdout.startswith("verified 4 events, head 4:")
    # and the migrated hashes are real: an edit of one is named
    with raw.begin() as conn:
        conn.execute(sa.text("UPDATE events SET note = 'our contribution' WHERE seq = 3"))
    result = verify(rcmflow)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "seq 3 (theme-1: submit MX by mx-focal at 2017-03-30 10:15 UTC): its content does not match its hash: "
        "edited after it was written"]


def _a_0009_database(db_url: str, tamper: bool = False) -> None:
    """Two instances whose events interleave, chained the old way: one chain in seq order."""
    from alembic import command

    from rcmflow.store.database import Database
    from rcmflow.store.migrations import alembic_config

    old = Database(db_url)
    with old.engine.begin() as conn:
        command.upgrade(alembic_config(old, conn), "0009")
        for theme in (1, 2):
            conn.execute(sa.text(
                "INSERT INTO instances (id, workflow, definition_version, state, params, data, version, "
                "state_entered_at, created_at, updated_at) VALUES (:id, 'thematic-consultation', 1, 'planned', "
                ":params, '{}', 1, '2017-03-29 09:00:00', '2017-03-29 09:00:00', '2017-03-29 09:00:00')"),
                {"id": f"theme-{theme}", "params": json.dumps({"theme": theme, "deadline": "2030-04-20"})})
        prev = GENESIS
        for n, instance_id in enumerate(["theme-1", "theme-2", "theme-1", "theme-2", "theme-1"], start=1):
            at = dt.datetime(2017, 3, 29, 9, n)
            values = {"at": at, "actor": "ts-officer", "instance_id": instance_id, "participant": None,
                      "trigger": "note", "source": "planned", "dest": "planned", "note": f"note {n}", "data": {}}
            digest = event_hash(prev, values)
            conn.execute(sa.text(
                "INSERT INTO events (at, actor, instance_id, trigger, source, dest, note, data, prev_hash, hash) "
                "VALUES (:at, 'ts-officer', :instance_id, 'note', 'planned', 'planned', :note, '{}', :prev, :hash)"),
                {**values, "prev": prev, "hash": digest})
            prev = digest
        if tamper:
            conn.execute(sa.text("UPDATE events SET note = 'forged' WHERE seq = 3"))
    old.dispose()


def test_the_migration_gives_each_instance_its_chain(home, db_url, make_engine, rcmflow, raw):
    _a_0009_database(db_url)
    make_engine().init()
    with raw.connect() as conn:
        rows = conn.execute(sa.text("SELECT seq, instance_id, note, prev_hash, hash FROM events ORDER BY seq")).all()
    assert [r.note for r in rows] == [f"note {n}" for n in range(1, 6)]  # the content as it was
    links: dict[str, str] = {}
    for row in rows:
        assert row.prev_hash == links.get(row.instance_id, GENESIS)
        links[row.instance_id] = row.hash
    result = verify(rcmflow)
    assert result.exit_code == 0, result.stdout
    assert result.stdout.startswith("verified 5 events, head 5:")
    # and the relinked hashes are real: an edit is named
    with raw.begin() as conn:
        conn.execute(sa.text("UPDATE events SET note = 'forged' WHERE seq = 4"))
    assert verify(rcmflow).stdout.startswith("seq 4 (theme-2: note by ts-officer at 2017-03-29 09:04 UTC): "
                                             "its content does not match its hash")


def test_the_migration_does_not_relink_a_history_that_does_not_verify(home, db_url, make_engine, rcmflow, raw):
    _a_0009_database(db_url, tamper=True)
    result = rcmflow("init")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: event seq 3 does not verify:") and "Traceback" not in result.stderr
    with raw.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0009"  # nothing changed


def test_writers_of_different_instances_do_not_wait_for_each_other(home, engine, consultation, database, db_url):
    if database.backend != "postgresql":
        pytest.skip("SQLite has one writer at a time by design (BEGIN IMMEDIATE)")
    from rcmflow.core import transition
    from rcmflow.core.engine import Engine

    engine.start("thematic-consultation", params={"theme": "2", "deadline": "2030-04-20"})
    # a writer that waits for a lock fails after 10 s instead of waiting: a lock it shares is no wait
    other = Engine(home, db_url.replace("options=", "options=-clock_timeout%3D10000%20"), "ts-officer",
                   entry_points=False)
    try:
        with engine.db.writing() as conn:  # theme-1's writer: its event is written, not committed yet
            row = transition.load(conn, "theme-1", for_update=True)
            transition.record(conn, row, engine.now(), "ts-officer", trigger="note", source=row.state,
                              dest=row.state, participant=None, note="first", data={})
            other.record("theme-2", "note", note="side by side")  # commits meanwhile
    finally:
        other.close()
    assert [e.note for e in engine.history("theme-2")][-1] == "side by side"
    assert [e.note for e in engine.history("theme-1")][-1] == "first"
    assert engine.verify_history().ok
