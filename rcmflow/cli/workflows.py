"""`rcmflow workflows list|show|validate|graph`: the process definitions in workflows/."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rcmflow.cli.group import App, cli, pass_app, pass_engine
from rcmflow.cli.params import json_option
from rcmflow.errors import BadInput, DefinitionError
from rcmflow.language import _
from rcmflow.output import console, emit_json


@cli.group()
def workflows():
    """The process definitions in workflows/: list, show, validate, graph."""


def definition_json(d) -> dict:
    """One definition as `workflows list --json` prints it."""
    return {
        "name": d.name, "version": d.version, "title": d.title, "file": d.path,
        "states": list(d.instance.states), "triggers": d.instance.trigger_names(),
        "participants": list(d.participants),
        "track_states": list(d.track.states) if d.track else [],
        "track_triggers": d.track.trigger_names() if d.track else [],
    }


@workflows.command("list")
@json_option
@pass_app
def workflows_list(app: App, as_json: bool):
    """The workflows found, with their states and triggers."""
    catalog = definitions_of(app)
    definitions = sorted(catalog.definitions.values(), key=lambda d: d.name)
    rows = [definition_json(d) for d in definitions]
    if as_json:
        return emit_json(rows)
    from rcmflow.cli.render import workflows_table

    console().print(workflows_table(rows))
    for problem in catalog.problems:
        click.echo(_("invalid: {problem}").format(problem=problem), err=True)


@workflows.command("show")
@click.argument("name")
@json_option
@pass_app
def workflows_show(app: App, name: str, as_json: bool):
    """One workflow: params, states, transitions with their guards and roles."""
    catalog = definitions_of(app)
    if name not in catalog.definitions and catalog.problems:
        raise DefinitionError(catalog.problems)
    definition = catalog.get(name)
    if as_json:
        return emit_json(definition.source)
    from rcmflow.cli.render import definition_tables, print_all

    print_all(definition_tables(definition))


def load_catalog(app: App, files: list[Path] | None = None):
    """The catalog and every problem of members.yaml and the definitions, without an
    engine (which would stop at the first broken members.yaml)."""
    from rcmflow.model.catalog import load_catalog
    from rcmflow.model.members import load_members

    members, member_problems = load_members(app.config.home)
    catalog = load_catalog(app.config.home, app.plugins.registry, members, files)
    return catalog, list(member_problems) + catalog.problems


def definitions_of(app: App):
    """The catalog as an engine loads it (a broken members.yaml is an error), but without
    one: listing definitions needs no database, so it imports none."""
    from rcmflow.model.catalog import load_catalog
    from rcmflow.model.members import load_members

    members, problems = load_members(app.config.home)
    if problems:
        raise DefinitionError(list(problems))
    return load_catalog(app.config.home, app.plugins.registry, members)


@workflows.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@pass_app
def workflows_validate(app: App, paths: tuple[str, ...]):
    """Check definitions (all of workflows/ unless PATHs are given).

    Prints `file:line: message` for every problem and exits 1, or exits 0 when all is valid.
    """
    if not paths:
        from rcmflow.cli.group import require_home

        require_home(app.config.home)  # nothing to check is not "all valid"
    catalog, problems = load_catalog(app, [Path(p).resolve() for p in paths] or None)
    for problem in sorted(problems):
        click.echo(str(problem))
    if catalog.definitions:
        from rcmflow.model.members import load_members

        app.plugins.hook.check_project(home=app.config.home, definitions=list(catalog.definitions.values()),
                                       members=load_members(app.config.home)[0],
                                       report=lambda line: click.echo(_("warning: {line}").format(line=line)))
    if problems:
        sys.exit(1)
    for definition in sorted(catalog.definitions.values(), key=lambda d: d.path):
        click.echo(_("{path}: {workflow} {label} is valid").format(path=definition.path, workflow=definition.name,
                                                                    label=definition.label))
    if not paths:
        for line in plan_days_off(app, catalog):
            click.echo(line)
    for drift in running_drift(app):
        click.echo(drift.describe())


def running_drift(app: App) -> list:
    """The running instances on older definitions, when the home has a database to ask."""
    from rcmflow.errors import RcmflowError

    url = app.config.db_url
    if url.startswith("sqlite:///") and not Path(url.split("///", 1)[1].split("?")[0]).exists():
        return []  # no database yet (and validating must not create one): nothing runs
    try:
        return app.engine.drift()
    except RcmflowError:
        return []  # a database not set up yet, or unreachable: validating the files needs none


def plan_days_off(app: App, catalog) -> list[str]:
    """`file:line: warning: …` for each date of workflows/roadmap.yaml (a deadline, a
    meeting) that falls on a weekend or on a public holiday of a participant."""
    from rcmflow.default_plugins.scenario.plan import PLAN_FILE, read_plan
    from rcmflow.errors import RcmflowError
    from rcmflow.model.workdays import WorkingDays

    workdays = WorkingDays.from_settings(app.config.section("calendar"))
    lines = []
    try:
        plan = read_plan(app.config.home)
    except RcmflowError as exc:
        return [str(exc)]
    for item in plan:
        definition = catalog.definitions.get(item.workflow)
        if definition is None:
            continue
        try:
            values = definition.parse_params(item.params)
        except RcmflowError:
            continue  # quickstart reports it, at its line
        for name, param in definition.params.items():
            why = workdays.days_off(values[name], definition.participants) if param.type == "date" and \
                values.get(name) else None
            if why:
                lines.append(_("{file}:{line}: warning: {id} {param} {day} is {why}").format(
                    file=PLAN_FILE, line=item.line, id=item.id, param=name, day=values[name].isoformat(), why=why))
    return lines


@workflows.command("graph")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "svg"]), default="mermaid", show_default=True,
              help="Mermaid text (GitHub shows it as a diagram), Graphviz dot, or SVG (needs Graphviz).")
@click.option("--instance", "instance_id", help="Highlight where this instance (and its tracks) stands.")
@pass_engine
def workflows_graph(engine, name: str, fmt: str, instance_id: str | None):
    """The state diagram of a workflow, e.g. rcmflow workflows graph thematic-consultation --instance theme-3."""
    from rcmflow.model.diagram import render_graph

    current, track_states = None, set()
    if instance_id:
        view = engine.get(instance_id)
        if view.workflow != name:
            raise BadInput(_("{instance} is a {workflow}, not a {name}").format(instance=instance_id,
                                                                                 workflow=view.workflow, name=name))
        current, track_states = view.state, {t.state for t in view.tracks.values()}
    click.echo(render_graph(engine.definition(name), fmt, current, track_states))
