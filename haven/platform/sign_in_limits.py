"""How hard guessing passwords is made, without letting a guesser lock a real user out.

Three limits, all counted over failed (or not yet finished) sign-ins within one window:

- **per user name and address**: a client that got one name wrong `per_name_and_address`
  times waits until the oldest of those leaves the window (429). This is the one a single
  guesser meets, and it only ever locks the guesser's own address out.
- **per address**: a client trying many names (spraying one common password) meets
  `per_address` failures across names, then waits the same way.
- **per user name, from anywhere**: guesses spread over many addresses slow the name down
  instead of locking it: after `per_name_and_address` failures the next attempt is only
  checked after an exponentially growing pause (1 s, 2 s, 4 s ... capped at
  `backoff_max_seconds`), counted from the latest failure. The holder of the password,
  from another address, waits at most that long, never the whole window.

A success clears its user name's failures everywhere.

**Whose address.** The portal signs people in on their behalf, so every sign-in through it
reaches the services from the portal's address: counted by that, 30 failures from one
guesser would lock every portal user out. A request from a *trusted client*
(HAVEN_SIGN_IN_TRUSTED_CLIENTS: the portals' addresses or networks) may name the person's
address in the `X-Haven-Sign-In-Client` header, and is counted by that address; a request
from anywhere else is counted by its own address, whatever header it sends.

Pure Python, no Flask, so that
`SIGN_IN_SETTINGS` can sit with the settings every service shares (haven/platform/service_spec.py).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from . import config as c
from .config import Setting

SIGN_IN_CLIENT_HEADER = "X-Haven-Sign-In-Client"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(raw: str) -> tuple[Network, ...]:
    """`10.0.0.0/8, 127.0.0.1, ::1` → networks (a bare address is a network of one)."""
    found = []
    for part in raw.replace(" ", ",").split(","):
        if part:
            try:
                found.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"expected addresses or networks (CIDR), comma-separated; not {part!r}") from None
    return tuple(found)


def _address(raw: str | None):
    try:
        return ipaddress.ip_address((raw or "").strip())
    except ValueError:
        return None


def counted_client(remote_address: str | None, named: str | None, trusted: tuple[Network, ...]) -> str:
    """The address a sign-in attempt counts against: the one a trusted client (a portal)
    names for the person it signs in, else the caller's own. A malformed name counts
    against the caller: a portal that sends rubbish meets the limits itself."""
    remote = _address(remote_address)
    if remote is None:
        return remote_address or "unknown"
    if named and any(remote in network for network in trusted if remote.version == network.version):
        person = _address(named)
        if person is not None:
            return str(person)
    return str(remote)


SIGN_IN_SETTINGS: list[Setting] = [
    Setting("HAVEN_LOGIN_MAX_FAILURES", c.integer(1, 100), "5",
            "Failed sign-ins for one user name from one client address within the window, then 429 for that "
            "address (others keep signing in)."),
    Setting("HAVEN_LOGIN_MAX_FAILURES_PER_ADDRESS", c.integer(1, 10_000), "30",
            "Failed sign-ins from one client address within the window, whatever the user names, then 429. "
            "Raise it when many people share one address (an office behind NAT)."),
    Setting("HAVEN_LOGIN_FAILURE_WINDOW_SECONDS", c.integer(60, 86_400), "900",
            "How long a failed sign-in counts towards the limits."),
    Setting("HAVEN_LOGIN_BACKOFF_MAX_SECONDS", c.integer(1, 3_600), "60",
            "Longest pause a user name must wait between attempts once it had HAVEN_LOGIN_MAX_FAILURES failures "
            "from anywhere (doubling from 1 s). Guesses from many addresses get no faster than this."),
    Setting("HAVEN_SIGN_IN_TRUSTED_CLIENTS", networks, "127.0.0.1,::1",
            "Addresses or networks (CIDR, comma-separated) of the portals: a sign-in from one of them is counted "
            f"against the person's address it names in `{SIGN_IN_CLIENT_HEADER}`, not the portal's (so one guesser "
            "cannot lock every portal user out). Sign-ins from elsewhere count against their own address, whatever "
            "they send. On Kubernetes, the portals' pod network."),
]


@dataclass(frozen=True)
class SignInLimits:
    per_name_and_address: int = 5
    per_address: int = 30
    window_seconds: int = 15 * 60
    backoff_max_seconds: int = 60

    @classmethod
    def from_config(cls, config) -> "SignInLimits":
        """From the HAVEN_LOGIN_* settings (every service declares them: COMMON_SETTINGS)."""
        return cls(per_name_and_address=config.haven_login_max_failures,
                   per_address=config.haven_login_max_failures_per_address,
                   window_seconds=config.haven_login_failure_window_seconds,
                   backoff_max_seconds=config.haven_login_backoff_max_seconds)

    def backoff_seconds(self, failures_for_name: int) -> float:
        """The pause before the next attempt on a name with this many recent failures."""
        beyond = failures_for_name - self.per_name_and_address
        if beyond < 0:
            return 0.0
        return float(min(self.backoff_max_seconds, 2 ** min(beyond, 32)))
