"""Notify service: tells receiving agencies and referrers what happened to a referral, by
webhook, email, SMS and an in-app inbox, with a record of every delivery attempt."""
from haven.platform import config as c
from haven.platform import field_cipher
from haven.platform.config import Setting
from haven.platform.service_spec import COMMON_SETTINGS, ServiceSpec, service_settings


def _link(raw: str) -> str:
    c.http_url(raw.replace("{id}", "x"))
    if "{id}" not in raw:
        raise ValueError("must contain {id}, where the referral id goes")
    return raw


def _email(raw: str) -> str:
    if "@" not in raw or any(ch in raw for ch in "\r\n"):
        raise ValueError("expected an e-mail address, optionally as 'Name <address>'")
    return raw


SETTINGS = [
    Setting("NOTIFY_DIRECTORY_URL", c.http_url, "http://127.0.0.1:8001",
            "Base URL of the directory service, asked for an organization's contact e-mail when it has no "
            "e-mail subscription."),
    Setting("NOTIFY_REFERRAL_LINK", _link, "http://127.0.0.1:8000/referrals/{id}",
            "Link to a referral put in every notification: the portal's referral page (`{id}` is replaced "
            "by the referral id)."),
    Setting("NOTIFY_DEFAULT_LANGUAGE", c.choice("vi", "en"), "vi",
            "Language of notifications to a recipient whose language is not known (an organization's "
            "directory contact address)."),
    Setting("NOTIFY_SMTP_HOST", c.text, None,
            "SMTP server that sends notification e-mails. Unset: no e-mail is sent."),
    Setting("NOTIFY_SMTP_PORT", c.port, "25", "Port of the SMTP server."),
    Setting("NOTIFY_SMTP_SECURITY", c.choice("none", "starttls", "tls"), "none",
            "`starttls` (upgrade after connecting, usually port 587), `tls` (TLS from the start, usually 465) "
            "or `none`."),
    Setting("NOTIFY_SMTP_USERNAME", c.text, None, "SMTP user name (unset: no authentication)."),
    Setting("NOTIFY_SMTP_PASSWORD", c.text, None, "SMTP password.", secret=True),
    Setting("NOTIFY_EMAIL_FROM", _email, "Haven <no-reply@haven.invalid>", "From address of notification e-mails."),
    Setting("NOTIFY_SMS_GATEWAY_URL", c.http_url, None,
            "SMS gateway: each text is a JSON POST `{\"to\", \"message\"}` to this URL. Unset: no SMS is sent."),
    Setting("NOTIFY_SMS_GATEWAY_TOKEN", c.text, None,
            "Credential for the SMS gateway, sent as `Authorization: Bearer <token>`.", secret=True),
    Setting("NOTIFY_RETRY_MAX_ATTEMPTS", c.integer(1, 100), "8",
            "Attempts per delivery before it is dead-lettered (`POST /v1/deliveries/{id}/retry` starts again)."),
    Setting("NOTIFY_RETRY_FIRST_SECONDS", c.number(0.01), "2",
            "Wait before the second attempt; it doubles after each failure (with jitter) ..."),
    Setting("NOTIFY_RETRY_MAX_SECONDS", c.number(0.01), "900", "... up to this many seconds."),
    Setting("NOTIFY_BREAKER_FAILURES", c.integer(1, 1000), "5",
            "Consecutive failures of one endpoint (webhook URL, SMTP server, SMS gateway) that open its "
            "circuit breaker: its deliveries then wait instead of hammering it ..."),
    Setting("NOTIFY_BREAKER_OPEN_SECONDS", c.number(0.1), "30",
            "... for this long, after which one trial delivery tests it again."),
    Setting("NOTIFY_WEBHOOK_PRIVATE_TARGETS", c.boolean, "false",
            "Allow webhook URLs on loopback, private and link-local addresses (an on-premise receiver). Off: "
            "such URLs are refused when subscribing and again before each send, so a subscription cannot make "
            "the worker probe internal services."),
    Setting("NOTIFY_SEND_TIMEOUT_SECONDS", c.number(0.1), "10",
            "Time limit of one webhook POST, SMTP conversation or SMS gateway call."),
    Setting("NOTIFY_DELIVERY_CONCURRENCY", c.integer(1, 256), "8",
            "Deliveries the worker sends at the same time (a slow endpoint holds one slot, not the queue)."),
]

SPEC = ServiceSpec(
    name="notify",
    default_port=8003,
    settings=COMMON_SETTINGS + service_settings("notify", 8003) + SETTINGS + field_cipher.SETTINGS,
    app_factory="services.notify.bootstrap:create_app",
    migrations_package="services.notify.migrations",
    outbox="services.notify.adapters.orm:outbox",
    topic="delivery-events",
    jobs="services.notify.bootstrap:background_jobs",
)
