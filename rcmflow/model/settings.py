"""The shape of `rcmflow.toml`: every key optional; any other [section] belongs to a
plugin. Checked with `model.schema.shape_problems`, like the other files users write."""

from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from rcmflow.model.addresses import Mailbox, sender_problem
from rcmflow.model.schema import N_, Shape, hint

Port = Annotated[int, Field(strict=False, ge=0, le=65535)]


class DatabaseShape(Shape):
    url: str | None = hint(N_('a database URL, e.g. url = "sqlite:///rcmflow.db"'))


class SmtpShape(Shape):
    host: str | None = hint(N_('a host name, e.g. host = "smtp.example.org"'))
    port: Port | None = hint(N_("a port number, e.g. port = 587"))
    starttls: bool = hint(N_("true or false"), False)
    username: str | None = hint(N_("text"))
    password: str | None = None  # read only to warn that it belongs in RCMFLOW_SMTP_PASSWORD
    sender: Mailbox | None = Field(None, alias="from",
                                   description=N_('an address, e.g. from = "RCM TS <ts@example.org>"'))
    timeout: Annotated[float, Field(strict=False, gt=0)] | None = hint(N_("a number of seconds, e.g. timeout = 30"))

    @model_validator(mode="after")
    def _real_sender(self):
        # A strict server refuses secretariat@localhost for good (504): say so before any step is taken.
        if self.host and (problem := sender_problem(self.sender)):
            raise PydanticCustomError("rule", problem)
        return self


class OutboxShape(Shape):
    folder: str | None = hint(N_('a folder, e.g. folder = "outbox"'))


class ServeShape(Shape):
    host: str | None = hint(N_('a string, e.g. host = "127.0.0.1"'))
    port: Port | None = hint(N_("a port number, e.g. port = 8000"))
    token: str | None = hint(N_('a string, e.g. token = "…"'))
    # the web plugin checks that each entry is an address or a network
    trusted_proxies: list[str] | None = hint(
        N_('a list of addresses or networks, e.g. trusted_proxies = ["127.0.0.1"]'))
    threads: Annotated[int, Field(strict=True, ge=1, le=64)] | None = hint(
        N_("a whole number from 1 to 64, e.g. threads = 8"))


class CalendarShape(Shape):
    weekend: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = hint(N_('e.g. ["sat", "sun"]'),
                                                                                 ["sat", "sun"])
    holidays: bool = hint(N_("true or false: whether each country's public holidays are days off"), True)
    # the calendar plugin checks the address, when it writes the calendar
    organizer: str | None = hint(N_('an address, e.g. organizer = "RCM Technical Secretariat <ts@example.org>"'))


class SettingsShape(Shape):
    """rcmflow.toml: every key optional; any other [section] belongs to a plugin."""

    model_config = ConfigDict(extra="allow")
    extra_hint: ClassVar[str] = N_("a [section] of a plugin's settings (the settings are actor, language, timezone)")
    __pydantic_extra__: dict[str, dict[str, Any]]

    actor: str | None = hint(N_('a person id, e.g. actor = "ts-officer"'))
    language: str | None = hint(N_('a language code, e.g. language = "es"'))
    timezone: str | None = hint(N_('a zone name, e.g. timezone = "America/El_Salvador"'))
    database: DatabaseShape | None = hint(N_('a [database] table with url = "..."'))
    smtp: SmtpShape | None = hint(N_("an [smtp] table with host, port, starttls, username, from"))
    outbox: OutboxShape | None = hint(N_('an [outbox] table with folder = "..."'))
    serve: ServeShape | None = hint(N_("a [serve] table with host, port, token, trusted_proxies, threads"))
    calendar: CalendarShape | None = hint(
        N_("a [calendar] table with weekend and holidays (the working days), organizer"))
