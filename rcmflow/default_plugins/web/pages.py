"""The status pages: what each template gets, read from the engine, and the rendering.

Pages come from the Jinja2 templates in `templates/`, with autoescape on: whatever a
country typed (notes, amendments, reasons) arrives as text, never as markup. The
templates get plain dicts and lists built here, never an engine or a view.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

import rcmflow
from rcmflow.errors import DefinitionError, NotFound, RcmflowError
from rcmflow.language import LANGUAGES, _, current, format_day, format_moment, ngettext, state_name
from rcmflow.model.diagram import render_graph
from rcmflow.default_plugins.documents.files import edition_of
from rcmflow.default_plugins.web.files import output_files, size_text
from rcmflow.default_plugins.web.links import Links, ReportLinks

if TYPE_CHECKING:
    from rcmflow import Engine
    from rcmflow.context import InstanceView, TrackView
    from rcmflow.model.definition import Definition

TEMPLATES = Path(__file__).parent / "templates"
REFRESH_SECONDS = 60
#: beyond this many open steps the matrix is unreadable; the list below still has them all
MATRIX_COLUMNS = 40


@dataclass
class Steps:
    """What the next step of an instance waits for: blocked triggers with their reasons."""

    blocked: list[Any] = field(default_factory=list)
    ready: list[str] = field(default_factory=list)


class Pages:
    """Renders the status pages from what the engine reads. One per server, used by
    every request's thread: it holds the compiled templates and no data."""

    def __init__(self, engine: "Engine"):
        self.engine = engine
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
            trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
        # the language is the request's (or the command's): `rcmflow.language` knows it
        self.env.install_gettext_callables(gettext=_, ngettext=ngettext, newstyle=True)
        self.env.filters["text"] = _text
        self.env.filters["day"] = format_day
        self.env.filters["for_readers"] = for_readers
        self.env.filters["state"] = state_name  # data-state keeps the name commands take
        self.env.filters["first_line"] = _first_line

    # --- pages ---

    def overview(self, links: Links) -> str:
        return self._render("index.html", links, refresh=REFRESH_SECONDS if links.refresh else None,
                            overview=self._overview(self.engine.status(), links))

    def instance(self, instance_id: str, links: Links) -> str:
        return self._render("instance.html", links, refresh=REFRESH_SECONDS if links.refresh else None,
                            detail=self._detail(instance_id, links))

    def report(self) -> str:
        views = self.engine.status()
        open_ids = [v.id for v in views if not self.engine.is_final(v)]
        links = ReportLinks(open_ids)
        return self._render("report.html", links, refresh=None, overview=self._overview(views, links),
                            details=[self._detail(i, links) for i in open_ids],
                            footer=_("report written by rcmflow report --html"))

    def error(self, status: int, reason: str, message: str, links: Links) -> str:
        return self._render("error.html", links, refresh=None, status=status, reason=reason, message=message)

    def _render(self, template: str, links: Links, **context: Any) -> str:
        context.setdefault("footer", _("read-only; change things with the rcmflow command line"))
        return self.env.get_template(template).render(
            links=links, as_of=self._when(self.engine.now(), zone=True), version=rcmflow.__version__,
            lang=current(), languages=LANGUAGES, **context)

    # --- their content ---

    def _overview(self, views: list["InstanceView"], links: Links) -> dict[str, Any]:
        engine = self.engine
        open_views = [v for v in views if not engine.is_final(v)]
        tracked = [v for v in open_views if v.tracks]
        return {
            "totals": {"open": len(open_views), "finished": len(views) - len(open_views),
                       "tracks": sum(len(v.tracks) for v in open_views),
                       "overdue": sum(t.overdue for v in open_views for t in v.tracks.values())},
            "matrix": self._matrix(tracked[:MATRIX_COLUMNS], links, more=len(tracked[MATRIX_COLUMNS:])),
            "integrity": self._integrity(),
            # what plugins know about the tracks (the mailroom: replies awaiting confirmation, bounces)
            "notes": [line for lines in engine.plugins.hook.status_notes(engine=engine, instances=open_views)
                      for line in lines or ()],
            "instances": [{"id": v.id, "href": links.instance(v.id), "state": v.state, "final": engine.is_final(v),
                           "title": self._title(v), "label": self._label(v), "summary": v.summary,
                           "updated": self._when(v.updated_at)} for v in views],
        }

    def _integrity(self) -> str | None:
        """One line when the history's hash chain does not verify, else None."""
        check = self.engine.verify_history()
        return None if check.ok else check.summary()

    def _matrix(self, views: list["InstanceView"], links: Links, more: int) -> dict[str, Any]:
        """Participants (rows) against instances (columns), as `rcmflow status` shows them."""
        participants: list[str] = []
        for v in views:
            participants += [p for p in v.tracks if p not in participants]
        columns = [self._column(v, links) for v in views]
        answered = [self.engine.answers(v) for v in views]  # no answer by its deadline, or a late one
        rows = []
        for p in participants:
            cells = []
            for v, column, answers in zip(views, columns, answered):
                track = v.tracks.get(p)
                cells.append(None if track is None else {**self._answer(answers.get(p)),
                    "instance": v.id, "state": track.state, "kind": self._kind(v, track),
                    "due": format_day(track.due) if column["show_due"] and track.due else None,
                    "reminded": format_day(track.reminded) if track.reminded else None,
                    # a country of the consultation's thematic subgroup
                    "subgroup": isinstance(v.params.get("subgroup"), list) and p in v.params["subgroup"]})
            rows.append({"code": p, "name": self._country(p), "cells": cells})
        return {"columns": columns, "rows": rows, "more": more}

    def _column(self, view: "InstanceView", links: Links) -> dict[str, Any]:
        """One instance's heading and summary in the matrix."""
        dues = {t.due for t in view.tracks.values()}
        common = dues.pop() if len(dues) == 1 else None  # one due date: in the heading, not in each cell
        met = sum(self._kind(view, t) == "met" for t in view.tracks.values())
        return {"id": view.id, "href": links.instance(view.id), "title": self._title(view),
                "label": self._label(view), "state": view.state, "due": format_day(common) if common else None,
                "summary": view.summary, "met_percent": round(100 * met / len(view.tracks)),
                "steps": self._steps(view.id), "show_due": common is None}

    def _detail(self, instance_id: str, links: Links) -> dict[str, Any]:
        engine = self.engine
        view = engine.get(instance_id)
        definition = self._definition(view)
        state = definition.instance.states.get(view.state) if definition else None
        params = definition.params if definition else {}
        missed = [dict(m, name=self._country(m["participant"]) if m["participant"] else "")
                  for m in engine.undelivered(view.id)]
        history = engine.history(instance_id)
        sent, notes = self._sent(view.id, history, links)
        answered = engine.answers(view)
        return {
            "not_reached": missed,
            "id": view.id, "workflow": view.workflow, "title": self._title(view), "state": view.state,
            "final": engine.is_final(view), "state_description": state.description if state else "",
            "version": view.version,
            "params": [{"name": k, "value": v, "label": params[k].label(v, current()) if k in params else ""}
                       for k, v in view.params.items()],
            "data": sorted(view.data.items()),
            "created": self._when(view.created_at), "updated": self._when(view.updated_at),
            "timeout": self._when(view.timeout_at),
            "summary": view.summary,
            "tracks": [{**self._answer(answered.get(p)),
                        "code": p, "name": self._country(p), "state": t.state, "kind": self._kind(view, t),
                        "due": format_day(t.due) if t.due else None, "data": sorted(t.data.items()),
                        "reminded": format_day(t.reminded) if t.reminded else None,
                        "not_reached": [m for m in missed if m["participant"] == p],
                        "files": sent.get(p, []), "notes": notes.get(p, [])}
                       for p, t in view.tracks.items()],
            "options": [{"trigger": o.trigger, "dest": o.dest, "allowed": o.allowed, "reason": o.reason,
                         "roles": o.roles} for o in self._options(instance_id)],
            "history": [{"seq": e.seq, "when": self._when(e.at), "actor": e.actor, "trigger": e.trigger,
                         "source": e.source, "dest": e.dest, "participant": e.participant, "note": e.note}
                        for e in history],
            "documents": self._documents(view.id, links),
            **_diagram(view, definition),
        }

    def _sent(self, instance_id: str, history, links: Links):
        """What each participant sent: its files (linked to be downloaded) and its notes."""
        sent: dict[str | None, list[dict[str, Any]]] = {}
        for a in self.engine.attachments(instance_id):
            sent.setdefault(a.participant, []).append({"name": a.filename, "size": size_text(a.size),
                                                       "href": links.sent_file(instance_id, a.event_seq, a.filename)})
        notes: dict[str | None, list[str]] = {}
        for e in history:
            if e.note and e.participant:
                notes.setdefault(e.participant, []).append(e.note)
        return sent, notes

    def _options(self, instance_id: str):
        # What the process waits for, whoever looks: guards are checked, the viewer's
        # roles are not (the page says who may fire each trigger instead).
        return self.engine.triggers(instance_id, check_roles=False)

    def _steps(self, instance_id: str) -> Steps:
        steps = Steps()
        for option in self._options(instance_id):
            if option.allowed:
                steps.ready.append(option.trigger)
            else:
                steps.blocked.append(option)
        return steps

    def _documents(self, instance_id: str, links: Links) -> list[dict[str, str | None]]:
        out = self.engine.home / "out"
        documents = []
        for path in output_files(out, instance_id):
            stat = path.stat()
            edition = edition_of(path.name)
            documents.append({
                "name": path.relative_to(out / instance_id).as_posix(),
                # an edition says its language (hreflang, and its name in the page's language)
                "language": edition.language if edition else None,
                "language_name": _language_name(edition.language) if edition else None,
                "href": links.document(path.relative_to(out).as_posix()), "size": size_text(stat.st_size),
                "modified": self._when(dt.datetime.fromtimestamp(stat.st_mtime, dt.timezone.utc))})
        return documents

    @staticmethod
    def _answer(answer: Any) -> dict[str, str | None]:
        """A track's `no_answer_by` and `late` days, formatted (None: nothing to say)."""
        return {"no_answer_by": format_day(answer.no_answer_by) if answer and answer.no_answer_by else None,
                "late": format_day(answer.late) if answer and answer.late else None}

    def _kind(self, view: "InstanceView", track: "TrackView") -> str:
        """How a cell looks: overdue, met (what the deadline asks is done), idle (the
        step is not asking yet, or no longer), or waiting."""
        if track.overdue:
            return "overdue"
        definition = self._definition(view)
        spec = definition.track if definition else None
        if spec and track.state in spec.deadline_met:
            return "met"
        if spec and not spec.moves_in(view.state):
            return "idle"
        return "waiting"

    def _definition(self, view: "InstanceView") -> "Definition | None":
        # None when the workflow's file is gone or broken: the page still shows the instance
        try:
            return self.engine.definition_of(view)
        except (NotFound, DefinitionError):
            return None

    def _title(self, view: "InstanceView") -> str:
        definition = self._definition(view)
        return definition.title_in(current()) if definition else view.workflow

    def _label(self, view: "InstanceView") -> str:
        """What the params' labels say about the instance, e.g. the title of a theme."""
        definition = self._definition(view)
        if definition is None:
            return ""
        labels = [definition.params[k].label(v, current()) for k, v in view.params.items() if k in definition.params]
        return "; ".join(label for label in labels if label)

    def _country(self, code: str) -> str:
        country = self.engine.members.countries.get(code)
        return country.name(current()) if country else ""

    def _when(self, moment: dt.datetime | None, zone: bool = False) -> str:
        if moment is None:
            return ""
        local = self.engine.local(moment)
        return format_moment(local) + (f" ({self.engine.config.timezone.key})" if zone else "")


def _diagram(view: "InstanceView", definition: "Definition | None") -> dict[str, Any]:
    """The workflow's diagram with this instance's place in it: an SVG drawn by
    Graphviz when it is installed, else the Mermaid text."""
    if definition is None:
        return {}
    where = (view.state, {t.state for t in view.tracks.values()})
    try:
        svg = render_graph(definition, "svg", *where)
    except RcmflowError:
        return {"diagram_svg": None, "diagram_text": render_graph(definition, "mermaid", *where)}
    # Graphviz's SVG, from names the definition validated (no user text): safe inline.
    return {"diagram_svg": Markup(svg[svg.index("<svg"):]), "diagram_text": None}


def _text(value: Any) -> str:
    """A value of an instance's or a track's data as readable text: lists one item a
    line, mappings as `name: value` pairs."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items() if v not in (None, "", [], {}))
    if isinstance(value, (list, tuple)):
        return "\n".join(_text(v) for v in value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _first_line(text: str, width: int = 90) -> str:
    lines = text.strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= width and len(lines) == 1 else line[: width - 1].rstrip() + " …"


#: what a reason says to someone at the command line, which a reader of the page cannot do:
#: from the colon before a --set or --set-file to the next part of the reason (any language)
_COMMAND_ADVICE = re.compile(r":\s*[^:;]*--set(?:-file)?\s[^;]*(?=;|$)|;\s*(see|run|vea|ejecute) '?rcmflow [^;]*$")


def for_readers(reason: str | None) -> str:
    """A guard's reason in the secretariat's words: without the command-line advice
    ("text not set: give it with --set text=VALUE" reads "text not set")."""
    return _COMMAND_ADVICE.sub("", reason or "")


def _language_name(code: str) -> str:
    """An edition's language as the page's language names it: "español", "Spanish"."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(code).get_language_name(current()) or code
    except (UnknownLocaleError, ValueError):
        return code
