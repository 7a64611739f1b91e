"""Definitions pinned per instance: a workflow file edited while instances run on it."""

from __future__ import annotations

import json

import sqlalchemy as sa

from tests.conftest import one_line


def rename_state(home, old: str, new: str) -> None:
    path = home / "workflows" / "thematic-consultation.yaml"
    path.write_text(path.read_text().replace(old, new))


def test_a_renamed_state_leaves_running_instances_on_their_own_definition(rcmflow, opened, home):
    rename_state(home, "collecting_input", "gathering_input")
    status = rcmflow("status", opened, "--json")
    assert status.exit_code == 0, status.stderr
    assert json.loads(status.stdout)["instances"][0]["state"] == "collecting_input"
    assert rcmflow("tick", "--now", "2030-04-14T09:00").exit_code == 0  # reminders against the old definition
    fired = rcmflow("--now", "2030-04-15T09:00", "fire", opened, "submit", "--participant", "MX", actor="mx-focal")
    assert fired.exit_code == 0, fired.stderr
    assert "requested -> submitted" in fired.stdout
    # a new instance starts on the file as it is now
    started = rcmflow("start", "thematic-consultation", "--set", "theme=2", "--set", "deadline=2030-05-20")
    assert started.exit_code == 0, started.stderr
    assert rcmflow("fire", "theme-2", "open").stdout.startswith("theme-2: planned -> gathering_input")


def test_validate_names_the_instances_a_change_would_strand(rcmflow, opened, home):
    rename_state(home, "collecting_input", "gathering_input")
    result = rcmflow("workflows", "validate")
    assert result.exit_code == 0
    line = next(line for line in result.stdout.splitlines() if line.startswith(opened))
    assert "migrating would strand state 'collecting_input'" in line


def test_migrate_without_a_mapping_is_refused_and_changes_nothing(rcmflow, opened, home, snapshot):
    rename_state(home, "collecting_input", "gathering_input")
    before = snapshot()
    result = rcmflow("migrate", opened)
    assert result.exit_code == 1
    assert "give --map collecting_input=NEW" in one_line(result)
    assert rcmflow("migrate", opened, "--map", "nonsense").exit_code == 1
    dry = rcmflow("migrate", opened, "--map", "collecting_input=gathering_input", "--dry-run")
    assert dry.exit_code == 0 and "would move" in dry.stdout
    assert snapshot() == before


def test_migrate_moves_the_instance_and_records_both_versions(rcmflow, opened, home, db_url):
    rename_state(home, "collecting_input", "gathering_input")
    result = rcmflow("migrate", opened, "--map", "collecting_input=gathering_input", "--json")
    assert result.exit_code == 0, result.stderr
    [moved] = json.loads(result.stdout)
    assert moved["renamed"] == [{"where": "state", "old": "collecting_input", "new": "gathering_input"}]
    history = json.loads(rcmflow("history", opened, "--json").stdout)
    event = history[-1]
    assert event["trigger"] == "migrate" and event["dest"] == "gathering_input"
    assert event["data"]["from"]["digest"] != event["data"]["to"]["digest"]
    assert rcmflow("history", "verify").exit_code == 0
    # now on the new definition: its triggers work, and nothing is left to migrate
    assert rcmflow("fire", opened, "submit", "-p", "GT", actor="gt-focal").exit_code == 0
    assert opened not in rcmflow("workflows", "validate").stdout
    assert "already on" in rcmflow("migrate", opened).stdout


def test_migrate_a_whole_workflow_renames_track_states(rcmflow, opened, home):
    assert rcmflow("fire", opened, "submit", "-p", "MX", actor="mx-focal").exit_code == 0
    rename_state(home, "submitted", "sent")
    result = rcmflow("migrate", "--workflow", "thematic-consultation", "--map", "submitted=sent")
    assert result.exit_code == 0, result.stderr
    assert "MX's track state submitted -> sent" in result.stdout
    status = json.loads(rcmflow("status", opened, "--json").stdout)["instances"][0]
    assert status["tracks"]["MX"]["state"] == "sent"


def test_init_pins_instances_started_before_definitions_were_kept(rcmflow, opened, home, db_url):
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE instances SET definition_hash = NULL"))
    assert rcmflow("init").exit_code == 0
    with engine.connect() as conn:
        pinned = conn.execute(sa.text("SELECT definition_hash FROM instances")).scalar()
        kept = conn.execute(sa.text("SELECT count(*) FROM definitions WHERE digest = :d"), {"d": pinned}).scalar()
    engine.dispose()
    assert pinned and kept == 1
    rename_state(home, "collecting_input", "gathering_input")
    assert rcmflow("fire", opened, "submit", "-p", "MX", actor="mx-focal").exit_code == 0
