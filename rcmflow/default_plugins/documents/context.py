"""What a document's template sees: the instance as plain values.

``instance``, ``definition``, ``members``, ``tracks``, ``attachments``, ``now`` and
``today`` (plugins add more through the `document_context` hook, e.g. ``amendments``):
plain dicts, lists and strings, so that a template never holds an engine, a session or
a model object, and there is nothing behind a value to reach for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rcmflow.default_plugins.documents.attachments import instance_attachments

if TYPE_CHECKING:
    from rcmflow import Engine
    from rcmflow.context import EventView, InstanceView
    from rcmflow.model.definition import Definition


def document_context(engine: "Engine", view: "InstanceView", definition: "Definition") -> dict[str, Any]:
    """The template's variables: plain values only, then what plugins add. A workflow
    that waits for other instances (an `instances_in` guard) sees them as `instances`,
    each as its own document would: the regional review compiles the consultations."""
    context = _context(engine, view, definition)
    context["instances"] = [_context(engine, other, engine.definition(other.workflow))
                            for other in engine.status() if other.workflow in _awaited(definition)]
    engine.plugins.hook.document_context(context=context, instance=view, definition=definition)
    return context


def _awaited(definition: "Definition") -> set[str]:
    guards = [g for t in definition.instance.transitions for g in t.guards]
    return {str(g.args["workflow"]) for g in guards
            if g.name == "instances_in" and isinstance(g.args, dict) and "workflow" in g.args}


def _context(engine: "Engine", view: "InstanceView", definition: "Definition") -> dict[str, Any]:
    countries = engine.members.countries
    files = instance_attachments(engine, view.id)
    attachments = {code: files.get(code, []) for code in view.tracks}
    _mark_joint({**attachments, None: files.get(None, [])}, countries)
    now = engine.local(engine.now())
    return {
        "instance": {
            "id": view.id, "workflow": view.workflow, "state": view.state, "params": dict(view.params),
            "data": dict(view.data), "labels": _labels(view, definition), "attachments": files.get(None, []),
        },
        "definition": {"name": definition.name, "title": definition.title_in("en"),
                       "titles": dict(definition.title), "description": definition.description},
        "members": {code: {"code": code, "name": c.name("en"), "names": dict(c.names), "language": c.language,
                           "member": c.member} for code, c in countries.items()},
        "tracks": _tracks(engine, view, attachments, engine.history(view.id)),
        "attachments": attachments,
        "now": now,
        "today": now.date(),
    }


def _mark_joint(attachments: dict[str | None, list[dict[str, Any]]], countries) -> None:
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
            entry["joint_with"] = [countries[c].name("en") if c in countries else c for c in others]
            owner = first[entry["sha256"]]
            entry["shown_under"] = None if owner == code else (countries[owner].name("en") if owner in countries
                                                                 else owner)


def _tracks(engine: "Engine", view: "InstanceView", attachments: dict[str, list[dict[str, Any]]],
            history: list["EventView"]) -> dict[str, Any]:
    countries = engine.members.countries
    tracks = {}
    for code, track in view.tracks.items():
        events = [e for e in history if e.participant == code]
        notes = [{"at": engine.local(e.at), "actor": e.actor, "trigger": e.trigger, "note": e.note}
                 for e in events if e.note]
        # when its answer came: the last step into the state it is in (submitted, declined, …)
        answered = next((e for e in reversed(events) if e.dest == track.state and e.source != e.dest), None)
        answered_at = engine.local(answered.at) if answered else None
        tracks[code] = {
            "code": code, "name": countries[code].name("en") if code in countries else code, "state": track.state,
            "due": track.due, "overdue": track.overdue, "data": dict(track.data), "attachments": attachments[code],
            "notes": notes, "answered_at": answered_at,
            # sent after the day it was due (a day in the home's time zone)
            "late": bool(answered_at and track.due and answered_at.date() > track.due),
            "has_input": bool(attachments[code] or notes)
            or any(v not in (None, "", [], {}) for v in track.data.values()),
        }
    return tracks


def _labels(view: "InstanceView", definition: "Definition") -> dict[str, str]:
    """The readable names of the params' values that have them, e.g. a theme's title."""
    labels = {}
    for param, value in view.params.items():
        spec = definition.params.get(param)
        if spec is not None and spec.labels and spec.label(value):
            labels[param] = spec.label(value)
    return labels
