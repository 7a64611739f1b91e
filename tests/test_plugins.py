"""Plugins: from the home's plugins/, from installed entry points; errors name the culprit."""

from __future__ import annotations

import inspect
import json
import sys
import textwrap

import pytest

from rcmflow import hookspecs
from rcmflow.errors import PluginError
from rcmflow.plugins import load_plugins

pytestmark = pytest.mark.fixture_workflows  # tests/workflows/, not the roadmap

QUORUM_PLUGIN = '''
import click
import rcmflow
from rcmflow.cli import get_engine


def mexico_agrees(ctx, args):
    """Mexico's track is in the given state."""
    state = ctx.tracks["MX"].state
    return None if state == args else f"Mexico is {state}, not {args}"


def stamp(ctx, args):
    """Mark the instance data (in the transaction)."""
    ctx.data["stamped"] = args


@rcmflow.hookimpl
def register_guards(register):
    register("mexico_agrees", mexico_agrees)


@rcmflow.hookimpl
def register_actions(register):
    register("stamp", stamp, in_transaction=True)


@rcmflow.hookimpl
def register_commands(cli, pass_engine):
    @cli.command()
    @click.argument("instance")
    def late(instance):
        """List the countries that are late on INSTANCE."""
        view = get_engine().get(instance)
        click.echo(" ".join(p for p, t in view.tracks.items() if t.state == "requested"))
'''


def write(home, name, text):
    (home / "plugins" / name).write_text(textwrap.dedent(text))


def test_every_hook_is_documented():
    specs = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if not name.startswith("_")]
    assert {f.__name__ for f in specs} >= {"register_guards", "register_actions", "register_commands", "on_event"}
    for spec in specs:
        assert len((spec.__doc__ or "").strip()) > 80, f"hook {spec.__name__} needs its documentation"


def test_a_home_plugin_adds_a_guard_an_action_and_a_command(home, rcmflow):
    write(home, "quorum.py", QUORUM_PLUGIN)
    path = home / "workflows" / "thematic-consultation.yaml"
    path.write_text(path.read_text().replace(
        "guards: [{tracks_in: [accepted, declined]}]\n    actions:\n",
        "guards: [{tracks_in: [accepted, declined]}, {mexico_agrees: accepted}]\n"
        "    actions:\n      - {stamp: regional}\n"))
    assert rcmflow("workflows", "validate").exit_code == 0

    listed = {p["name"]: p for p in json.loads(rcmflow("plugins", "list", "--json").stdout)}
    mine = listed["plugins/quorum.py"]
    assert (mine["guards"], mine["actions"], mine["commands"]) == (["mexico_agrees"], ["stamp"], ["late"])
    assert mine["source"].endswith("plugins/quorum.py")

    rcmflow("init")
    rcmflow("start", "thematic-consultation", "--set", "theme=5", "--set", "deadline=2030-01-01")
    rcmflow("fire", "theme-5", "open")
    rcmflow("fire", "theme-5", "submit", "-p", "MX")
    assert rcmflow("late", "theme-5").stdout.split() == ["BZ", "GT", "HN", "NI", "SV"]
    assert "late" in rcmflow("--help").stdout
    for country in ["BZ", "GT", "HN", "NI", "SV"]:
        rcmflow("fire", "theme-5", "decline", "-p", country)
    rcmflow("fire", "theme-5", "close_collection")
    blocked = rcmflow("fire", "theme-5", "circulate")
    assert blocked.exit_code == 3 and "Mexico is submitted, not accepted" in blocked.stderr
    rcmflow("fire", "theme-5", "accept", "-p", "MX")
    assert rcmflow("fire", "theme-5", "circulate").exit_code == 0
    status = json.loads(rcmflow("status", "--json").stdout)
    assert status["instances"][0]["state"] == "agreeing"


@pytest.mark.no_database
def test_a_plugin_that_fails_to_import_names_its_file_and_line(home, rcmflow):
    write(home, "broken.py", "import rcmflow\n\nVALUE = 1 / 0\n")
    with pytest.raises(PluginError, match=r"plugins/broken.py:3: cannot load plugin: ZeroDivisionError"):
        load_plugins(home, entry_points=False)
    result = rcmflow("status")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: plugins/broken.py:3: cannot load plugin: ZeroDivisionError: division by zero"


def test_two_plugins_cannot_register_the_same_guard(home):
    write(home, "one.py", "import rcmflow\n@rcmflow.hookimpl\ndef register_guards(register):\n    register('tracks_in', lambda c, a: None)\n")
    with pytest.raises(PluginError, match="guard 'tracks_in' is registered by both rcmflow.default_plugins.guards and plugins/one.py"):
        load_plugins(home, entry_points=False)


def test_a_misspelt_hook_is_an_error(home):
    write(home, "typo.py", "import rcmflow\n@rcmflow.hookimpl\ndef register_guard(register):\n    pass\n")
    with pytest.raises(PluginError, match="register_guard"):
        load_plugins(home, entry_points=False)


@pytest.mark.no_database
def test_a_plugin_command_cannot_replace_a_builtin(home, rcmflow):
    write(home, "clash.py", "import click, rcmflow\n@rcmflow.hookimpl\ndef register_commands(cli):\n"
                            "    @cli.command()\n    def status():\n        pass\n")
    result = rcmflow("status")
    assert result.exit_code == 1
    assert "plugin plugins/clash.py adds command 'status', which already exists" in result.stderr


@pytest.mark.no_database
def test_installed_entry_points_are_loaded(home, tmp_path, monkeypatch, rcmflow):
    site = tmp_path / "site"
    (site / "rcmflow_sample").mkdir(parents=True)
    (site / "rcmflow_sample" / "__init__.py").write_text(
        "import rcmflow\n\ndef noop(ctx, args):\n    'Do nothing.'\n\n"
        "@rcmflow.hookimpl\ndef register_actions(register):\n    register('noop', noop)\n")
    dist = site / "rcmflow_sample-1.2.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rcmflow-sample\nVersion: 1.2\n")
    (dist / "entry_points.txt").write_text("[rcmflow]\nsample = rcmflow_sample\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("RCMFLOW_ENTRY_POINTS", "1")
    plugins = {p["name"]: p for p in json.loads(rcmflow("plugins", "list", "--json").stdout)}
    assert plugins["sample"]["actions"] == ["noop"]
    assert plugins["sample"]["source"] == "entry point (rcmflow-sample 1.2)"
    monkeypatch.setenv("RCMFLOW_ENTRY_POINTS", "0")
    assert "sample" not in {p["name"] for p in json.loads(rcmflow("plugins", "list", "--json").stdout)}
    sys.modules.pop("rcmflow_sample", None)


def test_on_event_hears_every_committed_transition(home, initialised, make_engine):
    write(home, "listener.py", """\
        import rcmflow
        HEARD = []

        @rcmflow.hookimpl
        def on_event(event, instance):
            HEARD.append((event.trigger, event.participant, instance.state))
        """)
    engine = make_engine()
    engine.start("thematic-consultation", params={"theme": "6", "deadline": "2030-01-01"})
    engine.fire("theme-6", "open")
    engine.fire("theme-6", "submit", participant="MX")
    listener = next(p for name, p in engine.plugins.pm.list_name_plugin() if name == "plugins/listener.py")
    assert listener.HEARD == [("start", None, "planned"), ("open", None, "collecting_input"),
                              ("submit", "MX", "collecting_input")]
