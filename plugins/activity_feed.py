"""Example plugin: an activity feed of the roadmap, and a rule that returns need a reason.

This file is the worked example of docs/plugins.md: copy it, rename it, change it.
It shows the three things a plugin can add:

- an action, `feed`, that appends one line per step to `out/activity.log` in the
  home (run after the commit, safely retried: `ctx.ledger` remembers the steps it
  has written, so it never writes the same line twice);
- a guard, `note_given`, that refuses a transition fired without `--note`;
- a command, `rcmflow feed`, that prints the last lines of the feed.

Use them in a workflow:

    transitions:
      - trigger: return_for_revision
        source: submitted
        dest: returned
        guards: [note_given]
        actions: [{feed: "input returned to {{ event.participant }}"}]
"""

from __future__ import annotations

from pathlib import Path

import click

import rcmflow

FEED = Path("out") / "activity.log"


def _check_feed(args):
    return None if args is None or isinstance(args, str) else "write a line of text, or nothing"


def feed(ctx, args):
    """Append a line about this step to out/activity.log."""
    # A retried action must not write its line twice: the action's ledger keeps
    # which steps are in the feed already, under the key that stays the same across
    # retries of one queued action.
    key = ctx.idempotency_key
    if ctx.ledger.seen(key):
        return
    event = ctx.event
    who = f"{event.actor}" + (f" for {event.participant}" if event.participant else "")
    line = args or f"{event.trigger}: {event.source} -> {event.dest}"
    path = ctx.home / FEED
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{event.at:%Y-%m-%d %H:%M} {ctx.instance.id}: {line} ({who}) [{key}]\n")
    ctx.ledger.mark(key, instance=ctx.instance.id, line=line)


def note_given(ctx, args):
    """The step is fired with a note saying why (fire ... --note TEXT)."""
    if ctx.note and ctx.note.strip():
        return None
    return "say why with --note TEXT"


@rcmflow.hookimpl
def register_actions(register):
    register("feed", feed, check=_check_feed)


@rcmflow.hookimpl
def register_guards(register):
    register("note_given", note_given)


@rcmflow.hookimpl
def register_commands(cli, pass_engine):
    @cli.command("feed")
    @click.option("--lines", "-n", default=20, show_default=True, help="How many of the last lines.")
    @pass_engine
    def show_feed(engine, lines):
        """The last lines of the activity feed (out/activity.log)."""
        path = engine.home / FEED
        if not path.exists():
            click.echo("the feed is empty: no step has used the feed action yet")
            return
        for line in path.read_text(encoding="utf-8").splitlines()[-lines:]:
            click.echo(line.rsplit(" [", 1)[0])
