"""Actors are people or nobody: every change is made by a person of members.yaml or by
rcmflow itself (timeouts, reminders, what actions record after a commit). The engine's
own name cannot be given; a name members.yaml does not list may read, and change nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from rcmflow.cli import cli
from rcmflow.context import SYSTEM_ACTOR
from rcmflow.core.engine import Engine
from rcmflow.default_plugins.scenario.plan import apply_plan, load_plan
from rcmflow.errors import Forbidden

from .conftest import one_line

REPO = Path(__file__).resolve().parent.parent
SYSTEM_REFUSED = f"actor {SYSTEM_ACTOR!r} is the name rcmflow gives what it does by itself"
NOT_A_PERSON = "is not a person of workflows/members.yaml, and only they can change anything"
OPEN = """\
workflow: open-door
title: A step anyone listed may take
initial: closed
states: [closed, {name: opened, final: true}]
transitions:
  - {trigger: push, source: closed, dest: opened}
"""


# --- the engine's own name -----------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("fire", "theme-1", "cancel"),
    ("fire", "theme-1", "accept", "-p", "MX"),
    ("start", "troika-meeting", "--set", "date=2017-06-30"),
    ("tick",),
    ("status",),
])
@pytest.mark.parametrize("how", ["--actor", "RCMFLOW_ACTOR", "rcmflow.toml"])
def test_no_one_acts_under_the_engines_name(rcmflow, opened, snapshot, home, monkeypatch, args, how):
    if how == "RCMFLOW_ACTOR":
        monkeypatch.setenv("RCMFLOW_ACTOR", SYSTEM_ACTOR)
    elif how == "rcmflow.toml":
        (home / "rcmflow.toml").write_text(f'actor = "{SYSTEM_ACTOR}"\n')
    before = snapshot()
    result = rcmflow(*args, actor=SYSTEM_ACTOR if how == "--actor" else None)
    assert result.exit_code == 4
    assert one_line(result) == (f"Error: {SYSTEM_REFUSED} (timeouts, reminders, documents); act as a person id "
                                f"of workflows/members.yaml (--actor, RCMFLOW_ACTOR or actor in rcmflow.toml)")
    assert snapshot() == before


def test_the_api_refuses_the_engines_name_too(engine, make_engine, consultation, snapshot):
    before = snapshot()
    for attempt in (lambda: make_engine(SYSTEM_ACTOR), lambda: engine.acting_as(SYSTEM_ACTOR),
                    lambda: engine.record(consultation, "note", actor=SYSTEM_ACTOR)):
        with pytest.raises(Forbidden, match="rcmflow"):
            attempt()
    assert snapshot() == before


def test_only_the_engine_records_under_its_name(home, initialised, make_engine):
    import datetime as dt

    # every day a working day: 2030-04-19 is Good Friday, when most members get no reminder
    (home / "rcmflow.toml").write_text("[calendar]\nweekend = []\nholidays = false\n")
    engine = make_engine()
    engine.start("thematic-consultation", params={"theme": "1", "deadline": "2030-04-20"})
    consultation = engine.fire("theme-1", "open").id
    engine.tick(dt.datetime(2030, 4, 19, 12, tzinfo=dt.timezone.utc))  # a day before the deadline: reminders
    events = engine.history(consultation)
    assert {(e.trigger, e.actor) for e in events if e.trigger in ("start", "open")} == {
        ("start", "ts-officer"), ("open", "ts-officer")}
    reminders = [e for e in events if e.trigger == "remind"]
    # the first tick a day before the deadline sends the day-before reminder only: the week-before
    # one's days are over, so nobody gets both at once
    assert len(reminders) == 11 and {e.actor for e in reminders} == {SYSTEM_ACTOR}


# --- people who are not in members.yaml ----------------------------------------------------


@pytest.mark.parametrize("args", [
    ("fire", "theme-1", "cancel"),
    ("fire", "theme-1", "submit", "-p", "MX"),
    ("fire", "door-1", "push"),
    ("start", "troika-meeting", "--set", "date=2017-06-30"),
    ("build", "theme-1", "--template", "regional-input"),
    ("quickstart",),
])
def test_a_stranger_changes_nothing(rcmflow, opened, snapshot, home, args):
    (home / "workflows" / "open-door.yaml").write_text(OPEN)
    assert rcmflow("start", "open-door", "--id", "door-1").exit_code == 0
    before = snapshot()
    result = rcmflow(*args, actor="stranger")
    assert result.exit_code == 4
    line = one_line(result)
    assert "actor 'stranger'" in line and ("not in workflows/members.yaml" in line or NOT_A_PERSON in line)
    assert snapshot() == before
    assert not (home / "out").exists()


def test_a_stranger_may_read(rcmflow, opened):
    for args in (("status",), ("history", "theme-1"), ("triggers", "theme-1"), ("outbox",), ("workflows", "list")):
        result = rcmflow(*args, actor="stranger")
        assert result.exit_code == 0, (args, result.stderr)


def test_a_step_without_roles_is_open_to_every_person(rcmflow, opened, home):
    (home / "workflows" / "open-door.yaml").write_text(OPEN)
    assert rcmflow("start", "open-door", "--id", "door-1", actor="mx-focal").exit_code == 0
    result = rcmflow("fire", "door-1", "push", actor="us-focal")
    assert result.exit_code == 0, result.stderr


# --- every role against every trigger, through the CLI and the API -------------------------

#: one person per role (the PPT is also a country's person), and one name nobody holds
ACTORS = ["ts-officer", "sv-ppt", "mx-focal", "stranger"]


@pytest.fixture(scope="module")
def roadmap(tmp_path_factory):
    """One home and SQLite database, built once: for every workflow, an instance in each
    state that has triggers, and one with all tracks in each track state (its instance in
    a state where tracks move). States are set directly: roles do not depend on history.
    Each case is (instance, participant or None, whether the CLI checks it too): the CLI
    checks a set of states that holds every transition at least once."""
    home = tmp_path_factory.mktemp("roles") / "home"
    home.mkdir()
    for folder in ("workflows", "plugins"):
        shutil.copytree(REPO / folder, home / folder, ignore=shutil.ignore_patterns("__pycache__"))
    url = f"sqlite:///{home / 'rcmflow.db'}"
    engine = Engine(home, url, "ts-officer", entry_points=False)
    engine.init()
    apply_plan(engine)
    params = {item.workflow: item.params for item in load_plan(engine)}
    cases = []
    sql = sa.create_engine(url)
    for name, definition in engine.catalog.definitions.items():
        cover = covering_states(definition.instance)
        for state in definition.instance.states:
            if definition.instance.triggers_from(state):
                cases.append((_place(engine, sql, name, params[name], state, None), None, state in cover))
        if definition.track is None:
            continue
        active = (definition.track.active_in or list(definition.instance.states))[0]
        cover = covering_states(definition.track)
        for track_state in definition.track.states:
            if definition.track.triggers_from(track_state):
                instance = _place(engine, sql, name, params[name], active, track_state)
                cases += [(instance, p, track_state in cover) for p in ("MX", "GT", "SV") if p in definition.participants]
    sql.dispose()
    yield home, url, engine, cases
    engine.close()


def covering_states(machine) -> set[str]:
    """A few states from which, together, every transition of `machine` can be fired."""
    left = {id(t) for t in machine.transitions}
    chosen = set()
    while left:
        best = max(machine.states, key=lambda s: len(left & {id(t) for t in machine.triggers_from(s)}))
        chosen.add(best)
        left -= {id(t) for t in machine.triggers_from(best)}
    return chosen


def cli_participants(engine, actor, participant) -> bool:
    """The participants worth asking the CLI about for `actor`: its own country's track
    and one other (GT), or one track (MX) for those who have no country."""
    person = engine.members.person(actor)
    country = person.country if person else None
    return participant in ({country, "GT"} if country else {"MX"}) or participant is None


def _place(engine, sql, workflow, params, state, track_state):
    instance = (f"{workflow}-at-{state}" + (f"-{track_state}" if track_state else "")).replace("_", "-")
    engine.start(workflow, instance, params)
    with sql.begin() as conn:
        conn.execute(sa.text("UPDATE instances SET state = :s, timeout_at = NULL WHERE id = :i"),
                     {"s": state, "i": instance})
        if track_state:
            conn.execute(sa.text("UPDATE tracks SET state = :s WHERE instance_id = :i"), {"s": track_state, "i": instance})
    return instance


def expected_refusal(engine, actor, definition, transition, participant):
    """The contract, written out: who may fire what."""
    person = engine.members.person(actor)
    if person is None:
        return True
    if participant and person.country and person.country != participant:
        return True
    return bool(transition.roles) and not (person.roles & set(transition.roles))


def test_every_role_and_trigger_is_refused_alike_by_the_cli_and_the_api(roadmap):
    home, url, engine, cases = roadmap
    runner = CliRunner()
    checked = refused = through_cli = 0
    for actor in ACTORS:
        api = engine.acting_as(actor)
        for instance, participant, cover in cases:
            by_api = {o.trigger: o.reason for o in api.triggers(instance, participant)}
            if cover and cli_participants(engine, actor, participant):
                where = ["--participant", participant] if participant else []
                result = runner.invoke(cli, ["--home", str(home), "--db", url, "--actor", actor,
                                             "triggers", instance, *where, "--json"], catch_exceptions=False)
                assert result.exit_code == 0, result.output
                assert {o["trigger"]: o["reason"] for o in json.loads(result.stdout)} == by_api, \
                    (actor, instance, participant)
                through_cli += 1
            view = api.get(instance)
            definition = engine.definition(view.workflow)
            machine = definition.track if participant else definition.instance
            state = view.tracks[participant].state if participant else view.state
            for transition in machine.triggers_from(state):
                reason = by_api[transition.trigger] or ""
                role_refused = ("needs role" in reason or "cannot act on" in reason or NOT_A_PERSON in reason)
                assert role_refused == expected_refusal(engine, actor, definition, transition, participant), \
                    (actor, instance, participant, transition.trigger, reason)
                checked += 1
                refused += role_refused
    assert checked > 300 and 0 < refused < checked and through_cli > 50, (checked, refused, through_cli)


@pytest.mark.parametrize("actor, instance, trigger, participant", [
    ("mx-focal", "thematic-consultation-at-planned", "open", None),
    ("mx-focal", "thematic-consultation-at-collecting-input-submitted", "accept", "MX"),
    ("mx-focal", "thematic-consultation-at-collecting-input-requested", "submit", "GT"),
    ("sv-ppt", "thematic-consultation-at-planned", "cancel", None),
    ("stranger", "declaration-adoption-at-collecting-amendments-invited", "propose_amendment", "MX"),
    ("stranger", "troika-meeting-at-planned", "call_for_agenda", None),
])
def test_a_refused_fire_says_what_triggers_says(roadmap, actor, instance, trigger, participant):
    home, url, engine, _ = roadmap
    api = engine.acting_as(actor)
    [option] = [o for o in api.triggers(instance, participant) if o.trigger == trigger]
    with pytest.raises(Forbidden) as refused:
        api.fire(instance, trigger, participant)
    assert str(refused.value) == f"{instance}: {option.reason}"
    args = ["--home", str(home), "--db", url, "--actor", actor, "fire", instance, trigger]
    result = CliRunner().invoke(cli, args + (["-p", participant] if participant else []), catch_exceptions=False)
    assert (result.exit_code, result.stderr.strip()) == (4, f"Error: {instance}: {option.reason}")
