"""Settings of the HTTP serving set-up (the same for every service)."""
from __future__ import annotations

from dataclasses import dataclass

from haven.platform import config as c
from haven.platform.config import Config, Setting

SERVING_SETTINGS: list[Setting] = [
    Setting("HAVEN_HTTP_HEADER_TIMEOUT_SECONDS", c.number(0.5), "10",
            "Seconds a client has to send a request's line and headers (from connecting, or from its first "
            "byte on a kept-alive connection). Slower clients get 408 and are disconnected; none of them "
            "holds an application thread meanwhile."),
    Setting("HAVEN_HTTP_BODY_TIMEOUT_SECONDS", c.number(0.5), "30",
            "Seconds a client has to send a request body of up to 1 MiB once its headers are in (read "
            "before the body takes a thread). Larger bodies and responses may stall this long per read "
            "or write."),
    Setting("HAVEN_MAX_REQUESTS", c.integer(0, 10_000_000), "200000",
            "Requests after which a worker is replaced (with up to a tenth more, at random, so workers "
            "do not all recycle at once), so a slow leak never becomes an outage. The worker finishes "
            "what it holds and answers the last request on each connection with `Connection: close`: "
            "clients see no error. Not much lower: a new directory worker spends seconds of CPU loading "
            "its search columns. 0: never."),
]


@dataclass(frozen=True)
class ServingLimits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_requests: int = 200_000

    @classmethod
    def from_config(cls, config: Config) -> "ServingLimits":
        return cls(header_timeout=config.haven_http_header_timeout_seconds,
                   body_timeout=config.haven_http_body_timeout_seconds, max_requests=config.haven_max_requests)
