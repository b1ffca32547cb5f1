"""Signing in and keeping a session alive, whichever way the person signs in."""
from __future__ import annotations

import time
from typing import Callable

from ..domain.errors import SignInRequired
from ..domain.session import Session, Tokens
from .commands import SignIn
from .ports import IdentityPort


class SigningIn:
    def __init__(self, identity: IdentityPort, idle_limit_seconds: float, clock: Callable[[], float] = time.time):
        self.identity = identity
        self.idle_limit_seconds = idle_limit_seconds
        self.clock = clock

    def sign_in(self, command: SignIn) -> Session:
        tokens = self.identity.sign_in(command.username, command.password, command.client_address)
        return self.start(tokens, via="local")

    def start(self, tokens: Tokens, via: str) -> Session:
        """A session for tokens just issued (by the services or an OpenID provider)."""
        now = self.clock()
        return Session(self.identity.identify(tokens.access_token), tokens, last_seen=now, via=via, signed_in_at=now)

    def resume(self, session: Session, *, active: bool, renew: Callable[[Tokens], Tokens] | None = None) -> Session:
        """The session for this request, renewed if its token is about to end; raises
        SignInRequired when it has ended. `active`: the person did something (a background
        poll is not activity, so an open inbox tab does not keep a shared computer signed in)."""
        now = self.clock()
        if session.expired(now, self.idle_limit_seconds):
            raise SignInRequired("session ended")
        if session.needs_renewal(now, self.idle_limit_seconds):
            session = session.renewed((renew or self.identity.refresh)(session.tokens))
        return session.seen(now) if active else session
