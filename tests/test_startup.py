"""The built-in plugins load with every command, so loading them stays cheap: the
document, calendar and web libraries are imported when a build, an export or a page
needs them, never by `rcmflow --help`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SLOW = ("jinja2", "docx", "markdown_it", "icalendar", "wsgiref.simple_server", "waitress")


def test_loading_the_plugins_imports_no_document_calendar_or_web_library(tmp_path):
    probe = ("import json, sys; from pathlib import Path; from rcmflow.plugins import load_plugins; "
             f"load_plugins(Path(sys.argv[1]), entry_points=False); "
             f"print(json.dumps([m for m in {SLOW!r} if m in sys.modules]))")
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []



REPO = Path(__file__).resolve().parent.parent
# Runs the command line in this process, then writes the modules it imported to argv[1].
PROBE = """
import json, sys
from rcmflow.cli import main
out, sys.argv = sys.argv[1], ["rcmflow", *sys.argv[2:]]
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
with open(out, "w") as file:
    json.dump(sorted(sys.modules), file)
"""


def imported_by(home: Path, out: Path, *args: str) -> set[str]:
    env = {**os.environ, "RCMFLOW_HOME": str(home), "RCMFLOW_ENTRY_POINTS": "0"}
    subprocess.run([sys.executable, "-c", PROBE, str(out), *args], env=env, capture_output=True, text=True, check=True)
    return set(json.loads(out.read_text()))


@pytest.mark.parametrize("args", [("--help",), ("workflows", "list"), ("workflows", "show", "thematic-consultation")])
def test_commands_that_need_no_database_import_no_database_library(tmp_path, args):
    """`rcmflow --help` and the definition listings start at once: with the secretariat's
    plugins/ in the home (loaded: they add commands and guards), nothing imports
    SQLAlchemy, its ORM least of all, nor the store or the engine."""
    home = tmp_path / "home"
    shutil.copytree(REPO / "workflows", home / "workflows")
    shutil.copytree(REPO / "plugins", home / "plugins", ignore=shutil.ignore_patterns("__pycache__"))
    modules = imported_by(home, tmp_path / "modules.json", *args)
    plugin_files = [m for m in modules if m.startswith("rcmflow_plugins")]
    assert len(plugin_files) >= len(list((REPO / "plugins").glob("*.py")))
    assert "sqlalchemy.orm" not in modules
    assert not {m for m in modules if m.split(".")[0] == "sqlalchemy" or m.startswith(("rcmflow.store", "rcmflow.core"))}
    if args == ("--help",):
        assert "pydantic" not in modules  # no rcmflow.toml to check, no definition to validate
