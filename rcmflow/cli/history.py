"""`history INSTANCE` (who did what, and when), and the proof that the history is
whole: `history verify` and `history head`."""

from __future__ import annotations

import click

from rcmflow.cli.group import cli, pass_engine
from rcmflow.cli.params import json_option
from rcmflow.output import console, emit_json


class HistoryGroup(click.Group):
    """`history INSTANCE` as it always was, beside `history verify` and `history head`:
    whatever is not the name of a subcommand goes to `history show`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=HistoryGroup, subcommand_metavar="INSTANCE | verify | head")
def history():
    """Every event of INSTANCE: when, who, trigger, from, to, participant, note.

    \b
    rcmflow history theme-1 [--json]     the events of theme-1
    rcmflow history verify [INSTANCE]    prove that no event was edited, deleted or moved
    rcmflow history head                 the head to record outside the database (SEQ:HASH)
    rcmflow history verify --head SEQ:HASH   ... and that nothing up to it was removed
    """


@history.command("show", hidden=True)
@click.argument("instance")
@json_option
@pass_engine
def history_show(engine, instance: str, as_json: bool):
    """Every event of INSTANCE: when, who, trigger, from, to, participant, note."""
    events = engine.history(instance)
    if as_json:
        return emit_json([e.as_json() for e in events])
    from rcmflow.cli.render import history_table

    console().print(history_table(events, engine.config.timezone))


@history.command("verify")
@click.argument("instance", required=False)
@click.option("--head", "recorded", metavar="SEQ:HASH",
              help="A head printed earlier by 'rcmflow history head': check that it is still in the history.")
@json_option
@pass_engine
def history_verify(engine, instance: str | None, recorded: str | None, as_json: bool):
    """Check the history's hash chain: each event against its hash and the one before it.

    Exit 0 with "verified N events, head SEQ:HASH"; exit 1 with one line per problem,
    naming the event that does not match (edited, deleted, reordered, inserted), or
    the recorded head that is gone (events removed from the end). With INSTANCE, only
    what concerns it (and every deletion, whose event could have been one of it).
    """
    check = engine.verify_history(instance, recorded)
    if as_json:
        emit_json(check.as_json())
    elif check.ok:
        click.echo(check.summary())
    else:
        for problem in check.problems:
            click.echo(problem.message)
    if not check.ok:
        raise SystemExit(1)


@history.command("head")
@json_option
@pass_engine
def history_head(engine, as_json: bool):
    """The last event of the history as SEQ:HASH, to record outside the database
    (in the report to the PPT, say); 'history verify --head SEQ:HASH' later proves
    that nothing up to it was removed or rewritten."""
    head = engine.history_head()
    if as_json:
        return emit_json(head.as_json())
    click.echo(str(head))
