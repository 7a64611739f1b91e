"""Eleven processes move eleven countries' tracks of one instance at the same moment.

Each worker is a spawned process with an Engine of its own; per round each gets one
trigger on its own country's track, and all fire once they have met at a barrier.
Moves of different tracks never conflict: every command succeeds (writers of one
instance queue on its row lock on PostgreSQL, on the write lock on SQLite), and the
state equals the history (each track is where its last event took it, and the version
went up by one per event).
"""

from __future__ import annotations

import multiprocessing
import threading

import pytest

pytestmark = pytest.mark.fixture_workflows

WORKFLOW = "thematic-consultation"
#: tests/workflows/members.yaml's six and five more, added to the test's home
EXTRA = {"CA": "Canada", "CR": "Costa Rica", "DO": "Dominican Republic", "PA": "Panama", "US": "United States"}
COUNTRIES = sorted(["BZ", "GT", "HN", "MX", "NI", "SV", *EXTRA])
#: one round: every country's track moves once, all at the same moment
STEPS = [("start_drafting", "drafting"), ("submit", "submitted"), ("return_for_revision", "returned"),
         ("submit", "submitted"), ("return_for_revision", "returned"), ("submit", "submitted"), ("accept", "accepted")]
INSTANCES = 2
TIMEOUT = 120.0


def _worker(country: str, commands, results, barrier) -> None:
    from rcmflow.core.engine import Engine

    engine = None
    while (command := commands.get()) is not None:
        if command["op"] == "open":
            engine = Engine(command["home"], command["db_url"], "ts-officer", entry_points=False)
            engine.catalog  # noqa: B018 - read the definitions before the race
            engine.status()
            results.put({"country": country, "ok": True})
            continue
        report = {"country": country, "round": command["round"]}
        try:
            barrier.wait(timeout=TIMEOUT)
            result = engine.fire(command["instance"], command["trigger"], participant=country)
            report.update(ok=True, track_state=result.track_state)
        except (Exception, threading.BrokenBarrierError) as exc:  # noqa: BLE001 - reported to the parent
            report.update(ok=False, error=f"{type(exc).__name__}: {exc}")
        results.put(report)
    if engine is not None:
        engine.close()


@pytest.fixture
def eleven_countries(home):
    """The test's home with eleven member countries (so eleven tracks per consultation)."""
    members = home / "workflows" / "members.yaml"
    text = members.read_text()
    lines = "".join(f"  {code}: {{name: {{en: {name}, es: {name}}}, language: es}}\n" for code, name in EXTRA.items())
    text = text.replace("\npeople:", lines + "\npeople:", 1)
    text = text.replace("members: [BZ, GT, HN, MX, NI, SV]", f"members: [{', '.join(COUNTRIES)}]")
    members.write_text(text)
    return home


@pytest.fixture
def pool(eleven_countries, initialised, db_url):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(COUNTRIES)), ctx.Queue()
    commands = {c: ctx.Queue() for c in COUNTRIES}
    processes = [ctx.Process(target=_worker, args=(c, commands[c], results, barrier), daemon=True)
                 for c in COUNTRIES]
    for process in processes:
        process.start()
    for queue in commands.values():
        queue.put({"op": "open", "home": str(eleven_countries), "db_url": db_url})
    assert all(results.get(timeout=TIMEOUT)["ok"] for _ in processes)
    yield commands, results
    for queue in commands.values():
        queue.put(None)
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()


def test_eleven_countries_move_their_tracks_at_once(pool, make_engine):
    commands, results = pool
    engine = make_engine()
    failures, rounds = [], 0
    for theme in range(1, INSTANCES + 1):
        instance_id = engine.start(WORKFLOW, None, {"theme": str(theme), "deadline": "2030-01-01"}).id
        engine.fire(instance_id, "open")
        assert sorted(engine.get(instance_id).tracks) == COUNTRIES
        for trigger, dest in STEPS:
            version = engine.get(instance_id).version
            for queue in commands.values():
                queue.put({"op": "fire", "round": rounds, "instance": instance_id, "trigger": trigger})
            reports = [results.get(timeout=TIMEOUT) for _ in COUNTRIES]
            assert {r["round"] for r in reports} == {rounds}
            failures += [r for r in reports if not r["ok"]]
            rounds += 1
            view = engine.get(instance_id)
            assert {c: t.state for c, t in view.tracks.items()} == dict.fromkeys(COUNTRIES, dest), (trigger, reports)
            assert view.version == version + len(COUNTRIES), (trigger, reports)
        # the state is the fold of the history
        events = engine.history(instance_id)
        last = {}
        for event in events:
            if event.participant:
                last[event.participant] = event.dest
        assert last == {c: t.state for c, t in engine.get(instance_id).tracks.items()}
        moves = [e for e in events if e.participant and e.trigger != "build"]
        assert len(moves) == len(STEPS) * len(COUNTRIES)
        assert engine.verify_history(instance_id).ok
    assert not failures, f"{len(failures)} of {rounds * len(COUNTRIES)} commands failed: {failures[:5]}"
    print(f"{len(COUNTRIES)} processes x {rounds} rounds: {rounds * len(COUNTRIES)} commands, 0 failures")
