"""The one place a write transaction opens.

`UnitOfWork.run(work)` runs `work(conn)` in one transaction (state, event and queued
actions together, or nothing). A write that lost a race (the instance's version moved
under it) is retried from the start, guards included, so the loser either succeeds on
the new state or gets a clear error. After the commit it runs the follow-up work:
the queued actions, then the `on_event` listeners.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from rcmflow.errors import Conflict, DatabaseError
from rcmflow.language import _
from rcmflow.log import bound, get_logger
from rcmflow.store.database import Database
from rcmflow.store.records import LostRace

#: how often a command that keeps losing races is tried before the user hears of it
WRITE_ATTEMPTS = 8


@dataclass
class Outcome:
    """What one write transaction did, for the work that follows its commit."""

    result: Any
    events: list[int] = field(default_factory=list)
    outbox: list[int] = field(default_factory=list)
    #: the time the transaction acted at (`tick --now` may differ from the clock)
    now: dt.datetime | None = None
    #: how the queued actions went when they were run right after the commit
    actions_done: int = 0
    actions_failed: int = 0
    #: what failed after the commit (an action, a listener, a file), one line each
    failures: list[str] = field(default_factory=list)


class UnitOfWork:
    def __init__(self, db: Database, after_commit: Callable[[Outcome], None],
                 warn: Callable[[str], None] | None = None):
        self.db = db
        self.after_commit = after_commit
        #: told, in one line each, what failed after a commit: the step stands
        self.warn = warn

    def run(self, work: Callable[[Connection], Outcome], actor: str, retry_duplicate: bool = False,
            **context: Any) -> Outcome:
        """Run `work` in one write transaction, retried when it lost a race.
        `retry_duplicate`: a duplicate key (a concurrent start of the same id) is such a race."""
        log = get_logger()
        with bound(actor=actor, **context):
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                try:
                    with self.db.writing() as conn:
                        outcome = work(conn)
                    break
                except LostRace:
                    log.info("write lost a race; retrying", attempt=attempt)
                except IntegrityError as exc:
                    # A concurrent start took the same id; the next attempt sees it and
                    # says so. Anything else, or a second time, is a fault to show.
                    if attempt > 1 or not retry_duplicate:
                        raise
                    log.info("write lost a race; retrying", attempt=attempt, error=_first_line(exc))
                except OperationalError as exc:
                    raise DatabaseError(_("database error on {url}: {error}").format(
                        url=self.db.display_url, error=_first_line(exc))) from None
            else:
                raise Conflict(_("{instance} kept changing while this command ran ({attempts} attempts); "
                                 "try again").format(instance=context.get("instance", _("the instance")),
                                                     attempts=WRITE_ATTEMPTS))
            self._follow_up(outcome, context)
        return outcome

    def _follow_up(self, outcome: Outcome, context: dict[str, Any]) -> None:
        """The work after the commit. It cannot undo the step, so a failure there is
        reported as a warning that says the step was taken, never as the step's error."""
        try:
            self.after_commit(outcome)
        except Exception as exc:  # noqa: BLE001 - the step is committed whatever failed after it
            outcome.failures.append(f"{type(exc).__name__}: {_first_line(exc)}")
            get_logger().debug("failed after the commit", exc_info=True)
        if not outcome.failures:
            return
        what = " ".join(str(context[k]) for k in ("trigger", "workflow", "instance", "participant") if context.get(k))
        event = f" (event {outcome.events[0]})" if outcome.events else ""
        for failure in outcome.failures:
            line = f"{what}: the step was taken{event}; after it, {failure}"
            self.warn(line) if self.warn else get_logger().warning(line)


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).splitlines()[0]
