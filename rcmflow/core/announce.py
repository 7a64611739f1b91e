"""Telling `on_event` listeners about the events a command committed: each gets the
event and its instance as they are now; a listener that fails cannot undo the step,
so its failure becomes a warning of the command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rcmflow.core import views
from rcmflow.core.unit_of_work import Outcome
from rcmflow.log import get_logger
from rcmflow.store.models import Event, Instance

if TYPE_CHECKING:
    from rcmflow.core.engine import Engine


def announce(engine: "Engine", seqs: list[int], outcome: Outcome) -> None:
    hook = engine.plugins.hook.on_event
    if not hook.get_hookimpls():
        return
    rt = engine.rt
    with engine.db.reading() as session:
        for seq in seqs:
            event = session.get(Event, seq)
            row = session.get(Instance, event.instance_id)
            view = views.instance_view(row, rt.shown_definition(row.workflow, row.definition_hash), rt.today())
            try:
                hook(event=views.event_view(event), instance=view, engine=engine)
            except Exception as exc:  # the transition is committed; a listener cannot undo it
                get_logger().exception("an on_event plugin failed", event_seq=seq)
                outcome.failures.append(f"an on_event plugin failed: {type(exc).__name__}: {exc}".splitlines()[0])
