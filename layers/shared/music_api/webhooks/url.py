"""Where a webhook may go (OWASP API7, server-side request forgery).

Checked twice: the URL's form when the job is created (``check_url``: a clear 400, no DNS in the request), and
its addresses at every delivery attempt (``vetted_addresses``), because a name's DNS answer can change between
the create and any retry. A name is refused when ANY of its addresses is outside the public internet; the
delivery then connects to a vetted address itself, so nothing resolves the name a second time.
"""

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

MAX_URL_LENGTH: Final = 2048
# RFC 6052's well-known NAT64 prefix: the last 32 bits are the IPv4 address a NAT64 gateway would reach.
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")  # RFC 4291's deprecated ::a.b.c.d

type IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
type Resolver = Callable[[str, int], Sequence[str]]


class WebhookUrlError(ValueError):
    """A URL no delivery may use; the message says why (it names no address)."""


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """What a stage allows: a live stage ``https`` only and never loopback; the local stack (a test stage)
    ``http`` to a loopback receiver. Private, link-local, multicast and reserved addresses are refused on all."""

    https_only: bool = True
    loopback: bool = False


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    scheme: str
    host: str  # as sent: a name (for SNI and Host) or an IP literal
    port: int
    target: str  # path and query, what the request line carries

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def check_url(url: str, policy: UrlPolicy) -> WebhookTarget:
    """The URL's parts, or ``WebhookUrlError``: printable ASCII of at most MAX_URL_LENGTH, ``https`` (``http``
    too where the policy allows), a host, no user name or password (a secret in a URL ends up in logs), no
    fragment, and, for an IP literal, an address the policy allows."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise WebhookUrlError(f"must be a URL of at most {MAX_URL_LENGTH} characters")
    if not url.isascii() or not url.isprintable() or " " in url:
        raise WebhookUrlError("must be printable ASCII without spaces (percent-encode the rest)")
    parts = urlsplit(url)
    allowed = ("https",) if policy.https_only else ("https", "http")
    if parts.scheme not in allowed:
        raise WebhookUrlError(f"must use {' or '.join(allowed)}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise WebhookUrlError("must not carry a user name or password")
    if parts.fragment or "#" in url:
        raise WebhookUrlError("must not have a fragment")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookUrlError("has an invalid port") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise WebhookUrlError("must name a host")
    literal = _ip_literal(host)
    if literal is not None:
        refuse_address(literal, policy)
    elif host == "localhost" or host.endswith(".localhost"):  # RFC 6761: always loopback, whatever DNS says
        refuse_address(ipaddress.IPv4Address("127.0.0.1"), policy)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return WebhookTarget(parts.scheme, host, port, target)


def forbidden_reason(address: IpAddress, *, loopback_allowed: bool = False) -> str | None:
    """Why a delivery must not connect to ``address``, or ``None`` for a public one. An IPv6 address that carries
    an IPv4 one (mapped, compatible, 6to4, Teredo, NAT64) is judged by the IPv4 address it reaches."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return forbidden_reason(embedded, loopback_allowed=loopback_allowed)
    if address.is_loopback:
        return None if loopback_allowed else "loopback"
    for reason, matches in (
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),  # 169.254.169.254, the instance metadata service, is here
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    ):
        if matches:
            return reason
    # Everything else IANA does not call globally reachable (shared 100.64/10, documentation, benchmarking, ...).
    return None if address.is_global else "not global"


def refuse_address(address: IpAddress, policy: UrlPolicy) -> None:
    reason = forbidden_reason(address, loopback_allowed=policy.loopback)
    if reason is not None:
        raise WebhookUrlError(f"must not point at a {reason} address")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives for ``host`` (A and AAAA)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def vetted_addresses(target: WebhookTarget, policy: UrlPolicy, resolver: Resolver = system_resolver) -> list[str]:
    """The target's addresses, resolved now, each one allowed; ``WebhookUrlError`` when any is not (or the name
    does not resolve: ``OSError``)."""
    literal = _ip_literal(target.host)
    found = [str(literal)] if literal is not None else list(dict.fromkeys(resolver(target.host, target.port)))
    if not found:
        raise WebhookUrlError("has a host name without addresses")
    for text in found:
        refuse_address(ipaddress.ip_address(text.split("%", 1)[0]), policy)
    return found


def _ip_literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address; the server's is Teredo's own
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None
