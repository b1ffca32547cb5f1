"""Where a webhook may point. A subscription is created by an agency's staff; without a
rule, its URL could name 127.0.0.1, the cloud's metadata address or any internal service,
and the worker would POST there and report back the status code — a way to probe the
inside of the deployment. So by default only public addresses are allowed.

The check classifies the addresses the operating system hands out for the name, never the
text of the URL: `127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1` and `0` are all
loopback to `getaddrinfo` (inet_aton's old forms), and a name may resolve to anything. So
both at subscription time and before every send the name is resolved, every address is
checked, and the send then connects to one of those very addresses (channels.py), with no
second lookup a changing DNS answer could slip a private address into.
NOTIFY_WEBHOOK_PRIVATE_TARGETS=true lifts the rule for on-premise receivers (and the tests'
local receivers)."""
from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

REFUSED = "must be a public address (private, loopback and link-local addresses are refused)"
UNREADABLE = "is neither a host name nor an IP address in a form this server can read"

# WHATWG URL: a host whose last label is a number is meant as an IPv4 address.
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class Address:
    """One address a name resolved to, as `socket.connect` takes it."""

    family: int
    ip: str  # without an IPv6 zone
    sockaddr: tuple

    @property
    def public(self) -> bool:
        return is_public(self.ip)


def is_public(ip_text: str) -> bool:
    """Global unicast, including any IPv4 address embedded in an IPv6 one (IPv4-mapped
    `::ffff:127.0.0.1`, 6to4, Teredo, NAT64), which would reach that IPv4 host."""
    try:
        ip = ipaddress.ip_address(ip_text.split("%", 1)[0])
    except ValueError:
        return False  # what we cannot read, we do not connect to
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        candidates += [embedded for embedded in (ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ()))
                       if embedded is not None]
        if ip in _NAT64:
            candidates.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return all(candidate.is_global and not candidate.is_multicast for candidate in candidates)


def _bare(host: str) -> str:
    return host.strip("[]").lower().rstrip(".")


def _is_localhost(host: str) -> bool:
    # RFC 6761: always loopback, whatever a resolver (or /etc/hosts) says
    return host == "localhost" or host.endswith(".localhost")


def _meant_as_address(host: str) -> bool:
    return ":" in host or bool(_NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]))


def resolve(host: str, port: int) -> list[Address]:
    """Every TCP address of `host`, in the order the system prefers (raises OSError)."""
    seen, found = set(), []
    for family, _, _, _, sockaddr in socket.getaddrinfo(_bare(host), port, type=socket.SOCK_STREAM):
        if family not in (socket.AF_INET, socket.AF_INET6) or sockaddr in seen:
            continue
        seen.add(sockaddr)
        found.append(Address(family, sockaddr[0].split("%", 1)[0], sockaddr))
    if not found:
        raise OSError("no TCP address")
    return found


def subscription_problem(host: str, port: int | None) -> str | None:
    """At subscription time: what is wrong with this host, or None. A name that does not
    resolve now is accepted (DNS may be down, or the receiver not yet published): every
    send resolves and checks it again. An address that cannot be read is refused."""
    host = _bare(host)
    if _is_localhost(host):
        return REFUSED
    try:
        addresses = resolve(host, port or 443)
    except (OSError, UnicodeError):
        return UNREADABLE if _meant_as_address(host) else None
    return None if all(address.public for address in addresses) else REFUSED


class TargetRule:
    """The rule a new webhook subscription's URL must follow (`service_layer.ports.WebhookTargets`):
    public addresses only, unless `private_targets` (NOTIFY_WEBHOOK_PRIVATE_TARGETS) lifts it."""

    def __init__(self, private_targets: bool = False):
        self.private_targets = private_targets

    def refusal(self, url: str) -> str | None:
        if self.private_targets:
            return None
        parts = urlsplit(url)
        return subscription_problem(parts.hostname or "", parts.port)


__all__ = ["Address", "REFUSED", "TargetRule", "UNREADABLE", "is_public", "resolve", "subscription_problem"]
