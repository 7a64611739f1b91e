"""Who may see the status pages: loopback clients naming this machine, or the token.

The server listens on 127.0.0.1 unless told otherwise. A client on another address
is refused unless rcmflow.toml sets a token and the request carries it, as
`?token=...` or as the header `Authorization: Bearer ...`.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from typing import Any, Mapping
from urllib.parse import parse_qs

from rcmflow.errors import BadInput

#: names a browser on this machine uses for it; any other Host reaching a loopback
#: client came through a local proxy or a rebound DNS name, and is treated as remote
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
MIN_TOKEN_LENGTH = 16


def access_allowed(client: str, headers: Mapping[str, str | None], query: str, token: str | None) -> bool:
    """Whether a request may see the pages.

    `client` is the client's IP address (the peer's, or the one the proxies in front
    name: see `proxies.client_address`; "" when unknown, which counts as remote),
    `headers` the request's headers (any case), `query` the raw query string, `token`
    the one set in rcmflow.toml (None or empty: none). A request carrying the
    configured token is allowed from anywhere; without it, only a loopback client that
    names this machine as localhost in its Host header.
    """
    if token and token_matches(presented_token(headers, query), token):
        return True
    if not is_loopback(client):
        return False
    host = _header(headers, "host")
    return host is None or _host_name(host) in LOOPBACK_NAMES


def presented_token(headers: Mapping[str, str | None], query: str) -> str | None:
    """The token a request carries: `Authorization: Bearer T`, else `?token=T`."""
    authorization = _header(headers, "authorization") or ""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    values = parse_qs(query or "").get("token")
    return values[0] if values else None


def token_matches(given: str | None, token: str) -> bool:
    # compare_digest: the time taken says nothing about how much of the token was right
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def is_loopback(client: str) -> bool:
    """Whether `client` (an IP address, possibly with a %zone) is this machine."""
    try:
        address = ipaddress.ip_address(client.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return (mapped or address).is_loopback


def configured_token(settings: Mapping[str, Any]) -> str | None:
    """The `[serve] token` of rcmflow.toml; an empty one means no token."""
    token = settings.get("token")
    if token is None or token == "":
        return None
    if not isinstance(token, str):
        raise BadInput('rcmflow.toml: [serve] token must be a string, e.g. token = "…"')
    return token


def redact(text: str) -> str:
    """A request line fit for the log: without the token."""
    return re.sub(r"(?i)(token=)[^&\s]*", r"\1***", text)


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _header(headers: Mapping[str, str | None], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
