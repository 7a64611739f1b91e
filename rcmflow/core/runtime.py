"""What every part of the core shares for one home: settings, members, plugins, the
definitions and their compiled machines, and the clock. It holds no database state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Callable

from rcmflow.config import Config, refuse_system_actor
from rcmflow.core.machine import CompiledMachine
from rcmflow.errors import DefinitionError
from rcmflow.model.catalog import Catalog, load_catalog
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
    _catalog: Catalog | None = field(default=None, repr=False)
    _machines: dict[tuple[str, int, str], CompiledMachine] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Only the engine acts as SYSTEM_ACTOR, and never through a runtime's actor.
        refuse_system_actor(self.config.actor)

    def acting_as(self, actor: str) -> "Runtime":
        """The same runtime (and caches) for another actor."""
        self.catalog  # noqa: B018 - loaded once and shared, with the machines compiled from it
        other = replace(self, config=replace(self.config, actor=actor))
        other._machines = self._machines
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

    def machine(self, definition: Definition, level: str) -> CompiledMachine:
        """The compiled machine of a definition's instance or track level, built once."""
        key = (definition.name, definition.version, level)
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
