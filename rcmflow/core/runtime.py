"""What every part of the core shares for one home: settings, members, plugins, the
definitions and their compiled machines, and the clock. It holds no database state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from rcmflow.config import Config, refuse_system_actor
from rcmflow.core.machine import CompiledMachine
from rcmflow.errors import DefinitionError, NotFound, RcmflowError
from rcmflow.language import _
from rcmflow.model.catalog import Catalog, load_catalog, read_text_definition
from rcmflow.model.loader import Problems
from rcmflow.model.definition import Definition
from rcmflow.model.members import Members
from rcmflow.model.workdays import WorkingDays
from rcmflow.plugins import Plugins


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Runtime:
    config: Config
    plugins: Plugins
    members: Members
    clock: Callable[[], dt.datetime] = utc_now
    #: the command replays past dates (`--replay`): a step may open after its deadline
    replay: bool = False
    _catalog: Catalog | None = field(default=None, repr=False)
    #: reads a stored definition by its digest (the engine gives one reading the database)
    stored: Callable[[str], dict[str, Any] | None] | None = field(default=None, repr=False)
    _machines: dict[tuple[str, str, str], CompiledMachine] = field(default_factory=dict, repr=False)
    _pinned: dict[str, Definition] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Only the engine acts as SYSTEM_ACTOR, and never through a runtime's actor.
        refuse_system_actor(self.config.actor)

    def acting_as(self, actor: str) -> "Runtime":
        """The same runtime (and caches) for another actor."""
        self.catalog  # noqa: B018 - loaded once and shared, with the machines compiled from it
        other = replace(self, config=replace(self.config, actor=actor))
        other._machines, other._pinned = self._machines, self._pinned
        return other

    def at(self, moment: dt.datetime) -> "Runtime":
        """The same runtime (and caches) on a clock stopped at `moment` (`--now`)."""
        self.catalog  # noqa: B018
        other = replace(self, clock=lambda: moment)
        other._machines, other._pinned = self._machines, self._pinned
        return other

    def replaying(self) -> "Runtime":
        """The same runtime (and caches) for a command that replays past dates."""
        self.catalog  # noqa: B018
        other = replace(self, replay=True)
        other._machines, other._pinned = self._machines, self._pinned
        return other

    @property
    def actor(self) -> str:
        return self.config.actor

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = load_catalog(self.config.home, self.plugins.registry, self.members)
        return self._catalog

    def definition(self, workflow: str) -> Definition:
        catalog = self.catalog
        if workflow not in catalog.definitions and catalog.problems:
            raise DefinitionError(catalog.problems)
        return catalog.get(workflow)

    def definition_of(self, workflow: str, digest: str | None) -> Definition:
        """The definition an instance runs on: the one pinned by `digest`, which is the
        file's own unless the file has changed since the instance started (None: an
        instance started before definitions were pinned runs on the file)."""
        current = self.definition(workflow) if workflow in self.catalog.definitions or digest is None else None
        if digest is None or (current is not None and current.digest == digest):
            return current
        if digest not in self._pinned:
            self._pinned[digest] = self._read_stored(workflow, digest)
        return self._pinned[digest]

    def shown_definition(self, workflow: str, digest: str | None) -> Definition | None:
        """`definition_of` for what only shows an instance: None rather than an error."""
        try:
            return self.definition_of(workflow, digest)
        except RcmflowError:
            return None

    def _read_stored(self, workflow: str, digest: str) -> Definition:
        stored = self.stored(digest) if self.stored else None
        if stored is None:
            raise NotFound(_("the definition {digest} that {workflow} instances run on is not in the database; "
                             "was it restored from another copy?").format(digest=digest[:8], workflow=workflow))
        where = f"{stored['path']} v{stored['version']} ({digest[:8]}, kept in the database)"
        problems = Problems(where)
        _data, definition = read_text_definition(stored["text"], where, problems, self.plugins.registry, self.members)
        if definition is None:  # e.g. a guard it names is no longer registered by any plugin
            raise DefinitionError(list(problems))
        return definition

    def machine(self, definition: Definition, level: str) -> CompiledMachine:
        """The compiled machine of a definition's instance or track level, built once."""
        key = (definition.name, definition.digest or str(definition.version), level)
        if key not in self._machines:
            mdef = definition.instance if level == "instance" else definition.track
            self._machines[key] = CompiledMachine(mdef)
        return self._machines[key]

    def now(self) -> dt.datetime:
        return self.clock()

    @property
    def workdays(self) -> WorkingDays:
        """Which days each country works: `[calendar]` of rcmflow.toml."""
        return WorkingDays.from_settings(self.config.section("calendar"))

    def local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(self.config.timezone)

    def today(self, moment: dt.datetime | None = None) -> dt.date:
        """The day it is in the home's time zone: deadlines are days there."""
        return self.local(moment or self.now()).date()
