"""What the mailroom adds under `rcmflow status` and on the page, for the instances
shown: replies awaiting confirmation, out-of-office answers, failing addresses and
held messages."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rcmflow.output import terminal_text

if TYPE_CHECKING:
    from rcmflow import Engine
    from rcmflow.context import InstanceView


def notes(engine: "Engine", instances: list["InstanceView"]) -> list[str]:
    shown = {view.id: set(view.tracks) for view in instances}
    on_track = lambda row: row["participant"] in shown.get(row["instance_id"], ())  # noqa: E731
    lines = [f"{row['participant']} on {row['instance_id']}: reply received, awaiting confirmation "
             f"(rcmflow mail show {row['id']})" for row in engine.mail.messages("proposed") if on_track(row)]
    today = engine.now().date()
    for row in engine.mail.messages("noted"):
        until = (row["data"] or {}).get("until")
        if row["kind"] == "auto_reply" and on_track(row) and (until is None or dt.date.fromisoformat(until) >= today):
            lines.append(f"{row['participant']} on {row['instance_id']}: out of office"
                         f"{' until ' + until if until else ''} ({row['sender']}, mail {row['id']})")
    countries = set().union(*shown.values()) if shown else set()
    for address, info in engine.mail.failing().items():
        person = engine.members.person(address)
        if person is None or person.country in countries:
            who = f" ({person.country or person.id})" if person else ""
            lines.append(f"{address}{who}: failing, it bounced (mail {info['mail']}); reminders go to the other "
                         f"focal points and the secretariat")
    held = len(engine.mail.messages("held"))
    if held:
        lines.append(f"{held} message{'s' if held > 1 else ''} held for the secretariat: "
                     f"rcmflow mail inbox --status held")
    return [terminal_text(line) for line in lines]
