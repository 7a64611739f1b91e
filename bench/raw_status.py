#!/usr/bin/env python
"""The floor for `rcmflow status --json`: the same JSON from the benchmark's database,
written by the standard library's sqlite3 alone, as fast as we know how.

Usage: python bench/raw_status.py DATABASE_FILE TODAY (an ISO date)

It knows the benchmark workflow's overdue rule (a track is overdue when its due day
has passed, the instance collects or consolidates input, and the track has not
submitted, been accepted or declined) instead of reading the definition. SQLite builds
each instance's tracks as JSON in one ordered pass over the join of instances and
tracks; Python only glues the lines together, writing as it reads.
"""

from __future__ import annotations

import sqlite3
import sys

QUERY = """
SELECT json_object('id', i.id, 'workflow', i.workflow, 'state', i.state, 'version', i.version),
       json_group_object(t.participant, json_object(
           'state', t.state, 'due', t.due,
           'overdue', json(CASE WHEN t.due < :today AND i.state IN ('collecting_input', 'consolidating')
                                 AND t.state NOT IN ('submitted', 'accepted', 'declined')
                           THEN 'true' ELSE 'false' END),
           'reminded', substr(t.reminded_at, 1, 10)))
FROM instances AS i LEFT JOIN tracks AS t ON t.instance_id = i.id
GROUP BY i.created_at, i.id
ORDER BY i.created_at, i.id
"""


def main(path: str, today: str) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out = sys.stdout
    out.write('{"instances": [')
    first = True
    cursor = conn.execute(QUERY, {"today": today})
    while rows := cursor.fetchmany(1000):
        for head, tracks in rows:
            out.write(("" if first else ", ") + head[:-1] + ',"tracks":' + tracks + "}")
            first = False
    out.write("]}\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
