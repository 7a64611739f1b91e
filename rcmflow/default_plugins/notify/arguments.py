"""The definition's arguments: ``{notify: {to: RULE, template: NAME}}``, checked when
definitions are loaded."""

from __future__ import annotations

from typing import Any

from rcmflow.default_plugins.notify.common import KEYWORDS, LINE_BREAKS, TEMPLATE_NAME, parse_address
from rcmflow.default_plugins.notify.parts import check_attach


def check(args: Any) -> str | None:
    """Validate ``{to: RULE, template: NAME, attach: [DOCUMENT…], invitation: PARAM}``
    when definitions are loaded."""
    usage = ("write {to: RULE, template: NAME} (and attach: [DOCUMENT, …], invitation: MEETING_PARAM), "
             "e.g. {notify: {to: participants, template: input-request}}")
    if not isinstance(args, dict):
        return usage
    unknown = sorted(str(k) for k in set(args) - {"to", "template", "attach", "invitation"})
    if unknown:
        return f"unknown key {unknown[0]!r}; {usage}"
    template = args.get("template")
    if not isinstance(template, str) or not TEMPLATE_NAME.match(template):
        return (f"template {template!r} must be a name like input-request "
                f"(for the files workflows/templates/NAME.en.txt.j2 and NAME.es.txt.j2)")
    problem = check_attach(args)
    if problem:
        return problem
    to = args.get("to")
    rules = to if isinstance(to, list) else [to]
    if to is None or not rules:
        return f"to: who gets the message: {', '.join(KEYWORDS)}, a group, a person id, an e-mail address, or a list"
    for rule in rules:
        problem = _rule_problem(rule)
        if problem:
            return f"to: {problem}"
    return None


def _rule_problem(rule: Any) -> str | None:
    if not isinstance(rule, str) or not rule.strip():
        return f"{rule!r} is not a rule; use {', '.join(KEYWORDS)}, a group, a person id or an e-mail address"
    if "{{" in rule:  # rendered when the action is queued; resolved when it runs
        return None
    if LINE_BREAKS.search(rule) or " " in rule:
        return f"{rule!r} has spaces or line breaks; a rule, group, person id or address has none"
    if "@" in rule and parse_address(rule) is None:
        return f"{rule!r} is not a valid e-mail address"
    # Groups and people live in members.yaml, which this check cannot see: an unknown
    # name is reported when the action runs.
    return None
