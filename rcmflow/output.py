"""Printing the way rcmflow's own commands do, for every command, built-in or added."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import click


#: C0 controls but tab and newline, DEL, the C1 controls (0x9b is a one-byte CSI) and
#: the marks that reorder what a terminal shows (bidirectional overrides, "Trojan Source")
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the control pictures: ␛ for ESC, ␇ for BEL
    return "\u2421" if code == 0x7F else f"<U+{code:04X}>"


def terminal_text(value: Any) -> str:
    """`value` as text a terminal shows and does not obey: its control characters
    made visible (ESC as ␛), so that what a country typed cannot clear the screen,
    retitle the window or open a hyperlink. For rich, wrap it in a `rich.text.Text`
    too: a `str` handed to rich is read as markup."""
    return UNSAFE.sub(_visible, str(value).replace("\r\n", "\n"))


def emit_json(value: Any) -> None:
    """Print `value` as JSON: indented at a terminal, compact (and fast) in a pipe."""
    indent = 2 if sys.stdout.isatty() else None
    click.echo(json.dumps(value, indent=indent, ensure_ascii=False, default=str))


def console():
    """A rich console on standard output, as wide as the terminal. Piped, as wide as the
    terminal it was started from (rich asks stdin and stderr too), COLUMNS, else 80;
    tables fold what does not fit onto more lines rather than cut it."""
    from rich.console import Console

    return Console(highlight=False)
