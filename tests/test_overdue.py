"""The overdue rule is written once (`rcmflow.core.views.is_overdue`); the SQL that
`status` runs for speed must give the same answer for every state a track can be in."""

from __future__ import annotations

import datetime as dt

from rcmflow.core.views import is_overdue

ASK = """\
workflow: ask
title: {en: A question to every member, es: Una pregunta}
params:
  due: {type: date, required: true}
participants: members
track:
  initial: asked
  states: [asked, answered, excused]
  active_in: [asking]
  deadline: {date: "{{ params.due }}", met: [answered]}
  transitions:
    - {trigger: answer, source: asked, dest: answered}
    - {trigger: excuse, source: asked, dest: excused, roles: [secretariat]}
initial: ready
states:
  - ready
  - asking
  - {name: closed, final: true}
transitions:
  - {trigger: ask, source: ready, dest: asking, roles: [secretariat]}
  - {trigger: close, source: asking, dest: closed, roles: [secretariat]}
"""


def test_status_sql_and_the_rule_agree_on_every_track(home, make_engine):
    (home / "workflows" / "ask.yaml").write_text(ASK)
    today = dt.date(2030, 6, 15)
    # steps asked after their deadlines, to have every case at once: a replay
    engine = make_engine(clock=lambda: dt.datetime(2030, 6, 15, 17, tzinfo=dt.timezone.utc)).replaying()
    engine.init()
    for n, (due, state, moves) in enumerate([
        (today - dt.timedelta(days=1), "asking", {"MX": "answer", "GT": "excuse"}),
        (today, "asking", {"MX": "answer"}),          # due today: not yet late
        (today - dt.timedelta(days=30), "ready", {}),  # not asking yet: nobody is late
        (today - dt.timedelta(days=3), "closed", {}),  # closed: nobody is late any more
    ]):
        instance = f"ask-{n}"
        engine.start("ask", instance, {"due": due.isoformat()})
        if state != "ready":
            engine.fire(instance, "ask")
        for participant, trigger in moves.items():
            engine.fire(instance, trigger, participant=participant)
        if state == "closed":
            engine.fire(instance, "close")
    definition = engine.definition("ask")
    marks = {}
    for view in engine.status(workflow="ask"):
        detailed = engine.get(view.id)
        for participant, track in view.tracks.items():
            rule = is_overdue(definition, view.state, track.state, track.due, today)
            assert track.overdue == detailed.tracks[participant].overdue == rule, (view.id, participant)
            marks[(view.id, participant)] = track.overdue
    assert marks[("ask-0", "BZ")] and not marks[("ask-0", "MX")]
    assert marks[("ask-0", "GT")]  # excused is not answered: the deadline is not met
    assert not any(v for (i, _), v in marks.items() if i != "ask-0")
    assert sum(marks.values()) == len(engine.members.groups["members"]) - 1
