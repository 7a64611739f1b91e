"""Where rcmflow works and with what: home folder, database, actor, language, time zone.

Precedence, highest first: command-line option, environment variable
(`RCMFLOW_HOME`, `RCMFLOW_DB`, `RCMFLOW_ACTOR`, `RCMFLOW_LANG`), `rcmflow.toml` in the
home, default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rcmflow.context import SYSTEM_ACTOR
from rcmflow.errors import BadInput, Forbidden, SettingsError
from rcmflow.language import DEFAULT, LANGUAGES, _

CONFIG_FILE = "rcmflow.toml"


@dataclass(frozen=True)
class Config:
    home: Path
    db_url: str
    actor: str
    timezone: ZoneInfo
    #: the whole of rcmflow.toml, for plugins that keep their settings there
    settings: dict[str, Any] = field(default_factory=dict)
    #: what the command line, the calendar and the pages speak unless told otherwise
    language: str = DEFAULT

    def section(self, name: str) -> dict[str, Any]:
        value = self.settings.get(name) or {}
        return value if isinstance(value, dict) else {}


def load_config(home: str | Path | None = None, db: str | None = None, actor: str | None = None,
                language: str | None = None) -> Config:
    home_path = Path(home or os.environ.get("RCMFLOW_HOME") or ".").expanduser().resolve()
    settings, timezone = read_settings(home_path / CONFIG_FILE)
    db_url = db or os.environ.get("RCMFLOW_DB") or settings.get("database", {}).get("url")
    if not db_url:
        db_url = f"sqlite:///{home_path / 'rcmflow.db'}"
    # No fallback to the login name: events are recorded under people of members.yaml only.
    actor = actor or os.environ.get("RCMFLOW_ACTOR") or settings.get("actor") or ""
    refuse_system_actor(str(actor))
    language = language or os.environ.get("RCMFLOW_LANG") or settings.get("language") or DEFAULT
    if language not in LANGUAGES:  # rcmflow.toml's is checked with the file's line
        raise BadInput(_("unknown language {language} (RCMFLOW_LANG); rcmflow speaks {languages}").format(
            language=repr(language), languages=", ".join(LANGUAGES)))
    return Config(home_path, db_url, actor, timezone, settings, language)


def refuse_system_actor(actor: str) -> None:
    """No one may act under the name rcmflow gives what it does by itself: the
    history must tell a person's step from a timeout or a reminder."""
    if actor == SYSTEM_ACTOR:
        raise Forbidden(_("actor {actor} is the name rcmflow gives what it does by itself (timeouts, reminders, "
                          "documents); act as a person id of workflows/members.yaml (--actor, RCMFLOW_ACTOR or "
                          "actor in {file})").format(actor=repr(SYSTEM_ACTOR), file=CONFIG_FILE))


def read_settings(path: Path) -> tuple[dict[str, Any], ZoneInfo]:
    """rcmflow.toml checked against its shape (`rcmflow.model.settings.SettingsShape`) and
    its time zone; any problem raises SettingsError with every `file:line: message`."""
    if not path.exists():
        return {}, ZoneInfo("UTC")
    from rcmflow.model.loader import load_toml  # the schema is costly to import: only for a file
    from rcmflow.model.schema import shape_problems
    from rcmflow.model.settings import SettingsShape

    data, problems = load_toml(path, CONFIG_FILE)
    timezone = ZoneInfo("UTC")
    if data is not None and shape_problems(SettingsShape, data, problems, CONFIG_FILE, toml=True):
        tz_name = data.get("timezone", "UTC")
        try:
            timezone = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            problems.add(data, _("unknown timezone {zone}; use a name like America/Mexico_City or UTC").format(
                zone=repr(tz_name)), "timezone")
        if data.get("language", DEFAULT) not in LANGUAGES:
            problems.add(data, _("unknown language {language}; rcmflow speaks {languages}").format(
                language=repr(data["language"]), languages=", ".join(LANGUAGES)), "language")
    if problems:
        raise SettingsError(problems)
    return _plain(data), timezone


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def machine_timezone() -> str | None:
    """The zone this machine is set to (TZ, /etc/localtime...), if it has a name rcmflow reads."""
    import tzlocal

    # TZ first, read afresh: tzlocal keeps the first zone it found for the whole process
    for name in (os.environ.get("TZ", "").lstrip(":"), None):
        try:
            name = name or tzlocal.get_localzone_name()
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, TypeError, LookupError):
            continue
        return name
    return None


def settle_timezone(home: Path) -> str | None:
    """A home whose rcmflow.toml names no time zone gets this machine's, written at the
    top of the file (made if need be), so that a date deadline closes at the end of the
    local day rather than of the day in UTC (`init` and `quickstart` do this). Returns
    the line that says so, else None."""
    import fcntl

    path = home / CONFIG_FILE
    name = machine_timezone()
    if name is None:
        return None
    # Two `quickstart` at once: the second waits for the first's line, and sees it.
    with open(path, "a+", encoding="utf-8") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        settings, _zone = read_settings(path)
        if "timezone" in settings:
            return None
        file.seek(0)
        before = file.read()
        line = f'timezone = "{name}"  # this machine\'s, written by rcmflow init; deadlines close at midnight here\n'
        file.seek(0)
        file.truncate()
        file.write(line + before)
    return _("time zone {zone} (this machine's) written to {file}: deadlines close at midnight there; "
             "change it there if the secretariat works in another").format(zone=name, file=path)
