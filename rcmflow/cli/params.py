"""The click parameter types and shared options of the commands.

A bad value raises a `RcmflowError` (not click's usage error), so that it reaches
the user as the one-line error every rcmflow command prints, with exit code 1.
"""

from __future__ import annotations

import click

from rcmflow.errors import BadInput


class NameValue(click.ParamType):
    """`--set deadline=2017-04-20`: converts to the pair (name, value)."""

    name = "NAME=VALUE"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        name, sep, text = str(value).partition("=")
        if not sep or not name.strip():
            raise BadInput(f"--set expects NAME=VALUE, e.g. --set deadline=2017-04-20; got {value!r}")
        return name.strip(), text


class NameFile(NameValue):
    """`--set-file text=draft.md`: a long value, such as a text to adopt, read from a
    UTF-8 file; converts to the pair (name, text of the file)."""

    name = "NAME=PATH"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        from rcmflow.core.files import MAX_ATTACHMENT_BYTES
        from rcmflow.core.files import read_limited

        name, path = super().convert(value, param, ctx)
        content = read_limited(path, MAX_ATTACHMENT_BYTES, f"the --set-file {name} file")
        try:
            return name, content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(f"--set-file {name}: cannot read {path!r} as UTF-8 text: {exc}") from None


class HomeDateTime(click.ParamType):
    """An ISO 8601 date and time, e.g. 2017-04-21T09:00; without a zone, it is read in the
    home's time zone. Converts to an aware datetime in UTC."""

    name = "ISO"

    def convert(self, value, param, ctx):
        from rcmflow.cli.group import config_of
        from rcmflow.model.values import parse_moment

        if isinstance(value, str) and not value:
            return None  # `--now ''`: the real time, as without --now
        return parse_moment(value, config_of(ctx).timezone)


NAME_VALUE = NameValue()
NAME_FILE = NameFile()
HOME_DATETIME = HomeDateTime()
# Attachments are read by the engine, which names the file it cannot read.
ATTACHMENT = click.Path(dir_okay=False)



def _in_one_language(ctx, _param, as_json: bool) -> bool:
    """`--json` is the same in every language: what it says in words (a guard's reason, a
    problem found) is in the default language, for the scripts that read it."""
    if as_json:
        from rcmflow.cli.group import App
        from rcmflow.language import DEFAULT, use

        use(DEFAULT)
        app = ctx.find_object(App)
        if app is not None:  # its settings, if read later, keep to it
            app.lang = DEFAULT
    return as_json


json_option = click.option("--json", "as_json", is_flag=True, callback=_in_one_language,
                           help="Print JSON for scripts instead of a table (in English, whatever --lang says).")


def set_option(help: str):
    """`--set NAME=VALUE`, repeatable; the command receives a tuple of (name, value) pairs."""
    return click.option("--set", "sets", multiple=True, type=NAME_VALUE, metavar="NAME=VALUE", help=help)
