"""The participant matrix in a terminal of any width: compact marks with a legend.

The wide form (a state and its dates in every cell, `status --wide`) needs some 30
columns a step; a normal terminal has 80 or 100. The compact form gives each step a
number (its name, due date and summary in the key under the table), each state an
abbreviation of three or four letters and marks for overdue and reminded (explained in
the legend), and splits the steps over as many tables as the width needs. Nothing in
it is cut: what is short is short on purpose, and the legend says what it stands for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from rich import box
from rich.table import Table
from rich.text import Text

from rcmflow.language import _

if TYPE_CHECKING:
    from rcmflow.context import InstanceView, TrackView
    from rcmflow.core.views import Answer

OVERDUE, REMINDED, NONE, LATE = "!", "*", "–", "~"
#: the longest abbreviation of a state
_CODE_WIDTH = 4


def abbreviations(states: list[str]) -> dict[str, str]:
    """A short, distinct name per state: "requested" req, "no_comments" nc, and longer
    prefixes where two would be the same ("reviewed" revi, "revising" revs)."""
    short: dict[str, str] = {}
    for state in states:
        words = [w for w in state.split("_") if w]
        candidates = ["".join(w[0] for w in words)] if len(words) > 1 else []
        candidates += [state.replace("_", "")[:n] for n in (3, 4)]
        candidates += [state[:3] + state[-1], state.replace("_", "")[:2] + state[-2:]]
        taken = set(short.values())
        short[state] = next((c for c in candidates if c not in taken and len(c) <= _CODE_WIDTH), state)
    return short


def compact_matrix(tracked: list["InstanceView"], participants: list[str], width: int,
                   style_of: Callable[[str], str], by: str = "participant",
                   answered: dict[str, dict[str, "Answer"]] | None = None) -> list:
    """The matrix as tables of at most `width` columns, then its key and its legend:
    participants as rows and the steps' numbers as columns, or (by="instance") a row a
    step and a column a participant. `answered`: per step, who gave no answer by its
    deadline (named in the key, with the day) and who answered late (marked)."""
    answered = answered or {}
    states = sorted({t.state for v in tracked for t in v.tracks.values()})
    short = abbreviations(states)
    grid = [[_cell(v.tracks.get(p), short, style_of, answered.get(v.id, {}).get(p)) for p in participants]
            for v in tracked]
    if by == "instance":
        title, rows, columns = _("Instances by participant"), [v.id for v in tracked], participants
    else:
        title, rows, columns = _("Participants"), participants, [str(n) for n in range(1, len(tracked) + 1)]
        grid = [list(column) for column in zip(*grid)]
    # each column as wide as its widest cell or heading, its padding and the rule between
    widths = [max(len(heading), *(row[c].cell_len for row in grid)) + 2 for c, heading in enumerate(columns)]
    parts: list = [Text(title, "table.title")]
    for page in _pages(widths, width - max(len(r) for r in rows) - 3):
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0))
        table.add_column(Text(""), no_wrap=True)
        for c in page:
            table.add_column(Text(columns[c]), justify="left", no_wrap=True)
        for label, row in zip(rows, grid):
            table.add_row(Text(label), *[row[c] for c in page])
        parts.append(table)
    parts.append(_key(tracked, answered))
    parts.append(_legend(states, short))
    return parts


def _pages(widths: list[int], room: int) -> list[list[int]]:
    """The columns split into as few tables as `room` allows, of even sizes."""
    fit, used = 0, 0
    for w in widths:
        if fit and used + w > room:
            break
        fit, used = fit + 1, used + w
    count = -(-len(widths) // max(fit, 1))
    size = -(-len(widths) // count)
    return [list(range(start, min(start + size, len(widths)))) for start in range(0, len(widths), size)]


def _cell(track: "TrackView | None", short: dict[str, str], style_of: Callable[[str], str],
          answer: "Answer | None" = None) -> Text:
    if track is None:
        return Text(NONE, style="dim")
    text = Text(short[track.state], style=style_of(track.state))
    if answer is not None and answer.late:
        text.append(LATE, style="bold yellow")
    if track.overdue:
        text.append(OVERDUE, style="bold red")
    if track.reminded:
        text.append(REMINDED, style="dim")
    return text


def _key(tracked: list["InstanceView"], answered: dict[str, dict[str, "Answer"]]) -> Table:
    """What each column number stands for: the step, its due date, its summary and who
    gave no answer by which day."""
    key = Table(box=None, pad_edge=False, show_header=False, padding=(0, 1, 0, 0))
    key.add_column(no_wrap=True)
    key.add_column(overflow="fold")
    for number, view in enumerate(tracked, 1):
        dues = sorted({t.due for t in view.tracks.values() if t.due})
        due = (_("due {day}").format(day=dues[0].isoformat()) if len(dues) == 1
               else _("due {first} to {last}").format(first=dues[0].isoformat(), last=dues[-1].isoformat())
               if dues else "")
        text = Text(view.id, style="bold")
        text.append(f" ({view.state})" + (f", {due}" if due else "") + f": {view.summary}")
        silent: dict = {}
        for p, answer in answered.get(view.id, {}).items():
            if answer.no_answer_by:
                silent.setdefault(answer.no_answer_by, []).append(p)
        for day, who in sorted(silent.items()):
            text.append("; " + _("no answer by {day}: {participants}").format(day=day.isoformat(),
                                                                              participants=", ".join(who)))
        key.add_row(Text(str(number)), text)
    return key


def _legend(states: list[str], short: dict[str, str]) -> Text:
    marks = [f"{short[s]} {s}" for s in states]
    marks += [_("{mark} overdue").format(mark=OVERDUE),
              _("{mark} reminded (dates: rcmflow status INSTANCE)").format(mark=REMINDED),
              _("{mark} answered late, after its deadline").format(mark=LATE),
              _("{mark} not asked").format(mark=NONE),
              _("--wide: every state and date in full")]
    return Text(_("Legend: ") + " · ".join(marks) + "\n")
