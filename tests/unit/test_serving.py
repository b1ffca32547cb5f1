"""When a request is complete enough to take a thread, and what the server's refusals and
log records say (haven/serving)."""
import json
import logging
import sys

import pytest
from gunicorn.http import errors as http_errors

from haven.serving.problems import RequestBytesFilter, head_too_large, problem_for
from haven.serving.request_head import RequestReader, Verdict

HEAD = b"POST /v1/referrals HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


def reader(*chunks: bytes, **limits) -> RequestReader:
    r = RequestReader(8190, **limits)
    for chunk in chunks:
        r.feed(chunk)
    return r


def test_a_head_is_ready_only_once_its_blank_line_is_in():
    assert reader(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").verdict() is Verdict.MORE
    assert reader(b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"\r\n").verdict() is Verdict.READY


def test_a_small_body_is_read_before_the_request_takes_a_thread():
    r = reader(HEAD + b"Content-Length: 10\r\n\r\n", b"12345")
    assert (r.verdict(), r.head_complete) == (Verdict.MORE, True)
    r.feed(b"67890GET /next")  # a pipelined request after it stays buffered for later
    assert r.verdict() is Verdict.READY


@pytest.mark.parametrize("header", [
    b"Content-Length: 2000000\r\n",  # larger than the pre-read: the application reads it (or refuses it)
    b"Transfer-Encoding: chunked\r\n",
    b"Content-Length: 10\r\nExpect: 100-continue\r\n",  # the client waits for the server first
    b"Content-Length: 10\r\nContent-Length: 11\r\n",  # the parser refuses it
    b"Content-Length: ten\r\n",
])
def test_bodies_the_loop_does_not_read_go_to_the_thread_with_their_head(header):
    assert reader(HEAD + header + b"\r\n").verdict() is Verdict.READY


def test_what_the_parser_refuses_at_once_goes_to_it_without_waiting_for_more():
    assert reader(b"GET /" + b"a" * 8200).verdict() is Verdict.READY  # request line too long: 414
    assert reader(b"GET /" + b"a" * 8200 + b" HTTP/1.1\r\nHost").verdict() is Verdict.READY
    assert reader(b"GET / HTTP/1.1\nHost: x\n").verdict() is Verdict.READY  # bare LF: 400


def test_a_head_over_the_cap_is_refused_in_the_loop_complete_or_not():
    assert reader(HEAD + b"X-A: " + b"a" * 5000, max_head=4096).verdict() is Verdict.HEAD_TOO_LARGE
    assert reader(HEAD + b"X-A: " + b"a" * 5000 + b"\r\n\r\n", max_head=4096).verdict() is Verdict.HEAD_TOO_LARGE


def test_one_empty_line_before_a_request_is_ignored():
    assert reader(b"\r\nGET / HTTP/1.1\r\nHost: x\r\n").verdict() is Verdict.MORE
    assert reader(b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n").verdict() is Verdict.READY


@pytest.mark.parametrize("exc, status", [
    (http_errors.LimitRequestLine(9000, 8190), 414),
    (http_errors.LimitRequestHeaders("limit request headers fields"), 431),
    (http_errors.InvalidRequestLine("GET /?phone=0912345678"), 400),
    (http_errors.InvalidHeaderName("X Caller"), 400),
    (http_errors.UnsupportedTransferCoding("gzip"), 501),
    (RuntimeError("boom"), 500),
])
def test_each_parse_error_is_a_problem_json_answer_that_quotes_nothing_of_the_request(exc, status):
    problem = problem_for(exc)
    head, _, body = problem.http_response().partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"Content-Type: application/problem+json" in head and b"Connection: close" in head
    assert json.loads(body)["status"] == status
    assert b"0912345678" not in body


def test_a_head_too_large_names_the_limit():
    assert "65536 bytes" in head_too_large(65536).body()["detail"]


def test_gunicorn_log_records_lose_the_request_bytes_their_exceptions_quote():
    exc = http_errors.NoMoreData(b"GET /v1/search?phone=0912345678 HTTP/1.1\r\nHo")
    record = logging.LogRecord("gunicorn.error", logging.DEBUG, __file__, 1,
                               "Ignored premature client disconnection. %s", (exc,), None)
    RequestBytesFilter().filter(record)
    assert record.getMessage() == "Ignored premature client disconnection. NoMoreData"
    try:
        raise http_errors.InvalidRequestLine("GET /v1/search?phone=0912345678")
    except http_errors.InvalidRequestLine:
        record = logging.LogRecord("gunicorn.error", logging.ERROR, __file__, 1, "Error handling request", (),
                                   sys.exc_info())
    RequestBytesFilter().filter(record)
    assert "0912345678" not in logging.Formatter().format(record)
