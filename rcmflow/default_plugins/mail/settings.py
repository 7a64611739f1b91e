"""The [mail] section of rcmflow.toml: where the mail comes from, and the limits."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import ConfigDict, Field

from rcmflow.config import CONFIG_FILE
from rcmflow.errors import BadInput, SettingsError
from rcmflow.model.loader import load_toml
from rcmflow.model.schema import Shape, hint, shape_problems
from rcmflow.model.settings import Port

if TYPE_CHECKING:
    from rcmflow.config import Config

PASSWORD_VARIABLE = "RCMFLOW_IMAP_PASSWORD"
MIB = 1024 * 1024
DEFAULT_TYPES = (".docx", ".doc", ".pdf", ".odt", ".rtf", ".txt", ".xlsx", ".xls", ".csv", ".pptx", ".png", ".jpg",
                 ".jpeg")
Bytes = Annotated[int, Field(strict=True, ge=1)]


class InboundShape(Shape):
    maildir: str | None = hint('a folder, e.g. maildir = "inbox"')
    host: str | None = hint('an IMAP host name, e.g. host = "imap.example.org"')
    port: Port | None = hint("a port number, e.g. port = 993")
    security: Literal["tls", "starttls", "none"] = hint('one of "tls", "starttls", "none"', "tls")
    username: str | None = hint('text, e.g. username = "rcm-ts"')
    folder: str = hint('a folder name, e.g. folder = "INBOX"', "INBOX")
    password: str | None = None  # read only to refuse it: it belongs in the environment
    timeout: Annotated[float, Field(strict=False, gt=0)] = hint("a number of seconds, e.g. timeout = 30", 30.0)


class MailShape(Shape):
    inbound: InboundShape | None = hint("an [mail.inbound] table with maildir, or host, port, security, username")
    auto_accept: bool = hint("true or false", False)
    max_message_bytes: Bytes = hint("a number of bytes, e.g. max_message_bytes = 26214400", 25 * MIB)
    max_attachment_bytes: Bytes = hint("a number of bytes, e.g. max_attachment_bytes = 20971520", 20 * MIB)
    accepted_types: list[str] = hint('a list of file endings, e.g. accepted_types = [".docx", ".pdf"]',
                                     list(DEFAULT_TYPES))


class _Toml(Shape):
    """rcmflow.toml as far as the [mail] section goes; the rest is the other parts' to check."""

    model_config = ConfigDict(extra="allow", strict=True)
    mail: MailShape | None = None


@dataclass(frozen=True)
class MailSettings:
    shape: MailShape
    home: Path
    #: whether [mail.inbound] is set, or the default inbox/ folder exists: then `tick` reads mail
    configured: bool

    @property
    def inbound(self) -> InboundShape:
        return self.shape.inbound or InboundShape()

    @property
    def maildir(self) -> Path:
        return self.home / (self.inbound.maildir or "inbox")

    def accepts(self, filename: str) -> bool:
        return any(filename.lower().endswith(t.lower()) for t in self.shape.accepted_types)

    def password(self) -> str:
        password = os.environ.get(PASSWORD_VARIABLE)
        if not password:
            raise BadInput(f"set the IMAP password of {self.inbound.username}@{self.inbound.host} in the "
                                f"environment variable {PASSWORD_VARIABLE} (it is never read from {CONFIG_FILE})")
        return password


def mail_settings(config: "Config") -> MailSettings:
    """The [mail] settings, checked; a mistake is a SettingsError with its `file:line`."""
    section = config.section("mail")
    if section:
        data, problems = load_toml(config.home / CONFIG_FILE, CONFIG_FILE)
        if data is not None and not shape_problems(_Toml, data, problems, CONFIG_FILE, toml=True):
            raise SettingsError(problems)
    shape = MailShape.model_validate(section)
    inbound = shape.inbound
    if inbound is not None and inbound.password is not None:
        raise BadInput(f"{CONFIG_FILE}: [mail.inbound] password: remove it and set the environment variable "
                       f"{PASSWORD_VARIABLE} instead (a password is never read from a file)")
    if inbound is not None and inbound.host and not inbound.username:
        raise BadInput(f"{CONFIG_FILE}: [mail.inbound] host = {inbound.host!r} needs a username")
    configured = inbound is not None or (config.home / "inbox").is_dir()
    return MailSettings(shape, config.home, configured)
