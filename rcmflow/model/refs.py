"""`{{ root.name }}` references inside definition values, and nothing more.

Values may refer to `{{ params.NAME }}`, `{{ data.NAME }}`, `{{ instance.id }}` or
`{{ event.participant }}`; no Python expression is ever evaluated from a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from rcmflow.model.values import to_json_value

REFERENCE = re.compile(r"\{\{\s*([a-z_]+)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
REFERENCE_ROOTS = {"params", "data", "instance", "event"}


@dataclass(frozen=True)
class Template:
    """A value from YAML that may refer to `{{ root.name }}`; rendered when used."""

    text: str

    def render(self, scope: dict[str, dict[str, Any]]) -> Any:
        whole = REFERENCE.fullmatch(self.text.strip())
        if whole:  # a lone reference keeps its type (a date stays a date)
            return scope.get(whole.group(1), {}).get(whole.group(2))
        return REFERENCE.sub(lambda m: str(scope.get(m.group(1), {}).get(m.group(2), "")), self.text)


def render_value(value: Any, scope: dict[str, dict[str, Any]]) -> Any:
    """Render every template string inside a (nested) argument value."""
    if isinstance(value, str) and "{{" in value:
        return to_json_value(Template(value).render(scope))
    if isinstance(value, dict):
        return {k: render_value(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, scope) for v in value]
    return to_json_value(value)


def reference_problems(text: str, params: Iterable[str]) -> list[str]:
    """What is wrong with the references in `text`, given the definition's params."""
    params = list(params)
    problems = []
    for match in REFERENCE.finditer(text):
        root, name = match.groups()
        if root not in REFERENCE_ROOTS:
            problems.append(f"{{{{ {root}.{name} }}}}: only params, data, instance and event can be referred to")
        elif root == "params" and name not in params:
            valid = ", ".join(params) or "none"
            problems.append(f"{{{{ params.{name} }}}} is not a param; params: {valid}")
    if "{{" in REFERENCE.sub("", text):
        problems.append(f"{text!r}: only references like {{{{ params.NAME }}}} are allowed")
    return problems


def nested_strings(value: Any) -> Iterable[str]:
    """Every string inside a (nested) argument value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from nested_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from nested_strings(item)
