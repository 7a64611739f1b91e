"""Read YAML files keeping line numbers, and collect `file:line` problems.

PyYAML composes the document with libyaml (fast: every command reads every
definition) and we build plain dicts and lists from its nodes, remembering where
each key and item was written; every message a user sees about a file points there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rcmflow.errors import Problem

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it
_scalars = yaml.constructor.SafeConstructor()


class Mapping(dict):
    """A YAML mapping that knows its line and the line of each of its keys."""

    line = 1
    key_lines: dict


class Sequence(list):
    """A YAML list that knows its line and the line of each of its items."""

    line = 1
    item_lines: list


class Problems(list[Problem]):
    """Problems found in one file; `add` works out the line from the YAML node."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def add(self, node: Any, message: str, key: Any = None) -> None:
        self.append(Problem(self.file, line_of(node, key), message))


def line_of(node: Any, key: Any = None) -> int:
    """The 1-based line of `node`, or of `node[key]` when a key or index is given."""
    if isinstance(node, Mapping) and key is not None:
        return node.key_lines.get(key, node.line)
    if isinstance(node, Sequence) and isinstance(key, int) and 0 <= key < len(node.item_lines):
        return node.item_lines[key]
    return getattr(node, "line", 1)


def _build(node: yaml.Node, problems: Problems) -> Any:
    if isinstance(node, yaml.MappingNode):
        mapping = Mapping()
        mapping.line, mapping.key_lines = node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = _build(key_node, problems)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                problems.append(Problem(problems.file, line, "a key must be a plain name or number"))
                continue
            if key in mapping:
                problems.append(Problem(problems.file, line, f"key {key!r} appears twice (first at line "
                                                             f"{mapping.key_lines[key]})"))
            mapping[key] = _build(value_node, problems)
            mapping.key_lines.setdefault(key, line)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        sequence = Sequence(_build(item, problems) for item in node.value)
        sequence.line = node.start_mark.line + 1
        sequence.item_lines = [item.start_mark.line + 1 for item in node.value]
        return sequence
    return _scalars.construct_object(node)


def load_yaml(path: Path, display: str) -> tuple[Any, Problems]:
    """Parse one YAML file. A syntax error becomes a problem, never an exception."""
    problems = Problems(display)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(display, 1, f"cannot read the file: {exc}"))
        return None, problems
    try:
        root = yaml.compose(text, Loader=_Loader)
        data = None if root is None else _build(root, problems)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problems.append(Problem(display, line, f"not valid YAML: {exc.problem or exc.context}"))
        return None, problems
    except yaml.YAMLError as exc:
        problems.append(Problem(display, 1, f"not valid YAML: {exc}"))
        return None, problems
    return data, problems


def check_keys(node: dict, allowed: set[str], where: str, problems: Problems) -> None:
    """Report every key of a mapping that is not one of `allowed`."""
    for key in node:
        if key not in allowed:
            valid = ", ".join(sorted(allowed))
            problems.add(node, f"unknown key {key!r} in {where}; valid keys: {valid}", key)
