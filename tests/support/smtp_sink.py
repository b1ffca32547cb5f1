"""A real local SMTP server (aiosmtpd) that keeps every message it is sent."""
from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass

from aiosmtpd.controller import Controller

from .network import free_port


@dataclass
class Mail:
    recipients: list[str]
    raw: bytes
    at: float

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    def part(self, subtype: str) -> str:
        return self.message.get_body(preferencelist=(subtype,)).get_content()


class SmtpSink:
    def __init__(self):
        self.port = free_port()
        self.mails: list[Mail] = []
        self._lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with sink._lock:
                    sink.mails.append(Mail(list(envelope.rcpt_tos), envelope.original_content or envelope.content,
                                           time.time()))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[Mail]:
        with self._lock:
            return [mail for mail in self.mails if address in mail.recipients]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.to(address)) < count:
            time.sleep(0.01)
        return self.to(address)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
