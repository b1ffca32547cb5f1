"""The notification channels: webhook (HTTP POST), e-mail (SMTP) and SMS (an HTTP gateway),
behind one small port (`service_layer.ports.Channel`). A channel sends one notice to one
address and says how it went; retries, backoff and circuit breaking are the dispatcher's
business, not the channel's.
"""
from __future__ import annotations

import email.policy
import json
import smtplib
import ssl
import time
from dataclasses import replace
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

import requests

from haven.platform import events as cloud_events

from .. import contract
from ..domain import signature
from ..domain.messages import render
from ..service_layer.ports import Outbound, Result
from . import pinned_http, targets


def webhook_body(outbound: Outbound) -> bytes:
    """The CloudEvent a webhook receives: its id is the delivery id, the same on every retry."""
    notice = outbound.notice
    data = {"referral_id": notice.referral_id, "event": notice.kind, "event_id": notice.event_id,
            "audience": notice.audience, "urgency": notice.urgency, "service_kind": notice.service_kind,
            "occurred_at": notice.occurred_at, "deadline": notice.deadline, "deadline_kind": notice.deadline_kind,
            "reason_code": notice.reason_code, "link": notice.link}
    event = cloud_events.new_event(contract.notice_type(notice.kind), contract.SOURCE, data,
                                   subject=notice.referral_id)
    event = replace(event, id=outbound.delivery_id, correlationid=None,
                    time=outbound.created_at.astimezone(timezone.utc).isoformat(timespec="milliseconds"))
    return event.to_json()


ANSWER_BYTES = 64 * 1024
MAX_ADDRESSES_TRIED = 3  # a dual-stack name: its IPv6 and IPv4 addresses, and one more


def bounded_answer(answer: requests.Response, limit: float) -> int:
    """The status code; reads at most ANSWER_BYTES of the body within `limit` seconds in all
    (a read timeout alone bounds each read, not the whole: a receiver dripping a byte at a
    time, or sending gigabytes, must not hold a send slot or the worker's memory)."""
    deadline = time.monotonic() + limit
    try:
        read = 0
        while read < ANSWER_BYTES:
            # read1: whatever has arrived (at least a byte), not a full buffer, so a slow drip
            # is noticed at the deadline instead of after thousands of bytes
            chunk = answer.raw.read1(8192)
            if not chunk:
                break
            read += len(chunk)
            if time.monotonic() > deadline:
                raise TimeoutError
        return answer.status_code
    finally:
        answer.close()


class WebhookChannel:
    name = "webhook"

    def __init__(self, timeout: float, private_targets: bool = False):
        self.timeout = timeout
        self.private_targets = private_targets
        self.session = pinned_http.pinned_session()

    def endpoint(self, target: str) -> str:
        return target

    def send(self, outbound: Outbound) -> Result:
        # Resolve once, check every address, connect only to those (targets.py says why).
        try:
            url = pinned_http.prepared_url(outbound.target)
            parts = urlsplit(url)
            addresses = targets.resolve(parts.hostname or "", parts.port or pinned_http.default_port(parts.scheme))
        except (requests.RequestException, ValueError):
            return Result(False, error="target_unreadable", permanent=True)
        except (OSError, UnicodeError):
            return Result(False, error="name_not_resolved")  # DNS may be back on the next attempt
        if not self.private_targets and not all(address.public for address in addresses):
            return Result(False, error="target_not_public", permanent=True)
        body = webhook_body(outbound)
        headers = {"Content-Type": "application/cloudevents+json; charset=utf-8", "User-Agent": "Haven-Notify/1",
                   signature.HEADER: signature.sign(outbound.secret or "", body, int(time.time()))}
        try:
            answer = self._post(url, addresses, body, headers)
            status = bounded_answer(answer, self.timeout)
        except requests.RequestException as exc:
            return Result(False, error=type(exc).__name__)
        except TimeoutError:
            return Result(False, error="answer_too_slow")
        if 200 <= status < 300:
            return Result(True, status)
        return Result(False, status, f"http_{status}")

    def _post(self, url: str, addresses: list, body: bytes, headers: dict) -> requests.Response:
        """The first address that takes the connection gets the POST (the next is tried only
        when nothing reached the last one, so no receiver sees it twice)."""
        for position, address in enumerate(addresses[:MAX_ADDRESSES_TRIED], start=1):
            try:
                # No redirects: the agency registered this URL, not whatever it points to.
                return pinned_http.post(self.session, url, address, headers, data=body, allow_redirects=False,
                                        timeout=(min(5.0, self.timeout), self.timeout), stream=True)
            except requests.RequestException as exc:
                if position == min(len(addresses), MAX_ADDRESSES_TRIED) or not pinned_http.never_connected(exc):
                    raise
        raise AssertionError("unreachable: resolve() returns at least one address")


class EmailChannel:
    name = "email"

    def __init__(self, host: str, port: int, security: str, username: str | None, password: str | None,
                 sender: str, timeout: float):
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.sender, self.timeout = username, password, sender, timeout

    def endpoint(self, target: str) -> str:
        return f"smtp://{self.host}:{self.port}"

    def message(self, outbound: Outbound) -> EmailMessage:
        rendered = render(outbound.notice, outbound.language)
        # Python's header folding drops the space at a fold between two encoded words
        # ("bị từ" arrives as "bịtừ"); unfolded headers (up to SMTP's 998) keep Vietnamese intact.
        message = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=998))
        message["Subject"] = rendered.subject
        message["From"] = self.sender
        message["To"] = outbound.target
        message["Date"] = format_datetime(datetime.now(timezone.utc))
        message["Message-ID"] = make_msgid(idstring=outbound.delivery_id.replace("-", ""), domain="haven.invalid")
        message["Content-Language"] = outbound.language
        message["X-Haven-Delivery"] = outbound.delivery_id  # same on every retry: lets a mailbox rule dedupe
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        return message

    def send(self, outbound: Outbound) -> Result:
        message = self.message(outbound)
        try:
            if self.security == "tls":
                server = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                          context=ssl.create_default_context())
            else:
                server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with server:
                if self.security == "starttls":
                    server.starttls(context=ssl.create_default_context())
                if self.username:
                    server.login(self.username, self.password or "")
                server.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            return Result(False, 550, "smtp_recipient_refused", permanent=True)
        except smtplib.SMTPResponseException as exc:
            return Result(False, exc.smtp_code, f"smtp_{exc.smtp_code}", permanent=500 <= exc.smtp_code < 600
                          and exc.smtp_code not in (530, 535))  # 530/535: our login, fixable by config
        except (smtplib.SMTPException, OSError) as exc:  # OSError: refused, unreachable, timed out
            return Result(False, error=type(exc).__name__)
        return Result(True, 250)


class SmsChannel:
    name = "sms"

    def __init__(self, gateway_url: str, token: str | None, timeout: float):
        self.gateway_url, self.timeout = gateway_url, timeout
        self.session = requests.Session()
        self.headers = {"Content-Type": "application/json", "User-Agent": "Haven-Notify/1"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def endpoint(self, target: str) -> str:
        return self.gateway_url

    def send(self, outbound: Outbound) -> Result:
        text = render(outbound.notice, outbound.language).sms
        body = json.dumps({"to": outbound.target, "message": text, "reference": outbound.delivery_id},
                          ensure_ascii=False).encode("utf-8")
        try:
            answer = self.session.post(self.gateway_url, data=body, headers=self.headers, allow_redirects=False,
                                       timeout=(min(5.0, self.timeout), self.timeout), stream=True)
            bounded_answer(answer, self.timeout)
        except requests.RequestException as exc:
            return Result(False, error=type(exc).__name__)
        except TimeoutError:
            return Result(False, error="answer_too_slow")
        if 200 <= answer.status_code < 300:
            return Result(True, answer.status_code)
        # The gateway says the number itself is wrong: retrying cannot help.
        return Result(False, answer.status_code, f"http_{answer.status_code}",
                      permanent=answer.status_code in (400, 404, 422))
