"""How a message travels: the settings, SMTP, or an .eml file in the outbox folder."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rcmflow.default_plugins.notify.common import NotifyError, Refused, log
from rcmflow.model.addresses import AddressError, display_name, mailbox, sender_problem

# The command line loads every built-in plugin to list its commands, so the mail
# and TLS modules are imported when a notification is built, not here.
if TYPE_CHECKING:
    import smtplib
    from email.headerregistry import Address
    from email.message import EmailMessage

    from rcmflow.context import ActionContext

DEFAULT_FROM = "RCM Technical Secretariat <secretariat@localhost>"


@dataclass(frozen=True)
class Settings:
    sender: "Address"
    host: str | None
    port: int
    starttls: bool
    username: str | None
    password: str | None
    timeout: float
    folder: Path

    @classmethod
    def of(cls, ctx: "ActionContext") -> "Settings":
        from email.headerregistry import Address

        smtp, env = ctx.config.section("smtp"), os.environ
        try:  # the file's value was checked when it was read; this is the one parse of it
            name, addr = mailbox(str(smtp.get("from") or DEFAULT_FROM))
        except AddressError:
            raise NotifyError(f"rcmflow.toml [smtp] from = {smtp.get('from')!r} is not an address like "
                              f"\"RCM Technical Secretariat <secretariat@example.org>\"")
        starttls = smtp.get("starttls", False)
        if not isinstance(starttls, bool):
            raise NotifyError("rcmflow.toml [smtp] starttls must be true or false")
        port_text = env.get("RCMFLOW_SMTP_PORT") or smtp.get("port") or (587 if starttls else 25)
        try:
            port, timeout = int(port_text), float(smtp.get("timeout", 30))
        except (TypeError, ValueError):
            raise NotifyError(f"SMTP port {port_text!r} and [smtp] timeout {smtp.get('timeout', 30)!r} "
                              f"must be numbers") from None
        if "password" in smtp:
            log(ctx).warning("rcmflow.toml [smtp] password is ignored; set RCMFLOW_SMTP_PASSWORD instead")
        folder = Path(str(ctx.config.section("outbox").get("folder") or "outbox")).expanduser()
        host = (env.get("RCMFLOW_SMTP_HOST") or str(smtp.get("host") or "")).strip() or None
        if host and (problem := sender_problem(smtp.get("from"))):  # the host may come from the environment
            raise Refused(f"rcmflow.toml {problem}")
        return cls(
            sender=Address(display_name=display_name(name, addr), addr_spec=addr),
            host=host,
            port=port,
            starttls=starttls,
            username=env.get("RCMFLOW_SMTP_USER") or smtp.get("username") or None,
            password=env.get("RCMFLOW_SMTP_PASSWORD") or None,
            timeout=timeout,
            folder=folder if folder.is_absolute() else ctx.home / folder,
        )


class Smtp:
    """One connection for the whole run, opened when the first message goes."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.client: "smtplib.SMTP | None" = None

    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def send(self, msg: "EmailMessage", to: str) -> None:
        if self.client is None:
            self.client = self._connect()
        self.client.send_message(msg, from_addr=self.settings.sender.addr_spec, to_addrs=[to])

    def _connect(self) -> "smtplib.SMTP":
        import smtplib
        import ssl

        s = self.settings
        try:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        except OSError as exc:
            raise NotifyError(f"cannot reach the SMTP server {self.where()}: {exc}") from None
        try:
            if s.starttls:
                client.starttls(context=ssl.create_default_context())
            if s.username:
                if not s.password:
                    raise NotifyError(f"[smtp] username is {s.username!r} but RCMFLOW_SMTP_PASSWORD is not set")
                if not s.starttls and not is_loopback(s.host):
                    raise NotifyError(f"refusing to send the SMTP password to {s.host} unencrypted; "
                                      f"set starttls = true in rcmflow.toml [smtp]")
                client.login(s.username, s.password)
        except BaseException:
            client.close()
            raise
        return client

    def close(self) -> None:
        import smtplib

        if self.client is not None:
            try:
                self.client.quit()
            except (OSError, smtplib.SMTPException):
                self.client.close()


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refused_message(exc: BaseException) -> bool:
    """Whether the server refused this one message (its recipient, or its content),
    rather than failing as a whole (gone, closing, "try again later")."""
    import smtplib

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return True
    return isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600


def permanent(exc: BaseException) -> bool:
    """A 5xx answer: the server will not take it however often it is asked (RFC 5321
    4.2.1), unlike a 4xx or a lost connection, which a later attempt may get past."""
    import smtplib

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


def smtp_reason(exc: BaseException) -> str:
    import smtplib

    def text(value: Any) -> str:
        return value.decode(errors="replace") if isinstance(value, bytes) else str(value)

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
        return f"{code} {text(reply)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {text(exc.smtp_error)}"
    return str(exc) or type(exc).__name__


def write_eml(folder: Path, msg: "EmailMessage", msgid: str) -> Path:
    # Named after the Message-ID's left part (no user text), so a retry overwrites the
    # same file; written through a temporary file so no reader sees half a message.
    import tempfile

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (re.sub(r"[^A-Za-z0-9.-]", "_", msgid.strip("<>").split("@")[0]) + ".eml")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(msg.as_bytes())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
