"""The `rcmflow` click group: global options, plugin commands, one-line errors.

Nothing here imports SQLAlchemy, rich or the engine at module level, so that
`rcmflow --help` stays cheap; the engine is built the first time a command asks.
"""

from __future__ import annotations

import functools
import inspect
import sys
from contextlib import contextmanager

import click

from rcmflow.errors import RcmflowError


class UserError(click.ClickException):
    """A `RcmflowError` on its way to the terminal: one line, its own exit code."""

    def __init__(self, error: RcmflowError):
        super().__init__(str(error))
        self.exit_code = error.exit_code

    def show(self, file=None) -> None:
        from rcmflow.language import _
        from rcmflow.output import terminal_text  # what the user gave, shown, never obeyed

        click.echo(_("Error: {message}").format(message=terminal_text(self.format_message())), err=True)


class App:
    """What the global options chose; config, plugins and engine are built on first use."""

    def __init__(self, home: str | None, db: str | None, actor: str | None, lang: str | None = None):
        self.home, self.db, self.actor, self.lang = home, db, actor, lang
        #: `--now`: the one time every part of the command sees (None: the real clock)
        self.now = None
        #: `--replay`: the command replays past dates, so a step may open after its deadline
        self.replay = False
        self._config = None
        self._plugins = None
        self._engine = None

    @property
    def config(self):
        if self._config is None:
            from rcmflow.config import load_config

            from rcmflow.language import use

            self._config = load_config(self.home, self.db, self.actor, self.lang)
            use(self._config.language)  # what the home speaks, unless --lang said
        return self._config

    @property
    def plugins(self):
        if self._plugins is None:
            from rcmflow.plugins import load_plugins

            self._plugins = load_plugins(self.config.home)
        return self._plugins

    def close(self) -> None:
        """Give back the database connections of the command's engine."""
        if self._engine is not None:
            self._engine.close()

    @property
    def engine(self):
        if self._engine is None:
            from rcmflow.core.engine import Engine
            from rcmflow.language import _

            require_home(self.config.home)
            self._engine = Engine(config=self.config, plugins=self.plugins)
            if self.now is not None:
                self._engine = self._engine.at(self.now)
            if self.replay:
                self._engine = self._engine.replaying()
            # a step that committed stands: what failed after it is a warning, and exit 0
            self._engine.on_warning = lambda line: click.echo(_("Warning: {line}").format(line=line), err=True)
        return self._engine


def require_home(home) -> None:
    """Refuse to work in a folder that is not a project: a command run in the wrong
    folder would otherwise leave an empty rcmflow.db behind."""
    from rcmflow.errors import BadInput
    from rcmflow.language import _

    if not (home / "workflows").is_dir():
        raise BadInput(_("{home} is not an rcmflow home: it has no workflows/ folder; run rcmflow in the "
                         "project folder, or give --home DIR (or RCMFLOW_HOME)").format(home=home))


def _nearest(ctx: click.Context):
    """The nearest context object that is an `Engine` (a command may run another on an
    engine of its own, as `demo` does with `status`), else the `App` of the global options."""
    from rcmflow.core.engine import Engine

    node: click.Context | None = ctx
    while node is not None:
        if isinstance(node.obj, (Engine, App)):
            return node.obj
        node = node.parent
    raise RuntimeError("no rcmflow engine: run this command through the rcmflow command line")


def engine_of(ctx: click.Context):
    """The engine a command in `ctx` works on."""
    found = _nearest(ctx)
    return found.engine if isinstance(found, App) else found


def config_of(ctx: click.Context):
    """The settings (home, database, time zone...) of the command in `ctx`, without
    building an engine."""
    return _nearest(ctx).config


def get_engine():
    """The engine for the current command's home, database and actor (for plugin commands)."""
    return engine_of(click.get_current_context())


def pass_engine(command):
    """Decorate a command so that it receives the `Engine` as its first argument.

    To run a command on another engine, set `ctx.obj` to that engine and
    `ctx.invoke` the command (see `rcmflow demo`).
    """

    @click.pass_context
    def with_engine(ctx: click.Context, *args, **kwargs):
        return ctx.invoke(command, engine_of(ctx), *args, **kwargs)

    return functools.update_wrapper(with_engine, command)


pass_app = click.make_pass_decorator(App)


def _choose_language(ctx: click.Context, _param, value: str | None) -> str | None:
    if value:
        from rcmflow.language import use

        use(value)
        app = ctx.find_object(App)
        if app is not None:  # its settings, if read later, speak it too
            app.lang = value
    return value


#: `--lang` after the command too (`rcmflow status --lang es`), as before it
LANG_OPTION = click.Option(["--lang"], type=click.Choice(["en", "es"]), expose_value=False, is_eager=True,
                           callback=_choose_language, help="Language of this command's output (see rcmflow --help).")


def on_every_command(command: click.Command, option: click.Option) -> None:
    """Give `command`, and each command of a group, `option` unless it has one of that name."""
    if not any(option.name == param.name for param in command.params):
        command.params.append(option)
    for sub in getattr(command, "commands", {}).values():
        on_every_command(sub, option)


@contextmanager
def _spoken(items):
    """The help of `items` (a command, its options) in the command's language while it is
    shown: the catalogs hold each as written (babel.cfg extracts docstrings and help=)."""
    from rcmflow.language import _

    written = [(item, item.help) for item in items if getattr(item, "help", None)]
    try:
        for item, text in written:
            item.help = _(inspect.cleandoc(text))
        yield
    finally:
        for item, text in written:
            item.help = text


class Spoken:
    """A click command whose `--help` and short help speak the language of the command
    line (--lang, RCMFLOW_LANG, rcmflow.toml), known by the time help is shown."""

    def get_help(self, ctx: click.Context) -> str:
        with _spoken([self, *self.get_params(ctx)]):
            return super().get_help(ctx)

    def get_short_help_str(self, limit: int = 45) -> str:
        with _spoken([self]):
            return super().get_short_help_str(limit)


def speaking(command: click.Command) -> None:
    """Make `command` and its subcommands `Spoken`, whatever class made them (a plugin's
    `@click.command()` too)."""
    if not isinstance(command, Spoken):
        command.__class__ = _spoken_kind(type(command))
    for sub in getattr(command, "commands", {}).values():
        speaking(sub)


@functools.cache
def _spoken_kind(kind: type) -> type:
    return type(kind.__name__, (Spoken, kind), {})


class RcmflowGroup(Spoken, click.Group):
    """Adds plugin commands on first look-up and turns user errors into one line."""

    _plugin_commands: list[str] | None = None

    def make_context(self, *args, **kwargs) -> click.Context:
        # One process may run several invocations (tests do): forget the last home's commands.
        for name in self._plugin_commands or ():
            self.commands.pop(name, None)
        self._plugin_commands = None
        from rcmflow.language import use

        use(None)  # and the last one's language: this one's comes with its settings
        ctx = super().make_context(*args, **kwargs)
        ctx.call_on_close(lambda: use(None))  # nor does the Python API after it speak the command's language
        return ctx

    def _add_plugin_commands(self, ctx: click.Context) -> None:
        if self._plugin_commands is not None:
            return
        self._plugin_commands = []
        if ctx.obj is None:
            ctx.obj = App(ctx.params.get("home"), ctx.params.get("db"), ctx.params.get("actor"), ctx.params.get("lang"))
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
        command = super().get_command(ctx, name)
        if command is not None:
            on_every_command(command, LANG_OPTION)
            speaking(command)
        return command

    def get_help(self, ctx: click.Context) -> str:
        self._add_plugin_commands(ctx)  # the home's settings: the language the help speaks
        return super().get_help(ctx)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RcmflowError as exc:
            raise UserError(exc) from None
        except Exception as exc:
            if not is_database_error(exc):
                raise
            raise UserError(database_error(ctx, exc)) from None


def is_database_error(exc: Exception) -> bool:
    """A failure of the database driver, seen through SQLAlchemy. If SQLAlchemy was never
    imported (`rcmflow --help`, say), no database was used, so nothing is imported here."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.DBAPIError)


def database_error(ctx: click.Context, exc: Exception) -> RcmflowError:
    """A database failure as one line, with the likely remedy."""
    from rcmflow.errors import DatabaseError
    from rcmflow.language import _

    app = ctx.find_object(App)
    url = app.engine.db.display_url if app and app._engine else _("the database")
    message = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    if "no such table" in message or "does not exist" in message and "relation" in message:
        return DatabaseError(_("{url} has no rcmflow tables yet: run 'rcmflow init'").format(url=url))
    return DatabaseError(_("cannot use the database {url}: {error}").format(url=url, error=message))


@click.group(cls=RcmflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
# eager, so that `--home DIR --help` lists the commands of DIR's plugins
@click.option("--home", envvar="RCMFLOW_HOME", type=click.Path(file_okay=False), is_eager=True,
              help="Project folder with workflows/ and plugins/ [env RCMFLOW_HOME; default: here].")
@click.option("--db", envvar="RCMFLOW_DB",
              help="Database URL [env RCMFLOW_DB; default: sqlite file rcmflow.db in the home].")
@click.option("--actor", envvar="RCMFLOW_ACTOR", help="Who is acting: a person id of members.yaml [env RCMFLOW_ACTOR].")
@click.option("--now", metavar="ISO", envvar="RCMFLOW_NOW",
              help="Act as if it were this time, for every part of the command (a replay, a what-if): "
                   "e.g. 2017-04-21T09:00, in the home's time zone [env RCMFLOW_NOW].")
@click.option("--replay", is_flag=True, envvar="RCMFLOW_REPLAY",
              help="Replay past dates (an old plan, a story like the demo's): start or open a step whose "
                   "deadline has passed, which is refused otherwise; else move it with rcmflow extend "
                   "[env RCMFLOW_REPLAY=1].")
@click.option("--lang", envvar="RCMFLOW_LANG", type=click.Choice(["en", "es"]), is_eager=True,
              callback=_choose_language,
              help="Language of tables, messages, pages and calendar [env RCMFLOW_LANG; rcmflow.toml language; "
                   "default en]. --json is the same in every language.")
@click.option("--log-format", type=click.Choice(["console", "json"]), default="console", show_default=True,
              help="Log lines on stderr: readable, or one JSON object a line.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              help="Default: warning on the console, info for JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Same as --log-level info.")
@click.version_option(package_name="rcmflow")
@click.pass_context
def cli(ctx, home, db, actor, now, replay, lang, log_format, log_level, verbose):
    """rcmflow runs the RCM roadmap: consultations, reviews, meetings, the declaration.

    \b
    A first session:
      export RCMFLOW_ACTOR=ts-officer                who you are: a person of workflows/members.yaml
      rcmflow quickstart                             create the database, start the roadmap
      rcmflow workflows list                         what processes exist
      rcmflow status                                 every country against every step
      rcmflow fire theme-1 open                      ask every member for input
      rcmflow triggers theme-1                       what can happen next, and why not
      rcmflow fire theme-1 submit --participant MX   move one country's track
      rcmflow history theme-1                        who did what, and when
      rcmflow demo                                   the meeting report's story, end to end
    """
    from rcmflow.language import use
    from rcmflow.log import configure

    configure(log_format, log_level or ("info" if verbose else None))
    if lang:
        use(lang)
    if ctx.obj is None:  # the plugin look-up may have made it already
        ctx.obj = App(home, db, actor, lang)
    if isinstance(ctx.obj, App):
        ctx.call_on_close(ctx.obj.close)  # one process may run many commands (tests, plugins' scripts)
    if isinstance(ctx.obj, App):
        ctx.obj.replay = replay
    if now:
        from rcmflow.model.values import parse_moment

        ctx.obj.now = parse_moment(now, ctx.obj.config.timezone)


def main() -> None:
    cli(prog_name="rcmflow")
