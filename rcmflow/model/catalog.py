"""The catalog: every definition in a home's `workflows/`, and what was wrong with them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from rcmflow.errors import NotFound, Problem
from rcmflow.model.definition import Definition
from rcmflow.model.loader import load_yaml
from rcmflow.model.members import Members
from rcmflow.model.validate import Names, read_definition


@dataclass
class Catalog:
    """Every definition found in a home's `workflows/`, and what was wrong with them."""

    definitions: dict[str, Definition]
    problems: list[Problem]

    def get(self, name: str) -> Definition:
        if name not in self.definitions:
            valid = ", ".join(sorted(self.definitions)) or "none (add a YAML file to workflows/)"
            raise NotFound(f"unknown workflow {name!r}; workflows: {valid}")
        return self.definitions[name]


def workflow_files(home: Path) -> list[Path]:
    folder = home / "workflows"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.y*ml") if p.stem not in {"members", "roadmap"})


def load_catalog(home: Path, registry: Names, members: Members, files: list[Path] | None = None) -> Catalog:
    """Load and validate definitions (all of `workflows/` unless `files` is given)."""
    definitions: dict[str, Definition] = {}
    problems: list[Problem] = []
    for path in files if files is not None else workflow_files(home):
        try:
            display = str(path.relative_to(home))
        except ValueError:
            display = str(path)
        data, file_problems = load_yaml(path, display)
        if data is None and not file_problems:
            file_problems.add(data, "the file is empty; a workflow file is a mapping that starts with 'workflow: NAME'")
        if data is not None:
            definition = read_definition(data, file_problems, registry, members)
            if definition is not None and not file_problems:
                if definition.name in definitions:
                    file_problems.add(data, f"workflow {definition.name!r} is also defined in {definitions[definition.name].path}", "workflow")
                else:
                    definitions[definition.name] = _with_path(definition, display)
        problems.extend(file_problems)
    return Catalog(definitions, problems)


def _with_path(definition: Definition, path: str) -> Definition:
    return replace(definition, path=path)
