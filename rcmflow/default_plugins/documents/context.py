"""What a document's template sees: the instance as plain values.

``instance``, ``definition``, ``members``, ``tracks``, ``attachments``, ``now`` and
``today`` (plugins add more through the `document_context` hook, e.g. ``amendments``):
plain dicts, lists and strings, so that a template never holds an engine, a session or
a model object, and there is nothing behind a value to reach for.

The context is made for one edition: names and titles are in its ``language``
(members.yaml's names per language). What a country sent keeps the language it was
sent in: each track, note and file says its ``language``, the one its step gave
(``--set language=en``) or else its sender's in members.yaml (a person of that
country, else the country's own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rcmflow.context import SYSTEM_ACTOR
from rcmflow.language import DEFAULT
from rcmflow.default_plugins.documents.attachments import instance_attachments
from rcmflow.default_plugins.documents.editions import home_language
from rcmflow.default_plugins.documents.markdown import LANGUAGE_CODE

if TYPE_CHECKING:
    from rcmflow import Engine
    from rcmflow.context import EventView, InstanceView
    from rcmflow.model.definition import Definition


def document_context(engine: "Engine", view: "InstanceView", definition: "Definition",
                     language: str = "en") -> dict[str, Any]:
    """The template's variables for the edition in `language`: plain values only, then
    what plugins add. A workflow that waits for other instances (an `instances_in`
    guard) sees them as `instances`, each as its own document would: the regional
    review compiles the consultations."""
    context = _context(engine, view, definition, language)
    context["instances"] = [_context(engine, other, engine.definition(other.workflow), language)
                            for other in engine.status() if other.workflow in _awaited(definition)]
    engine.plugins.hook.document_context(context=context, instance=view, definition=definition)
    return context


def _awaited(definition: "Definition") -> set[str]:
    guards = [g for t in definition.instance.transitions for g in t.guards]
    return {str(g.args["workflow"]) for g in guards
            if g.name == "instances_in" and isinstance(g.args, dict) and "workflow" in g.args}


def _context(engine: "Engine", view: "InstanceView", definition: "Definition", language: str) -> dict[str, Any]:
    countries = engine.members.countries
    history = engine.history(view.id)
    files = instance_attachments(engine, view.id)
    events = {e.seq: e for e in history}
    for code, entries in files.items():  # each file in the language of the step that brought it
        for entry in entries:
            entry["language"] = sender_language(engine, events.get(entry["event_seq"]), code)
    attachments = {code: files.get(code, []) for code in view.tracks}
    _mark_joint({**attachments, None: files.get(None, [])}, countries, language)
    now = engine.local(engine.now())
    return {
        "instance": {
            "id": view.id, "workflow": view.workflow, "state": view.state, "params": dict(view.params),
            "data": dict(view.data), "labels": _labels(view, definition, language),
            "attachments": files.get(None, []),
        },
        "definition": {"name": definition.name, "title": definition.title_in(language),
                       "titles": dict(definition.title), "description": definition.description},
        "members": {code: {"code": code, "name": c.name(language), "names": dict(c.names), "language": c.language,
                           "member": c.member} for code, c in countries.items()},
        "tracks": _tracks(engine, view, attachments, history, language),
        "attachments": attachments,
        "language": language,
        "now": now,
        "today": now.date(),
    }


def sender_language(engine: "Engine", event: "EventView | None", country: str | None) -> str:
    """The language of what a step brought: the one it gave (`--set language=en`), else
    its sender's (a person of `country` in members.yaml), else the country's; for the
    instance's own files, their sender's or the home's."""
    given = ((event.data or {}).get("values") or {}).get("language") if event else None
    if isinstance(given, str) and LANGUAGE_CODE.fullmatch(given):
        return given
    if event is not None and event.actor == SYSTEM_ACTOR:  # a reminder's note: rcmflow writes English
        return DEFAULT
    person = engine.members.person(event.actor) if event else None
    if person is not None and (country is None or person.country == country):
        return person.language
    found = engine.members.countries.get(country) if country else None
    return found.language if found else home_language(engine)


def _mark_joint(attachments: dict[str | None, list[dict[str, Any]]], countries, language: str) -> None:
    """A file several participants sent (a subgroup's joint input, the same SHA-256)
    is theirs together: each entry names the others (`joint_with`), and all but the
    first say where its text is (`shown_under`), so the text appears once."""
    first: dict[str, str] = {}
    senders: dict[str, list[str]] = {}
    for code, entries in attachments.items():
        for entry in entries:
            senders.setdefault(entry["sha256"], []).append(code)
            first.setdefault(entry["sha256"], code)
    for code, entries in attachments.items():
        for entry in entries:
            others = [c for c in senders[entry["sha256"]] if c != code and c is not None]
            entry["joint_with"] = [countries[c].name(language) if c in countries else c for c in others]
            owner = first[entry["sha256"]]
            entry["shown_under"] = None if owner == code else (countries[owner].name(language) if owner in countries
                                                                 else owner)


def _tracks(engine: "Engine", view: "InstanceView", attachments: dict[str, list[dict[str, Any]]],
            history: list["EventView"], language: str) -> dict[str, Any]:
    countries = engine.members.countries
    tracks = {}
    for code, track in view.tracks.items():
        events = [e for e in history if e.participant == code]
        notes = [{"at": engine.local(e.at), "actor": e.actor, "trigger": e.trigger, "note": e.note,
                  "language": sender_language(engine, e, code)} for e in events if e.note]
        # when its answer came: the last step into the state it is in (submitted, declined, …)
        answered = next((e for e in reversed(events) if e.dest == track.state and e.source != e.dest), None)
        answered_at = engine.local(answered.at) if answered else None
        given = track.data.get("language")
        tracks[code] = {
            "code": code, "name": countries[code].name(language) if code in countries else code, "state": track.state,
            # the language of its input: what it said, else its answer's sender's
            "language": given if isinstance(given, str) and LANGUAGE_CODE.fullmatch(given)
            else sender_language(engine, answered or (events[-1] if events else None), code),
            "due": track.due, "overdue": track.overdue, "data": dict(track.data), "attachments": attachments[code],
            "notes": notes, "answered_at": answered_at,
            # sent after the day it was due (a day in the home's time zone)
            "late": bool(answered_at and track.due and answered_at.date() > track.due),
            "has_input": bool(attachments[code] or notes)
            or any(v not in (None, "", [], {}) for v in track.data.values()),
        }
    return tracks


def _labels(view: "InstanceView", definition: "Definition", language: str) -> dict[str, str]:
    """The readable names of the params' values that have them, e.g. a theme's title."""
    labels = {}
    for param, value in view.params.items():
        spec = definition.params.get(param)
        if spec is not None and spec.labels and spec.label(value, language):
            labels[param] = spec.label(value, language)
    return labels
