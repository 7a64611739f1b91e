"""E-mail addresses and header text: what members.yaml and rcmflow.toml may say, and
the one-line, decoded text that a header of a message may carry.

A header value is cleaned *after* RFC 2047 decoding, by the very parser of the
`email` package's modern policy that will read it again when the message is written:
an encoded word such as `=?utf-8?q?hi=0D=0ABcc:_x@y?=` decodes to a line break, and
the line break is folded to a space, until decoding changes nothing more.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rcmflow.language import _

#: C0 and C1 control characters, DEL, and the other line breaks of str.splitlines()
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
#: rounds of decoding before a value that keeps decoding to something new is given up
ROUNDS = 8


class AddressError(ValueError):
    """An address or display name that cannot go in a header."""


def one_line(text: str) -> str:
    """Control characters and line breaks become spaces; runs of spaces become one."""
    return " ".join(CONTROL.sub(" ", text).split())


def _parsed_unstructured(text: str) -> str:
    from email import policy

    return str(policy.SMTP.header_factory("subject", text))


def header_text(text: str) -> str:
    """`text` as an unstructured header (a Subject) will read it: decoded, one line,
    and such that decoding it again gives the same text."""
    value = one_line(str(text))
    for _ in range(ROUNDS):
        try:
            decoded = one_line(_parsed_unstructured(value))
        except Exception:  # a parser defect: keep nothing that looks like an encoded word
            decoded = value.replace("=?", "= ?")
        if decoded == value:
            return value
        value = decoded
    return one_line(value.replace("=?", "= ?"))


def _parsed_display_name(name: str, addr_spec: str) -> str | None:
    from email import policy
    from email.headerregistry import Address

    header = policy.SMTP.header_factory("to", str(Address(display_name=name, addr_spec=addr_spec)))
    addresses = header.addresses
    if len(addresses) != 1 or addresses[0].addr_spec != addr_spec:
        return None
    return addresses[0].display_name


def display_name(name: str, addr_spec: str) -> str:
    """A display name that, in front of `addr_spec`, reads back as itself and names only
    that address: decoded, one line; '' if no such name can be made of it."""
    value = header_text(str(name or ""))
    for _ in range(ROUNDS):
        try:
            decoded = _parsed_display_name(value, addr_spec)
        except Exception:
            decoded = None
        if decoded is None:
            return ""
        decoded = header_text(decoded)
        if decoded == value:
            return value
        value = decoded
    return ""


@lru_cache(maxsize=1024)
def normalized_address(text: str) -> str:
    """The addr-spec `text` is, as email-validator normalises it; AddressError if it is not one."""
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(text, str) or CONTROL.search(text) or text != text.strip():
        raise AddressError(_("{text} is not an e-mail address: it has spaces or control characters").format(
            text=repr(text)))
    try:
        return validate_email(text, check_deliverability=False, allow_smtputf8=False).normalized
    except EmailNotValidError as exc:
        raise AddressError(_("{text} is not an e-mail address: {reason}").format(text=repr(text), reason=exc)) from None


def check_display_name(name: str) -> str:
    if CONTROL.search(name):
        raise AddressError(_("name {name} has a line break or a control character; write it on one line").format(
            name=repr(name)))
    return name


def check_mailbox(text: str) -> str:
    """A `Name <address>` or a bare address, as in rcmflow.toml [smtp] from: exactly one."""
    if CONTROL.search(text):
        raise AddressError(_("{text} has a line break or a control character; write it on one line").format(
            text=repr(text)))
    normalized_address(mailbox(text)[1])
    return text


def mailbox(text: str) -> tuple[str, str]:
    """(display name, addr-spec) of exactly one `Name <address>`; AddressError otherwise."""
    from email import policy

    try:
        addresses = policy.SMTP.header_factory("from", text).addresses
    except Exception:
        addresses = ()
    if len(addresses) != 1 or not addresses[0].username or not addresses[0].domain:
        raise AddressError(_("{text} is not one address like \"RCM Technical Secretariat <ts@example.org>\"").format(
            text=repr(text)))
    return addresses[0].display_name, addresses[0].addr_spec


def sender_problem(sender: str | None) -> str | None:
    """Why `sender` cannot be the From of messages sent through an SMTP server, or None."""
    domain = mailbox(sender)[1].rpartition("@")[2].lower() if sender else ""
    if domain and domain != "localhost" and not domain.endswith(".localhost") and "." in domain:
        return None
    got = _("it is {sender}").format(sender=repr(sender)) if sender else _("it is not set")
    return _("[smtp] from must be the secretariat's real address to send through an SMTP server ({got}), "
             'e.g. from = "RCM Technical Secretariat <secretariat@example.org>"').format(got=got)


def _as_rule(check):
    def run(value):
        from pydantic_core import PydanticCustomError

        if value in (None, ""):
            return value
        try:
            check(value)
        except AddressError as exc:
            raise PydanticCustomError("rule", str(exc)) from None
        return value

    return run


def _annotated(check):
    from typing import Annotated

    from pydantic import AfterValidator

    return Annotated[str, AfterValidator(_as_rule(check))]


def __getattr__(name: str):
    """The field types of members.yaml and rcmflow.toml (EmailAddress, DisplayName,
    Mailbox), checked when the file is read; built on first use, since pydantic is slow
    to import and a command that sends no mail and reads no settings never needs it."""
    checks = {"EmailAddress": normalized_address, "DisplayName": check_display_name, "Mailbox": check_mailbox}
    if name not in checks:
        raise AttributeError(name)
    globals()[name] = field_type = _annotated(checks[name])
    return field_type
