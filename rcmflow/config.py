"""Where rcmflow works and with what: home folder, database, actor, time zone.

Precedence, highest first: command-line option, environment variable
(`RCMFLOW_HOME`, `RCMFLOW_DB`, `RCMFLOW_ACTOR`), `rcmflow.toml` in the home, default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rcmflow.context import SYSTEM_ACTOR
from rcmflow.errors import Forbidden, SettingsError

CONFIG_FILE = "rcmflow.toml"


@dataclass(frozen=True)
class Config:
    home: Path
    db_url: str
    actor: str
    timezone: ZoneInfo
    #: the whole of rcmflow.toml, for plugins that keep their settings there
    settings: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        value = self.settings.get(name) or {}
        return value if isinstance(value, dict) else {}


def load_config(home: str | Path | None = None, db: str | None = None, actor: str | None = None) -> Config:
    home_path = Path(home or os.environ.get("RCMFLOW_HOME") or ".").expanduser().resolve()
    settings, timezone = read_settings(home_path / CONFIG_FILE)
    db_url = db or os.environ.get("RCMFLOW_DB") or settings.get("database", {}).get("url")
    if not db_url:
        db_url = f"sqlite:///{home_path / 'rcmflow.db'}"
    # No fallback to the login name: events are recorded under people of members.yaml only.
    actor = actor or os.environ.get("RCMFLOW_ACTOR") or settings.get("actor") or ""
    refuse_system_actor(str(actor))
    return Config(home_path, db_url, actor, timezone, settings)


def refuse_system_actor(actor: str) -> None:
    """No one may act under the name rcmflow gives what it does by itself: the
    history must tell a person's step from a timeout or a reminder."""
    if actor == SYSTEM_ACTOR:
        raise Forbidden(f"actor {SYSTEM_ACTOR!r} is the name rcmflow gives what it does by itself "
                        f"(timeouts, reminders, documents); act as a person id of workflows/members.yaml "
                        f"(--actor, RCMFLOW_ACTOR or actor in {CONFIG_FILE})")


def read_settings(path: Path) -> tuple[dict[str, Any], ZoneInfo]:
    """rcmflow.toml checked against its shape (`rcmflow.model.schema.SettingsShape`) and
    its time zone; any problem raises SettingsError with every `file:line: message`."""
    from rcmflow.model.loader import load_toml
    from rcmflow.model.schema import SettingsShape, shape_problems

    if not path.exists():
        return {}, ZoneInfo("UTC")
    data, problems = load_toml(path, CONFIG_FILE)
    timezone = ZoneInfo("UTC")
    if data is not None and shape_problems(SettingsShape, data, problems, CONFIG_FILE, toml=True):
        tz_name = data.get("timezone", "UTC")
        try:
            timezone = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            problems.add(data, f"unknown timezone {tz_name!r}; use a name like America/Mexico_City or UTC", "timezone")
    if problems:
        raise SettingsError(problems)
    return _plain(data), timezone


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
