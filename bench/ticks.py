"""The first `tick` that sends reminders: open consultations of the roadmap's own
thematic-consultation (e-mails written to outbox/ as .eml, no SMTP), ticked 7 days
before their deadline, when every track is due its first reminder. A tick that scales
costs the same per reminder at 110 reminders (10 consultations) as at many more."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from sample import Figure

from rcmflow.core.engine import Engine

DEADLINE = dt.date(2030, 6, 12)  # a Wednesday, far from Holy Week and the members' holidays
OPENED = dt.datetime(2030, 5, 2, 9, tzinfo=dt.timezone.utc)
TICK = dt.datetime(2030, 6, 5, 9, tzinfo=dt.timezone.utc)  # 7 days before, a working day: one reminder per track


def first_tick(home: Path, tmp: Path, consultations: int) -> tuple[float, int]:
    """Seconds per reminder of the first tick over `consultations` open consultations."""
    now = [OPENED]
    engine = Engine(home, f"sqlite:///{tmp / f'tick-{consultations}.db'}", "ts-officer", entry_points=False,
                    clock=lambda: now[0])
    try:
        engine.init()
        for n in range(consultations):
            instance_id = f"tick-{consultations}-{n}"
            engine.start("thematic-consultation", instance_id, {"theme": str(n % 6 + 1), "deadline": DEADLINE.isoformat()})
            engine.fire(instance_id, "open")  # asks every member: 11 e-mails, written now
        now[0] = TICK
        began = time.perf_counter()
        report = engine.tick(TICK)
        spent = time.perf_counter() - began
    finally:
        engine.close()
    sent = len(report.reminded)
    assert sent == consultations * 11, f"the first tick sent {sent} reminders, not {consultations * 11}"
    return spent / sent, sent


def tick_figures(home: Path, tmp: Path, quick: bool) -> list[Figure]:
    many = 20 if quick else 1000
    small, _ = first_tick(home, tmp, 10)
    large, sent = first_tick(home, tmp, many)
    return [Figure(f"first tick, per reminder: {sent:,} reminders ({many:,} consultations) vs 110 (one sample each)",
                   [large], [small], "ms", 1.5)]
