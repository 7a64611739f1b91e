"""Where the messages are read: a Maildir folder, or an IMAP account. Either is read
as it is: nothing is moved, deleted or marked as read."""

from __future__ import annotations

import imaplib
import mailbox
import socket
import ssl
from dataclasses import dataclass
from typing import Iterator

from rcmflow.default_plugins.mail.settings import PASSWORD_VARIABLE, MailSettings
from rcmflow.errors import BadInput


class MailboxError(BadInput):
    """The mailbox cannot be read: unreachable, a refused login, a missing folder."""


@dataclass(frozen=True)
class Letter:
    """One message of the mailbox: its key there, its size, and its bytes (only the
    headers when it is over the size limit)."""

    uid: str
    size: int
    raw: bytes
    whole: bool = True


class Maildir:
    def __init__(self, settings: MailSettings):
        self.path = settings.maildir
        self.limit = settings.shape.max_message_bytes
        self.source = f"maildir:{self.path}"

    def letters(self, known: set[str]) -> Iterator[Letter]:
        if not (self.path / "new").is_dir() or not (self.path / "cur").is_dir():
            raise MailboxError(f"no Maildir at {self.path} (it needs cur/, new/ and tmp/); create it or set "
                               f"[mail.inbound] maildir or host in rcmflow.toml")
        box = mailbox.Maildir(self.path, factory=None, create=False)
        for key in sorted(box.keys()):
            if key in known:
                continue
            try:
                with box.get_file(key) as handle:
                    raw = handle.read(self.limit + 1)  # never more than the limit in memory
                    handle.seek(0, 2)
                    size = handle.tell()
            except (KeyError, FileNotFoundError):  # moved by a mail client since it was listed
                continue
            except OSError as exc:
                raise MailboxError(f"cannot read {key} in {self.path}: {exc.strerror or exc}") from None
            if size > self.limit:
                yield Letter(key, size, raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0], whole=False)
            else:
                yield Letter(key, size, raw)

    def close(self) -> None:
        pass


class Imap:
    def __init__(self, settings: MailSettings):
        from imapclient import IMAPClient  # loaded only to read an IMAP account

        inbound = settings.inbound
        self.limit = settings.shape.max_message_bytes
        self.folder = inbound.folder
        port = inbound.port or (993 if inbound.security == "tls" else 143)
        self.where = f"{inbound.host}:{port}"
        self.source = f"imap:{inbound.username}@{inbound.host}/{self.folder}"
        password = settings.password()
        try:
            self.client = IMAPClient(inbound.host, port=port, ssl=inbound.security == "tls",
                                     ssl_context=ssl.create_default_context(), timeout=inbound.timeout)
            if inbound.security == "starttls":
                self.client.starttls(ssl.create_default_context())
        except (OSError, socket.timeout, ssl.SSLError) as exc:
            raise MailboxError(f"cannot reach the IMAP server {self.where}: {_reason(exc)}; check [mail.inbound] "
                               f"host, port and security in rcmflow.toml") from None
        try:
            self.client.login(inbound.username, password)
        except Exception as exc:  # noqa: BLE001 - imapclient's LoginError, or the server closing
            self.close()
            raise MailboxError(f"the IMAP server {self.where} refused the login of {inbound.username!r}: "
                               f"{_reason(exc)}; check the username and {PASSWORD_VARIABLE}") from None

    def letters(self, known: set[str]) -> Iterator[Letter]:
        try:
            info = self.client.select_folder(self.folder, readonly=True)  # readonly: nothing becomes \Seen
        except Exception as exc:  # noqa: BLE001
            raise MailboxError(f"cannot open the folder {self.folder!r} on {self.where}: {_reason(exc)}") from None
        validity = info.get(b"UIDVALIDITY", 0)
        try:
            wanted = [uid for uid in self.client.search("ALL") if f"{validity}:{uid}" not in known]
            sizes = self.client.fetch(wanted, ["RFC822.SIZE"]) if wanted else {}
            for uid in wanted:
                size = sizes[uid][b"RFC822.SIZE"]
                whole = size <= self.limit  # a bigger one: its headers only
                fetched = self.client.fetch([uid], [b"BODY.PEEK[]" if whole else b"BODY.PEEK[HEADER]"]).get(uid, {})
                raw = fetched.get(b"BODY[]" if whole else b"BODY[HEADER]", b"")
                yield Letter(f"{validity}:{uid}", size, raw, whole=whole)
        except (OSError, socket.timeout, ssl.SSLError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"the IMAP server {self.where} failed while the messages were read: {_reason(exc)}; "
                               f"what was read is kept, and the next fetch goes on from there") from None

    def close(self) -> None:
        try:
            self.client.logout()
        except Exception:  # noqa: BLE001 - closing a connection that failed
            pass


def open_mailbox(settings: MailSettings) -> Maildir | Imap:
    return Imap(settings) if settings.inbound.host else Maildir(settings)


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(str(text).split())[:200]

