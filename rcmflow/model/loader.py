"""Read YAML and TOML files keeping line numbers, and collect `file:line` problems.

PyYAML composes the document with libyaml (fast: every command reads every
definition) and we build plain dicts and lists from its nodes, remembering where
each key and item was written; every message a user sees about a file points there.
A TOML file (rcmflow.toml) gets the same line table from a scan of its keys.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from rcmflow.errors import Problem
from rcmflow.language import _

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


#: more values than any definition needs: a document past it is an alias bomb ("billion laughs")
MAX_VALUES = 100_000


class _TooBig(Exception):
    """The document expands past MAX_VALUES, or an alias contains itself."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


class _Builder:
    """Plain dicts and lists from composed nodes, with lines; aliases count at every use."""

    def __init__(self, problems: Problems):
        self.problems = problems
        self.count = 0
        self.open: set[int] = set()

    def build(self, node: yaml.Node) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _TooBig(node.start_mark.line + 1, _("the document holds more than {count} values (aliases "
                          "repeated over and over?); write the values out, or fewer of them").format(count=MAX_VALUES))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if id(node) in self.open:
            raise _TooBig(node.start_mark.line + 1, _("an alias (*name) refers to the very anchor it is inside"))
        self.open.add(id(node))
        try:
            return self.mapping(node) if isinstance(node, yaml.MappingNode) else self.sequence(node)
        finally:
            self.open.discard(id(node))

    def mapping(self, node: yaml.MappingNode) -> "Mapping":
        mapping = Mapping()
        mapping.line, mapping.key_lines = node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = self.build(key_node)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                self.problems.append(Problem(self.problems.file, line, _("a key must be a plain name or number")))
                continue
            if key in mapping:
                message = _("key {key} appears twice (first at line {line})").format(
                    key=repr(key), line=mapping.key_lines[key])
                self.problems.append(Problem(self.problems.file, line, message))
            mapping[key] = self.build(value_node)
            mapping.key_lines.setdefault(key, line)
        return mapping

    def sequence(self, node: yaml.SequenceNode) -> "Sequence":
        sequence = Sequence(self.build(item) for item in node.value)
        sequence.line = node.start_mark.line + 1
        sequence.item_lines = [item.start_mark.line + 1 for item in node.value]
        return sequence

    def scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            return _scalars.construct_object(node)
        except (ValueError, OverflowError, yaml.YAMLError) as exc:
            # a date like 2017-02-30, a number of thousands of digits
            shown = node.value if len(node.value) <= 30 else node.value[:27] + "..."
            reason = str(exc).splitlines()[0]
            if "Exceeds the limit" in reason:
                reason = _("a number of {count} digits is more than a file needs").format(count=len(node.value))
            message = _("{value} cannot be read: {reason}; quote it to keep it as text").format(
                value=repr(shown), reason=reason)
            self.problems.append(Problem(self.problems.file, node.start_mark.line + 1, message))
            return node.value


def read_text(path: Path, display: str, problems: Problems) -> str | None:
    """The file as UTF-8 text; an unreadable file or a bad byte is a problem at its line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(display, 1, _("cannot read the file: {reason}").format(reason=exc.strerror or exc)))
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        problems.append(Problem(display, line, _("byte {byte} is not UTF-8 text; save the file as UTF-8").format(
            byte=f"{raw[exc.start]:#04x}")))
        return None


def load_yaml(path: Path, display: str) -> tuple[Any, Problems]:
    """Parse one YAML file. A syntax error becomes a problem, never an exception."""
    problems = Problems(display)
    text = read_text(path, display, problems)
    if text is None:
        return None, problems
    return parse_yaml(text, display, problems)


def parse_yaml(text: str, display: str, problems: Problems | None = None) -> tuple[Any, Problems]:
    """Parse YAML text (a file's, or a definition kept in the database)."""
    problems = Problems(display) if problems is None else problems
    try:
        root = yaml.compose(text, Loader=_Loader)
        data = None if root is None else _Builder(problems).build(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problems.append(Problem(display, line, _("not valid YAML: {reason}").format(reason=exc.problem or exc.context)))
        return None, problems
    except yaml.YAMLError as exc:
        problems.append(Problem(display, 1, _("not valid YAML: {reason}").format(reason=exc)))
        return None, problems
    except _TooBig as exc:
        problems.append(Problem(display, exc.line, str(exc)))
        return None, problems
    except RecursionError:
        problems.append(Problem(display, 1, _("the document is nested too deeply; a definition needs a few levels")))
        return None, problems
    return data, problems


HEADER = re.compile(r"^\s*\[\[?\s*(?P<key>[^\]]+?)\s*\]\]?\s*(#.*)?$")
ASSIGNMENT = re.compile(r"^\s*(?P<key>[A-Za-z0-9_\-.\"' ]+?)\s*=")
KEY_PART = re.compile(r"\"([^\"]*)\"|'([^']*)'|([^.\s]+)")


def load_toml(path: Path, display: str) -> tuple[Any, Problems]:
    """Parse one TOML file into mappings that know their lines; errors become problems."""
    problems = Problems(display)
    text = read_text(path, display, problems)
    if text is None:
        return None, problems
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\(at line (\d+), column \d+\)|\(at end of document\)", str(exc))
        line = int(where.group(1)) if where and where.group(1) else text.count("\n") + 1 if where else 1
        message = str(exc)[:where.start()].strip() if where else str(exc)
        problems.append(Problem(display, line, _("not valid TOML: {reason}").format(reason=message)))
        return None, problems
    except ValueError:  # a whole number of thousands of digits
        line = next((n for n, text_line in enumerate(text.splitlines(), 1) if re.search(r"\d{4000}", text_line)), 1)
        problems.append(Problem(display, line, _("not valid TOML: a number with thousands of digits; "
                                                 "write a smaller one, or quote it")))
        return None, problems
    return _with_lines(data, (), _toml_lines(text)), problems


def _toml_lines(text: str) -> dict[tuple[str, ...], int]:
    """The line of each table header and key, by its dotted path (the first one wins)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), 1):
        header = HEADER.match(line)
        if header and "=" not in header.group("key"):
            table = _key_path(header.group("key"))
            for end in range(1, len(table) + 1):
                lines.setdefault(table[:end], number)
            continue
        assignment = ASSIGNMENT.match(line)
        if assignment:
            lines.setdefault(table + _key_path(assignment.group("key")), number)
    return lines


def _key_path(text: str) -> tuple[str, ...]:
    return tuple(next(g for g in match.groups() if g is not None) for match in KEY_PART.finditer(text))


def _with_lines(value: Any, path: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> Any:
    if isinstance(value, dict):
        mapping = Mapping()
        mapping.line = lines.get(path, 1)
        mapping.key_lines = {}
        for key, item in value.items():
            mapping[key] = _with_lines(item, path + (key,), lines)
            mapping.key_lines[key] = lines.get(path + (key,), mapping.line)
        return mapping
    if isinstance(value, list):
        sequence = Sequence(_with_lines(item, path, lines) for item in value)
        sequence.line = lines.get(path, 1)
        sequence.item_lines = [sequence.line] * len(value)
        return sequence
    return value


def prune(node: Any) -> Any:
    """Drop the keys written without a value (`guards:`): YAML's way of saying "none"."""
    if isinstance(node, dict):
        for key in [k for k, v in node.items() if v is None]:
            del node[key]
        for value in node.values():
            prune(value)
    elif isinstance(node, list):
        for item in node:
            prune(item)
    return node


def check_keys(node: dict, allowed: set[str], where: str, problems: Problems) -> None:
    """Report every key of a mapping that is not one of `allowed`."""
    for key in node:
        if key not in allowed:
            valid = ", ".join(sorted(allowed))
            problems.add(node, _("unknown key {key} in {where}; valid keys: {valid}").format(
                key=repr(key), where=where, valid=valid), key)
