"""Local users: sign in and renew through the services' /v1/auth endpoints (any of the
three answers for all: they share the embedded issuer)."""
from __future__ import annotations

import time

from haven.platform.sign_in_limits import SIGN_IN_CLIENT_HEADER

from ..domain.session import Identity, Tokens
from ..service_layer.ports import ServiceApi


class LocalIdentity:
    def __init__(self, api: ServiceApi, clock=time.time):
        self.api = api
        self.clock = clock

    def sign_in(self, username: str, password: str, client_address: str) -> Tokens:
        # The portal signs in on the person's behalf: the sign-in limits must count the
        # person's address, not the portal's (else one guesser locks every portal user out),
        # so it is named; the services believe it only from HAVEN_SIGN_IN_TRUSTED_CLIENTS.
        reply = self.api.send("POST", "/v1/auth/login", None, {"username": username, "password": password},
                              headers={SIGN_IN_CLIENT_HEADER: client_address})
        return self._tokens(reply.body)

    def refresh(self, tokens: Tokens) -> Tokens:
        return self._tokens(self.api.send("POST", "/v1/auth/refresh", tokens.access_token).body)

    def identify(self, access_token: str) -> Identity:
        return identity_from(self.api.get("/v1/auth/me", access_token).body)

    def _tokens(self, body: dict) -> Tokens:
        return Tokens(body["access_token"], self.clock() + int(body.get("expires_in") or 0))


def identity_from(me: dict) -> Identity:
    return Identity(subject=me["subject"], name=me.get("name") or me["subject"], roles=tuple(me.get("roles") or ()),
                    organization_id=me.get("organization_id"), permissions=frozenset(me.get("permissions") or ()),
                    language=me.get("language"))
