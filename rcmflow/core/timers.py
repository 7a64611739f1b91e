"""What time does by itself, run by `tick`: timeouts that fall and reminders that are
due. Each timeout fires once and each reminder is sent once, however often cron runs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Iterator

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from rcmflow.context import SYSTEM_ACTOR, InstanceView
from rcmflow.core import transition
from rcmflow.core.deadlines import dates
from rcmflow.core.outbox import Dispatcher
from rcmflow.core.queries import Queries
from rcmflow.core.runtime import Runtime
from rcmflow.core.transition import Contexts, FireResult, Move
from rcmflow.core.unit_of_work import Outcome, UnitOfWork
from rcmflow.errors import Blocked, DatabaseError, RcmflowError
from rcmflow.model.definition import Deadline, Reminder, TrackDef
from rcmflow.store.database import Database
from rcmflow.store.models import Instance
from rcmflow.store.records import load_instance, record_reminder, reminder_keys, workflow_reminder_keys


@dataclass
class TickReport:
    now: dt.datetime
    fired: list[FireResult] = field(default_factory=list)
    #: timeouts that are due but whose guards still refuse: (instance, why)
    waiting: list[tuple[str, str]] = field(default_factory=list)
    #: reminders sent: (instance, participant, which reminder)
    reminded: list[tuple[str, str, str]] = field(default_factory=list)
    actions_done: int = 0
    actions_failed: int = 0
    #: instances tick could not handle, (instance, why): the others were still ticked
    problems: list[tuple[str, str]] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        self.actions_done += outcome.actions_done
        self.actions_failed += outcome.actions_failed

    def as_json(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "reminded": [{"id": i, "participant": p, "reminder": r} for i, p, r in self.reminded],
            "fired": [{"id": f.id, "trigger": f.trigger, "source": f.source, "dest": f.dest,
                       "event_seq": f.event_seq} for f in self.fired],
            "waiting": [{"id": i, "reason": r} for i, r in self.waiting],
            "actions_done": self.actions_done, "actions_failed": self.actions_failed,
            "problems": [{"id": i, "reason": r} for i, r in self.problems],
        }


def problem(exc: Exception) -> str:
    """What went wrong with one instance, in one line: a user's error as it is, anything
    else (a failing plugin) with its type."""
    if isinstance(exc, (DatabaseError, OperationalError)):
        raise exc  # the database itself: every other instance would fail the same way
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text if isinstance(exc, RcmflowError) else f"{type(exc).__name__}: {text}".rstrip(": ")


def reminder_occurrence(reminder: Reminder, due: dt.date, today: dt.date,
                        working: Callable[[dt.date], bool] = lambda day: True,
                        nearer: dt.timedelta | None = None) -> str | None:
    """Which sending of `reminder` is due today, as part of its key, or None. A reminder
    `before` the deadline is due from that day until the deadline; one `every` N days
    after it, once per period (a tick that missed days sends the latest, not a burst).
    Nothing goes out on a day that is not `working` for the recipient: a reminder due
    then goes on the next working day, even when that is past the deadline."""
    if not working(today):
        return None
    if reminder.before is not None:
        # a nearer reminder (1 day before, after 7 days before) takes over when its days begin
        start, end = due - reminder.before, due - nearer - dt.timedelta(days=1) if nearer is not None else due
        if start <= today <= end or (today > due and _first_working(start, working) == today):
            return f"before-{reminder.before.days}d:{due.isoformat()}"
        return None
    if today > due:
        period = (today - due - dt.timedelta(days=1)) // reminder.every
        return f"every-{reminder.every.days}d:{due.isoformat()}:{period}"
    return None


def nearer_of(reminder: Reminder, deadline: Deadline) -> dt.timedelta | None:
    """The next `before` reminder of the same deadline closer to it than this one, if any."""
    if reminder.before is None:
        return None
    closer = [r.before for r in deadline.reminders if r.before is not None and r.before < reminder.before]
    return max(closer, default=None)


def ledger_scope(instance_id: str, participant: str, track_def: TrackDef, deadline: Deadline) -> str:
    """The start of the ledger keys of one track's reminders of one deadline. The first
    deadline's keys name no deadline, as they did when a track had only one, so that an
    upgraded home sends nothing twice; another's name it, so that two deadlines on the
    same day (or an extension of one) never take each other's reminders."""
    first = deadline.name == track_def.deadlines[0].name
    return f"{instance_id}:{participant}:" + ("" if first else f"{deadline.name}:")


def describe(reminder: Reminder, track_def: TrackDef, deadline: Deadline) -> str:
    """The reminder in words, naming its deadline when the track has several."""
    said = reminder.describe()
    return f"{said}, {deadline.name}" if len(track_def.deadlines) > 1 else said


def _first_working(day: dt.date, working: Callable[[dt.date], bool]) -> dt.date:
    for _ in range(366):
        if working(day):
            break
        day += dt.timedelta(days=1)
    return day


class Timers:
    def __init__(self, rt: Runtime, db: Database, uow: UnitOfWork, queries: Queries,
                 dispatcher: Dispatcher, contexts: Contexts):
        self.rt, self.db, self.uow, self.queries = rt, db, uow, queries
        self.dispatcher, self.contexts = dispatcher, contexts

    def tick(self, now: dt.datetime) -> TickReport:
        report = TickReport(now)
        with self.db.reading() as session, session.begin():
            due = session.scalars(select(Instance.id).where(Instance.timeout_at <= now)
                                  .order_by(Instance.timeout_at, Instance.id)).all()
        # What is due is decided at `now`; each step is recorded when it is taken (the same
        # time on a stopped clock), after what the steps before it did, actions included.
        clock = self.rt.now
        # tracks first: a step that waits for every country may close in the same tick
        for instance_id, participant, trigger in list(self.lapsed(now, report)):
            outcome = self._attempt(report, instance_id,
                                    lambda i=instance_id, p=participant, t=trigger: self.fire_lapse(i, p, t, clock()))
            if outcome is not None:
                report.fired.append(outcome.result)
        for instance_id in due:
            outcome = self._attempt(report, instance_id, lambda i=instance_id: self.fire_timeout(i, clock()))
            if outcome is not None:
                report.fired.append(outcome.result)
        for instance_id, participant, deadline, reminder, key in self.due_reminders(now):
            outcome = self._attempt(report, instance_id,
                                    lambda i=instance_id, p=participant, d=deadline, r=reminder, k=key:
                                    self.remind(i, p, d, r, k, clock()))
            if outcome is not None and outcome.result is not None:  # None: answered since we looked
                report.reminded.append((instance_id, participant, outcome.result))
        done, failed = self.dispatcher.run_due(now)
        report.actions_done += done
        report.actions_failed += failed
        return report

    @staticmethod
    def _attempt(report: TickReport, instance_id: str, work: Callable[[], Outcome]) -> Outcome | None:
        """Run one piece of a tick; what it did is counted, what stopped it is reported,
        and one instance never stops the others."""
        try:
            outcome = work()
        except Blocked as exc:  # a timeout that is due, but whose guards still refuse
            report.waiting.append((instance_id, str(exc)))
            return None
        except IntegrityError:  # another tick did this one a moment ago
            return None
        except Exception as exc:  # noqa: BLE001
            report.problems.append((instance_id, problem(exc)))
            return None
        if outcome.result is None:
            return None
        report.count(outcome)
        return outcome

    def lapsed(self, now: dt.datetime, report: TickReport | None = None) -> Iterator[tuple[str, str, str]]:
        """(instance, participant, trigger) for every track whose state's timeout has fallen:
        its deadline day is over, and the grace its definition gives has passed."""
        for view, track_def in self.open_instances(report):
            for participant, track in view.tracks.items():
                timeout = track_def.states[track.state].timeout if track.state in track_def.states else None
                if timeout is not None and timeout.after_deadline is not None and track.due is not None:
                    if now >= self.lapses_at(track.due, timeout.after_deadline):
                        yield view.id, participant, timeout.trigger

    def lapses_at(self, due: dt.date, grace: dt.timedelta) -> dt.datetime:
        """The end of the deadline day in the home's time zone, plus the grace."""
        end = dt.datetime.combine(due + dt.timedelta(days=1), dt.time(), tzinfo=self.rt.config.timezone)
        return (end + grace).astimezone(dt.timezone.utc)

    def fire_lapse(self, instance_id: str, participant: str, trigger: str, now: dt.datetime) -> Outcome:
        """A track's timeout, in one transaction, checked again under the lock."""

        def work(conn: Connection) -> Outcome:
            row = load_instance(conn, instance_id, for_update=True)
            track = row.track(participant) if row else None
            if track is None or track.due is None:
                return Outcome(None)
            states = self.rt.definition_of(row.workflow, row.definition_hash).track.states
            timeout = states[track.state].timeout if track.state in states else None
            if timeout is None or timeout.after_deadline is None or now < self.lapses_at(track.due, timeout.after_deadline):
                return Outcome(None)  # answered, or given more time, since we looked
            note = f"no answer by {track.due.isoformat()}"
            at = max(now, self.rt.now())  # the row is ours now: after what was recorded before us
            return transition.fire(self.rt, conn, row, Move(trigger, participant, SYSTEM_ACTOR, note, {}, [], at),
                                   self.contexts)

        return self.uow.run(work, self.rt.actor, instance=instance_id, trigger=trigger, participant=participant)

    def due_reminders(self, now: dt.datetime, report: TickReport | None = None
                      ) -> Iterator[tuple[str, str, str, Reminder, str]]:
        """(instance, participant, deadline, reminder, key) for every reminder due and not
        yet sent, before each deadline of the track, by the definition its instance runs on."""
        today, workdays = self.rt.today(now), self.rt.workdays
        open_ = [(v, t) for v, t in self.open_instances(report) if t.reminders]
        if not open_:
            return
        with self.db.reading() as session, session.begin():
            sent = workflow_reminder_keys(session.connection(), [v.workflow for v, _ in open_])
        for view, track_def in open_:
            for participant, track in view.tracks.items():
                working = partial(workdays.is_working, participant)
                for deadline, due in dates(track_def, view.params, view.data, participant, track.due):
                    if due is None or track.state in deadline.met:
                        continue
                    scope = ledger_scope(view.id, participant, track_def, deadline)
                    for index, reminder in enumerate(deadline.reminders):
                        occurrence = reminder_occurrence(reminder, due, today, working, nearer_of(reminder, deadline))
                        key = f"{scope}{index}:{occurrence}"
                        if occurrence and key not in sent:
                            yield view.id, participant, deadline.name, reminder, key

    def open_instances(self, report: TickReport | None) -> Iterator[tuple[InstanceView, TrackDef]]:
        """The open instances whose tracks may move now, with the track definition they
        run on; one whose definition cannot be read is a problem of the report."""
        for view in self.queries.status():
            try:
                definition = self.rt.definition_of(view.workflow, view.definition_hash)
            except RcmflowError as exc:
                if report is not None:
                    report.problems.append((view.id, problem(exc)))
                continue
            track_def, state = definition.track, definition.instance.states.get(view.state)
            if track_def is not None and state is not None and not state.final and track_def.moves_in(view.state):
                yield view, track_def

    def remind(self, instance_id: str, participant: str, name: str, reminder: Reminder, key: str,
               now: dt.datetime) -> Outcome:
        """One reminder, in one transaction: its key (so it is sent once), an event in the
        history, and its actions in the outbox. It changes no state, so no version. The
        event's data names the deadline and its day, which the message tells. When it
        escalates, the data names the further people (`escalate`), whom the notify action
        adds, and the escalation's own key makes that happen once. The outcome's result
        is the reminder in words."""

        def work(conn: Connection) -> Outcome:
            row = transition.load(conn, instance_id, for_update=True)
            definition = self.rt.definition_of(row.workflow, row.definition_hash)
            track_def, track = definition.track, row.track(participant)
            found = [(d, day) for d, day in dates(track_def, row.params, row.data, participant, track.due)
                     if d.name == name] if track is not None else []
            if not found or track.state in found[0][0].met or found[0][1] is None:
                return Outcome(None)  # answered, or the deadline gone, since we looked
            (deadline, due), = found
            at = max(now, self.rt.now())  # the row is ours now: after what was recorded before us
            scope = ledger_scope(row.id, participant, track_def, deadline)
            escalation = self.escalation(conn, row.id, scope, reminder, due, now)
            said = describe(reminder, track_def, deadline)
            note = f"reminder: {said} ({due.isoformat()})"
            data: dict[str, Any] = {"reminder": key, "deadline": deadline.name, "due": due.isoformat()}
            if escalation:
                note += f", escalated to {', '.join(reminder.escalate.to)}"
                data["escalate"] = list(reminder.escalate.to)
            event = transition.record(conn, row, at, SYSTEM_ACTOR, trigger="remind", source=track.state,
                                      dest=track.state, participant=participant, note=note, data=data)
            for sent in filter(None, (key, escalation)):
                record_reminder(conn, sent, row.id, participant, event.seq, at)
            view = transition.view_of(self.rt, row, definition, at)
            outbox = transition.enqueue(conn, row, event, list(reminder.actions), view)
            return Outcome(said, [event.seq], outbox, at)

        return self.uow.run(work, self.rt.actor, instance=instance_id, trigger="remind", participant=participant)

    def escalation(self, conn: Connection, instance_id: str, scope: str, reminder: Reminder, due: dt.date,
                   now: dt.datetime) -> str | None:
        """The key of the escalation this reminder carries, or None: it has none, it is
        not due yet, or it went out already (for this deadline and day). `scope` is the
        start of the keys of this track's reminders of this deadline."""
        if reminder.escalate is None:
            return None
        deadline, escalated = f":{due.isoformat()}", f"{scope}escalate:{due.isoformat()}"
        sent = reminder_keys(conn, instance_id)
        if escalated in sent:
            return None
        # this deadline's own reminders: right after the scope comes the reminder's number
        reminders = sum(1 for k in sent if k.startswith(scope) and k[len(scope):][:1].isdigit() and deadline in k)
        overdue = dt.timedelta(days=(self.rt.today(now) - due).days)
        return escalated if reminder.escalate.due(reminders, overdue) else None

    def fire_timeout(self, instance_id: str, now: dt.datetime) -> Outcome:
        def work(conn: Connection) -> Outcome:
            row = load_instance(conn, instance_id, for_update=True)
            # Someone (another tick, a user) may have moved it since we looked.
            if row is None or row.timeout_at is None or row.timeout_at > now:
                return Outcome(None)
            timeout = self.rt.definition_of(row.workflow, row.definition_hash).instance.states[row.state].timeout
            move = Move(timeout.trigger, None, SYSTEM_ACTOR, "timeout", {}, [], max(now, self.rt.now()))
            return transition.fire(self.rt, conn, row, move, self.contexts)

        return self.uow.run(work, self.rt.actor, instance=instance_id, trigger="timeout")
