"""`rcmflow plugins list|hooks`: what the loaded plugins register, and how to write one."""

from __future__ import annotations

import click

from rcmflow.cli.group import App, cli, pass_app
from rcmflow.cli.params import json_option
from rcmflow.output import console, emit_json


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
