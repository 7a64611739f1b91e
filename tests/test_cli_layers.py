"""The command line as a floor: what it may import, what others may import of it, and
what `rcmflow --help` costs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rcmflow"
PUBLIC = ("rcmflow", "rcmflow.context", "rcmflow.errors", "rcmflow.output", "rcmflow.log", "rcmflow.config",
          "rcmflow.hookspecs", "rcmflow.language")  # language: the catalogs every plugin speaks through


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_nothing_outside_the_cli_imports_it():
    for path in PACKAGE.rglob("*.py"):
        if PACKAGE / "cli" in path.parents:
            continue
        assert not [n for n in _imports(path) if n == "rcmflow.cli" or n.startswith("rcmflow.cli.")], path


def test_the_scenario_uses_only_the_plugin_api():
    scenario = PACKAGE / "default_plugins" / "scenario"
    for path in scenario.glob("*.py"):
        for name in _imports(path):
            if name.split(".")[0] != "rcmflow":
                continue
            assert (name in PUBLIC or name.startswith(("rcmflow.model.", "rcmflow.default_plugins.scenario"))), \
                f"{path.name} imports {name}"


def test_the_scenario_is_a_built_in_plugin(rcmflow):
    plugins = {p["name"]: p for p in json.loads(rcmflow("plugins", "list", "--json").stdout)}
    scenario = plugins["rcmflow.default_plugins.scenario"]
    assert (scenario["source"], scenario["commands"]) == ("built-in", ["demo", "quickstart", "work-session"])


@pytest.mark.parametrize("args", [["--help"], ["workflows", "--help"], ["status", "--help"]])
def test_help_imports_neither_the_database_nor_rich_nor_the_engine(home, args):
    code = ("import sys\nfrom rcmflow.cli import cli\n"
            f"try:\n    cli({args!r}, prog_name='rcmflow')\nexcept SystemExit:\n    pass\n"
            "heavy = ('sqlalchemy', 'rich', 'transitions', 'alembic', 'rcmflow.core', 'rcmflow.store')\n"
            "print(sorted(m for m in sys.modules if m.startswith(heavy)), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=home, capture_output=True, text=True,
                          env={"RCMFLOW_ENTRY_POINTS": "0", "PATH": "/usr/bin:/bin"}, timeout=60)
    assert "Usage: rcmflow" in done.stdout, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_now_without_a_zone_is_read_in_the_homes_time_zone(home):
    (home / "rcmflow.toml").write_text('timezone = "America/Guatemala"\n')
    from click.testing import CliRunner

    from rcmflow.cli import cli
    from rcmflow.cli.params import HOME_DATETIME

    seen = []

    @cli.command("now-probe")
    def probe():
        import click

        seen.append(HOME_DATETIME.convert("2017-04-21T09:00", None, click.get_current_context()))

    try:
        assert CliRunner().invoke(cli, ["--home", str(home), "now-probe"]).exit_code == 0
    finally:
        cli.commands.pop("now-probe")
    assert seen[0].isoformat() == "2017-04-21T15:00:00+00:00"
