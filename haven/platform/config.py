"""Configuration from environment variables only (12-factor), validated at start-up.

Every variable is declared once as a `Setting`; `load` parses all of them and raises
`ConfigError` with one line naming the first bad variable, so a process never starts
half-configured. The README documents each declared setting (a test keeps them in step).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A configuration value is missing or malformed. `str()` is a single line."""


Parser = Callable[[str], Any]


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Parser
    default: str | None
    help: str
    secret: bool = False  # may hold a password: never echo the value

    @property
    def attribute(self) -> str:
        return self.name.lower()


class Config:
    """Parsed settings, read as attributes named after the lower-cased variable. Only the
    declared ones exist, and they cannot be changed: code that reads a setting nobody
    declared (so no operator can set it, and the README does not list it) fails at once
    instead of quietly getting a default."""

    def __init__(self, values: Mapping[str, Any]):
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:  # only reached for a name that is not set
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"{name.upper()} is not a declared setting of this process")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("configuration is read once at start-up and never changed")

    def __repr__(self) -> str:  # never print secrets by accident
        return f"Config({', '.join(sorted(self.__dict__))})"


def load(settings: Iterable[Setting], environ: Mapping[str, str] | None = None) -> Config:
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in settings:
        raw = environ.get(setting.name)
        if raw is None or raw == "":
            values[setting.attribute] = None if setting.default is None else setting.parse(setting.default)
            continue
        try:
            values[setting.attribute] = setting.parse(raw.strip())
        except ValueError as exc:
            shown = "(value hidden)" if setting.secret else repr(raw)
            raise ConfigError(f"{setting.name}={shown} is invalid: {exc}") from None
    return Config(values)


# --- parsers: each raises ValueError with a reason a person can act on -----------------

def port(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError("expected a TCP port number (1-65535)") from None
    if not 1 <= value <= 65535:
        raise ValueError("expected a TCP port number (1-65535)")
    return value


def integer(minimum: int | None = None, maximum: int | None = None) -> Parser:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("expected a whole number") from None
        if minimum is not None and value < minimum:
            raise ValueError(f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise ValueError(f"must be at most {maximum}")
        return value
    return parse


def number(minimum: float | None = None) -> Parser:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError("expected a number") from None
        if minimum is not None and value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value
    return parse


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected true or false")


def choice(*options: str) -> Parser:
    def parse(raw: str) -> str:
        lowered = raw.lower()
        if lowered not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return lowered
    return parse


def text(raw: str) -> str:
    return raw


def http_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http:// or https:// URL")
    return raw.rstrip("/")


def database_url(raw: str) -> str:
    scheme = urlsplit(raw).scheme
    if not (scheme.startswith("sqlite") or scheme.startswith("postgresql") or scheme == "postgres"):
        raise ValueError("expected a sqlite:/// or postgresql:// URL")
    if scheme in ("postgresql", "postgres"):
        # One driver everywhere: psycopg 3. Accept the URL operators already have.
        raw = "postgresql+psycopg" + raw[len(scheme):]
    return raw


def directory_path(raw: str) -> str:
    if "\x00" in raw:
        raise ValueError("expected a filesystem path")
    return os.path.abspath(raw)
