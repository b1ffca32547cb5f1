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

A success clears its user name's failures everywhere. Pure Python, no Flask, so that
`SIGN_IN_SETTINGS` can sit with the settings every service shares (haven/platform/service_spec.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from . import config as c
from .config import Setting

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
