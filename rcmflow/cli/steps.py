"""The commands that move the roadmap: `init`, `start`, `triggers`, `fire`."""

from __future__ import annotations

import click

from rcmflow.cli.group import cli, pass_engine
from rcmflow.cli.params import ATTACHMENT, NAME_FILE, json_option, set_option
from rcmflow.config import settle_timezone
from rcmflow.errors import BadInput
from rcmflow.language import _, ngettext
from rcmflow.output import console, emit_json


@cli.command()
@pass_engine
def init(engine):
    """Create the database, or upgrade it to this version. Safe to run twice."""
    click.echo(_("database ready: {url}").format(url=engine.init()))
    if settled := settle_timezone(engine.home):  # a new home: its deadlines in local time
        click.echo(settled)


@cli.command()
@click.argument("workflow")
@click.option("--id", "instance_id", help="Instance id, e.g. theme-3 (default: made from the workflow).")
@set_option(help="A param of the workflow; repeat.")
@json_option
@pass_engine
def start(engine, workflow: str, instance_id: str | None, sets: tuple[tuple[str, str], ...], as_json: bool):
    """Start a new instance of WORKFLOW and print its id."""
    view = engine.start(workflow, instance_id, dict(sets))
    if as_json:
        return emit_json({"id": view.id, "workflow": view.workflow, "state": view.state})
    started = dict(id=view.id, workflow=view.workflow, state=view.state, tracks=len(view.tracks))
    click.echo((_("started {id} ({workflow}) in state {state} with {tracks} tracks") if view.tracks
                else _("started {id} ({workflow}) in state {state}")).format(**started))


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
@click.option("--participant", "-p", "participants", multiple=True, metavar="CODE",
              help="Fire on this participant's track (a country code); repeat to move several at once.")
@click.option("--all-in", metavar="STATE", help="Fire on every track that is in STATE, e.g. --all-in submitted.")
@click.option("--joint", is_flag=True,
              help="The joint input of the instance's subgroup: every member's track moves with the same "
                   "note and files (a transition with a joint: rule).")
@click.option("--note", help="A note kept in the history.")
@set_option(help="A value recorded with the step; repeat.")
@click.option("--set-file", "set_files", multiple=True, type=NAME_FILE, metavar="NAME=PATH",
              help="A value read from a text file (e.g. the text to adopt); repeat.")
@click.option("--attach", "attachments", multiple=True, type=ATTACHMENT,
              help="A file sent with this step, kept in the database; repeat.")
@json_option
@pass_engine
def fire(engine, instance: str, trigger: str, participants: tuple[str, ...], all_in: str | None, joint: bool,
         note: str | None, sets: tuple[tuple[str, str], ...], set_files: tuple[tuple[str, str], ...],
         attachments: tuple[str, ...], as_json: bool):
    """Fire TRIGGER on INSTANCE (or on participants' tracks): one transaction.

    Values given with --set and --set-file are kept with the event and merged into
    the track's data (with --participant) or the instance's data. Several
    --participant (or --all-in STATE) move those tracks together, one event each,
    all or nothing: one track that cannot move refuses the whole command.

    \b
      rcmflow fire theme-1 open
      rcmflow fire theme-1 submit --participant MX --attach input.docx
      rcmflow fire theme-1 accept --all-in submitted
      rcmflow fire theme-2 submit --joint --attach joint.docx     the subgroup's joint input
    """
    values = {**dict(sets), **dict(set_files)}
    if sum((bool(participants), all_in is not None, joint)) > 1:
        raise BadInput(_("give one of --participant, --all-in and --joint"))
    if len(participants) > 1 or all_in is not None or joint:
        results = engine.fire_tracks(instance, trigger, list(participants), all_in, note, values, list(attachments),
                                     together=joint)
    else:
        results = [engine.fire(instance, trigger, participants[0] if participants else None, note, values,
                               list(attachments))]
    if as_json:
        return emit_json(results[0].as_json() if len(participants) <= 1 and all_in is None and not joint
                         else [r.as_json() for r in results])
    for result in results:
        where = (_("{participant}'s track in {instance}").format(participant=result.participant, instance=result.id)
                 if result.participant else result.id)
        click.echo(_("{where}: {source} -> {dest} ({trigger}, event {seq})").format(
            where=where, source=result.source, dest=result.dest, trigger=result.trigger, seq=result.event_seq))


@cli.command()
@click.argument("instances", nargs=-1)
@click.option("--workflow", help="Migrate every running instance of this workflow.")
@click.option("--to", "target", type=click.Choice(["latest"]), default="latest", show_default=True,
              help="The definition to move to: the one its file in workflows/ makes now.")
@click.option("--map", "pairs", multiple=True, metavar="OLD=NEW",
              help="A state (of the instance or of a track) that the new definition calls NEW; repeat.")
@click.option("--dry-run", is_flag=True, help="Say what would change, change nothing.")
@json_option
@pass_engine
def migrate(engine, instances: tuple[str, ...], workflow: str | None, target: str, pairs: tuple[str, ...],
            dry_run: bool, as_json: bool):
    """Move running INSTANCES (or all of --workflow) to their workflow file's current definition.

    An instance runs on the definition it started on, whatever happens to its file;
    'rcmflow workflows validate' lists the instances on older versions. Each instance
    moves in one transaction, with an event naming both versions; one whose state the
    new definition no longer has is refused unless --map names its new state.

    \b
      rcmflow migrate theme-1 --dry-run
      rcmflow migrate --workflow thematic-consultation --map collecting_input=collecting
    """
    from rcmflow.core.versions import parse_map

    mapping = parse_map(pairs)
    ids = list(instances) + ([d.instance for d in engine.drift() if d.workflow == workflow] if workflow else [])
    if workflow:
        engine.definition(workflow)
    if not ids:
        raise click.UsageError(_("name the instances to migrate, or --workflow NAME") if not workflow else
                               _("no running {workflow} instance is on an older definition").format(workflow=workflow))
    results = engine.migrate(ids, mapping, dry_run)
    if as_json:
        return emit_json([r.as_json() for r in results])
    for r in results:
        renamed = "; ".join(f"{w} {o} -> {n}" for w, o, n in r.renamed)
        if r.source == r.dest:
            click.echo(_("{instance}: already on {dest}").format(instance=r.instance, dest=r.dest))
            continue
        moved = dict(instance=r.instance, source=r.source, dest=r.dest, seq=r.event_seq,
                     renamed=f" ({renamed})" if renamed else "")
        click.echo((_("{instance}: would move from {source} to {dest}{renamed}") if dry_run
                    else _("{instance}: moved from {source} to {dest}{renamed}, event {seq}")).format(**moved))


@cli.command()
@click.argument("instance")
@click.option("--participant", "-p", "participants", multiple=True, metavar="CODE",
              help="Move this country's deadline only; repeat for more (default: the whole step).")
@click.option("--to", "to", required=True, metavar="DATE", help="The new deadline, e.g. 2017-05-12.")
@click.option("--note", help="Why, kept in the history and told in the notice.")
@click.option("--deadline", "deadline", metavar="NAME",
              help="Which of the track's deadlines moves, for a workflow with several "
                   "(see 'rcmflow status INSTANCE'; default: the first).")
@json_option
@pass_engine
def extend(engine, instance: str, participants: tuple[str, ...], to: str, note: str | None,
           deadline: str | None, as_json: bool):
    """Move the deadline of one or several countries of INSTANCE, or of the whole step.

    Each country whose deadline moves gets a short e-mail in its language; its reminders
    and the day its silence counts as no answer follow the new date. For the whole step,
    the step's own timeout moves too.

    \b
      rcmflow extend theme-3 --participant NI --to 2017-05-12 --note "elections"
      rcmflow extend theme-3 --to 2017-05-19
      rcmflow extend declaration-2017 --deadline finalised -p GT --to 2017-04-28
    """
    from rcmflow.model.values import parse_date

    seqs = engine.extend(instance, parse_date(to), list(participants), note, deadline)
    if as_json:
        return emit_json({"id": instance, "to": to, "event_seqs": seqs, **({"deadline": deadline} if deadline else {})})
    who = ", ".join(participants) if participants else _("every participant")
    if deadline:
        said = ngettext("{instance}: deadline {deadline} of {who} moved to {to} ({count} event)",
                        "{instance}: deadline {deadline} of {who} moved to {to} ({count} events)", len(seqs))
    else:
        said = ngettext("{instance}: deadline of {who} moved to {to} ({count} event)",
                        "{instance}: deadline of {who} moved to {to} ({count} events)", len(seqs))
    click.echo(said.format(instance=instance, deadline=deadline, who=who, to=to, count=len(seqs)))
