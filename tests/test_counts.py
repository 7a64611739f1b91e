"""The matrix's counts: how many tracks of each instance are in each state, read from
an index by one GROUP BY, the same as counting the status's tracks one by one."""

from __future__ import annotations

from collections import Counter

import pytest

from rcmflow.errors import NotFound

pytestmark = pytest.mark.fixture_workflows


def test_the_counts_are_the_status_counted(engine):
    engine.start("thematic-consultation", params={"theme": "1", "deadline": "2030-04-20"})
    engine.start("thematic-consultation", params={"theme": "2", "deadline": "2030-04-20"})
    engine.fire("theme-1", "open")
    engine.fire_tracks("theme-1", "submit", ["MX", "GT"])
    engine.fire("theme-1", "accept", "MX")
    engine.fire("theme-1", "decline", "SV")
    expected = {v.id: dict(Counter(t.state for t in v.tracks.values())) for v in engine.status()}
    assert engine.queries.counts() == expected
    assert expected["theme-1"] == {"requested": 3, "submitted": 1, "accepted": 1, "declined": 1}
    assert engine.queries.counts("thematic-consultation") == expected


def test_the_counts_of_an_unknown_workflow_are_an_error(engine):
    with pytest.raises(NotFound):
        engine.queries.counts("no-such-workflow")
