"""What a notify route reads from its app: the use cases bootstrap wired, and the caller."""
from __future__ import annotations

from flask import current_app

from haven.platform.auth import Principal, require

from ..service_layer.common import PERMISSION
from ..service_layer.deliveries import Deliveries
from ..service_layer.inbox import Inbox
from ..service_layer.subscriptions import Subscriptions

INBOX_PERMISSION = "notify:inbox"


def _parts() -> dict:
    return current_app.extensions["haven.notify"]


def subscriptions() -> Subscriptions:
    return _parts()["subscriptions"]


def deliveries() -> Deliveries:
    return _parts()["deliveries"]


def inbox() -> Inbox:
    return _parts()["inbox"]


def manager() -> Principal:
    """The caller, who must manage subscriptions (and so see deliveries)."""
    return require(_parts()["verifier"], PERMISSION)


def reader() -> Principal:
    """The caller, who must have an inbox."""
    return require(_parts()["verifier"], INBOX_PERMISSION)
