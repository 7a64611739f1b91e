"""Read YAML files keeping line numbers, and collect `file:line` problems.

ruamel.yaml's round-trip loader remembers where each mapping key and list item
was written; every message a user sees about a file points at that line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from .errors import Problem


class Problems(list[Problem]):
    """Problems found in one file; `add` works out the line from the YAML node."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def add(self, node: Any, message: str, key: Any = None) -> None:
        self.append(Problem(self.file, line_of(node, key), message))


def line_of(node: Any, key: Any = None) -> int:
    """The 1-based line of `node`, or of `node[key]` when a key or index is given."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return 1
    try:
        if key is None:
            return lc.line + 1
        if isinstance(key, int):
            return lc.item(key)[0] + 1
        return lc.key(key)[0] + 1
    except (KeyError, IndexError, TypeError):
        return lc.line + 1


def load_yaml(path: Path, display: str) -> tuple[Any, Problems]:
    """Parse one YAML file. A syntax error becomes a problem, never an exception."""
    problems = Problems(display)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(display, 1, f"cannot read the file: {exc}"))
        return None, problems
    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problems.append(Problem(display, line, f"not valid YAML: {exc.problem or exc.context}"))
        return None, problems
    return data, problems


def check_keys(node: dict, allowed: set[str], where: str, problems: Problems) -> None:
    """Report every key of a mapping that is not one of `allowed`."""
    for key in node:
        if key not in allowed:
            valid = ", ".join(sorted(allowed))
            problems.add(node, f"unknown key {key!r} in {where}; valid keys: {valid}", key)
