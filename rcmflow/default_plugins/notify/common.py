"""What every part of notify shares: its error, and one-line, valid addresses."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rcmflow.errors import PermanentFailure, RcmflowError
from rcmflow.log import get_logger
from rcmflow.model.addresses import AddressError, header_text, normalized_address

if TYPE_CHECKING:
    from email.headerregistry import Address

    from rcmflow.context import ActionContext

KEYWORDS = ("participants", "participant", "secretariat", "ppt")
TEMPLATE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# Everything str.splitlines() breaks on, and the other control characters: none of
# them belongs in a subject or a display name.
LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")


class NotifyError(RcmflowError):
    """A notification that cannot go out as asked; the action stays in the outbox."""


class Refused(NotifyError, PermanentFailure):
    """The server refused for good (5xx) every message not yet delivered: the action is
    given up at once, with the server's reasons, instead of being retried."""


def parse_address(text: str) -> Address | None:
    """The address if `text` is exactly one valid addr-spec, else None."""
    from email.headerregistry import Address

    if not text or LINE_BREAKS.search(text):
        return None
    try:
        normalized_address(text)  # email-validator: one mailbox, nothing more
        parsed = Address(addr_spec=text)
    except (AddressError, ValueError, IndexError, TypeError):  # the header parser raises several types
        return None
    return parsed if parsed.username and parsed.domain and parsed.addr_spec == text else None


def one_line(text: str) -> str:
    """A header value: decoded (RFC 2047) and then on one line, control characters and
    line breaks folded to spaces, so that no value can add a header of its own."""
    return header_text(text)


def log(ctx: "ActionContext"):
    return ctx.log if ctx.log is not None else get_logger(instance=ctx.instance.id, action="notify")
