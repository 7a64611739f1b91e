"""Checking the history's hash chains (`store.chain`): each event's hash against its
content, each event's link against the event of its instance before it in seq order,
and the history against a head recorded earlier (`history head`).

What a broken link means is read from where the event's `prev_hash` points:
nowhere (the event it followed is gone: deleted), to a later event (reordered), or
to an earlier one (events in between were inserted, or moved).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from rcmflow.context import ChainHead, ChainProblem, HistoryCheck
from rcmflow.errors import BadInput
from rcmflow.language import _
from rcmflow.store.chain import GENESIS, chain_rows, checkpoint, head, stored_hash

HEAD = re.compile(r"^(\d+):([0-9a-f]{8,64})$")


def parse_head(value: str | ChainHead) -> ChainHead:
    """A head as `history head` prints it, SEQ:HASH (the hash may be shortened to 8 digits)."""
    if isinstance(value, ChainHead):
        return value
    found = HEAD.match(str(value).strip().lower())
    if found is None:
        raise BadInput(_("a head is SEQ:HASH as 'rcmflow history head' prints it (e.g. 120:3fa4c2d1…), "
                         "not {value}").format(value=repr(value)))
    return ChainHead(int(found[1]), found[2])


def current_head(conn: Connection) -> ChainHead:
    return ChainHead(*head(conn))


@dataclass(slots=True)
class Link:
    """What the check keeps of an event: its place in the chain and how to name it."""

    seq: int
    instance_id: str
    prev: str
    hash: str
    row: tuple  # (seq, at, actor, instance_id, participant, trigger), for `label`

    @property
    def label(self) -> str:
        seq, at, actor, instance_id, participant, trigger = self.row
        who = (_("{trigger} {participant} by {actor}") if participant else _("{trigger} by {actor}")).format(
            trigger=trigger, participant=participant, actor=actor)
        return _("seq {seq} ({instance}: {who} at {at} UTC)").format(
            seq=seq, instance=instance_id, who=who, at=f"{at:%Y-%m-%d %H:%M}")


def verify(conn: Connection, instance_id: str | None = None, recorded: ChainHead | None = None) -> HistoryCheck:
    """Check every chain; with `instance_id`, report what concerns that instance (and
    what concerns no instance in particular: a recorded head that does not hold)."""
    links: list[Link] = []
    problems: list[ChainProblem] = []
    for row in chain_rows(conn):
        link = Link(row.seq, row.instance_id, row.prev_hash, row.hash,
                    (row.seq, row.at, row.actor, row.instance_id, row.participant, row.trigger))
        if stored_hash(row) != row.hash:
            message = _("{event}: its content does not match its hash: edited after it was written")
            problems.append(ChainProblem("edited", row.seq, message.format(event=link.label), (row.instance_id,)))
        links.append(link)
    chains: dict[str, list[Link]] = {}
    for link in links:
        chains.setdefault(link.instance_id, []).append(link)
    for chain in chains.values():
        problems += LinkCheck(chain).problems()
    problems.sort(key=lambda p: p.seq)
    if recorded is not None:
        problems += head_problems(links, recorded)
    if instance_id is not None:
        problems = [p for p in problems if not p.instances or instance_id in p.instances]
    last = ChainHead(links[-1].seq, checkpoint((i, c[-1].hash) for i, c in chains.items())) if links \
        else ChainHead(0, GENESIS)
    checked = sum(link.instance_id == instance_id for link in links) if instance_id else len(links)
    return HistoryCheck(checked, len(links), last, instance_id, recorded, tuple(problems))


class LinkCheck:
    """The links of one instance's chain, in seq order, and what each broken one means."""

    def __init__(self, links: list[Link]):
        self.links = links
        self.position = {link.hash: i for i, link in enumerate(links)}
        self.broken = [link.prev != (links[i - 1].hash if i else GENESIS) for i, link in enumerate(links)]

    def problems(self) -> list[ChainProblem]:
        found = (self.explain(i) for i, broken in enumerate(self.broken) if broken)
        return [problem for problem in found if problem is not None]

    def explain(self, i: int) -> ChainProblem | None:
        link = self.links[i]
        j = -1 if link.prev == GENESIS else self.position.get(link.prev)
        if j is None or j == i:
            return self.deleted(i)
        if j > i:
            after = self.links[j]
            message = _("{event} is out of order: it follows seq {after}, which comes after it "
                        "(events swapped or renumbered)").format(event=link.label, after=after.seq)
            return ChainProblem("reordered", link.seq, message, (link.instance_id, after.instance_id))
        return self.follows_earlier(i, j)

    def deleted(self, i: int) -> ChainProblem:
        link = self.links[i]
        if i == 0:
            message = _("{event} is the first event of {instance} but does not start its chain: "
                        "the events before it were deleted").format(event=link.label, instance=link.instance_id)
        else:
            before = self.links[i - 1].seq
            gap = link.seq - before - 1
            missing = (_("seq {seq} is missing").format(seq=before + 1) if gap == 1 else
                       _("events of {instance} between seq {before} and seq {seq} are missing").format(
                           instance=link.instance_id, before=before, seq=link.seq)
                       if gap > 1 else _("the event before it is missing"))
            message = _("{event} does not follow seq {before}: {missing} (deleted), or seq {before} was rewritten"
                        ).format(event=link.label, before=before, missing=missing)
        return ChainProblem("deleted", link.seq, message, (link.instance_id,))

    def follows_earlier(self, i: int, j: int) -> ChainProblem | None:
        """Event i links to j, further back than i - 1: the events between are a branch
        of their own. Unbroken, the shorter of the two branches was inserted; all broken,
        they are events moved out of place, reported where they are (a swap is one
        problem, not three); partly broken, events were moved."""
        link = self.links[i]
        start = _("seq {seq}").format(seq=self.links[j].seq) if j >= 0 else _("the start of the chain")
        between = range(j + 1, i)
        if all(self.broken[k] for k in between):
            return None
        if any(self.broken[k] for k in between):
            message = _("{event} is out of place: it follows {start}, not seq {before} (events moved)").format(
                event=link.label, start=start, before=self.links[i - 1].seq)
            return ChainProblem("reordered", link.seq, message,
                                tuple({self.links[k].instance_id for k in (j, i) if k >= 0}))
        run = next((k for k in range(i + 1, len(self.links)) if self.broken[k]), len(self.links)) - i
        if len(between) < run:  # the shorter branch was inserted; of two alike, the later one
            first = self.links[j + 1]
            message = (_("{event} was not in the chain: {count} events from it on were inserted "
                         "(seq {seq} follows {start} directly)") if len(between) > 1 else
                       _("{event} was not in the chain: it was inserted (seq {seq} follows {start} directly)"))
            message = message.format(event=first.label, count=len(between), seq=link.seq, start=start)
            return ChainProblem("inserted", first.seq, message, tuple({self.links[k].instance_id for k in between}))
        message = _("{event} was not in the chain: it follows {start}, not seq {before} (inserted)").format(
            event=link.label, start=start, before=self.links[i - 1].seq)
        return ChainProblem("inserted", link.seq, message, (link.instance_id,))


def head_problems(links: list[Link], recorded: ChainHead) -> list[ChainProblem]:
    """The recorded head must still be in the history: its seq, and the checkpoint of
    every chain up to it (what was added after it does not count)."""
    if recorded.seq == 0 and GENESIS.startswith(recorded.hash):
        return []
    last = links[-1].seq if links else 0
    if recorded.seq > last:
        message = _("the history ends at seq {last}, before the recorded head {seq}: "
                    "the events after seq {last} were removed").format(last=last, seq=recorded.seq)
        return [ChainProblem("truncated", None, message)]
    found = next((link for link in links if link.seq == recorded.seq), None)
    if found is None:
        return [ChainProblem("deleted", None, _("the recorded head seq {seq} is missing: deleted").format(
            seq=recorded.seq))]
    heads = {link.instance_id: link.hash for link in links if link.seq <= recorded.seq}
    now = checkpoint(heads.items())
    if not now.startswith(recorded.hash):
        message = _("the history up to {event} is not the recorded head: its checkpoint is {now}…, "
                    "the recorded one {recorded}…: the history up to it was rewritten").format(
            event=found.label, now=now[:16], recorded=recorded.hash[:16])
        return [ChainProblem("rewritten", found.seq, message)]
    return []
