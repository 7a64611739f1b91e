"""The plugin manager: built-in plugins, installed entry points, the home's plugins/.

Built-in guards and actions are plugins like any other (`DEFAULT_PLUGINS`), so a
third-party plugin has every power the core has and no private path exists.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pluggy

from rcmflow import hookspecs
from rcmflow.errors import PluginError

DEFAULT_PLUGINS = (
    "rcmflow.default_plugins.guards",
    "rcmflow.default_plugins.actions",
    "rcmflow.default_plugins.calendar",
    "rcmflow.default_plugins.documents",
    "rcmflow.default_plugins.notify",
    "rcmflow.default_plugins.web",
    "rcmflow.default_plugins.mail",
    "rcmflow.default_plugins.scenario",
)
ENTRY_POINT_GROUP = "rcmflow"


@dataclass(frozen=True)
class Registered:
    """A guard or action that a plugin registered."""

    name: str
    function: Callable[..., Any]
    plugin: str
    checker: Callable[[Any], str | None] | None = None
    in_transaction: bool = False
    #: the data keys an in-transaction action writes: names, or a function of the
    #: call's args that gives them; a `--set` of one of them is refused
    owns: tuple[str, ...] | Callable[[Any], Any] = ()

    def check(self, args: Any) -> str | None:
        return self.checker(args) if self.checker else None

    def owned(self, args: Any) -> tuple[str, ...]:
        """The data keys this action writes when called with `args`."""
        return tuple(self.owns(args) if callable(self.owns) else self.owns)

    @property
    def summary(self) -> str:
        doc = (self.function.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


@dataclass
class Registry:
    guards: dict[str, Registered] = field(default_factory=dict)
    actions: dict[str, Registered] = field(default_factory=dict)


@dataclass
class PluginInfo:
    name: str
    source: str
    hooks: list[str]
    guards: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "hooks": self.hooks,
                "guards": self.guards, "actions": self.actions, "commands": self.commands}


class Plugins:
    """A loaded plugin manager with its registry of guards and actions."""

    def __init__(self, pm: pluggy.PluginManager, sources: dict[str, str]):
        self.pm = pm
        self.sources = sources
        self.registry = Registry()
        self._collect("register_guards", self.registry.guards)
        self._collect("register_actions", self.registry.actions)
        self.commands: dict[str, list[str]] = {}

    @property
    def hook(self):
        """The hooks, to call them the way rcmflow does: `plugins.hook.document_context(...)`."""
        return self.pm.hook

    def _collect(self, hook: str, into: dict[str, Registered]) -> None:
        # Each plugin is called alone, through pluggy (so it gets only the arguments it
        # declares), with its own `register`, so that a clash can name both plugins.
        for impl in getattr(self.pm.hook, hook).get_hookimpls():  # registration order
            plugin = impl.plugin_name

            def register(name, function, check=None, in_transaction=False, owns=(), _plugin=plugin):
                if name in into:
                    raise PluginError(
                        f"{hook.split('_')[1][:-1]} {name!r} is registered by both "
                        f"{into[name].plugin} and {_plugin}; rename one of them")
                if owns and not in_transaction:
                    raise PluginError(f"{_plugin}: action {name!r} gives owns= without in_transaction=True; "
                                      f"only an in-transaction action writes data")
                owns = owns if callable(owns) else (owns,) if isinstance(owns, str) else tuple(owns)
                into[name] = Registered(name, function, _plugin, check, in_transaction, owns)

            self._only(hook, impl.plugin)(register=register)

    def _only(self, hook: str, plugin: object):
        """The hook `hook` as one plugin implements it, called through pluggy."""
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        return self.pm.subset_hook_caller(hook, remove_plugins=others)

    def add_commands(self, cli, pass_engine) -> None:
        """Let every plugin add its commands to the click group `cli`."""
        for impl in self.pm.hook.register_commands.get_hookimpls():
            before = dict(cli.commands)
            self._only("register_commands", impl.plugin)(cli=cli, pass_engine=pass_engine)
            added = [name for name in cli.commands if before.get(name) is not cli.commands[name]]
            for name in added:
                if name in before:
                    cli.commands[name] = before[name]
                    raise PluginError(f"plugin {impl.plugin_name} adds command {name!r}, which already exists")
            self.commands[impl.plugin_name] = added

    def describe(self) -> list[PluginInfo]:
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            infos.append(PluginInfo(
                name=name,
                source=self.sources.get(name, "registered"),
                hooks=hooks,
                guards=sorted(g for g, r in self.registry.guards.items() if r.plugin == name),
                actions=sorted(a for a, r in self.registry.actions.items() if r.plugin == name),
                commands=sorted(self.commands.get(name, [])),
            ))
        return infos


def hook_reference() -> str:
    """The hooks as Markdown, from their specs' signatures and docstrings (docs/plugins.md)."""
    import inspect

    parts = []
    for name, spec in inspect.getmembers(hookspecs, inspect.isfunction):
        if getattr(spec, "rcmflow_spec", None) is None:
            continue
        parts.append(f"### `{name}{inspect.signature(spec)}`\n\n{inspect.getdoc(spec)}\n")
    return "\n".join(parts)


def entry_points_enabled() -> bool:
    """Tests turn installed entry points off so that only what they load is loaded."""
    return os.environ.get("RCMFLOW_ENTRY_POINTS", "1") not in {"0", "false", "no"}


def load_plugins(home: Path, entry_points: bool | None = None) -> Plugins:
    pm = pluggy.PluginManager("rcmflow")
    pm.add_hookspecs(hookspecs)
    sources: dict[str, str] = {}
    for module_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
        sources[module_name] = "built-in"
    if entry_points if entry_points is not None else entry_points_enabled():
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a broken installed plugin must say which one it is (sys.exit too)
            raise PluginError(f"an installed plugin (entry point group 'rcmflow') failed to load: {exc!r}") from None
        for plugin, dist in pm.list_plugin_distinfo():
            sources[pm.get_name(plugin)] = f"entry point ({dist.project_name} {dist.version})"
    for path in _plugin_files(home / "plugins"):
        module = _import_file(path, home)
        name = f"plugins/{path.name}" if path.suffix == ".py" else f"plugins/{path.name}/"
        pm.register(module, name=name)
        sources[name] = str(path)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"{exc.plugin_name if hasattr(exc, 'plugin_name') else 'a plugin'}: {exc}") from None
    return Plugins(pm, sources)


def _plugin_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    files = [p for p in folder.glob("*.py") if not p.name.startswith("_")]
    packages = [p for p in folder.iterdir() if (p / "__init__.py").is_file() and not p.name.startswith("_")]
    return sorted(files + packages)


def _import_file(path: Path, home: Path):
    # A name unique to this home, so two homes in one process never share a module.
    digest = hashlib.sha1(str(home).encode()).hexdigest()[:8]
    module_name = f"rcmflow_plugins_{digest}.{path.stem}"
    target = path / "__init__.py" if path.is_dir() else path
    spec = importlib.util.spec_from_file_location(
        module_name, target, submodule_search_locations=[str(path)] if path.is_dir() else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        sys.modules.pop(module_name, None)
        raise
    except BaseException as exc:  # SystemExit too: a plugin must not end the command, nor silently
        sys.modules.pop(module_name, None)
        line = _failing_line(exc, target)
        what = f"it called sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}"
        raise PluginError(f"plugins/{path.name}{line}: cannot load plugin: {what}") from None
    return module


def _failing_line(exc: BaseException, target: Path) -> str:
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f":{exc.lineno}"
    tb = exc.__traceback__
    line = ""
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == target:
            line = f":{tb.tb_lineno}"
        tb = tb.tb_next
    return line
