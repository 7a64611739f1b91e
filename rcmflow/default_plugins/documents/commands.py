"""`rcmflow build INSTANCE`: what the `build_document` action does, by hand; and
`rcmflow attachments INSTANCE`: the files countries sent, listed and saved.

This module is loaded with every command, so it imports only what defining the
command needs; the document libraries load when a build runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from rcmflow.errors import BadInput
from rcmflow.output import emit_json
from rcmflow.default_plugins.documents.files import FORMATS, available_templates
from rcmflow.language import _

if TYPE_CHECKING:
    from rcmflow import Engine
    from rcmflow.model.definition import Definition


def add_commands(cli: click.Group, pass_engine: Any) -> None:
    """Add `build` to `cli`; its docstring is its help."""

    @cli.command("build")
    @click.argument("instance")
    @click.option("--template", "-t", metavar="NAME",
                  help="A template of workflows/templates/ (default: the one the workflow's build_document names).")
    @click.option("--format", "formats", type=click.Choice(FORMATS), multiple=True,
                  help="docx or html; repeat for both (default: both).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    @pass_engine
    def build_command(engine, instance, template, formats, as_json):
        """Build INSTANCE's document into out/INSTANCE/ and record it in the history.

        One edition per language its readers use (the home's language, and those of
        the participants' people in members.yaml): NAME.es.docx, NAME.en.docx, NAME.es.html,
        NAME.en.html. What a country sent stays in its own language, marked as such.

        \b
        rcmflow build theme-1 --template regional-input
        rcmflow build declaration-2017 --template declaration-draft --format docx
        """
        return build_by_hand(engine, instance, template, formats or FORMATS, as_json)

    @cli.command("attachments")
    @click.argument("instance")
    @click.option("--participant", "-p", metavar="CODE", help="Only the files of this participant (e.g. MX).")
    @click.option("--save", "folder", type=click.Path(file_okay=False), metavar="DIR",
                  help="Write the files into DIR/PARTICIPANT/ (a file sent again: the latest).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    @pass_engine
    def attachments_command(engine, instance, participant, folder, as_json):
        """The files sent with INSTANCE's steps: who sent which, when, its size and SHA-256.

        \b
        rcmflow attachments theme-3
        rcmflow attachments theme-3 --participant MX --save inputs/
        """
        from rcmflow.default_plugins.documents.saved import list_or_save

        list_or_save(engine, instance, participant, folder, as_json)


def build_by_hand(engine: "Engine", instance: str, template: str | None, formats: tuple[str, ...],
                  as_json: bool) -> None:
    """Build and print each file written (or the build as JSON)."""
    from rcmflow.default_plugins.documents.build import build  # the document libraries load on first build

    engine.require_person(f"build {instance}")  # the build is recorded: refused before any file is written
    view = engine.get(instance)
    if template is None:
        named = workflow_templates(engine.definition_of(view))
        if len(named) != 1:
            known = ", ".join(named or available_templates(engine.home)) or "none in workflows/templates/"
            what = "several build_document templates" if named else "no build_document template"
            raise BadInput(_("{workflow} names {what}: give --template, one of {known}").format(
                workflow=view.workflow, what=what, known=known))
        [template] = named
    result = build(engine, view, template, formats)
    if as_json:
        return emit_json(result.as_json())
    for built in result.files:
        click.echo(_("{path}  {size} bytes  sha256 {digest}").format(path=built.path, size=f"{built.size:,}",
                                                                   digest=built.sha256))


def workflow_templates(definition: "Definition") -> list[str]:
    """The templates the workflow's own build_document actions name."""
    calls = []
    for machine in filter(None, (definition.instance, definition.track)):
        for state in machine.states.values():
            calls += [*state.on_enter, *state.on_exit]
        for transition in machine.transitions:
            calls += transition.actions
    return sorted({c.args["template"] for c in calls if c.name == "build_document" and isinstance(c.args, dict)})
