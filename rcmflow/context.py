"""What guards, actions and plugins see of an instance: read-only snapshots."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

from rcmflow.language import _

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import Connection

    from rcmflow.config import Config
    from rcmflow.model.definition import Definition
    from rcmflow.model.members import Members


#: who acts when rcmflow acts by itself (timeouts, reminders, built documents)
SYSTEM_ACTOR = "rcmflow"
#: what an instance id may be: it names folders (out/<id>/) and appears in URLs
INSTANCE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class TrackView:
    participant: str
    state: str
    due: dt.date | None = None
    overdue: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    #: the (UTC) day the participant was last reminded of its deadline
    reminded: dt.date | None = None


@dataclass(frozen=True)
class InstanceView:
    id: str
    workflow: str
    state: str
    version: int
    params: dict[str, Any]
    data: dict[str, Any]
    tracks: dict[str, TrackView]
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    timeout_at: dt.datetime | None = None
    #: the digest of the definition the instance runs on (see `Definition.label`)
    definition_hash: str | None = None

    @property
    def summary(self) -> str:
        """The tracks in words, e.g. "8/11 submitted, 3/11 requested (2 overdue)"."""
        if not self.tracks:
            return ""
        counts = Counter(t.state for t in self.tracks.values())
        parts = [f"{n}/{len(self.tracks)} {state}" for state, n in counts.most_common()]
        overdue = sum(t.overdue for t in self.tracks.values())
        late = _("({count} overdue)").format(count=overdue) if overdue else ""
        return ", ".join(parts) + (f" {late}" if late else "")


@dataclass(frozen=True)
class EventView:
    seq: int
    at: dt.datetime
    actor: str
    instance_id: str
    trigger: str
    source: str | None
    dest: str
    participant: str | None
    note: str | None
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "at": self.at.isoformat(), "actor": self.actor,
            "trigger": self.trigger, "source": self.source, "dest": self.dest,
            "participant": self.participant, "note": self.note,
            # what came with it: values given, attachments, data set, files built with their SHA-256
            "data": self.data,
        }


@dataclass(frozen=True)
class Attachment:
    """A file attached to an instance with `fire --attach` (or by a plugin)."""

    filename: str
    size: int
    sha256: str
    content: bytes = field(repr=False)
    participant: str | None
    event_seq: int
    #: when the event that brought it happened
    at: dt.datetime | None = None


@dataclass(frozen=True)
class ChainHead:
    """The last event of the history's hash chain, as `rcmflow history head` prints it
    (`SEQ:HASH`): recorded outside the database, it lets `verify` prove later that
    nothing up to it was removed or rewritten."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}


@dataclass(frozen=True)
class ChainProblem:
    """One place where the history does not prove itself."""

    #: edited, deleted, reordered, inserted, truncated or rewritten
    kind: str
    #: the event named (for a deletion, the one after the gap; None: the recorded head is gone)
    seq: int | None
    #: one line, naming the event
    message: str
    #: the instances it concerns; empty when it may be any (a deleted event's is unknown)
    instances: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "seq": self.seq, "instances": list(self.instances), "message": self.message}


@dataclass(frozen=True)
class HistoryCheck:
    """What `Engine.verify_history` found: `ok`, or the problems, first event first."""

    #: events checked: all, or those of `instance_id`
    checked: int
    #: events in the chain
    total: int
    head: ChainHead
    instance_id: str | None = None
    #: the head recorded earlier that was checked against, if one was given
    recorded: ChainHead | None = None
    problems: tuple[ChainProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        what = (_("{checked} events of {instance} ({total} in the chain)").format(
            checked=self.checked, instance=self.instance_id, total=self.total) if self.instance_id
            else _("{total} events").format(total=self.total))
        recorded = "; " + _("it holds the recorded head {seq}").format(seq=self.recorded.seq) if self.recorded else ""
        if self.ok:
            return _("verified {what}, head {head}").format(what=what, head=self.head) + recorded
        first = self.problems[0].message
        more = " " + _("(and {more} more)").format(more=len(self.problems) - 1) if len(self.problems) > 1 else ""
        return _("the history does not verify: {first}").format(first=first) + more

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "total": self.total, "instance": self.instance_id,
                "head": self.head.as_json(), "recorded": self.recorded.as_json() if self.recorded else None,
                "problems": [p.as_json() for p in self.problems]}


@dataclass
class GuardContext:
    """Everything a guard may look at when it decides."""

    instance: InstanceView
    definition: "Definition"
    members: "Members"
    actor: str
    now: dt.datetime
    participant: str | None = None
    #: values given with the trigger (`fire --set K=V`)
    given: dict[str, Any] = field(default_factory=dict)
    #: the transaction's database connection, for guards that look across instances
    session: "Connection | None" = None
    #: the note given with the trigger (`fire --note`); None when listing triggers
    note: str | None = None

    #: set by the engine: other instances, read in the guard's own transaction
    finder: Callable[..., list[InstanceView]] | None = field(default=None, repr=False)

    def instances(self, workflow: str | None = None, **params: Any) -> list[InstanceView]:
        """Other instances (of `workflow`, whose params equal `params`), in id order,
        as typed views read in the same transaction as the decision."""
        return self.finder(workflow, params) if self.finder else []

    @property
    def tracks(self) -> dict[str, TrackView]:
        return self.instance.tracks

    @property
    def track(self) -> TrackView | None:
        return self.instance.tracks.get(self.participant) if self.participant else None

    @property
    def today(self) -> dt.date:
        return self.now.date()


class ActionLedger(Protocol):
    """What an action has already done, kept in the database: `ctx.ledger`.

    An action that runs after the commit runs at least once: a failure, or a process
    that dies half-way, runs it again later. The ledger is how it avoids doing
    twice what it has done: pick a key for each piece of work, skip the keys you have
    `seen`, and `mark` each one as soon as it is done. Keys are per action (two
    actions may use the same key) and may be any text; a long one is kept as its hash.
    Build them from `ctx.idempotency_key`, which stays the same across retries of one
    queued action, plus what the piece is about (a recipient, a file)::

        key = f"{ctx.idempotency_key}:{address}"
        if not ctx.ledger.seen(key):
            send(address)
            ctx.ledger.mark(key, message_id=msgid)

    Each `mark` is its own short transaction, committed when it returns. What cannot
    be made exactly-once is a crash between the work and its mark: the retry does that
    one piece again, so make it safe to repeat (the same file name, the same Message-ID).
    """

    def seen(self, key: str) -> bool:
        """Whether `key` has been marked (by this or an earlier run of the action)."""

    def get(self, key: str) -> dict[str, Any] | None:
        """The data marked with `key`, or None if it never was."""

    def mark(self, key: str, **data: Any) -> bool:
        """Record `key` as done, with `data` (JSON values) to remember about it.
        False, and the first mark's data kept, if it already was."""

    def put(self, key: str, **data: Any) -> None:
        """Keep `data` under `key`, replacing what an earlier `put` kept: for what may
        change from one run to the next, such as who has not been reached yet.

        What `rcmflow outbox`, `status` and the status page show of an action's
        recipients comes from its rows that carry ``outbox_id``: a `mark` with
        ``recipient`` is someone reached; a `put` with ``not_reached``
        (``{address: {"reason": …, "participant": …}}``) names who was not, and why."""


@dataclass
class ActionContext:
    """Everything an action may use. `data` (the instance's) and `track_data` (the
    moving track's, on a track transition) are writable only for in-transaction actions.

    Actions that run after the commit (the default) may run more than once; they use
    `ledger` to skip what an earlier run did, `record` to note what they did in the
    history, and `attachments` to read the files sent with the instance."""

    instance: InstanceView
    event: EventView
    definition: "Definition"
    members: "Members"
    config: "Config"
    home: "Path"
    now: dt.datetime
    #: stable across retries of the same queued action: use it to avoid doing work twice
    idempotency_key: str
    data: dict[str, Any] = field(default_factory=dict)
    track_data: dict[str, Any] | None = None
    log: Any = None
    #: the engine running the action, e.g. to `record` what it did in the history
    engine: Any = None
    #: the registered name of the action being run (notify, build_document, …), for
    #: actions run after the commit
    action: str | None = None
    #: what this action has already done, across retries (see `ActionLedger`); set for
    #: actions run after the commit. In-transaction actions get None: what they do
    #: commits with the transition or not at all, so they have nothing to skip.
    ledger: ActionLedger | None = None

    def record(self, trigger: str, note: str | None = None, data: dict[str, Any] | None = None) -> int:
        """Add an event that changes no state to the instance's history (a document built,
        a message sent) and return its seq. For actions that run after the commit: the
        event is rcmflow's own (`SYSTEM_ACTOR`), whoever's step queued the action."""
        return self.engine.record(self.instance.id, trigger, note=note, data=data, actor=SYSTEM_ACTOR).seq

    def attachments(self, participant: str | None = None) -> list[Attachment]:
        """The files attached to the instance (only `participant`'s, if given), oldest first."""
        return self.engine.attachments(self.instance.id, participant)
