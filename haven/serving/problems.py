"""Answers the server gives before a request reaches the application (a request line too
long, headers too large, a malformed request, a client too slow), as problem+json.

gunicorn's own answer is an HTML page quoting the offending request line, and its log line
quotes it too; request lines hold query strings, and query strings may hold a survivor's
phone number. Here neither the answer's log line nor any gunicorn log record carries
request bytes: log lines name the kind of error only.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from http import HTTPStatus

from gunicorn.http import errors as http_errors

from haven.platform.errors import PROBLEM_JSON, problem_type

log = logging.getLogger("haven.serving")


@dataclass(frozen=True)
class ServerProblem:
    status: int
    slug: str
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)

    def body(self) -> dict:
        body = {"type": problem_type(self.slug), "title": HTTPStatus(self.status).phrase,
                "status": self.status, "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return body

    def http_response(self) -> bytes:
        """The whole answer; the connection closes after it (where the next request
        would start is unknown)."""
        payload = json.dumps(self.body(), ensure_ascii=False).encode("utf-8")
        head = (f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}\r\n"
                f"Connection: close\r\nContent-Type: {PROBLEM_JSON}\r\n"
                f"Cache-Control: no-store\r\nContent-Length: {len(payload)}\r\n\r\n")
        return head.encode("latin-1") + payload


def _error(location: str, message: str, name: str = "") -> list[dict[str, str]]:
    return [{"location": location, "field": name, "message": message}]


def _header_name(exc: Exception) -> str:
    """The header's name as the client sent it (the client sees its own bytes; the log never does)."""
    name = getattr(exc, "hdr", "")
    return name[:64] if isinstance(name, str) else ""


def head_too_large(limit: int) -> ServerProblem:
    return ServerProblem(431, "request-head-too-large",
                         f"The request line and headers take more than {limit} bytes.",
                         _error("headers", f"Longer than {limit} bytes in all."))


def request_timeout(seconds: float) -> ServerProblem:
    return ServerProblem(408, "request-timeout", f"The request was not sent within {seconds:g} seconds.")


def problem_for(exc: Exception) -> ServerProblem:
    """The answer to an error gunicorn raised while reading a request."""
    e = http_errors
    if isinstance(exc, e.LimitRequestLine):
        limit = f"{exc.max_size} bytes" if exc.max_size else "the server takes"
        return ServerProblem(414, "request-line-too-long",
                             f"The request line (method, path and query) is longer than {limit}.",
                             _error("request_line", "Too long; send long queries in a POST body."))
    if isinstance(exc, e.LimitRequestHeaders):
        return ServerProblem(431, "request-headers-too-large", "The request has too many headers, or one too long.",
                             _error("headers", "Too many or too long."))
    if isinstance(exc, (e.InvalidRequestLine, e.InvalidRequestMethod, e.InvalidHTTPVersion)):
        return ServerProblem(400, "malformed-request",
                             "The request line is not `METHOD /path HTTP/1.1` (each line must end with CRLF).",
                             _error("request_line", "Malformed."))
    if isinstance(exc, (e.InvalidHeader, e.InvalidHeaderName, e.ObsoleteFolding, e.InvalidSchemeHeaders)):
        return ServerProblem(400, "malformed-request", "A request header is malformed, repeated or contradicts "
                             "another.", _error("headers", "Malformed.", _header_name(exc)))
    if isinstance(exc, (e.InvalidChunkSize, e.ChunkMissingTerminator, e.InvalidChunkExtension)):
        return ServerProblem(400, "malformed-request", "The chunked request body is malformed.",
                             _error("body", "Malformed chunked encoding."))
    if isinstance(exc, e.UnsupportedTransferCoding):
        return ServerProblem(501, "unsupported-transfer-coding", "Only the chunked transfer coding is supported.",
                             _error("headers", "Unsupported.", "Transfer-Encoding"))
    if isinstance(exc, e.ExpectationFailed):
        return ServerProblem(417, "expectation-failed", "Only `Expect: 100-continue` is supported.",
                             _error("headers", "Unsupported.", "Expect"))
    if isinstance(exc, e.ForbiddenProxyRequest):
        return ServerProblem(403, "forbidden", "This address may not send a PROXY protocol header.")
    if isinstance(exc, (e.InvalidProxyLine, e.InvalidProxyHeader, e.InvalidH2CPreface)):
        return ServerProblem(400, "malformed-request", "The connection preface is malformed.")
    return ServerProblem(500, "server-error", "The server failed to read or answer the request.")


def is_request_error(exc: BaseException) -> bool:
    """An exception whose text quotes what the client sent."""
    return isinstance(exc, (http_errors.ParseException, http_errors.NoMoreData))


class RequestBytesFilter(logging.Filter):
    """Keeps request bytes out of gunicorn's log records: an exception raised while parsing
    a request (its text quotes the request line, a header or the bytes read so far) is
    replaced by its class name, in the arguments and in the attached exception."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(is_request_error(arg) for arg in record.args):
            record.args = tuple(type(arg).__name__ if is_request_error(arg) else arg for arg in record.args)
        if record.exc_info and is_request_error(record.exc_info[1]):
            record.msg = f"{record.getMessage()} ({type(record.exc_info[1]).__name__})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


REQUEST_BYTES_FILTER = RequestBytesFilter()
