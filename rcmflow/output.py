"""Printing the way rcmflow's own commands do, for every command, built-in or added."""

from __future__ import annotations

import json
import sys
from typing import Any

import click


def emit_json(value: Any) -> None:
    """Print `value` as JSON: indented at a terminal, compact (and fast) in a pipe."""
    indent = 2 if sys.stdout.isatty() else None
    click.echo(json.dumps(value, indent=indent, ensure_ascii=False, default=str))


def console():
    """A rich console on standard output that never truncates piped output."""
    from rich.console import Console

    # Piped output is read by people with wide windows and by grep.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)
