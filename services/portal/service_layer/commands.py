"""The typed inputs of the portal's use cases (what a form or a query string becomes)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SignIn:
    username: str
    password: str
    client_address: str
