"""`rcmflow workflows list|show|validate|graph`: the process definitions in workflows/."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rcmflow.cli.group import App, cli, pass_app, pass_engine
from rcmflow.cli.params import json_option
from rcmflow.errors import BadInput
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
@pass_engine
def workflows_list(engine, as_json: bool):
    """The workflows found, with their states and triggers."""
    definitions = sorted(engine.catalog.definitions.values(), key=lambda d: d.name)
    rows = [definition_json(d) for d in definitions]
    if as_json:
        return emit_json(rows)
    from rcmflow.cli.render import workflows_table

    console().print(workflows_table(rows))
    for problem in engine.catalog.problems:
        click.echo(f"invalid: {problem}", err=True)


@workflows.command("show")
@click.argument("name")
@json_option
@pass_engine
def workflows_show(engine, name: str, as_json: bool):
    """One workflow: params, states, transitions with their guards and roles."""
    definition = engine.definition(name)
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
                                       report=lambda line: click.echo(f"warning: {line}"))
    if problems:
        sys.exit(1)
    for definition in sorted(catalog.definitions.values(), key=lambda d: d.path):
        click.echo(f"{definition.path}: {definition.name} v{definition.version} is valid")


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
            raise BadInput(f"{instance_id} is a {view.workflow}, not a {name}")
        current, track_states = view.state, {t.state for t in view.tracks.values()}
    click.echo(render_graph(engine.definition(name), fmt, current, track_states))
