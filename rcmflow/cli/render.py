"""The readable tables of the command line (rich); `--json` bypasses all of this.

Whatever came from people or files (notes, values, names, reasons, titles, ids) is
shown as literal text: every cell, heading and title is a rich `Text` built by
`literal`, never a `str` that rich would read as markup (`[link=…]` is a hyperlink in
a terminal), and `clean` makes terminal control characters visible (ESC shows as ␛)
instead of letting them move the cursor, clear the screen or open a hyperlink.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Iterable

from rich import box
from rich.table import Table
from rich.text import Text

from rcmflow.language import _, current, ngettext
from rcmflow.output import terminal_text

if TYPE_CHECKING:
    from rcmflow.context import EventView, InstanceView
    from rcmflow.model.definition import Definition
    from rcmflow.core.engine import Engine, TriggerOption
    from rcmflow.core.views import Answer
    from rcmflow.model.members import Members
    from rcmflow.plugins import PluginInfo


def clean(value: Any) -> str:
    """`value` as text a terminal shows and does not obey: control characters visible."""
    return terminal_text(value)


class _Literal(Text):
    """A rich Text that cleans what is appended to it."""

    def append(self, text: Any, style: Any = None) -> "Text":
        return super().append(clean(text) if isinstance(text, str) else text, style)


def literal(value: Any = "", style: str = "") -> Text:
    """`value` as a rich Text: shown as it is, never read as markup or as control codes."""
    return value if isinstance(value, Text) else _Literal(clean(value), style=style)


class _Table(Table):
    """A table whose cells are literal text, whatever the caller hands it."""

    def add_row(self, *cells: Any, **kwargs: Any) -> None:
        super().add_row(*(literal(c) if isinstance(c, str) else c for c in cells), **kwargs)


def _table(*columns: str, title: str | None = None) -> Table:
    table = _Table(box=box.SIMPLE_HEAD, title=literal(title, "table.title") if title else None, title_justify="left",
                   pad_edge=False)
    for column in columns:
        # folded onto the next line when the screen is narrow, never cut
        table.add_column(literal(column), overflow="fold")
    return table


def _when(moment: dt.datetime | None, tz=None) -> str:
    if moment is None:
        return ""
    return (moment.astimezone(tz) if tz else moment).strftime("%Y-%m-%d %H:%M")


def _short(value, width: int = 60) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def instances_table(views: Iterable["InstanceView"]) -> Table:
    table = _table(_("instance"), _("workflow"), _("state"), _("tracks"), _("timeout"), title=_("Instances"))
    for identifier in (table.columns[0], table.columns[2]):  # ids read whole; the rest may wrap
        identifier.no_wrap = True
    for v in views:
        table.add_row(v.id, v.workflow, literal(v.state, style="bold"), v.summary, _when(v.timeout_at))
    return table


STATE_STYLES = {"submitted": "green", "accepted": "bold green", "agreed": "bold green", "endorsed": "bold green",
                "reviewed": "green", "proposed": "green", "no_comments": "cyan", "no_objection": "cyan",
                "declined": "magenta", "objected": "bold magenta", "returned": "yellow", "drafting": "yellow"}


def answer_marks(answer: "Answer | None") -> list[str]:
    """A track's answer in words: "no answer by DATE", or "late (due DATE)"."""
    if answer is None:
        return []
    if answer.no_answer_by:
        return [_("no answer by {day}").format(day=answer.no_answer_by.isoformat())]
    return [_("late (due {day})").format(day=answer.late.isoformat())] if answer.late else []


def _cell(track, show_due: bool, subgroup: bool = False, answer: "Answer | None" = None) -> Text:
    text = literal(track.state, style=STATE_STYLES.get(track.state, ""))
    if subgroup:  # a country of the consultation's thematic subgroup
        text.append(" · subgroup", style="cyan")
    marks = answer_marks(answer)
    if marks:  # says the due day itself
        text.append(" · " + marks[0], style="bold yellow")
    elif show_due and track.due:
        text.append(" · " + _("due {day}").format(day=track.due.isoformat()), style="dim")
    if track.overdue:
        text.append(" " + _("OVERDUE"), style="bold red")
    if track.reminded:
        text.append(" · " + _("reminded {day}").format(day=track.reminded.isoformat()), style="dim")
    return text


def _subgroup(view: "InstanceView") -> set[str]:
    value = view.params.get("subgroup")
    return {str(v) for v in value} if isinstance(value, (list, tuple)) else set()


def _common_due(view: "InstanceView") -> dt.date | None:
    dues = {t.due for t in view.tracks.values()}
    return dues.pop() if len(dues) == 1 else None


def participant_matrix(views: list["InstanceView"], members: "Members", by: str = "participant",
                       width: int | None = None, answered: dict[str, dict[str, "Answer"]] | None = None) -> list:
    """Every participant against every instance with tracks: participants as rows, or
    (by="instance") instances as rows. Given a `width` the wide form does not fit in,
    the compact form of `rcmflow.cli.matrix` instead. `answered`: per instance, the
    tracks that gave no answer or answered late (`Engine.answers`)."""
    tracked = [v for v in views if v.tracks]
    if not tracked:
        return []
    answered = answered or {}
    participants: list[str] = []
    for v in tracked:
        participants += [p for p in v.tracks if p not in participants]
    wide = _wide_matrix(tracked, participants, members, by, answered)
    if width is None or _natural_width(wide) <= width:
        return [wide]
    from rcmflow.cli.matrix import compact_matrix

    return compact_matrix(tracked, participants, width, lambda state: STATE_STYLES.get(state, ""), by, answered)


def _natural_width(table: Table) -> int:
    from rich.console import Console

    measure = Console(width=10_000)
    return measure.measure(table).maximum


def _wide_matrix(tracked: list["InstanceView"], participants: list[str], members: "Members", by: str,
                 answered: dict[str, dict[str, "Answer"]]) -> Table:

    def label(p: str) -> str:
        country = members.countries.get(p)
        return f"{p} {country.name(current())}" if country else p

    if by == "instance":
        table = _table(_("instance"), _("summary"), *participants, title=_("Instances by participant"))
        for v in tracked:
            table.add_row(v.id, v.summary, *[_cell(v.tracks[p], True, p in _subgroup(v), answered.get(v.id, {}).get(p))
                                             if p in v.tracks
                                                  else literal("–", style="dim") for p in participants])
        return table
    # One due date for the whole column goes in its heading; otherwise in each cell.
    common = [_common_due(v) for v in tracked]
    headings = [f"{v.id}\n" + _("due {day}").format(day=due.isoformat()) if due else v.id
                for v, due in zip(tracked, common)]
    table = _table(_("participant"), *headings, title=_("Participants"))
    for p in participants:
        table.add_row(label(p), *[_cell(v.tracks[p], due is None, p in _subgroup(v), answered.get(v.id, {}).get(p))
                                  if p in v.tracks
                                  else literal("–", style="dim")
                                  for v, due in zip(tracked, common)])
    table.add_row(literal(_("summary"), style="bold"), *[literal(v.summary, style="bold") for v in tracked])
    return table


def waiting_table(views: list["InstanceView"], waiting_for) -> Table:
    """One line per open instance: what its next step waits for, in words."""
    table = _table(_("instance"), _("state"), _("next step"), title=_("What each step waits for"))
    for v in views:
        table.add_row(v.id, v.state, waiting_for(v))
    return table


def triggers_table(options: list["TriggerOption"]) -> Table:
    # the reason last: the one that wraps, on lines of its own
    table = _table(_("trigger"), _("to"), _("allowed"), _("inputs (--set)"), _("why not"))
    for o in options:
        allowed = literal(_("yes"), style="green") if o.allowed else literal(_("no"), style="red")
        given = _("any") if o.inputs is None else ", ".join(o.inputs) or _("none")
        table.add_row(o.trigger, o.dest, allowed, given, o.reason or "")
    if not options:
        table.add_row(_("(none: this is a final state)"), "", "", "", "")
    return table


def instance_detail(engine: "Engine", view: "InstanceView", options: list["TriggerOption"]) -> list:
    definition = engine.rt.shown_definition(view.workflow, view.definition_hash)
    title = definition.title_in(current()) if definition else view.workflow
    head = literal()
    head.append(f"{view.id}", style="bold")
    head.append(f"  {title} ({view.workflow})\n")
    head.append(_("state: "))
    head.append(view.state, style="bold")
    head.append("   " + _("definition {label}").format(label=definition.label if definition else "?"))
    head.append("   " + _("version {number}").format(number=view.version))
    if view.timeout_at:
        head.append("   " + _("timeout {moment}").format(moment=_when(view.timeout_at, engine.config.timezone)))
    if view.params:
        params = definition.params if definition else {}
        labels = {k: params[k].label(v, current()) if k in params else "" for k, v in view.params.items()}
        shown = [f"{k}={', '.join(map(str, v)) if isinstance(v, list) else v}" + (f" ({labels[k]})" if labels[k] else "")
                 for k, v in view.params.items()]
        head.append("\n" + _("params: ") + ", ".join(shown))
    if view.data:
        head.append("\n" + _("data: ") + ", ".join(f"{k}={_short(v)}" for k, v in view.data.items()))
    parts: list = [head]
    missed = engine.undelivered(view.id)
    if view.tracks:
        parts.append(tracks_table(engine, view, {m["participant"] for m in missed}))
    if missed:
        parts.append(undelivered_table(missed, engine.members))
    next_steps = triggers_table(options)
    next_steps.title = literal(_("Next steps"), "table.title")
    parts.append(next_steps)
    return parts


def reminders_of(engine: "Engine", instance_id: str) -> dict[str, list[dt.date]]:
    """Every day each participant was reminded, oldest first, from the history."""
    days: dict[str, list[dt.date]] = {}
    for event in engine.history(instance_id):
        if event.trigger == "remind" and event.participant:
            days.setdefault(event.participant, []).append(event.at.astimezone(engine.config.timezone).date())
    return days


def tracks_table(engine: "Engine", view: "InstanceView", unreached: set[str] = frozenset()) -> Table:
    """One line per track: its state, due date and every reminder, with its year; and
    whether an e-mail could not reach the country."""
    reminded = reminders_of(engine, view.id)
    answered = engine.answers(view)
    table = _table(_("participant"), _("name"), _("state"), _("due"), _("reminded"), "",
                   title=_("Tracks: {summary}").format(summary=view.summary))
    for p, t in view.tracks.items():
        country = engine.members.countries.get(p)
        marks = ([_("OVERDUE")] * t.overdue + answer_marks(answered.get(p))
                 + [_("NOT REACHED")] * (p in unreached))
        table.add_row(p, country.name(current()) if country else "", t.state,
                      t.due.isoformat() if t.due else "", ", ".join(day.isoformat() for day in reminded.get(p, [])),
                      literal(" ".join(marks), style="bold red"))
    return table


def history_table(events: list["EventView"], tz) -> Table:
    table = _table(_("seq"), _("when"), _("who"), _("trigger"), _("from"), _("to"), _("participant"), _("note"),
                   _("files"))
    for e in events:
        table.add_row(str(e.seq), _when(e.at, tz), e.actor, e.trigger, e.source or "", e.dest,
                      e.participant or "", e.note or "", ", ".join(event_files(e)))
    return table


def event_files(event: "EventView") -> list[str]:
    """The files an event names: those sent with it, or the documents it built."""
    data = event.data if isinstance(event.data, dict) else {}
    sent = [f.get("filename", "") for f in data.get("attachments") or [] if isinstance(f, dict)]
    built = [str(f.get("path", "")).rsplit("/", 1)[-1] for f in data.get("files") or [] if isinstance(f, dict)]
    return [name for name in sent + built if name]


def workflows_table(rows: list[dict]) -> Table:
    table = _table(_("workflow"), "v", _("title"), _("states"), _("triggers"), _("participants"))
    for r in rows:
        table.add_row(r["name"], str(r["version"]), r["title"].get("en", ""), ", ".join(r["states"]),
                      ", ".join(r["triggers"] + r["track_triggers"]), str(len(r["participants"])) if r["participants"] else "")
    return table


def definition_tables(d: "Definition") -> list:
    head = literal()
    head.append(d.name, style="bold")
    head.append(f" v{d.version}  {d.title_in('en')} / {d.title_in('es')}\n{d.path}")
    if d.description:
        head.append(f"\n{d.description}")
    parts: list = [head]
    if d.params:
        params = _table(_("param"), _("type"), _("required"), _("choices"), _("default"), title=_("Params"))
        for p in d.params.values():
            params.add_row(p.name, p.type, _("yes") if p.required else "",
                           ", ".join(str(c) for c in p.choices), str(p.default or ""))
        parts.append(params)
    levels = [(_("Transitions"), d.instance)] + ([(_("Track transitions"), d.track)] if d.track else [])
    for title, mdef in levels:
        table = _table(_("trigger"), _("from"), _("to"), _("roles"), _("guards"), _("actions"), _("inputs (--set)"),
                       title=_("{title} (initial: {state})").format(title=title, state=mdef.initial))
        for t in mdef.transitions:
            given = _("any") if t.inputs is None else ", ".join(p.name for p in t.inputs) or _("none")
            table.add_row(t.trigger, ", ".join(t.sources), t.dest, ", ".join(t.roles),
                          ", ".join(c.name for c in t.guards), ", ".join(c.name for c in t.actions), given)
        parts.append(table)
    if d.participants:
        parts.append(literal(_("participants: {codes}").format(codes=", ".join(d.participants))))
    return parts


def plugins_table(infos: list["PluginInfo"]) -> Table:
    table = _table(_("plugin"), _("from"), _("guards"), _("actions"), _("commands"), _("hooks"))
    for i in infos:
        table.add_row(i.name, i.source, ", ".join(i.guards), ", ".join(i.actions),
                      ", ".join(i.commands), ", ".join(i.hooks))
    return table


def outbox_table(items: list[dict], tz) -> Table:
    table = _table("id", _("instance"), _("event"), _("action"), _("status"), _("attempts"), _("next attempt"),
                   _("recipients"), _("last error"))
    styles = {"done": "green", "failed": "bold red", "pending": "yellow", "running": "cyan"}
    for i in items:
        action = f"{i['action']} {i['template']}" if i.get("template") else i["action"]
        table.add_row(str(i["id"]), i["instance_id"], str(i["event_seq"]), action,
                      literal(i["status"], style=styles.get(i["status"], "")), str(i["attempts"]),
                      "" if i["status"] in ("done", "failed") else _when(i["next_attempt_at"], tz), recipients_cell(i),
                      i["last_error"] or "")
    if not items:
        table.add_row("", _("(the outbox is empty)"), "", "", "", "", "", "", "")
    return table


def recipients_cell(item: dict) -> Text:
    """Who an action is for: each address, those not reached in red with why; before
    its first attempt, its `to:` rule."""
    cell = literal()
    if not item.get("recipients"):
        to = item.get("to")
        return literal(f"to: {', '.join(map(str, to)) if isinstance(to, list) else to}" if to else "")
    for n, person in enumerate(item["recipients"]):
        cell.append("\n" if n else "")
        who = f"{person['participant']} {person['address']}" if person["participant"] else person["address"]
        if person["reached"]:
            cell.append(who)
        else:
            cell.append(_("{who}: not reached ({reason})").format(who=who, reason=person["reason"]), style="bold red")
    return cell


def undelivered_table(missed: list[dict], members: "Members") -> Table:
    table = _table(_("participant"), _("address"), _("message"), _("why"), _("what now"),
                   title=_("Not reached by e-mail"))
    for m in missed:
        country = members.countries.get(m["participant"]) if m["participant"] else None
        now = (_("given up: fix it, then 'rcmflow outbox retry {id}'").format(id=m["outbox_id"])
               if m["status"] == "failed" else _("'rcmflow tick' retries it"))
        table.add_row(literal(f"{m['participant']} {country.name()}" if country else (m["participant"] or ""),
                              style="bold red"), m["address"], m["template"] or m["action"], m["reason"] or "", now)
    return table


def print_all(renderables: Iterable, wide: bool = False) -> None:
    """Print tables and texts on standard output; a plain `str` as it is. `wide`: each
    table at its natural width, however wide the screen."""
    import click

    from rcmflow.output import console

    out = console()
    for renderable in renderables:
        if isinstance(renderable, str):
            click.echo(clean(renderable))
        elif wide and isinstance(renderable, Table):
            screen, out.width = out.width, max(out.width, _natural_width(renderable))  # rich caps print's width
            out.print(renderable)
            out.width = screen
        else:
            out.print(renderable)


def status_parts(engine: "Engine", views: list["InstanceView"], instance: str | None, filtered: bool,
                 by: str = "participant", width: int | None = None) -> list:
    """What `rcmflow status` shows: one instance in detail, or the instances, the
    participant matrix of the open ones and what each of their next steps waits for.
    The matrix fits in `width` columns (None: drawn wide, whatever its width)."""
    if instance:
        return instance_detail(engine, views[0], engine.triggers(instance))
    if not views:
        return [_("nothing to show: no instance matches") if filtered else
                _("no instances yet: start them with 'rcmflow quickstart' or 'rcmflow start WORKFLOW'")]
    parts: list = [instances_table(views)]
    # the matrix is for the work still under way: every participant against every open instance
    open_views = [v for v in views if not engine.is_final(v)]
    answered = {v.id: engine.answers(v) for v in open_views[:50] if v.tracks}  # as the waiting table: ask for fewer
    parts += participant_matrix(open_views, engine.members, by, width, answered)
    if open_views and len(open_views) <= 50:  # beyond that, ask for one workflow or instance
        parts.append(waiting_table(open_views, engine.waiting_for))
    return parts

