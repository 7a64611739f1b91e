"""The languages a message template lacks: reported by `rcmflow workflows validate`
(the `check_project` hook), since the recipients of that language get another one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from rcmflow.default_plugins.notify.compose import LANGUAGE, TEMPLATE_FOLDER

if TYPE_CHECKING:
    from rcmflow.model.definition import Call, Definition
    from rcmflow.model.members import Members


def notify_calls(definition: "Definition") -> Iterator["Call"]:
    """Every notify a definition names: on entering or leaving a state, on a transition, in a reminder."""
    machines = [definition.instance] + ([definition.track] if definition.track else [])
    for machine in machines:
        calls = [c for s in machine.states.values() for c in (*s.on_enter, *s.on_exit)]
        calls += [c for t in machine.transitions for c in t.actions]
        calls += [c for r in getattr(machine, "reminders", ()) for c in r.actions]
        yield from (c for c in calls if c.name == "notify" and isinstance(c.args, dict))


def template_gaps(home: Path, definitions: list["Definition"], members: "Members",
                  report: Callable[[str], None]) -> None:
    languages = sorted({p.language for p in members.people.values() if p.language and LANGUAGE.match(p.language)})
    folder = home / TEMPLATE_FOLDER
    seen: set[tuple[str, str]] = set()
    for definition in definitions:
        for call in notify_calls(definition):
            name = call.args.get("template")
            for language in languages:
                if not isinstance(name, str) or (name, language) in seen:
                    continue
                seen.add((name, language))
                if not (folder / f"{name}.{language}.txt.j2").is_file():
                    used = "en" if (folder / f"{name}.en.txt.j2").is_file() else None
                    readers = ", ".join(sorted(p.id for p in members.people.values() if p.language == language))
                    report(f"{definition.path}:{call.line}: template {name!r} has no {language} version "
                           f"({TEMPLATE_FOLDER.as_posix()}/{name}.{language}.txt.j2): {readers} "
                           + (f"get{'s' if ',' not in readers else ''} the English one, which says so"
                              if used else "get nothing: there is no English one either"))
