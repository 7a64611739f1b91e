"""The outbox dispatcher: runs queued actions after the commit that queued them.

An action row is claimed with a conditional UPDATE (so two dispatchers never run
the same row at once), run, and marked done in a transaction of its own. A failure
leaves it pending with its error and a next attempt further off each time; after
`MAX_ATTEMPTS`, or at once for a `PermanentFailure` (a 5xx refusal), it is marked failed. A process that dies while running an action
leaves its claim to expire, and the next `tick` runs the action again: delivery is
at least once, and the built-in actions use `ctx.idempotency_key` to make it once.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any, Callable

from sqlalchemy import or_, select, update

from rcmflow.errors import BadInput, NotFound, PermanentFailure
from rcmflow.language import _
from rcmflow.log import get_logger
from rcmflow.store.database import Database
from rcmflow.store.ledger import ledger_rows
from rcmflow.store.models import OUTBOX, OutboxItem

MAX_ATTEMPTS = 8
#: how long a claimed action may run before another dispatcher may take it over
LEASE = dt.timedelta(minutes=10)


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4 … minutes between attempts, at most six hours."""
    return min(dt.timedelta(minutes=2 ** max(attempts - 1, 0)), dt.timedelta(hours=6))


class Dispatcher:
    """Runs outbox rows; `perform(item)` does one action's work (the engine loads the
    instance and the event, and calls the plugin's function with its context)."""

    def __init__(self, db: Database, clock: Callable[[], dt.datetime], perform: Callable[[Any], None]):
        self.db, self.clock, self.perform = db, clock, perform

    def run_due(self, now: dt.datetime) -> tuple[int, int]:
        """Run every action whose time has come, including expired claims."""
        with self.db.reading() as session, session.begin():
            ids = session.scalars(
                select(OutboxItem.id)
                .where(or_(OutboxItem.status == "pending", OutboxItem.status == "running"))
                .where(OutboxItem.next_attempt_at <= now)
                .order_by(OutboxItem.id)
            ).all()
        return self.run(ids, now)

    def items(self, failed_only: bool = False, instance_id: str | None = None) -> list[dict]:
        """The queue, oldest first: every action with its status, attempts and last error,
        its `template` and `to` (when its arguments name them) and its `recipients`:
        [{address, participant, reached, reason}] as the action's ledger tells them."""
        query = select(OUTBOX).order_by(OUTBOX.c.id)
        if failed_only:
            query = query.where(OUTBOX.c.status == "failed")
        if instance_id is not None:
            query = query.where(OUTBOX.c.instance_id == instance_id)
        with self.db.reading() as session, session.begin():
            conn = session.connection()
            items = [dict(row._mapping) for row in conn.execute(query)]
            # one instance's few actions by their keys; the whole queue in one sweep
            prefixes = [f"outbox-{i['id']}:" for i in items] if instance_id or len(items) == 1 else ["outbox-"]
            told = recipients(ledger_rows(conn, prefixes)) if items else {}
        for item in items:
            args = item["args"] if isinstance(item["args"], dict) else {}
            item.update(template=args.get("template"), to=args.get("to"), recipients=told.get(item["id"], []))
        return items

    def undelivered(self, instance_id: str | None = None) -> list[dict]:
        """Everyone an action has not reached yet, and why: the items' `recipients` with
        `reached` false, each with its action's `outbox_id`, `status` and `template`."""
        return [{"outbox_id": item["id"], "instance_id": item["instance_id"], "action": item["action"],
                 "status": item["status"], "template": item["template"], **person}
                for item in self.items(instance_id=instance_id) if item["status"] != "done"
                for person in item["recipients"] if not person["reached"]]

    def retry(self, item_id: int, now: dt.datetime) -> bool | None:
        """Run one action now, whatever its backoff; a failed one gets another chance."""
        with self.db.writing() as conn:
            item = conn.execute(select(OUTBOX.c.status).where(OUTBOX.c.id == item_id)).first()
            if item is None:
                raise NotFound(_("no action {id} in the outbox; 'rcmflow outbox' lists them").format(id=item_id))
            if item.status == "done":
                raise BadInput(_("action {id} has already succeeded; nothing to retry").format(id=item_id))
            if item.status == "running":
                raise BadInput(_("action {id} is running now; retry it once its claim expires").format(id=item_id))
            conn.execute(update(OUTBOX).where(OUTBOX.c.id == item_id).values(status="pending", next_attempt_at=now))
        return self._run_one(item_id, now)

    def run(self, ids: list[int], now: dt.datetime | None = None,
            failures: list[str] | None = None) -> tuple[int, int]:
        """Run the given actions; returns (succeeded, failed this time). Each failure is
        added to `failures` as a line, if given."""
        done = failed = 0
        for item_id in ids:
            outcome = self._run_one(item_id, now or self.clock(), failures)
            done += outcome is True
            failed += outcome is False
        return done, failed

    def _claim(self, item_id: int, now: dt.datetime):
        """Take the action for this dispatcher; None if it is not due or someone else has it."""
        with self.db.writing() as conn:
            item = conn.execute(select(OUTBOX).where(OUTBOX.c.id == item_id)).first()
            if item is None or item.status not in ("pending", "running") or item.next_attempt_at > now:
                return None
            claimed = conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == item_id, OUTBOX.c.attempts == item.attempts, OUTBOX.c.status == item.status)
                .values(status="running", attempts=item.attempts + 1, next_attempt_at=now + LEASE)
            ).rowcount
            if claimed != 1:
                return None
            return SimpleNamespace(**item._asdict() | {"attempts": item.attempts + 1})

    def _run_one(self, item_id: int, now: dt.datetime, failures: list[str] | None = None) -> bool | None:
        item = self._claim(item_id, now)
        if item is None:
            return None
        log = get_logger(instance=item.instance_id, action=item.action, outbox_id=item.id)
        try:
            self.perform(item)
        except Exception as exc:  # any failure keeps the action queued, with its reason
            message = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
            final = item.attempts >= MAX_ATTEMPTS or isinstance(exc, PermanentFailure)
            with self.db.writing() as conn:
                conn.execute(update(OUTBOX).where(OUTBOX.c.id == item.id).values(
                    status="failed" if final else "pending", last_error=message,
                    next_attempt_at=now + backoff(item.attempts)))
            log.warning("action failed" + ("; giving up" if final else "; will retry"),
                        attempts=item.attempts, error=message)
            if failures is not None:
                then = (f"it is given up; 'rcmflow outbox retry {item.id}' runs it again once that is fixed"
                        if final else "'rcmflow tick' retries it")
                failures.append(f"the {item.action} action (outbox {item.id}) failed: {message}; {then}")
            return False
        with self.db.writing() as conn:
            conn.execute(update(OUTBOX).where(OUTBOX.c.id == item.id).values(
                status="done", done_at=self.clock(), last_error=None))
        log.info("action done", attempts=item.attempts)
        return True


def recipients(rows: list[tuple[str, str, dict]]) -> dict[int, list[dict]]:
    """Whom each outbox item is for, from its action's ledger rows (see
    `ActionLedger.put`): a row with `recipient` is someone reached; the `not_reached`
    of a `put` names the others, unless a later mark reached them."""
    reached: dict[int, dict[str, dict]] = {}
    missed: dict[int, dict[str, dict]] = {}
    for _action, _key, data in rows:
        item = data.get("outbox_id")
        if not isinstance(item, int):
            continue
        if isinstance(data.get("recipient"), str):
            reached.setdefault(item, {})[data["recipient"].lower()] = {
                "address": data["recipient"], "participant": data.get("participant"), "reached": True,
                "reason": None}
        for address, why in (data.get("not_reached") or {}).items():
            missed.setdefault(item, {})[address.lower()] = {
                "address": address, "participant": why.get("participant"), "reached": False,
                "reason": why.get("reason"), "permanent": bool(why.get("permanent"))}
    return {item: list((missed.get(item, {}) | reached.get(item, {})).values())
            for item in reached.keys() | missed.keys()}
