"""Two fetches, or two confirmations, at the same moment: each message is kept once and
accepted once. Two engines of their own (two users, or cron and a user), released
together by a barrier."""

from __future__ import annotations

import threading

from rcmflow.default_plugins.mail.fetch import fetch
from rcmflow.errors import RcmflowError
from tests import mailcorpus as corpus
from tests.test_mail import requests


def at_once(*calls):
    """Run each call in its own thread, all released together; their results or errors."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except RcmflowError as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_two_fetches_at_once_keep_each_message_once_and_accept_it_once(engine, consultation, home, make_engine):
    asked = requests(home)
    replies = [corpus.gmail_reply(asked[f"focal@{c}.example.org"], sender=f"focal@{c}.example.org")
               for c in ("gt", "mx", "sv", "hn", "pa", "cr")]
    corpus.drop(home / "inbox", *replies, corpus.out_of_office_en(asked["focal@bz.example.org"]))
    first, second = make_engine(), make_engine()
    reports = at_once(lambda: fetch(first), lambda: fetch(second))
    assert all(not isinstance(r, Exception) for r in reports), reports
    assert sum(len(r.stored) for r in reports) == 7
    messages = engine.mail.messages()
    assert len(messages) == 7 and len({m["fingerprint"] for m in messages}) == 7
    assert len([e for e in engine.history(consultation) if e.trigger == "out_of_office"]) == 1

    gt = next(m for m in messages if m["participant"] == "GT")
    results = at_once(lambda: first.mail.accept(gt["id"]), lambda: second.mail.accept(gt["id"]))
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1 and "accepted already" in str(lost[0])
    assert [e.participant for e in engine.history(consultation) if e.trigger == "submit"] == ["GT"]
    assert engine.mail.message(gt["id"])["event_seq"] == won[0].event_seq
