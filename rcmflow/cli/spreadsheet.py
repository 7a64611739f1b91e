"""`rcmflow status --csv`: one line per track, for a spreadsheet or a script."""

from __future__ import annotations

import csv
import sys
from typing import TYPE_CHECKING

from rcmflow.cli.render import reminders_of

if TYPE_CHECKING:
    from rcmflow.context import InstanceView
    from rcmflow.core.engine import Engine
    from rcmflow.core.views import Answer


def write_csv(engine: "Engine", views: list["InstanceView"]) -> None:
    """`rcmflow status --csv`: one line per track on standard output."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    # the headings are keys for spreadsheets and scripts: the same in every language
    writer.writerow(["instance", "workflow", "instance_state", "participant", "name", "state", "due", "overdue",
                     "last_reminded", "reminders", "no_answer_by", "late"])
    for view in views:
        reminded = reminders_of(engine, view.id) if view.tracks else {}
        answered = engine.answers(view) if view.tracks else {}
        for participant, track in view.tracks.items():
            country = engine.members.countries.get(participant)
            days = reminded.get(participant, [])
            writer.writerow([view.id, view.workflow, view.state, participant, country.name() if country else "",
                             track.state, track.due.isoformat() if track.due else "", str(track.overdue).lower(),
                             days[-1].isoformat() if days else "", len(days), *csv_answer(answered.get(participant))])


def csv_answer(answer: "Answer | None") -> list[str]:
    """The `no_answer_by` and `late` columns: a due day, or empty."""
    return [answer.no_answer_by.isoformat() if answer and answer.no_answer_by else "",
            answer.late.isoformat() if answer and answer.late else ""]
