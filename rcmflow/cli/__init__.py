"""The `rcmflow` command line: a thin layer over `rcmflow.Engine`.

Every listing takes `--json` for scripts; errors a user can cause print one line on
stderr and exit non-zero. Plugins add commands through `register_commands`; the
built-in `quickstart` and `demo` come that way from `rcmflow.default_plugins.scenario`.

group.py      the click group, its global options, the engine of a command, errors
params.py     parameter types: --set NAME=VALUE, --set-file, --attach, --now ISO
workflows.py  workflows list|show|validate|graph
steps.py      init, start, triggers, fire
monitor.py    status, tick, outbox
whatif.py     whatif: what slips when countries are late, played on a copy
history.py    history INSTANCE, history verify|head
plugins.py    plugins list|hooks
render.py     the rich tables (never imported for --json)
"""

from __future__ import annotations

from rcmflow.cli.group import App, UserError, cli, get_engine, main, pass_app, pass_engine
from rcmflow.cli.params import json_option

# the command modules add their commands to `cli` as they are imported
from rcmflow.cli import history, monitor, plugins, steps, whatif, workflows  # noqa: E402,F401  isort: skip

__all__ = ["App", "UserError", "cli", "get_engine", "json_option", "main", "pass_app", "pass_engine"]
