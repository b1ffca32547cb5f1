"""Deciding, from the bytes a client has sent so far, whether its request is complete
enough to take an application thread.

A request is ready once its head (request line and headers) is in, and its body too when
the head announces a `Content-Length` of at most `PRE_READ_BODY_BYTES` (every JSON route
takes less). Anything the HTTP parser will refuse at once (an over-long request line, a
bare LF) is ready as well: the parser, not this module, words the error. Heads over
`MAX_HEAD_BYTES` are refused here, so a connection's buffer stays small.
"""
from __future__ import annotations

import enum

PRE_READ_BODY_BYTES = 1024 * 1024
# A browser's head is 1-2 KB; an ingress adds a few headers. gunicorn's own bound
# (limit_request_fields x limit_request_field_size) is about 800 KB per connection.
MAX_HEAD_BYTES = 64 * 1024


class Verdict(enum.Enum):
    MORE = "more"  # keep reading in the event loop
    READY = "ready"  # hand to a thread, the HTTP parser takes it from here
    HEAD_TOO_LARGE = "head-too-large"


class RequestReader:
    """The bytes of one request as they arrive (bytes after it stay for the next one)."""

    def __init__(self, limit_request_line: int, data: bytes = b"", *, max_head: int = MAX_HEAD_BYTES,
                 pre_read_body: int = PRE_READ_BODY_BYTES):
        self.data = bytearray(data)
        self.limit_request_line = limit_request_line
        self.max_head = max_head
        self.pre_read_body = pre_read_body
        self.head_end: int | None = None  # offset just after the blank line
        self._wanted: int | None = None  # bytes the head and its pre-read body take

    @property
    def head_complete(self) -> bool:
        return self.head_end is not None

    def feed(self, chunk: bytes) -> None:
        self.data += chunk

    def verdict(self) -> Verdict:
        if self.head_end is None:
            verdict = self._find_head()
            if verdict is not None:
                return verdict
        if self._wanted is None or len(self.data) >= self._wanted:
            return Verdict.READY
        return Verdict.MORE

    def _find_head(self) -> Verdict | None:
        data = self.data
        start = 2 if data[:2] == b"\r\n" else 0  # one empty line before a request is ignored (RFC 9112 2.2)
        end = data.find(b"\r\n\r\n", start)
        if end < 0:
            if data.count(b"\n") != data.count(b"\r\n"):
                return Verdict.READY  # a bare LF: the parser refuses it
            line_end = data.find(b"\r\n", start)
            line_length = len(data) - start - 2 if line_end < 0 else line_end - start
            if line_length > self.limit_request_line > 0:
                return Verdict.READY  # the parser answers 414
            if len(data) > self.max_head:
                return Verdict.HEAD_TOO_LARGE
            return Verdict.MORE
        self.head_end = end + 4
        if self.head_end > self.max_head:
            return Verdict.HEAD_TOO_LARGE
        body = _pre_read_body_length(bytes(data[start:end]), self.pre_read_body)
        self._wanted = None if body is None else self.head_end + body
        return None


def _pre_read_body_length(head: bytes, limit: int) -> int | None:
    """Length of the body to read before handing over, or None to hand over with the head:
    no body, a chunked or large body (read by the application, bounded by its route), a
    `100-continue` client (it waits for the server before sending), or a head the parser
    will refuse anyway."""
    lengths = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name in (b"transfer-encoding", b"expect"):
            return None
        if name == b"content-length":
            lengths.append(value.strip())
    if len(lengths) != 1 or not lengths[0].isdigit():
        return None
    length = int(lengths[0])
    return length if 0 < length <= limit else None
