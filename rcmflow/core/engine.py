"""The engine: the Python API behind the CLI (start, fire, triggers, status, history and
its verification, tick).

A façade: each method states what it does in a few lines and hands the work to the
part that owns it: `unit_of_work` (the one write transaction per command, retried
when it loses a race), `transition` (deciding and writing one step), `queries`
(reading), `timers` (what `tick` does) and `outbox` (actions after the commit).
"""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from rcmflow.config import Config, load_config
from rcmflow.context import SYSTEM_ACTOR, ActionContext, Attachment, ChainHead, EventView, HistoryCheck, InstanceView
from rcmflow.core import deadlines, joint, opening, policy, transition, versions, views
from rcmflow.core.announce import announce
from rcmflow.core.files import read_attachment
from rcmflow.core.ledger import Ledger
from rcmflow.core.mailroom import Mailroom
from rcmflow.core.outbox import Dispatcher
from rcmflow.core.queries import Queries, TriggerOption, select_tracks
from rcmflow.core.runtime import Runtime, utc_now
from rcmflow.core.timers import TickReport, Timers, reminder_occurrence
from rcmflow.core.transition import FireResult, Move
from rcmflow.core.unit_of_work import Outcome, UnitOfWork
from rcmflow.errors import DatabaseError, DefinitionError, Forbidden, NotFound
from rcmflow.language import _
from rcmflow.log import get_logger
from rcmflow.model.catalog import Catalog
from rcmflow.model.definition import Definition
from rcmflow.model.values import supported
from rcmflow.model.members import Members, load_members
from rcmflow.plugins import Plugins, load_plugins
from rcmflow.store.database import Database
from rcmflow.store.models import Event, Instance
from rcmflow.store.records import stored_definition

__all__ = ["Engine", "FireResult", "TickReport", "TriggerOption", "instance_json", "is_overdue",
           "reminder_occurrence", "select_tracks"]

instance_json = views.instance_json
is_overdue = views.is_overdue
#: set while the engine runs a queued action after its commit: only then may an event
#: be recorded under SYSTEM_ACTOR through `record`
_RUNNING_ACTION: ContextVar[bool] = ContextVar("rcmflow_running_action", default=False)


class Engine:
    """rcmflow's API. One Engine serves one home and one database; it keeps no state
    between commands other than caches of what the files say."""

    def __init__(self, home: str | Path | None = None, db: str | None = None, actor: str | None = None, *,
                 config: Config | None = None, plugins: Plugins | None = None,
                 entry_points: bool | None = None, clock: Callable[[], dt.datetime] | None = None,
                 replay: bool = False):
        config = config or load_config(home, db, actor)
        plugins = plugins or load_plugins(config.home, entry_points)
        members, problems = load_members(config.home)
        if problems:
            raise DefinitionError(list(problems))
        self.db = Database(config.db_url)
        self._wire(Runtime(config, plugins, members, clock or utc_now, replay, stored=self._stored_definition))

    def _stored_definition(self, digest: str) -> dict[str, Any] | None:
        with self.db.reading() as session, session.begin():
            return stored_definition(session.connection(), digest)

    def _wire(self, rt: Runtime) -> None:
        self.rt = rt
        self.dispatcher = Dispatcher(self.db, rt.now, self._perform)
        self.uow = UnitOfWork(self.db, self._after_commit, lambda line: self.on_warning(line))
        self.queries = Queries(rt, self.db)
        self.timers = Timers(rt, self.db, self.uow, self.queries, self.dispatcher, self.action_context)
        #: the messages read from the mailbox (the mail plugin's store)
        self.mail = Mailroom(self)

    #: called with one line when a step committed but what came after it failed (an
    #: action, a listener); the CLI prints it as a warning. Default: the log.
    on_warning: Callable[[str], None] = staticmethod(lambda line: get_logger().warning(line))

    def acting_as(self, actor: str) -> "Engine":
        """The same engine (plugins, definitions, database) for another actor."""
        return self._on(self.rt.acting_as(actor))

    def at(self, moment: dt.datetime) -> "Engine":
        """The same engine with its clock stopped at `moment`: every part of a command
        (guards, templates, views, the history) then sees that one time."""
        return self._on(self.rt.at(supported(moment)))

    def replaying(self) -> "Engine":
        """The same engine for a command that replays past dates (`--replay`): it may
        start or open a step after its deadline, refused otherwise (`core.opening`)."""
        return self._on(self.rt.replaying())

    def _on(self, rt: Runtime) -> "Engine":
        other = object.__new__(Engine)
        other.db, other.on_warning = self.db, self.on_warning
        other._wire(rt)
        return other

    def passed_deadlines(self, workflow: str, params: dict[str, Any]) -> list[opening.Deadline]:
        """The deadlines of a step of `workflow` started with `params` that have passed."""
        definition = self.definition(workflow)
        return opening.planned(self.rt, definition, definition.parse_params(params), self.now())

    # --- what the files say ------------------------------------------------------------------

    config: Config = property(lambda self: self.rt.config)
    plugins: Plugins = property(lambda self: self.rt.plugins)
    members: Members = property(lambda self: self.rt.members)
    actor: str = property(lambda self: self.rt.actor)
    home: Path = property(lambda self: self.rt.config.home)
    catalog: Catalog = property(lambda self: self.rt.catalog)
    replay: bool = property(lambda self: self.rt.replay)

    @property
    def clock(self) -> Callable[[], dt.datetime]:
        return self.rt.clock

    def definition(self, workflow: str) -> Definition:
        """The definition its file in workflows/ makes now."""
        return self.rt.definition(workflow)

    def definition_of(self, view: InstanceView) -> Definition:
        """The definition an instance runs on: the one it started (or was migrated) on,
        which is the file's unless the file changed since."""
        return self.rt.definition_of(view.workflow, view.definition_hash)

    def now(self) -> dt.datetime:
        return self.rt.now()

    def local(self, moment: dt.datetime) -> dt.datetime:
        return self.rt.local(moment)

    def require_person(self, what: str = "this command") -> None:
        """Refuse (Forbidden, exit 4) unless the actor is a person of members.yaml:
        every change an actor makes needs one; reading does not."""
        policy.require_person(self.members, self.actor, what)

    def init(self) -> str:
        """Create the schema or upgrade it; returns the database URL shown to users."""
        from rcmflow.store.migrations import upgrade

        try:
            upgrade(self.db)
        except OperationalError as exc:
            raise DatabaseError(_("cannot open the database {url}: {error}").format(
                url=self.db.display_url, error=str(exc.orig).splitlines()[0])) from None
        if not self.catalog.problems:
            self.uow.run(lambda conn: Outcome(versions.pin_all(self.rt, conn, self.now())), self.actor, trigger="init")
        return self.db.display_url

    def close(self) -> None:
        self.db.dispose()

    # --- writing: each one unit of work ------------------------------------------------------

    def start(self, workflow: str, instance_id: str | None = None,
              params: dict[str, Any] | None = None) -> InstanceView:
        """Start a new instance of `workflow` and return it. `params` may be strings."""
        definition = self.definition(workflow)
        self.require_person(f"start {workflow}")
        values = definition.parse_params(params or {})
        wanted = transition.start_id(definition, instance_id, values)

        def work(conn: Connection) -> Outcome:
            now = self.now()
            opening.refuse_start(self.rt, definition, values, now)
            return transition.start(self.rt, conn, definition, wanted, values, now, self.action_context)

        outcome = self.uow.run(work, self.actor, retry_duplicate=True, workflow=workflow, trigger="start")
        get_logger().info("instance started", instance=outcome.result.id, workflow=workflow)
        return outcome.result

    def fire(self, instance_id: str, trigger: str, participant: str | None = None, note: str | None = None,
             values: dict[str, Any] | None = None, attachments: list[str | Path] = ()) -> FireResult:
        """Fire `trigger` on the instance, or on `participant`'s track. One transaction."""
        files = [read_attachment(Path(p)) for p in attachments]
        values = dict(values or {})
        joint.refuse_given(values)
        self.catalog  # noqa: B018 - read the definitions before the write transaction opens

        def work(conn: Connection) -> Outcome:
            row = transition.load(conn, instance_id, for_update=True)
            # the time once the row is ours: after whatever the writer before us recorded
            move = Move(trigger, participant, self.actor, note, values, files, self.now())
            source, outcome = row.state, transition.fire(self.rt, conn, row, move, self.action_context)
            if participant is None:  # decided, not committed: a step opened too late is undone
                opening.refuse_opening(self.rt, self.rt.definition_of(row.workflow, row.definition_hash), row.id,
                                       trigger, source, row.state, {"params": row.params, "data": row.data}, move.now)
            return outcome

        outcome = self.uow.run(work, self.actor, instance=instance_id, trigger=trigger, participant=participant)
        return replace(outcome.result, failures=tuple(outcome.failures))

    def fire_tracks(self, instance_id: str, trigger: str, participants: list[str] | None = None,
                    all_in: str | None = None, note: str | None = None, values: dict[str, Any] | None = None,
                    attachments: list[str | Path] = (), together: bool = False) -> list[FireResult]:
        """Fire `trigger` on several tracks of one instance (the `participants`, every
        track in state `all_in`, or, `together`, every member of its group as their joint
        input) in one transaction: one event each, all or nothing."""
        files = [read_attachment(Path(p)) for p in attachments]
        joint.refuse_given(dict(values or {}))
        self.catalog  # noqa: B018

        def work(conn: Connection) -> Outcome:
            row = transition.load(conn, instance_id, for_update=True)
            move = Move(trigger, None, self.actor, note, dict(values or {}), files, self.now())
            if together:
                return joint.fire(self.rt, conn, row, move, self.action_context)
            return transition.fire_tracks(self.rt, conn, row, move, participants, all_in, self.action_context)

        outcome = self.uow.run(work, self.actor, instance=instance_id, trigger=trigger)
        failures = tuple(outcome.failures)
        return [replace(r, failures=failures) for r in outcome.result]

    def extend(self, instance_id: str, to: dt.date, participants: list[str] | None = None,
               note: str | None = None, deadline: str | None = None) -> list[int]:
        """Move the deadline (named `deadline`, else the first) of `participants` (or of every
        track, and the step's timeout) to `to`: one transaction, one event per track, a
        notice to each; the events' seqs."""
        self.require_person(f"extend {instance_id}")
        self.catalog  # noqa: B018

        def work(conn: Connection) -> Outcome:
            row = transition.load(conn, instance_id, for_update=True)
            return deadlines.extend(self.rt, conn, row, list(participants or []), to, note, self.actor, self.now(),
                                    deadline)

        return self.uow.run(work, self.actor, instance=instance_id, trigger="extend").result

    def migrate(self, instance_ids: list[str], mapping: dict[str, str] | None = None,
                dry_run: bool = False) -> list[versions.Migration]:
        """Move instances to the current file's definition, one transaction each (the
        first that cannot be mapped stops the command; those before it are migrated)."""
        self.require_person("migrate")
        self.catalog  # noqa: B018 - read the definitions before the write transaction opens
        done = []
        for instance_id in instance_ids:
            def work(conn: Connection, instance_id: str = instance_id) -> Outcome:
                row = transition.load(conn, instance_id, for_update=True)
                return versions.migrate(self.rt, conn, row, mapping or {}, self.actor, self.now(), dry_run)

            done.append(self.uow.run(work, self.actor, instance=instance_id, trigger="migrate").result)
        return done

    def drift(self) -> list[versions.Drift]:
        """Running instances on another text of their workflow than the file's, and what
        a migration would strand."""
        with self.db.reading() as session, session.begin():
            return versions.drift(self.rt, session.connection())

    def record(self, instance_id: str, kind: str, note: str | None = None, data: dict[str, Any] | None = None,
               participant: str | None = None, actor: str | None = None) -> EventView:
        """Add an event that changes no state (a document built, a reminder sent) to the
        history, so that it shows who did what and when. It leaves the version alone:
        recording never makes a concurrent transition lose its race.

        `actor` defaults to the engine's; SYSTEM_ACTOR is for what an action does
        after the commit (`ActionContext.record`), and refused anywhere else."""
        who = actor or self.actor
        if who == SYSTEM_ACTOR and not _RUNNING_ACTION.get():
            raise Forbidden(_("{instance}: only rcmflow itself records events as {system} "
                              "(timeouts, reminders, what actions do after a commit)").format(
                instance=instance_id, system=repr(SYSTEM_ACTOR)))
        if who != SYSTEM_ACTOR:
            policy.require_person(self.members, who, f"{kind} on {instance_id}")

        def work(conn: Connection) -> Outcome:
            row = transition.load(conn, instance_id, for_update=True)  # its chain is ours, then the time
            if participant is not None and row.track(participant) is None:
                raise NotFound(_("{participant} has no track in {instance}").format(
                    participant=repr(participant), instance=row.id))
            now = self.now()
            event = transition.record(conn, row, now, who, trigger=kind, source=row.state,
                                      dest=row.state, participant=participant, note=note, data=data or {})
            return Outcome(event, [event.seq], [], now)

        return self.uow.run(work, self.actor, instance=instance_id, trigger=kind).result

    def tick(self, now: dt.datetime | None = None) -> TickReport:
        """Fire due timeouts, send due reminders and run due actions. Safe to run as often
        as cron likes: each timeout fires once, each action runs until it has succeeded."""
        if now is not None:
            return self.at(now).tick()
        self.catalog  # noqa: B018 - read the definitions before any write transaction opens
        self.plugins.hook.on_tick(engine=self, now=self.now())  # e.g. mail read before the timeouts fall
        return self.timers.tick(self.now())

    # --- reading -----------------------------------------------------------------------------

    def get(self, instance_id: str) -> InstanceView:
        return self.queries.get(instance_id)

    def triggers(self, instance_id: str, participant: str | None = None,
                 check_roles: bool = True) -> list[TriggerOption]:
        """The triggers of the current state, each allowed or blocked, with the reason.
        With `check_roles=False`: what the process itself waits for, whoever fires it."""
        return self.queries.triggers(instance_id, participant, check_roles)

    def status(self, instance_id: str | None = None, workflow: str | None = None) -> list[InstanceView]:
        """Every instance (or one, or those of one workflow) with its tracks, due dates
        and overdue marks (the tracks' data is left out), in the order they were started."""
        return self.queries.status(instance_id, workflow)

    def status_json(self, instance_id: str | None = None) -> str:
        """`status --json` as text: {"instances": [{"id", "workflow", "state", "version",
        "tracks": {"MX": {"state", "due", "overdue", "reminded"}, …}}]}."""
        return "".join(self.queries.status_json(instance_id))

    def stream_status_json(self, instance_id: str | None = None) -> Iterator[str]:
        """`status_json` in pieces, made as the database is read (constant memory)."""
        return self.queries.status_json(instance_id)

    def history(self, instance_id: str) -> list[EventView]:
        return self.queries.history(instance_id)

    def verify_history(self, instance: str | None = None, head: str | ChainHead | None = None) -> HistoryCheck:
        """Check the history's hash chain: every event against its hash and the one before
        it; with `head` (a `ChainHead` or "SEQ:HASH" from `history_head`, recorded earlier),
        that nothing up to it was removed or rewritten. With `instance`, only what concerns
        that instance is reported (and every deletion). Never raises for a broken chain:
        see `HistoryCheck.ok` and `.problems`."""
        return self.queries.verify_history(instance, head)

    def history_head(self) -> ChainHead:
        """The last event of the history's hash chain (seq 0 when there is none yet)."""
        return self.queries.history_head()

    def attachments(self, instance_id: str, participant: str | None = None) -> list[Attachment]:
        """The files attached to an instance (one participant's, if given), oldest first."""
        return self.queries.attachments(instance_id, participant)

    def undelivered(self, instance_id: str | None = None) -> list[dict]:
        """Whom the actions not yet done (e-mails) have not reached, and why: one dict per
        person with outbox_id, status, template, address, participant, reason, permanent."""
        return self.dispatcher.undelivered(instance_id)

    def namespace(self) -> str:
        """This database's own random name, made when `rcmflow init` created or upgraded
        it: what keeps its exports (calendar UIDs) apart from another database's."""
        from rcmflow.store.models import Property

        with self.db.reading() as session, session.begin():
            return session.get(Property, "namespace").value

    def answers(self, view: InstanceView) -> dict[str, views.Answer]:
        """The tracks that gave no answer by their deadline or answered after it."""
        past = any(t.due and t.due < self.rt.today() for t in view.tracks.values())  # else none is late
        return views.answers(self.rt.shown_definition(view.workflow, view.definition_hash), view,
                             self.history(view.id) if past else [])

    def waiting_for(self, view: InstanceView) -> str:
        """In words, what the next step of an open instance waits for (from its guards)."""
        return self.queries.waiting_for(view)

    def is_final(self, view: InstanceView) -> bool:
        """Whether the instance has reached a final state of its workflow."""
        return self.queries.is_final(view)

    # --- actions -----------------------------------------------------------------------------

    def action_context(self, view: InstanceView, event: EventView, definition: Definition,
                       key: str, action: str | None = None) -> ActionContext:
        """The context of one action; with `action` (its name), for after the commit, with its ledger."""
        return ActionContext(
            instance=view, event=event, definition=definition, members=self.members, config=self.config,
            home=self.home, now=self.now(), idempotency_key=key, data=dict(view.data),
            log=get_logger(instance=view.id, action_key=key), engine=self,
            action=action, ledger=Ledger(self.db, action, self.now) if action else None,
        )

    def _perform(self, item: Any) -> None:
        """Run one outbox row's action with its instance and event as they are now."""
        with self.db.reading() as session, session.begin():
            row = session.get(Instance, item.instance_id)
            event = session.get(Event, item.event_seq)
            definition = self.rt.definition_of(row.workflow, row.definition_hash)
            view = views.instance_view(row, definition, self.rt.today())
        ctx = self.action_context(view, views.event_view(event), definition, f"outbox-{item.id}", item.action)
        token = _RUNNING_ACTION.set(True)
        try:
            self.plugins.registry.actions[item.action].function(ctx, item.args)
        finally:
            _RUNNING_ACTION.reset(token)

    def _after_commit(self, outcome: Outcome) -> None:
        if outcome.outbox:
            outcome.actions_done, outcome.actions_failed = self.dispatcher.run(outcome.outbox, outcome.now,
                                                                               outcome.failures)
        if outcome.events:
            announce(self, outcome.events, outcome)
