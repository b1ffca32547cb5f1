"""A portal session: idle expiry, renewal before the token ends, background polls, the
longest a session lasts; signing in with a fake identity port and a settable clock."""
from __future__ import annotations

import pytest

from services.portal.domain.errors import ServiceDown, SignInRequired
from services.portal.domain.session import MAX_SESSION_SECONDS, Identity, Session, Tokens
from services.portal.service_layer.commands import SignIn
from services.portal.service_layer.signing_in import SigningIn

IDLE = 15 * 60
TTL = 15 * 60
LAN = Identity("lan", "Trần Lan", ("caseworker",), "org-1", frozenset({"referral:create"}), "vi")


class Clock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeIdentity:
    """The services' /v1/auth endpoints: tokens that live TTL seconds, renewed while the
    account is enabled and the old token still valid."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.disabled = False
        self.issued = 0
        self.refreshed = 0

    def _token(self) -> Tokens:
        self.issued += 1
        return Tokens(f"token-{self.issued}", self.clock() + TTL)

    def sign_in(self, username, password, client_address):
        if (username, password) != ("lan", "đúng mật khẩu"):
            raise SignInRequired("wrong")
        return self._token()

    def refresh(self, tokens):
        self.refreshed += 1
        if self.disabled or self.clock() >= tokens.expires_at:
            raise SignInRequired("refused")
        return self._token()

    def identify(self, access_token):
        return LAN


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def identity(clock):
    return FakeIdentity(clock)


@pytest.fixture
def signing_in(identity, clock):
    return SigningIn(identity, idle_limit_seconds=IDLE, clock=clock)


def signed_in(signing_in) -> Session:
    return signing_in.sign_in(SignIn("lan", "đúng mật khẩu", "198.51.100.20"))


def test_signing_in_starts_a_session_of_the_person_the_token_names(signing_in, clock):
    session = signed_in(signing_in)
    assert session.identity == LAN and session.via == "local"
    assert session.last_seen == clock() and session.signed_in_at == clock()
    with pytest.raises(SignInRequired):
        signing_in.sign_in(SignIn("lan", "sai", "198.51.100.20"))


def test_a_session_idle_for_the_limit_ends_and_one_just_under_it_goes_on(signing_in, clock):
    session = signed_in(signing_in)
    clock.advance(IDLE - 1)
    session = signing_in.resume(session, active=True)  # back just in time
    clock.advance(IDLE - 1)
    session = signing_in.resume(session, active=True)  # and again: activity slides the window
    clock.advance(IDLE)
    with pytest.raises(SignInRequired):
        signing_in.resume(session, active=True)


def test_a_background_poll_does_not_keep_a_shared_computer_signed_in(signing_in, clock):
    session = signed_in(signing_in)
    for _ in range(14):  # the inbox tab polls every minute while nobody is there
        clock.advance(60)
        session = signing_in.resume(session, active=False)
    clock.advance(60)
    with pytest.raises(SignInRequired):
        signing_in.resume(session, active=False)


def test_the_token_is_renewed_before_it_ends_so_a_person_stepping_away_comes_back_signed_in(
        signing_in, identity, clock):
    session = signed_in(signing_in)
    clock.advance(30)
    same = signing_in.resume(session, active=True)
    assert same.tokens == session.tokens and identity.refreshed == 0  # not on every request
    clock.advance(60)
    renewed = signing_in.resume(same, active=True)
    assert renewed.tokens.access_token == "token-2" and renewed.tokens.expires_at == clock() + TTL
    clock.advance(IDLE - 5)  # away for nearly the idle limit: the renewed token still holds
    back = signing_in.resume(renewed, active=True)
    assert back.tokens.access_token == "token-3"


def test_a_disabled_account_is_signed_out_at_the_next_renewal(signing_in, identity, clock):
    session = signed_in(signing_in)
    identity.disabled = True
    clock.advance(120)
    with pytest.raises(SignInRequired):
        signing_in.resume(session, active=True)


def test_renewal_failing_because_a_service_is_down_is_not_a_sign_out(signing_in, identity, clock):
    session = signed_in(signing_in)

    def down(tokens):
        raise ServiceDown("referral")

    clock.advance(120)
    with pytest.raises(ServiceDown):  # the entrypoint keeps the session and tries again next request
        signing_in.resume(session, active=True, renew=down)


def test_an_openid_session_renews_with_its_providers_refresh_token_and_ends_without_one(signing_in, clock):
    provider_tokens = Tokens("id-token-1", clock() + 3600, refresh_token="refresh-1")
    session = signing_in.start(provider_tokens, via="oidc")
    renewals = []

    def provider_refresh(tokens):
        renewals.append(tokens.refresh_token)
        return Tokens("id-token-2", clock() + 3600, "refresh-2")

    for _ in range(4):  # 40 minutes of work: the provider's hour-long token is kept
        clock.advance(600)
        session = signing_in.resume(session, active=True, renew=provider_refresh)
    assert renewals == []
    clock.advance(600)  # less than the idle limit left on it: renewed
    renewed = signing_in.resume(session, active=True, renew=provider_refresh)
    assert renewals == ["refresh-1"] and renewed.tokens.access_token == "id-token-2"
    without = Session(LAN, Tokens("id-token", clock() + 60), last_seen=clock(), via="oidc", signed_in_at=clock())
    clock.advance(61)
    assert without.expired(clock(), IDLE)  # past its end and nothing to renew it with


def test_however_busy_a_session_ends_after_the_longest_a_session_lasts(signing_in, clock):
    session = signed_in(signing_in)
    for _ in range(int(MAX_SESSION_SECONDS // 600) - 1):
        clock.advance(600)
        session = signing_in.resume(session, active=True)
    clock.advance(600)
    with pytest.raises(SignInRequired):
        signing_in.resume(session, active=True)


def test_a_token_shorter_than_the_idle_limit_is_renewed_on_every_request(clock):
    session = Session(LAN, Tokens("t", clock() + 300), last_seen=clock(), signed_in_at=clock())
    assert session.needs_renewal(clock(), IDLE)
    assert not Session(LAN, Tokens("t", clock() + TTL), clock()).needs_renewal(clock(), IDLE)


@pytest.mark.parametrize("raw", ["nan", "inf", "-1", "0", "0.01", "1441", "fifteen"])
def test_an_idle_limit_that_would_never_end_a_session_is_refused_at_start_up(raw):
    from haven.platform.config import ConfigError
    from services.portal import SPEC

    with pytest.raises(ConfigError):
        SPEC.load_config({"PORTAL_IDLE_MINUTES": raw})
    assert SPEC.load_config({"PORTAL_IDLE_MINUTES": "0.05"}).portal_idle_minutes == 0.05
    assert SPEC.load_config({}).portal_idle_minutes == 15
