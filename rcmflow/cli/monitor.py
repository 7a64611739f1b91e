"""Watching the roadmap: `status`, `tick` and the `outbox` (`history` is in cli.history)."""

from __future__ import annotations

import json
import sys

import click

from rcmflow.cli.group import cli, engine_of, pass_engine
from rcmflow.cli.params import HOME_DATETIME, json_option
from rcmflow.errors import BadInput
from rcmflow.language import _
from rcmflow.output import console, emit_json, terminal_text


@cli.command()
@click.argument("instance", required=False)
@click.option("--workflow", "-w", help="Only the instances of this workflow.")
@click.option("--participant", "-p", "participants", multiple=True, metavar="CODE",
              help="Only this participant's tracks (a country code); repeat for more.")
@click.option("--overdue", is_flag=True, help="Only the tracks that are overdue.")
@click.option("--by", type=click.Choice(["participant", "instance"]), default="participant", show_default=True,
              help="Rows of the matrix: one per participant, or one per instance.")
@click.option("--wide", is_flag=True,
              help="The matrix with every state and date in full, however wide (default: fit the screen, "
                   "or 80 columns in a pipe, with a legend).")
@click.option("--csv", "as_csv", is_flag=True, help="One line per track, as CSV, for spreadsheets.")
@json_option
@pass_engine
def status(engine, instance: str | None, workflow: str | None, participants: tuple[str, ...],
           overdue: bool, by: str, wide: bool, as_csv: bool, as_json: bool):
    """Who has sent what, who is late, and what each step waits for.

    Every participant against every open instance, with due dates and overdue marks,
    a summary per instance and, under the matrix, what blocks each next step. With
    INSTANCE: its tracks, due dates and next steps.

    \b
    rcmflow status --workflow thematic-consultation --overdue    who is late on the consultations
    rcmflow status --participant NI --participant BZ             two countries, everywhere
    rcmflow status --csv > status.csv                            for a spreadsheet
    """
    from rcmflow.core.engine import instance_json, select_tracks

    check_participants(engine, participants)
    filtered = bool(workflow or participants or overdue)
    if as_json and not filtered and not instance:
        # built by the database and written as it is read, for any number of instances;
        # pretty on a terminal
        if sys.stdout.isatty():
            return emit_json(json.loads(engine.status_json(instance)))
        return write_pieces(engine.stream_status_json(instance))
    views = select_tracks(engine.status(instance, workflow), participants, overdue)
    if as_json:
        # one instance, or some: each track also says whether it gave no answer, or a late one
        return emit_json({"instances": [instance_json(v, engine.answers(v)) for v in views]})
    from rcmflow.cli import render

    if as_csv:
        from rcmflow.cli.spreadsheet import write_csv

        return write_csv(engine, views)
    width = None if wide else console().width
    render.print_all(render.status_parts(engine, views, instance, filtered, by, width), wide=wide)
    if instance:
        say_next_deadline(engine, views[0])
        say_joint(engine.get(views[0].id))  # the status view leaves the tracks' data out
        warn_days_off(engine, views[0])
    for lines in engine.plugins.hook.status_notes(engine=engine, instances=views):  # e.g. the mailroom's
        for line in lines or ():
            click.echo(line)
    warn_if_unverified(engine, instance)


def say_next_deadline(engine, view) -> None:
    """For tracks with several deadlines (amendments, finalised input): which one is next,
    its day and who still owes it."""
    from rcmflow.core.deadlines import next_deadline
    from rcmflow.language import current

    definition = engine.rt.shown_definition(view.workflow, view.definition_hash)
    if definition is None or definition.track is None or len(definition.track.deadlines) < 2 or not view.tracks:
        return
    found = next_deadline(definition.track, view.params, view.data, view.tracks, engine.rt.today(engine.now()))
    if found is None:
        names = ", ".join(d.name for d in definition.track.deadlines)
        return click.echo(_("deadlines: {names}, all met").format(names=names))
    (deadline, day, owing), title = found, found[0].title_in(current())
    click.echo(_("next deadline: {name}{title}, {day}, owed by {count} of {total}: {codes}").format(
        name=deadline.name, title=f" ({title})" if title else "", day=day.isoformat(), count=len(owing),
        total=len(view.tracks), codes=", ".join(owing)))


def say_joint(view) -> None:
    """One line for each joint input (`fire --joint`), rather than the same input under
    each of its members: whose it is and where their tracks stand."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for code, track in view.tracks.items():
        members = track.data.get("joint")
        if isinstance(members, list) and code in members:
            groups.setdefault(tuple(members), []).append(track.state)
    from rcmflow.language import state_name

    for members, states in groups.items():
        click.echo(_("joint input of {codes}: {states}").format(
            codes=", ".join(members), states=", ".join(state_name(s) for s in dict.fromkeys(states))))


def warn_days_off(engine, view) -> None:
    """One line on stderr for each deadline of the instance that falls on a day off of
    a participant who owes something by then (a weekend, a public holiday)."""
    from rcmflow.model.workdays import WorkingDays

    workdays = WorkingDays.from_settings(engine.config.section("calendar"))
    by_day: dict = {}
    for code, track in view.tracks.items():
        if track.due is not None:
            by_day.setdefault(track.due, []).append(code)
    for day, codes in sorted(by_day.items()):
        why = workdays.days_off(day, codes)
        if why:
            click.echo(_("Warning: {instance}: the deadline {day} is {why}").format(
                instance=view.id, day=day.isoformat(), why=why), err=True)


def write_pieces(pieces) -> None:
    """Text pieces to stdout in few large writes, and a final newline, as click.echo would."""
    out, size, batch = sys.stdout, 0, []
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size > 1 << 16:
            out.write("".join(batch))
            batch, size = [], 0
    out.write("".join(batch) + "\n")
    out.flush()


def warn_if_unverified(engine, instance: str | None) -> None:
    """One line on stderr when the history's hash chain does not verify."""
    check = engine.verify_history(instance)
    if not check.ok:
        click.echo(_("Warning: {summary}; see 'rcmflow history verify'").format(summary=check.summary()), err=True)


def check_participants(engine, participants: tuple[str, ...]) -> None:
    for code in participants:
        if code not in engine.members.countries:
            raise BadInput(_("unknown participant {code}; participants: {known}").format(
                code=repr(code), known=", ".join(engine.members.countries)))


@cli.command()
@click.option("--now", type=HOME_DATETIME, metavar="ISO",
              help="Act as if it were this time (e.g. 2017-04-21T09:00); the same as the global --now.")
@json_option
@pass_engine
def tick(engine, now, as_json: bool):
    """Fire due timeouts, send due reminders, run due or failed actions.

    Safe to run from cron every few minutes: each timeout fires once, each reminder
    is sent once, each action runs until it has succeeded.
    """
    report = (engine.at(now) if now else engine).tick()
    if as_json:
        emit_json(report.as_json())
        sys.exit(1 if report.problems else 0)
    for fired in report.fired:
        click.echo(_("{instance}: timeout fired {trigger} ({source} -> {dest})").format(
            instance=fired.id, trigger=fired.trigger, source=fired.source, dest=fired.dest))
    for instance_id, reason in report.waiting:
        click.echo(_("{instance}: timeout due but waiting: {reason}").format(instance=instance_id, reason=reason))
    for instance_id, participant, reminder in report.reminded:
        click.echo(_("{instance}: reminded {participant} ({reminder})").format(
            instance=instance_id, participant=participant, reminder=reminder))
    click.echo(_("{fired} timeouts fired, {reminded} reminders sent, {done} actions done, {failed} failed").format(
        fired=len(report.fired), reminded=len(report.reminded), done=report.actions_done,
        failed=report.actions_failed))
    for instance_id, reason in report.problems:
        click.echo(_("Error: {instance}: not ticked: {reason}").format(instance=instance_id,
                                                                        reason=terminal_text(reason)), err=True)
    if report.problems:
        sys.exit(1)  # every other instance was ticked


@cli.group(invoke_without_command=True)
@click.option("--failed", is_flag=True, help="Only the actions that gave up after their last attempt.")
@json_option
@click.pass_context
def outbox(ctx, failed: bool, as_json: bool):
    """The actions queued by transitions: pending, done or failed, with their errors.

    Each e-mail action shows its template and its recipients, those not reached in
    red with the server's reason. Actions run right after the transition that queued
    them; a failed one is retried by 'rcmflow tick' with a growing pause, and after 8
    attempts it is marked failed; a permanent refusal (an SMTP 5xx) is marked failed
    at once. 'rcmflow outbox retry ID' runs one again, once its cause is fixed.
    """
    if ctx.invoked_subcommand:
        return
    engine = engine_of(ctx)
    items = engine.dispatcher.items(failed_only=failed)
    if as_json:
        return emit_json(items)
    from rcmflow.cli.render import outbox_table

    console().print(outbox_table(items, engine.config.timezone))


@outbox.command("retry")
@click.argument("action_id", type=int)
@pass_engine
def outbox_retry(engine, action_id: int):
    """Run one queued or failed action now."""
    ok = engine.dispatcher.retry(action_id, engine.now())
    item = next(i for i in engine.dispatcher.items() if i["id"] == action_id)
    if not ok:
        raise click.ClickException(_("action {id} failed again: {error}").format(id=action_id,
                                                                                 error=item["last_error"]))
    click.echo(_("action {id} ({action} for {instance}) done").format(id=action_id, action=item["action"],
                                                                       instance=item["instance_id"]))
