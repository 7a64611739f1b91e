"""The RCM scenario, built in: `rcmflow quickstart` starts the roadmap that
`workflows/roadmap.yaml` plans (`plan.py`), `rcmflow demo` plays the meeting report's
story in a folder of its own (`demo.py`).

A plugin like any other: it uses only the plugin API, and shows the status by running
the `status` command it finds on the group it is given.
"""

from __future__ import annotations

from pathlib import Path

import click

from rcmflow import hookimpl
from rcmflow.config import settle_timezone
from rcmflow.errors import BadInput
from rcmflow.language import _


@hookimpl
def register_commands(cli, pass_engine):
    from rcmflow.default_plugins.scenario.sessions import work_session_command

    cli.add_command(quickstart_command(cli, pass_engine))
    cli.add_command(demo_command(cli, pass_engine))
    cli.add_command(work_session_command(pass_engine))


def show_status(cli: click.Group, engine=None) -> None:
    """Run `rcmflow status` (with its defaults) from inside another command, on
    `engine` if given, else on the engine the user chose."""
    ctx = click.get_current_context()
    if engine is not None:
        ctx.obj = engine  # `pass_engine` hands a command the nearest engine
    ctx.invoke(cli.get_command(ctx, "status"))


def quickstart_command(cli: click.Group, pass_engine) -> click.Command:
    @click.command()
    @pass_engine
    def quickstart(engine):
        """Set up the roadmap: create the database if needed, start every instance that
        workflows/roadmap.yaml plans and is not started yet, and show the status.

        Starting a step opens nothing (each waits in its first state), so a plan with
        dates that have passed is started all the same, with a warning: opening such a
        step is then refused unless you replay past dates (rcmflow --replay) or move
        its deadline (edit workflows/roadmap.yaml first, or rcmflow extend after).
        """
        from rcmflow.default_plugins.scenario.plan import apply_plan, load_plan, past_dates

        engine.require_person("quickstart")  # it starts instances: before anything is created
        click.echo(_("database ready: {revision}").format(revision=engine.init()))
        if settled := settle_timezone(engine.home):  # a new home: its deadlines in local time
            click.echo(settled)
        for item, started in apply_plan(engine):
            said = _("started: {id} ({workflow})") if started else _("already running: {id} ({workflow})")
            click.echo(said.format(id=item.id, workflow=item.workflow))
        show_status(cli)
        if (warning := past_dates(engine, load_plan(engine))) and not engine.replay:
            click.echo(_("Warning: {line}").format(line=warning), err=True)

    return quickstart


def demo_command(cli: click.Group, pass_engine) -> click.Command:
    @click.command()
    # not --home: the global --home names the project the demo copies from
    @click.option("--into", "demo_home", metavar="DIR", type=click.Path(file_okay=False),
                  help="Play in this new folder and keep it (default: a new temporary folder).")
    @pass_engine
    def demo(engine, demo_home: str | None):
        """Play the RCM roadmap scenario end to end in a folder of its own.

        Copies workflows/ and plugins/ of the home into the demo folder, then runs the
        meeting report's story on its own SQLite database and a 2017 clock, printing each
        step and the final status. Your own database is never touched.
        """
        from rcmflow import Engine
        from rcmflow.config import load_config
        from rcmflow.default_plugins.scenario.demo import run_demo

        target = copy_home(engine.home, demo_home)
        click.echo(_("Playing the RCM roadmap in {folder}").format(folder=target))
        config = load_config(target, f"sqlite:///{target / 'rcmflow.db'}", "ts-officer")
        played = run_demo(lambda clock: Engine(config=config, clock=clock), click.echo)
        click.echo("")
        show_status(cli, played)
        click.echo("\n" + _("The demo's home is {folder}: try  rcmflow --home {folder} history declaration-2017").format(
            folder=target))

    return demo


def copy_home(source: Path, demo_home: str | None) -> Path:
    """A new project folder (`demo_home`, or a temporary one) with the workflows/ and
    plugins/ of `source`."""
    import shutil
    import tempfile

    if not (source / "workflows").is_dir():
        raise BadInput(_("{folder} has no workflows/ folder to play with; run the demo from the rcmflow "
                         "folder or give rcmflow --home DIR").format(folder=source))
    target = Path(demo_home or tempfile.mkdtemp(prefix="rcmflow-demo-")).resolve()
    if (target / "rcmflow.db").exists() or (target / "workflows").exists():
        raise BadInput(_("{folder} already holds a project; give --into an empty or new folder").format(folder=target))
    target.mkdir(parents=True, exist_ok=True)
    for folder in ("workflows", "plugins"):
        if (source / folder).is_dir():
            shutil.copytree(source / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return target
