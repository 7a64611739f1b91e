"""The command line in Spanish, as an officer of a ministry works it: the reasons a step
waits, a refused step, what tick did, a start, a moved deadline, a broken workflow file
and `--help`, a bad members.yaml, rcmflow.toml or YAML file and an edited history, all in
Spanish with `--lang es`, while `--json` stays what scripts read."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa

from tests.conftest import one_line

WAITING = "BZ, CA, CR, DO, SV, GT, HN, MX, NI, PA, US"


def test_a_blocked_trigger_says_why_in_spanish(rcmflow, opened):
    spanish = rcmflow("--lang", "es", "triggers", opened)
    assert spanish.exit_code == 0
    words = " ".join(spanish.stdout.split())  # the table wraps its cells
    assert f"a la espera de {WAITING}: 0 de 11 seguimientos en submitted|accepted|declined" in words
    assert "waiting for" not in words
    assert "por qué no" in words


def test_a_refused_fire_is_one_spanish_line_and_changes_nothing(rcmflow, opened, snapshot):
    before = snapshot()
    blocked = rcmflow("--lang", "es", "fire", opened, "close_collection")
    assert blocked.exit_code == 3
    assert one_line(blocked) == (f"Error: close_collection está bloqueada en {opened}: a la espera de {WAITING}: "
                                 "0 de 11 seguimientos en submitted|accepted|declined|no_response")
    other = rcmflow("--lang", "es", "fire", opened, "submit", "--participant", "GT", actor="mx-focal")
    assert other.exit_code == 4
    assert one_line(other) == (f"Error: {opened}: mx-focal es punto focal de MX y no puede actuar "
                               "en el seguimiento de GT")
    impossible = rcmflow("--lang", "es", "fire", opened, "open")
    assert impossible.exit_code == 1
    assert one_line(impossible).startswith(f"Error: 'open' no es posible: {opened} está en el estado "
                                           "collecting_input; posibles ahora: ")
    assert snapshot() == before


def test_start_fire_and_extend_report_in_spanish(rcmflow):
    assert rcmflow("init").exit_code == 0
    started = rcmflow("--lang", "es", "start", "thematic-consultation", "--set", "theme=2",
                      "--set", "deadline=2030-04-20")
    assert started.stdout == "iniciada theme-2 (thematic-consultation) en el estado planned con 11 seguimientos\n"
    assert rcmflow("--lang", "es", "fire", "theme-2", "open").stdout == \
        "theme-2: planned -> collecting_input (open, evento 2)\n"
    submitted = rcmflow("--lang", "es", "fire", "theme-2", "submit", "--participant", "MX", actor="mx-focal")
    assert submitted.stdout == "el seguimiento de MX en theme-2: requested -> submitted (submit, evento 3)\n"
    one = rcmflow("--lang", "es", "extend", "theme-2", "--participant", "NI", "--to", "2030-05-12", "--note", "x")
    assert one.stdout == "theme-2: plazo de NI movido al 2030-05-12 (1 evento)\n"
    two = rcmflow("--lang", "es", "extend", "theme-2", "-p", "NI", "-p", "BZ", "--to", "2030-05-19")
    assert two.stdout == "theme-2: plazo de NI, BZ movido al 2030-05-19 (2 eventos)\n"
    past = rcmflow("--lang", "es", "extend", "theme-2", "--to", "2020-05-10")
    assert past.exit_code == 1 and one_line(past).startswith("Error: el --to 2020-05-10 ya pasó; indique un día")


def test_tick_says_what_it_did_in_spanish(rcmflow, opened):
    # a month after the deadline: every track lapses, the collection closes, reminders go out
    result = rcmflow("--lang", "es", "--now", "2030-05-20T10:00", "tick")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert f"{opened}: vencimiento, se ejecutó lapse (requested -> no_response)" in lines
    assert f"{opened}: vencimiento, se ejecutó close_collection (collecting_input -> consolidating)" in lines
    assert any(line.startswith(f"{opened}: recordatorio enviado a NI (") for line in lines)
    assert lines[-1].startswith("12 vencimientos ejecutados, 11 recordatorios enviados, ")


@pytest.mark.no_database
def test_a_broken_workflow_file_is_told_in_spanish(rcmflow, home):
    path = home / "workflows" / "thematic-consultation.yaml"
    path.write_text(path.read_text().replace("{param_set: deadline}", "{param_sett: deadline}", 1))
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "param_sett" in text)
    result = rcmflow("--lang", "es", "workflows", "validate")
    assert result.exit_code == 1
    assert f"thematic-consultation.yaml:{line}: condición desconocida 'param_sett'; condiciones registradas: " \
        in result.stdout
    english = rcmflow("workflows", "validate")
    assert "unknown guard 'param_sett'; registered guards: " in english.stdout


@pytest.mark.no_database
def test_help_speaks_the_language_however_it_is_chosen(rcmflow, home, monkeypatch):
    english = rcmflow("fire", "--help").stdout
    assert "Fire TRIGGER on INSTANCE" in english and "A note kept in the history." in english
    for spanish in (rcmflow("--lang", "es", "fire", "--help").stdout, rcmflow("fire", "--lang", "es", "--help").stdout):
        assert "Ejecuta la acción TRIGGER en INSTANCE" in spanish
        assert "Una nota que se guarda en el historial." in spanish
        assert "Un valor que se registra con el paso; repita para más." in spanish  # --set
        assert "A note kept" not in spanish
    listing = rcmflow("--lang", "es", "--help").stdout
    assert "Inicia una nueva instancia de WORKFLOW e imprime su id." in listing
    assert "Recorre de principio a fin" in listing  # a plugin's command (demo) too
    (home / "rcmflow.toml").write_text('language = "es"\n', encoding="utf-8")
    assert "Ejecuta la acción TRIGGER" in rcmflow("fire", "--help").stdout
    assert "Carpeta del proyecto" in rcmflow("--help").stdout
    monkeypatch.setenv("RCMFLOW_LANG", "en")
    assert "Fire TRIGGER on INSTANCE" in rcmflow("fire", "--help").stdout


def test_json_carries_the_same_words_in_every_language(rcmflow, opened):
    """What --json says in words (a guard's reason) is the same whatever the language:
    scripts read it."""
    for command in (["triggers", opened], ["triggers", opened, "--participant", "MX"], ["outbox"],
                    ["history", opened], ["--now", "2026-01-01T00:00", "tick"]):
        english = rcmflow(*command, "--json")
        spanish = rcmflow("--lang", "es", *command, "--json")
        after = rcmflow(*command, "--json", "--lang", "es")  # --lang after the command, too
        assert english.exit_code == spanish.exit_code == after.exit_code == 0, command
        assert json.loads(english.stdout) == json.loads(spanish.stdout) == json.loads(after.stdout), command
    [close, *_] = json.loads(rcmflow("--lang", "es", "triggers", opened, "--json").stdout)
    assert close["reason"].startswith(f"waiting for {WAITING}: 0 of 11 tracks")
    started = rcmflow("--lang", "es", "start", "thematic-consultation", "--set", "theme=4",
                      "--set", "deadline=2030-04-20", "--json")
    assert json.loads(started.stdout) == {"id": "theme-4", "workflow": "thematic-consultation", "state": "planned"}


def test_an_edited_history_is_told_in_spanish(rcmflow, opened, db_url):
    assert rcmflow("fire", opened, "submit", "-p", "MX", actor="mx-focal").exit_code == 0
    [event] = [e for e in json.loads(rcmflow("history", opened, "--json").stdout) if e["trigger"] == "submit"]
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # an intruder's edit, in raw SQL
        conn.execute(sa.text("UPDATE events SET actor = 'gt-focal' WHERE seq = :s"), {"s": event["seq"]})
    engine.dispose()
    at = dt.datetime.fromisoformat(event["at"]).astimezone(dt.timezone.utc)
    result = rcmflow("--lang", "es", "history", "verify")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"evento {event['seq']} ({opened}: submit MX por gt-focal el {at:%Y-%m-%d %H:%M} UTC): "
        "su contenido no coincide con su hash: se editó después de escribirse"]


@pytest.mark.no_database
def test_a_bad_members_file_is_told_in_spanish(rcmflow, home):
    path = home / "workflows" / "members.yaml"
    path.write_text(path.read_text().replace("troika: [HN, SV, PA]", "troika: [HN, SV, PX]", 1))
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "PX" in text)
    result = rcmflow("--lang", "es", "status")
    assert result.exit_code == 1
    assert one_line(result) == f"Error: workflows/members.yaml:{line}: el grupo troika nombra el país desconocido 'PX'"
    # a problem of the file's shape too: rcmflow's words in Spanish, the key as written
    path.write_text(path.read_text().replace("roles: [secretariat]", "roles: 7", 1))
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "roles: 7" in text)
    shape = rcmflow("--lang", "es", "status")
    assert shape.exit_code == 1
    assert one_line(shape).startswith(f"Error: workflows/members.yaml:{line}: people[0].roles debe ser una lista de "
                                      "roles, p. ej. [secretariat] (se recibió 7)")


@pytest.mark.no_database
def test_a_bad_rcmflow_toml_is_told_in_spanish(rcmflow, home):
    (home / "rcmflow.toml").write_text('actor = "ts-officer"\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    result = rcmflow("--lang", "es", "status")
    assert result.exit_code == 1
    assert one_line(result) == ("Error: rcmflow.toml:2: zona horaria desconocida 'Mars/Olympus'; "
                                "use un nombre como America/Mexico_City o UTC")


@pytest.mark.no_database
def test_a_yaml_syntax_error_is_told_in_spanish(rcmflow, home):
    path = home / "workflows" / "thematic-consultation.yaml"
    path.write_text(path.read_text() + "states: [unclosed\n", encoding="utf-8")
    result = rcmflow("--lang", "es", "workflows", "validate")
    assert result.exit_code == 1
    [line] = [text for text in result.stdout.splitlines() if text.startswith("workflows/thematic-consultation.yaml:")]
    assert re.fullmatch(r"workflows/thematic-consultation\.yaml:\d+: YAML no válido: .+", line), line
    assert "not valid YAML" in rcmflow("workflows", "validate").stdout
