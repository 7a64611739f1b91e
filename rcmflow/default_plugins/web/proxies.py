"""Who the client of a request is: the peer, or the address the proxies in front name.

Behind a reverse proxy on the same machine every request comes from 127.0.0.1, so the
peer's address alone would let the whole world in. A request that carries
`X-Forwarded-For` or `Forwarded` (RFC 7239) is therefore taken to come from the
addresses it names (nginx's `X-Real-IP` is read the same way):

- when the peer is not a trusted proxy, the headers are anyone's word, so they can only
  make a request *more* remote: it counts as local only when the peer and every
  address named are loopback addresses;
- when the peer is listed in `[serve] trusted_proxies` (addresses or CIDR networks),
  the forwarded chain decides: the client is the right-most address that is not itself
  a trusted proxy (what the nearest untrusted hop was seen as; anything further left
  may be forged).

A header that cannot be read (an empty entry, `unknown`, an obfuscated `_name`, a
stray quote) makes the client unknown: "", which the access rule treats as remote.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterable, Mapping, Union

from rcmflow.errors import BadInput

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

EXAMPLE = 'e.g. trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]'
_TCHAR = r"!#$%&'*+.^_`|~0-9A-Za-z-"
#: one forwarded-pair of RFC 7239: token "=" ( token / quoted-string ), with optional white space
_PAIR = re.compile(rf'[ \t]*([{_TCHAR}]+)=(?:([{_TCHAR}]+)|"((?:[^"\\\r\n]|\\[^\r\n])*)")[ \t]*')
_PORT = re.compile(r":[0-9]{1,5}")


def trusted_networks(settings: Mapping[str, Any]) -> tuple[Network, ...]:
    """The `[serve] trusted_proxies` of rcmflow.toml, checked: a list of addresses or
    networks; the first bad entry is named in a one-line error."""
    entries = settings.get("trusted_proxies", [])
    if not isinstance(entries, list):
        raise BadInput(f"rcmflow.toml: [serve] trusted_proxies must be a list of addresses or networks, {EXAMPLE}")
    networks = []
    for entry in entries:
        try:
            if not isinstance(entry, str):
                raise ValueError
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise BadInput(f"rcmflow.toml: [serve] trusted_proxies: {entry!r} is not an IP address or network, "
                           f"{EXAMPLE}") from None
    return tuple(networks)


def client_address(peer: str, headers: Mapping[str, str | None], trusted: Iterable[Network] = ()) -> str:
    """The address the request counts as coming from; "" when it cannot be told.

    `peer` is the address of the connection, `headers` the request's headers (any
    case), `trusted` the networks of the proxies whose word is taken."""
    trusted = tuple(trusted)
    chains = []
    for name, parse in (("x-forwarded-for", _forwarded_for), ("forwarded", _forwarded),
                        ("x-real-ip", _forwarded_for)):
        value = next((v for k, v in headers.items() if k.lower() == name and v is not None), None)
        if value is not None:
            chain = parse(value)
            if chain is None:
                return ""  # fail closed: a header we cannot read names nobody we could let in
            chains.append(chain)
    if not chains:
        return peer
    address = parse_address(peer)
    if address is None:
        return ""
    clients = [_client(address, chain, trusted) for chain in chains]
    # headers that disagree: the more remote one decides
    return str(next((c for c in clients if not c.is_loopback), clients[0]))


def parse_address(text: str) -> Address | None:
    """An address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:80`,
    `2001:db8::1`, `fe80::1%eth0`; an IPv4-mapped IPv6 address as its IPv4 one."""
    text = text.strip()
    if text.startswith("["):
        text, closed, port = text[1:].partition("]")
        if not closed or (port and not _is_port(port)):
            return None
    elif text.count(":") == 1:
        text, port = text.split(":")
        if not _is_port(":" + port):
            return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address
    return address


def _is_port(text: str) -> bool:
    return _PORT.fullmatch(text) is not None and int(text[1:]) <= 65535


def _client(peer: Address, chain: list[Address], trusted: tuple[Network, ...]) -> Address:
    if not _is_trusted(peer, trusted):
        # anyone's word: the peer and every address named must be loopback to count as local
        return next((a for a in reversed([*chain, peer]) if not a.is_loopback), peer)
    for address in reversed(chain):
        if not _is_trusted(address, trusted):
            return address
    return chain[0]


def _is_trusted(address: Address, trusted: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def _forwarded_for(value: str) -> list[Address] | None:
    """The addresses of `X-Forwarded-For: client, proxy1, proxy2`; None if any is not one."""
    chain = [parse_address(part) for part in value.split(",")]
    return None if any(a is None for a in chain) else chain  # type: ignore[return-value]


def _forwarded(value: str) -> list[Address] | None:
    """The `for=` addresses of RFC 7239's `Forwarded`, one per element; None when the
    header is malformed or an element names no address (`unknown`, `_hidden`, none)."""
    chain: list[Address] = []
    position, named = 0, None
    while True:
        match = _PAIR.match(value, position)
        if match is None:
            return None
        if match[1].lower() == "for":
            if named is not None:
                return None  # two for= in one element
            named = match[2] if match[2] is not None else re.sub(r"\\(.)", r"\1", match[3])
        position = match.end()
        separator = value[position:position + 1]
        if separator in (",", ""):
            address = parse_address(named) if named is not None else None
            if address is None:
                return None
            chain.append(address)
            named = None
        elif separator != ";":
            return None
        if not separator:
            return chain
        position += 1
