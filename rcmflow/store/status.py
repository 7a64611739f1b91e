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
    tracks) per instance, in the order they were started, as a result to iterate inside
    the read transaction; `tracks` is JSON text.
    `brief` leaves out params, data and times. `overdue(t)` is the SQL condition for
    a track row `t` of the instance to be overdue."""
    if conn.dialect.name == "postgresql":
        # each instance's tracks in creation order (the ORDER BY reads ix_tracks_instance)
        t = (select(TRACKS.c.participant, TRACKS.c.state, TRACKS.c.due, TRACKS.c.reminded_at)
             .where(TRACKS.c.instance_id == INSTANCES.c.id).order_by(TRACKS.c.id)
             .correlate(INSTANCES).subquery("t"))
        reminded = func.to_char(t.c.reminded_at, "YYYY-MM-DD")
        cell = func.json_build_object("state", t.c.state, "due", t.c.due, "overdue", overdue(t), "reminded", reminded)
        tracks = select(cast(func.json_object_agg(t.c.participant, cell), Text))  # text, not decoded
    else:
        # SQLite (before 3.44) has no ORDER BY inside an aggregate, and a sorted subquery
        # per instance doubles the listing's time: the aggregate reads ix_tracks_instance
        # (instance_id, id), named so that its rows come in creation order, with no sort
        t = TRACKS.alias("t")
        tracks = select(_sqlite_cells(t, overdue)).where(t.c.instance_id == INSTANCES.c.id).correlate(INSTANCES) \
            .with_hint(t, "INDEXED BY ix_tracks_instance", "sqlite")
    columns = ["id", "workflow", "state", "version"]
    if not brief:
        columns += ["params", "data", "created_at", "updated_at", "timeout_at", "definition_hash"]
    query = (select(*(INSTANCES.c[c] for c in columns), tracks.scalar_subquery().label("tracks"))
             .order_by(INSTANCES.c.created_at, INSTANCES.c.id))
    if instance_id is not None:
        query = query.where(INSTANCES.c.id == instance_id)
    if workflow is not None:
        query = query.where(INSTANCES.c.workflow == workflow)
    # read in batches as the caller iterates (a server-side cursor on PostgreSQL), in the
    # order of ix_instances_created, so that the first rows come before the last are read
    return conn.execution_options(yield_per=500).execute(query)


def _sqlite_cells(t, overdue):
    """The tracks of `t` as one JSON object; SQLite's JSON has no booleans but
    json('true') and json('false')."""
    flag = func.json(case((overdue(t), "true"), else_="false"))
    reminded = func.substr(t.c.reminded_at, 1, 10)  # the (UTC) day of the stored time
    return func.json_group_object(t.c.participant, func.json_object("state", t.c.state, "due", t.c.due,
                                                                    "overdue", flag, "reminded", reminded))


def track_counts(conn: Connection, workflow: str | None = None):
    """(instance_id, state, tracks) for every instance and state its tracks are in, in
    instance order: the matrix's counts, read from ix_tracks_states alone."""
    query = (select(TRACKS.c.instance_id, TRACKS.c.state, func.count())
             .group_by(TRACKS.c.instance_id, TRACKS.c.state).order_by(TRACKS.c.instance_id, TRACKS.c.state))
    if workflow is not None:
        query = query.where(TRACKS.c.instance_id.in_(select(INSTANCES.c.id).where(INSTANCES.c.workflow == workflow)))
    return conn.execution_options(yield_per=5000).execute(query)
