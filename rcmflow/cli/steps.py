"""The commands that move the roadmap: `init`, `start`, `triggers`, `fire`."""

from __future__ import annotations

import click

from rcmflow.cli.group import cli, pass_engine
from rcmflow.cli.params import ATTACHMENT, NAME_FILE, json_option, set_option
from rcmflow.config import settle_timezone
from rcmflow.output import console, emit_json


@cli.command()
@pass_engine
def init(engine):
    """Create the database, or upgrade it to this version. Safe to run twice."""
    click.echo(f"database ready: {engine.init()}")
    if settled := settle_timezone(engine.home):  # a new home: its deadlines in local time
        click.echo(settled)


@cli.command()
@click.argument("workflow")
@click.option("--id", "instance_id", help="Instance id, e.g. theme-3 (default: made from the workflow).")
@set_option("A param of the workflow; repeat.")
@json_option
@pass_engine
def start(engine, workflow: str, instance_id: str | None, sets: tuple[tuple[str, str], ...], as_json: bool):
    """Start a new instance of WORKFLOW and print its id."""
    view = engine.start(workflow, instance_id, dict(sets))
    if as_json:
        return emit_json({"id": view.id, "workflow": view.workflow, "state": view.state})
    tracks = f" with {len(view.tracks)} tracks" if view.tracks else ""
    click.echo(f"started {view.id} ({view.workflow}) in state {view.state}{tracks}")


@cli.command()
@click.argument("instance")
@click.option("--participant", "-p", help="List the triggers of this participant's track.")
@json_option
@pass_engine
def triggers(engine, instance: str, participant: str | None, as_json: bool):
    """What can be fired now on INSTANCE: each trigger allowed or blocked, and why."""
    options = engine.triggers(instance, participant)
    if as_json:
        return emit_json([o.as_json() for o in options])
    from rcmflow.cli.render import triggers_table

    console().print(triggers_table(options))


@cli.command()
@click.argument("instance")
@click.argument("trigger")
@click.option("--participant", "-p", help="Fire on this participant's track (a country code).")
@click.option("--note", help="A note kept in the history.")
@set_option("A value recorded with the step; repeat.")
@click.option("--set-file", "set_files", multiple=True, type=NAME_FILE, metavar="NAME=PATH",
              help="A value read from a text file (e.g. the text to adopt); repeat.")
@click.option("--attach", "attachments", multiple=True, type=ATTACHMENT,
              help="A file sent with this step, kept in the database; repeat.")
@json_option
@pass_engine
def fire(engine, instance: str, trigger: str, participant: str | None, note: str | None,
         sets: tuple[tuple[str, str], ...], set_files: tuple[tuple[str, str], ...],
         attachments: tuple[str, ...], as_json: bool):
    """Fire TRIGGER on INSTANCE (or on one participant's track): one transition.

    Values given with --set and --set-file are kept with the event and merged into
    the track's data (with --participant) or the instance's data.
    """
    result = engine.fire(instance, trigger, participant, note, {**dict(sets), **dict(set_files)}, list(attachments))
    if as_json:
        return emit_json(result.as_json())
    where = f"{result.participant}'s track in {result.id}" if result.participant else result.id
    click.echo(f"{where}: {result.source} -> {result.dest} ({result.trigger}, event {result.event_seq})")
