"""The floors of rcmflow/ hold: the import contracts of pyproject.toml, small modules
and functions, and home plugins that use the plugin API only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

PACKAGE = REPO / "rcmflow"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
#: what a plugin may import of rcmflow: the public plugin API
PLUGIN_API = {"rcmflow", "rcmflow.context", "rcmflow.errors", "rcmflow.output", "rcmflow.log",
              "rcmflow.hookspecs", "rcmflow.config", "rcmflow.language"}


def sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "versions" not in p.parts)


def test_the_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout and " kept, 0 broken" in result.stdout


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_module_is_over_400_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(REPO)} has {lines} lines: split it by job"


def test_no_function_is_over_60_lines():
    long = []
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({length} lines)")
    assert not long, "functions over 60 lines:\n" + "\n".join(long)


@pytest.mark.parametrize("path", sorted((REPO / "plugins").glob("*.py")), ids=lambda p: p.name)
def test_home_plugins_import_only_the_plugin_api(path):
    """A home's plugins are the worked examples: they must need nothing a third party lacks."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    ours = {m for m in imported if m == "rcmflow" or m.startswith("rcmflow.")}
    outside = {m for m in ours if m not in PLUGIN_API and not m.startswith("rcmflow.model")}
    assert not outside, f"{path.name} imports {sorted(outside)}, outside the plugin API"
    assert "sqlalchemy" not in {m.split(".")[0] for m in imported}
