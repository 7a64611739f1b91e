"""The `rcmflow` command line: a thin layer over `rcmflow.Engine`.

Every listing takes `--json` for scripts; errors a user can cause print one line on
stderr and exit non-zero. Plugins add commands through `register_commands`.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import click

from rcmflow.errors import BadInput, RcmflowError
from rcmflow.output import console, emit_json


class UserError(click.ClickException):
    """A `RcmflowError` on its way to the terminal: one line, its own exit code."""

    def __init__(self, error: RcmflowError):
        super().__init__(str(error))
        self.exit_code = error.exit_code

    def show(self, file=None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


class App:
    """What the global options chose; the engine is built on first use."""

    def __init__(self, home: str | None, db: str | None, actor: str | None):
        self.home, self.db, self.actor = home, db, actor
        self._config = None
        self._plugins = None
        self._engine = None

    @property
    def config(self):
        if self._config is None:
            from rcmflow.config import load_config

            self._config = load_config(self.home, self.db, self.actor)
        return self._config

    @property
    def plugins(self):
        if self._plugins is None:
            from rcmflow.plugins import load_plugins

            self._plugins = load_plugins(self.config.home)
        return self._plugins

    @property
    def engine(self):
        if self._engine is None:
            from rcmflow.core.engine import Engine

            self._engine = Engine(config=self.config, plugins=self.plugins)
        return self._engine


def get_engine():
    """The engine for the current command's home, database and actor (for plugin commands)."""
    return click.get_current_context().find_object(App).engine


def pass_engine(command):
    """Decorate a command so that it receives the `Engine` as its first argument."""

    @click.pass_context
    def with_engine(ctx: click.Context, *args, **kwargs):
        return ctx.invoke(command, ctx.find_object(App).engine, *args, **kwargs)

    return functools.update_wrapper(with_engine, command)


class RcmflowGroup(click.Group):
    """Adds plugin commands on first look-up and turns user errors into one line."""

    _plugin_commands: list[str] | None = None

    def make_context(self, *args, **kwargs) -> click.Context:
        # One process may run several invocations (tests do): forget the last home's commands.
        for name in self._plugin_commands or ():
            self.commands.pop(name, None)
        self._plugin_commands = None
        return super().make_context(*args, **kwargs)

    def _add_plugin_commands(self, ctx: click.Context) -> None:
        if self._plugin_commands is not None:
            return
        self._plugin_commands = []
        if ctx.obj is None:
            ctx.obj = App(ctx.params.get("home"), ctx.params.get("db"), ctx.params.get("actor"))
        before = set(self.commands)
        try:
            ctx.obj.plugins.add_commands(self, pass_engine)
        except RcmflowError as exc:
            raise UserError(exc) from None
        finally:
            self._plugin_commands = sorted(set(self.commands) - before)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands(ctx)
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str):
        self._add_plugin_commands(ctx)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):
        from sqlalchemy.exc import DBAPIError

        try:
            return super().invoke(ctx)
        except RcmflowError as exc:
            raise UserError(exc) from None
        except DBAPIError as exc:
            raise UserError(database_error(ctx, exc)) from None


def database_error(ctx: click.Context, exc: Exception) -> RcmflowError:
    """A database failure as one line, with the likely remedy."""
    from rcmflow.errors import DatabaseError

    app = ctx.find_object(App)
    url = app.engine.db.display_url if app and app._engine else "the database"
    message = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    if "no such table" in message or "does not exist" in message and "relation" in message:
        return DatabaseError(f"{url} has no rcmflow tables yet: run 'rcmflow init'")
    return DatabaseError(f"cannot use the database {url}: {message}")


def parse_sets(pairs: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"--set expects NAME=VALUE, e.g. --set deadline=2017-04-20; got {pair!r}")
        values[name.strip()] = value
    return values


def read_set_files(pairs: tuple[str, ...]) -> dict[str, str]:
    """`--set-file text=draft.md`: a long value, such as a text to adopt, read from a file."""
    values: dict[str, str] = {}
    for name, path in parse_sets(pairs).items():
        try:
            values[name] = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"--set-file {name}: cannot read {path!r} as UTF-8 text: "
                           f"{getattr(exc, 'strerror', None) or exc}") from None
    return values


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of a table.")


@click.group(cls=RcmflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
# eager, so that `--home DIR --help` lists the commands of DIR's plugins
@click.option("--home", envvar="RCMFLOW_HOME", type=click.Path(file_okay=False), is_eager=True,
              help="Project folder with workflows/ and plugins/ [env RCMFLOW_HOME; default: here].")
@click.option("--db", envvar="RCMFLOW_DB",
              help="Database URL [env RCMFLOW_DB; default: sqlite file rcmflow.db in the home].")
@click.option("--actor", envvar="RCMFLOW_ACTOR", help="Who is acting: a person id of members.yaml [env RCMFLOW_ACTOR].")
@click.option("--log-format", type=click.Choice(["console", "json"]), default="console", show_default=True,
              help="Log lines on stderr: readable, or one JSON object a line.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              help="Default: warning on the console, info for JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Same as --log-level info.")
@click.version_option(package_name="rcmflow")
@click.pass_context
def cli(ctx, home, db, actor, log_format, log_level, verbose):
    """rcmflow runs the RCM roadmap: consultations, reviews, meetings, the declaration.

    \b
    A first session:
      rcmflow quickstart                             create the database, start the roadmap
      rcmflow workflows list                         what processes exist
      rcmflow status                                 every country against every step
      rcmflow fire theme-1 open                      ask every member for input
      rcmflow triggers theme-1                       what can happen next, and why not
      rcmflow fire theme-1 submit --participant MX   move one country's track
      rcmflow history theme-1                        who did what, and when
      rcmflow demo                                   the meeting report's story, end to end
    """
    from rcmflow.log import configure

    configure(log_format, log_level or ("info" if verbose else None))
    if ctx.obj is None:  # the plugin look-up may have made it already
        ctx.obj = App(home, db, actor)


pass_app = click.make_pass_decorator(App)


@cli.command()
@pass_app
def init(app: App):
    """Create the database, or upgrade it to this version. Safe to run twice."""
    url = app.engine.init()
    click.echo(f"database ready: {url}")


@cli.command()
@pass_app
@click.pass_context
def quickstart(ctx, app: App):
    """Set up the roadmap: create the database if needed, start every instance that
    workflows/roadmap.yaml plans and is not started yet, and show the status."""
    from rcmflow.default_plugins.scenario.plan import apply_plan

    click.echo(f"database ready: {app.engine.init()}")
    for item, started in apply_plan(app.engine):
        click.echo(f"{'started' if started else 'already running'}: {item.id} ({item.workflow})")
    ctx.invoke(status)


@cli.command()
@click.option("--home", "demo_home", type=click.Path(file_okay=False),
              help="Play in this folder and keep it (default: a new temporary folder).")
@pass_app
@click.pass_context
def demo(ctx, app: App, demo_home: str | None):
    """Play the RCM roadmap scenario end to end in a folder of its own.

    Copies workflows/ and plugins/ of the home into the demo folder, then runs the
    meeting report's story on its own SQLite database and a 2017 clock, printing each
    step and the final status. Your own database is never touched.
    """
    import shutil
    import tempfile

    from rcmflow.config import load_config
    from rcmflow.default_plugins.scenario.demo import run_demo
    from rcmflow.core.engine import Engine

    source = app.config.home
    if not (source / "workflows").is_dir():
        raise BadInput(f"{source} has no workflows/ folder to play with; run the demo from the rcmflow "
                       f"folder or give rcmflow --home DIR")
    target = Path(demo_home or tempfile.mkdtemp(prefix="rcmflow-demo-")).resolve()
    if (target / "rcmflow.db").exists() or (target / "workflows").exists():
        raise BadInput(f"{target} already holds a project; give --home an empty or new folder")
    target.mkdir(parents=True, exist_ok=True)
    for folder in ("workflows", "plugins"):
        if (source / folder).is_dir():
            shutil.copytree(source / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    click.echo(f"Playing the RCM roadmap in {target}")
    config = load_config(target, f"sqlite:///{target / 'rcmflow.db'}", "ts-officer")
    engine = run_demo(lambda clock: Engine(config=config, clock=clock), click.echo)
    demo_app = App(str(target), config.db_url, "ts-officer")
    demo_app._config, demo_app._engine, demo_app._plugins = config, engine, engine.plugins
    click.echo("")
    ctx.obj = demo_app
    ctx.invoke(status)
    click.echo(f"\nThe demo's home is {target}: try  rcmflow --home {target} history declaration-2017")


# --- workflows ---------------------------------------------------------------------------


@cli.group()
def workflows():
    """The process definitions in workflows/: list, show, validate, graph."""


def _catalog(app: App, files: list[Path] | None = None):
    from rcmflow.model.catalog import load_catalog
    from rcmflow.model.members import load_members

    members, member_problems = load_members(app.config.home)
    catalog = load_catalog(app.config.home, app.plugins.registry, members, files)
    return catalog, list(member_problems) + catalog.problems


@workflows.command("list")
@json_option
@pass_app
def workflows_list(app: App, as_json: bool):
    """The workflows found, with their states and triggers."""
    definitions = sorted(app.engine.catalog.definitions.values(), key=lambda d: d.name)
    rows = [{
        "name": d.name, "version": d.version, "title": d.title, "file": d.path,
        "states": list(d.instance.states), "triggers": d.instance.trigger_names(),
        "participants": list(d.participants),
        "track_states": list(d.track.states) if d.track else [],
        "track_triggers": d.track.trigger_names() if d.track else [],
    } for d in definitions]
    if as_json:
        return emit_json(rows)
    from rcmflow.cli.render import workflows_table

    console().print(workflows_table(rows))
    for problem in app.engine.catalog.problems:
        click.echo(f"invalid: {problem}", err=True)


@workflows.command("show")
@click.argument("name")
@json_option
@pass_app
def workflows_show(app: App, name: str, as_json: bool):
    """One workflow: params, states, transitions with their guards and roles."""
    definition = app.engine.definition(name)
    if as_json:
        return emit_json(definition.source)
    from rcmflow.cli.render import definition_tables

    out = console()
    for renderable in definition_tables(definition):
        out.print(renderable)


@workflows.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@pass_app
def workflows_validate(app: App, paths: tuple[str, ...]):
    """Check definitions (all of workflows/ unless PATHs are given).

    Prints `file:line: message` for every problem and exits 1, or exits 0 when all is valid.
    """
    files = [Path(p).resolve() for p in paths] or None
    catalog, problems = _catalog(app, files)
    for problem in sorted(problems):
        click.echo(str(problem))
    if problems:
        sys.exit(1)
    for definition in sorted(catalog.definitions.values(), key=lambda d: d.path):
        click.echo(f"{definition.path}: {definition.name} v{definition.version} is valid")


@workflows.command("graph")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "svg"]), default="mermaid", show_default=True,
              help="Mermaid text (GitHub shows it as a diagram), Graphviz dot, or SVG (needs Graphviz).")
@click.option("--instance", "instance_id", help="Highlight where this instance (and its tracks) stands.")
@pass_app
def workflows_graph(app: App, name: str, fmt: str, instance_id: str | None):
    """The state diagram of a workflow, e.g. rcmflow workflows graph thematic-consultation --instance theme-3."""
    from rcmflow.model.diagram import render_graph

    current, track_states = None, set()
    if instance_id:
        view = app.engine.get(instance_id)
        if view.workflow != name:
            raise BadInput(f"{instance_id} is a {view.workflow}, not a {name}")
        current, track_states = view.state, {t.state for t in view.tracks.values()}
    click.echo(render_graph(app.engine.definition(name), fmt, current, track_states))


# --- running instances ------------------------------------------------------------------


@cli.command()
@click.argument("workflow")
@click.option("--id", "instance_id", help="Instance id, e.g. theme-3 (default: made from the workflow).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="A param of the workflow; repeat.")
@json_option
@pass_app
def start(app: App, workflow: str, instance_id: str | None, sets: tuple[str, ...], as_json: bool):
    """Start a new instance of WORKFLOW and print its id."""
    view = app.engine.start(workflow, instance_id, parse_sets(sets))
    if as_json:
        return emit_json({"id": view.id, "workflow": view.workflow, "state": view.state})
    tracks = f" with {len(view.tracks)} tracks" if view.tracks else ""
    click.echo(f"started {view.id} ({view.workflow}) in state {view.state}{tracks}")


@cli.command()
@click.argument("instance")
@click.option("--participant", "-p", help="List the triggers of this participant's track.")
@json_option
@pass_app
def triggers(app: App, instance: str, participant: str | None, as_json: bool):
    """What can be fired now on INSTANCE: each trigger allowed or blocked, and why."""
    options = app.engine.triggers(instance, participant)
    if as_json:
        return emit_json([o.as_json() for o in options])
    from rcmflow.cli.render import triggers_table

    console().print(triggers_table(options))


@cli.command()
@click.argument("instance")
@click.argument("trigger")
@click.option("--participant", "-p", help="Fire on this participant's track (a country code).")
@click.option("--note", help="A note kept in the history.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="A value recorded with the step; repeat.")
@click.option("--set-file", "set_files", multiple=True, metavar="NAME=PATH",
              help="A value read from a text file (e.g. the text to adopt); repeat.")
@click.option("--attach", "attachments", multiple=True, type=click.Path(dir_okay=False),
              help="A file sent with this step, kept in the database; repeat.")
@json_option
@pass_app
def fire(app: App, instance: str, trigger: str, participant: str | None, note: str | None,
         sets: tuple[str, ...], set_files: tuple[str, ...], attachments: tuple[str, ...], as_json: bool):
    """Fire TRIGGER on INSTANCE (or on one participant's track): one transition.

    Values given with --set and --set-file are kept with the event and merged into
    the track's data (with --participant) or the instance's data.
    """
    values = {**parse_sets(sets), **read_set_files(set_files)}
    result = app.engine.fire(instance, trigger, participant, note, values, list(attachments))
    if as_json:
        return emit_json(result.as_json())
    where = f"{result.participant}'s track in {result.id}" if result.participant else result.id
    click.echo(f"{where}: {result.source} -> {result.dest} ({result.trigger}, event {result.event_seq})")


@cli.command()
@click.argument("instance", required=False)
@click.option("--workflow", "-w", help="Only the instances of this workflow.")
@click.option("--participant", "-p", "participants", multiple=True, metavar="CODE",
              help="Only this participant's tracks (a country code); repeat for more.")
@click.option("--overdue", is_flag=True, help="Only the tracks that are overdue.")
@click.option("--by", type=click.Choice(["participant", "instance"]), default="participant", show_default=True,
              help="Rows of the matrix: one per participant, or one per instance.")
@click.option("--csv", "as_csv", is_flag=True, help="One line per track, as CSV, for spreadsheets.")
@json_option
@pass_app
def status(app: App, instance: str | None, workflow: str | None, participants: tuple[str, ...],
           overdue: bool, by: str, as_csv: bool, as_json: bool):
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

    engine = app.engine
    known = set(engine.members.countries)
    for code in participants:
        if code not in known:
            raise BadInput(f"unknown participant {code!r}; participants: {', '.join(engine.members.countries)}")
    if as_json and not (workflow or participants or overdue):
        # built by the database, for speed with thousands of instances; pretty on a terminal
        text = engine.status_json(instance)
        return emit_json(json.loads(text)) if sys.stdout.isatty() else click.echo(text)
    views = select_tracks(engine.status(instance, workflow), participants, overdue)
    if as_json:
        return emit_json({"instances": [instance_json(v) for v in views]})
    if as_csv:
        return write_csv(engine, views)
    from rcmflow.cli import render as tables

    out = console()
    if instance:
        for renderable in tables.instance_detail(engine, views[0], engine.triggers(instance)):
            out.print(renderable)
        return
    if not views:
        click.echo("nothing to show: no instance matches" if (workflow or participants or overdue)
                   else "no instances yet: start them with 'rcmflow quickstart' or 'rcmflow start WORKFLOW'")
        return
    out.print(tables.instances_table(views))
    # the matrix is for the work still under way: every participant against every open instance
    open_views = [v for v in views if not engine.is_final(v)]
    matrix = tables.participant_matrix(open_views, engine.members, by)
    if matrix is not None:
        out.print(matrix)
    if open_views and len(open_views) <= 50:  # beyond that, ask for one workflow or instance
        out.print(tables.waiting_table(open_views, engine.waiting_for))


def write_csv(engine, views) -> None:
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["instance", "workflow", "instance_state", "participant", "name", "state", "due", "overdue"])
    for view in views:
        for participant, track in view.tracks.items():
            country = engine.members.countries.get(participant)
            writer.writerow([view.id, view.workflow, view.state, participant, country.name() if country else "",
                             track.state, track.due.isoformat() if track.due else "", str(track.overdue).lower()])


@cli.command()
@click.argument("instance")
@json_option
@pass_app
def history(app: App, instance: str, as_json: bool):
    """Every event of INSTANCE: when, who, trigger, from, to, participant, note."""
    events = app.engine.history(instance)
    if as_json:
        return emit_json([e.as_json() for e in events])
    from rcmflow.cli.render import history_table

    console().print(history_table(events, app.engine.config.timezone))


@cli.command()
@click.option("--now", "now_text", metavar="ISO", help="Act as if it were this time (e.g. 2017-04-21T09:00).")
@json_option
@pass_app
def tick(app: App, now_text: str | None, as_json: bool):
    """Fire due timeouts, send due reminders, run due or failed actions.

    Safe to run from cron every few minutes: each timeout fires once, each reminder
    is sent once, each action runs until it has succeeded.
    """
    import datetime as dt

    from rcmflow.model.values import parse_datetime

    engine = app.engine
    now = None
    if now_text:
        now = parse_datetime(now_text)
        if now.tzinfo is None:
            now = now.replace(tzinfo=engine.config.timezone)
        now = now.astimezone(dt.timezone.utc)
    report = engine.tick(now)
    if as_json:
        return emit_json(report.as_json())
    for fired in report.fired:
        click.echo(f"{fired.id}: timeout fired {fired.trigger} ({fired.source} -> {fired.dest})")
    for instance_id, reason in report.waiting:
        click.echo(f"{instance_id}: timeout due but waiting: {reason}")
    for instance_id, participant, reminder in report.reminded:
        click.echo(f"{instance_id}: reminded {participant} ({reminder})")
    click.echo(f"{len(report.fired)} timeouts fired, {len(report.reminded)} reminders sent, "
               f"{report.actions_done} actions done, {report.actions_failed} failed")


@cli.group(invoke_without_command=True)
@click.option("--failed", is_flag=True, help="Only the actions that gave up after their last attempt.")
@json_option
@pass_app
@click.pass_context
def outbox(ctx, app: App, failed: bool, as_json: bool):
    """The actions queued by transitions: pending, done or failed, with their errors.

    Actions run right after the transition that queued them; a failed one is retried
    by 'rcmflow tick' with a growing pause, and after 8 attempts it is marked failed.
    """
    if ctx.invoked_subcommand:
        return
    items = app.engine.dispatcher.items(failed_only=failed)
    if as_json:
        return emit_json(items)
    from rcmflow.cli.render import outbox_table

    console().print(outbox_table(items, app.engine.config.timezone))


@outbox.command("retry")
@click.argument("action_id", type=int)
@pass_app
def outbox_retry(app: App, action_id: int):
    """Run one queued or failed action now."""
    ok = app.engine.dispatcher.retry(action_id, app.engine.now())
    item = next(i for i in app.engine.dispatcher.items() if i["id"] == action_id)
    if not ok:
        raise click.ClickException(f"action {action_id} failed again: {item['last_error']}")
    click.echo(f"action {action_id} ({item['action']} for {item['instance_id']}) done")


@cli.group()
def plugins():
    """The plugins loaded: built-in, installed, and from plugins/."""


@plugins.command("list")
@json_option
@pass_app
def plugins_list(app: App, as_json: bool):
    """Each plugin, where it came from, and what it registers."""
    infos = app.plugins.describe()
    if as_json:
        return emit_json([i.as_json() for i in infos])
    from rcmflow.cli.render import plugins_table

    console().print(plugins_table(infos))


@plugins.command("hooks")
def plugins_hooks():
    """The hooks a plugin can implement, with their documentation (Markdown)."""
    from rcmflow.plugins import hook_reference

    click.echo(hook_reference(), nl=False)


def main() -> None:
    cli(prog_name="rcmflow")
