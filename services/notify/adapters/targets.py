"""Where a webhook may point. A subscription is created by an agency's staff; without a
rule, its URL could name 127.0.0.1, the cloud's metadata address or any internal service,
and the worker would POST there and report back the status code — a way to probe the
inside of the deployment. So by default only public addresses are allowed, checked when
subscribing (literal addresses, `localhost`) and again before every send (after
resolving the name, since DNS can change). NOTIFY_WEBHOOK_PRIVATE_TARGETS=true lifts the
rule for on-premise receivers (and the tests' local receivers)."""
from __future__ import annotations

import ipaddress
import socket

REFUSED = "must be a public address (private, loopback and link-local addresses are refused)"


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not ip.is_global or ip.is_multicast


def literal_problem(host: str) -> str | None:
    """At subscription time: a literal non-public address or localhost (no DNS lookup)."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return REFUSED
    try:
        return REFUSED if _not_public(host) else None
    except ValueError:
        return None  # a name: resolved when sending


def resolved_problem(host: str, port: int | None) -> str | None:
    """Before a send: every address the name resolves to must be public."""
    literal = literal_problem(host)
    if literal:
        return literal
    try:
        infos = socket.getaddrinfo(host.strip("[]").rstrip("."), port or 443, proto=socket.IPPROTO_TCP)
    except OSError:
        return None  # unresolvable: the send fails and is retried like any connection error
    return REFUSED if any(_not_public(info[4][0]) for info in infos) else None
