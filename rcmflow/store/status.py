"""The status listing in SQL."""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import Text, case, cast, func, select
from sqlalchemy.engine import Connection

from rcmflow.store.models import INSTANCES, TRACKS

# `status` over thousands of instances is the secretariat's most used screen and the
# scripts' favourite query, so the database builds each instance's tracks as one JSON
# object ({"MX": {"state", "due", "overdue"}, ...}) instead of Python looping over
# every track row.


def status_rows(conn: Connection, overdue: Callable[[Any], Any], instance_id: str | None = None,
                brief: bool = False, workflow: str | None = None):
    """(id, workflow, state, version, params, data, created_at, updated_at, timeout_at,
    tracks) per instance, in the order they were started; `tracks` is JSON text.
    `brief` leaves out params, data and times. `overdue(t)` is the SQL condition for
    a track row `t` of the instance to be overdue."""
    # each instance's tracks in creation order (both databases accept this correlated subquery)
    t = (select(TRACKS.c.participant, TRACKS.c.state, TRACKS.c.due, TRACKS.c.reminded_at)
         .where(TRACKS.c.instance_id == INSTANCES.c.id).order_by(TRACKS.c.id)
         .correlate(INSTANCES).subquery("t"))
    if conn.dialect.name == "postgresql":
        reminded = func.to_char(t.c.reminded_at, "YYYY-MM-DD")
        cell = func.json_build_object("state", t.c.state, "due", t.c.due, "overdue", overdue(t), "reminded", reminded)
        tracks = select(cast(func.json_object_agg(t.c.participant, cell), Text))  # text, not decoded
    else:  # SQLite's JSON has no booleans but json('true') and json('false')
        flag = func.json(case((overdue(t), "true"), else_="false"))
        reminded = func.substr(t.c.reminded_at, 1, 10)  # the (UTC) day of the stored time
        cell = func.json_object("state", t.c.state, "due", t.c.due, "overdue", flag, "reminded", reminded)
        tracks = select(func.json_group_object(t.c.participant, cell))
    columns = ["id", "workflow", "state", "version"]
    if not brief:
        columns += ["params", "data", "created_at", "updated_at", "timeout_at", "definition_hash"]
    query = (select(*(INSTANCES.c[c] for c in columns), tracks.scalar_subquery().label("tracks"))
             .order_by(INSTANCES.c.created_at, INSTANCES.c.id))
    if instance_id is not None:
        query = query.where(INSTANCES.c.id == instance_id)
    if workflow is not None:
        query = query.where(INSTANCES.c.workflow == workflow)
    return conn.execute(query).all()
