"""What the mailroom adds under `rcmflow status`: replies awaiting confirmation,
out-of-office answers, failing addresses and held messages."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rcmflow.output import terminal_text

if TYPE_CHECKING:
    from rcmflow import Engine


def notes(engine: "Engine") -> list[str]:
    lines = []
    today = engine.now().date()
    rows = engine.mail.messages()
    for row in rows:
        where = f"{row['participant']} on {row['instance_id']}"
        if row["status"] == "proposed":
            lines.append(f"{where}: reply received, awaiting confirmation (rcmflow mail show {row['id']})")
        elif row["kind"] == "auto_reply" and row["participant"]:
            until = (row["data"] or {}).get("until")
            if until is None or dt.date.fromisoformat(until) >= today:
                lines.append(f"{where}: out of office{' until ' + until if until else ''} "
                             f"({row['sender']}, mail {row['id']})")
    for address, info in engine.mail.failing().items():
        person = engine.members.person(address)
        who = f" ({person.country or person.id})" if person else ""
        lines.append(f"{address}{who}: failing, it bounced (mail {info['mail']}); reminders go to the other "
                     f"focal points and the secretariat")
    held = sum(row["status"] == "held" for row in rows)
    if held:
        lines.append(f"{held} messages held for the secretariat: rcmflow mail inbox --status held")
    return [terminal_text(line) for line in lines]
