"""`rcmflow.model` is the floor of what a definition is: it reads files and validates
them without a database, an engine, a command line or the plugin manager."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MODEL = Path(__file__).resolve().parent.parent / "rcmflow" / "model"
#: rcmflow.language too: its messages are said in the user's language, and it stands on nothing of rcmflow
ALLOWED = ("rcmflow.errors", "rcmflow.language", "rcmflow.model")


def imported_modules(path: Path) -> list[str]:
    """Every rcmflow module a file imports, at the top, inside functions or under TYPE_CHECKING."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return [name for name in names if name == "rcmflow" or name.startswith("rcmflow.")]


@pytest.mark.parametrize("path", sorted(MODEL.glob("*.py")), ids=lambda p: p.name)
def test_model_imports_only_errors_and_itself(path):
    outside = [name for name in imported_modules(path)
               if not any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED)]
    assert outside == [], f"{path.name} imports {outside}"


def test_the_model_modules_stay_small():
    for path in MODEL.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 400, path.name
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno - node.lineno < 60, f"{path.name}: {node.name}"
