"""The catalog: every definition in a home's `workflows/`, and what was wrong with them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rcmflow.errors import NotFound, Problem
from rcmflow.language import _
from rcmflow.model.definition import Definition
from rcmflow.model.loader import Problems, parse_yaml, read_text
from rcmflow.model.members import Members
from rcmflow.model.validate import Names, read_definition


@dataclass
class Catalog:
    """Every definition found in a home's `workflows/`, and what was wrong with them."""

    definitions: dict[str, Definition]
    problems: list[Problem]

    def get(self, name: str) -> Definition:
        if name not in self.definitions:
            valid = ", ".join(sorted(self.definitions)) or _("none (add a YAML file to workflows/)")
            raise NotFound(_("unknown workflow {name}; workflows: {valid}").format(name=repr(name), valid=valid))
        return self.definitions[name]


#: the files of workflows/ that are not definitions (read by model.members and the plan)
PROJECT_FILES = {"members", "glossary", "roadmap"}


def workflow_files(home: Path) -> list[Path]:
    folder = home / "workflows"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.y*ml") if p.stem not in PROJECT_FILES)


def _project_file(home: Path, path: Path) -> bool:
    """members.yaml or glossary.yaml of the home, named on the command line: checked as
    what it is (by load_members), not as a definition."""
    return path.stem in PROJECT_FILES - {"roadmap"} and path.resolve().parent == (home / "workflows").resolve()


def load_catalog(home: Path, registry: Names, members: Members, files: list[Path] | None = None) -> Catalog:
    """Load and validate definitions (all of `workflows/` unless `files` is given)."""
    definitions: dict[str, Definition] = {}
    problems: list[Problem] = []
    for path in files if files is not None else workflow_files(home):
        if _project_file(home, path):
            continue
        try:
            display = str(path.relative_to(home))
        except ValueError:
            display = str(path)
        file_problems = Problems(display)
        text = read_text(path, display, file_problems)
        data, definition = (None, None) if text is None else read_text_definition(
            text, display, file_problems, registry, members)
        if definition is not None:
            if definition.name in definitions:
                file_problems.add(data, _("workflow {name} is also defined in {path}").format(
                    name=repr(definition.name), path=definitions[definition.name].path), "workflow")
            else:
                definitions[definition.name] = definition
        problems.extend(file_problems)
    return Catalog(definitions, problems)


def read_text_definition(text: str, display: str, problems: Problems, registry: Names,
                         members: Members) -> tuple[Any, Definition | None]:
    """The file's parsed data and the definition its text makes (None, with `problems`, if
    it is not valid), pinned by the digest of that text."""
    data, _node = parse_yaml(text, display, problems)
    if data is None and not problems:
        problems.add(data, _("the file is empty; a workflow file is a mapping that starts with 'workflow: NAME'"))
    if data is None:
        return None, None
    definition = read_definition(data, problems, registry, members)
    if definition is None or problems:
        return data, None
    return data, replace(definition, path=display, digest=digest_of(text), text=text)


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
