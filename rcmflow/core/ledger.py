"""`ActionContext.ledger`: the record of what an action has done, in the database.

Each action gets the rows of its own name only. A `mark` is its own short write
transaction, committed before it returns, so what it records survives whatever the
action does next; the first mark of a key wins.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy.exc import IntegrityError

from rcmflow.store.ledger import ledger_get, ledger_insert, ledger_put

if TYPE_CHECKING:
    from rcmflow.store.database import Database


class Ledger:
    """The `ctx.ledger` of one action (see `rcmflow.context.ActionLedger`)."""

    def __init__(self, db: "Database", action: str, now: Callable[[], dt.datetime]):
        self.db = db
        self.action = action
        self._now = now

    def __repr__(self) -> str:
        return f"<Ledger of {self.action!r}>"

    def seen(self, key: str) -> bool:
        return self.get(key) is not None

    def get(self, key: str) -> dict[str, Any] | None:
        with self.db.reading() as session, session.begin():
            return ledger_get(session.connection(), self.action, key)

    def mark(self, key: str, **data: Any) -> bool:
        self._check(data)
        try:
            with self.db.writing() as conn:
                ledger_insert(conn, self.action, key, data, self._now())
        except IntegrityError:  # marked a moment ago by another run of the same action
            return False
        return True

    def put(self, key: str, **data: Any) -> None:
        self._check(data)
        with self.db.writing() as conn:
            ledger_put(conn, self.action, key, data, self._now())

    def _check(self, data: dict[str, Any]) -> None:
        try:
            json.dumps(data)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"ledger data of {self.action!r} must be JSON values (str, int, list, dict…): {exc}") from None
