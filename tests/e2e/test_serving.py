"""The HTTP serving set-up under `haven serve directory` (gunicorn, two workers of one
thread each): slow and idle clients starve no one, the server's own refusals are problem+json,
and no refusal writes the request line or its query string into the log."""
from __future__ import annotations

import json
import signal
import socket
import time

import pytest

from tests.support.served_service import ServedService
from tests.support.slow_clients import SlowClientDrill, timed_get

SECRET = "0912345678"  # a phone number, as a caseworker's tool might put it in a query


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    served = ServedService("directory", tmp_path_factory.mktemp("serving"), LOG_LEVEL="debug",
                           HAVEN_HTTP_HEADER_TIMEOUT_SECONDS="3", HAVEN_HTTP_BODY_TIMEOUT_SECONDS="3").start()
    yield served
    served.stop()


def exchange(directory, *parts: bytes, pause: float = 0.0, timeout: float = 15) -> bytes:
    """Send `parts` on one new connection (pausing between them) and read until it closes
    or falls quiet for a moment after an answer."""
    with socket.create_connection((directory.host, directory.port), timeout=timeout) as sock:
        for n, part in enumerate(parts):
            if n and pause:
                time.sleep(pause)
            sock.sendall(part)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                if received:
                    return received
                raise
            if not chunk:
                return received
            received += chunk
            sock.settimeout(1)  # an answer has begun; a kept-alive connection then falls quiet


def answers(raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Every HTTP response in `raw`: (status, lower-cased headers, body)."""
    found = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip()
                   for name, _, value in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        found.append((int(lines[0].split()[1]), headers, rest[:length]))
        raw = rest[length:]
    return found


def problem(raw: bytes) -> tuple[int, dict]:
    [(status, headers, body)] = answers(raw)
    assert headers["content-type"] == "application/problem+json", headers
    document = json.loads(body)
    assert document["status"] == status
    return status, document


# --- slow and idle clients ------------------------------------------------------------------

def test_healthz_and_search_answer_promptly_while_50_slow_and_50_idle_clients_are_held(directory):
    with SlowClientDrill(directory.host, directory.port, slow=50, idle=50) as drill:
        time.sleep(1)
        for _ in range(15):
            for path in ("/healthz", "/v1/search?q=nha+tam+lanh"):
                # Today a drip-fed header holds a thread until the client gives up: this
                # one waits for seconds, or for ever.
                _, status = timed_get(directory.host, directory.port, path, timeout=3)
                assert status == 200
        assert drill.held >= 90  # the drill really was holding its connections meanwhile


def test_clients_that_ask_for_connection_close_and_then_keep_their_side_open_stall_no_one(directory):
    lingering = []
    try:
        for _ in range(20):
            sock = socket.create_connection((directory.host, directory.port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            lingering.append(sock)  # never read, never closed
        time.sleep(0.5)
        for _ in range(10):
            # gthread waits up to 2 s in its event loop for each of them to close.
            assert timed_get(directory.host, directory.port, "/healthz", timeout=3)[1] == 200
    finally:
        for sock in lingering:
            sock.close()


def test_a_client_that_stops_half_way_through_its_headers_is_answered_408_and_disconnected(directory):
    raw = exchange(directory, b"GET /v1/search?q=nha HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Ag")
    status, document = problem(raw)
    assert status == 408
    assert document["type"] == "urn:haven:problem:request-timeout"


def test_a_body_sent_in_pieces_and_pipelined_requests_reach_the_application_whole(directory):
    body = json.dumps({"username": "no-such-user", "password": "x" * 40}).encode()
    head = (b"POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    raw = exchange(directory, head, body[:10], body[10:] + b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                   pause=0.3)
    (login, _, login_body), (health, _, health_body) = answers(raw)
    assert login == 401, login_body  # the application read the whole JSON body
    assert (health, json.loads(health_body)) == (200, {"status": "ok"})


# --- the server's own refusals ---------------------------------------------------------------

def test_a_request_line_too_long_is_414_problem_json_and_the_log_keeps_no_query(directory):
    line = f"GET /v1/search?phone={SECRET}&q={'a' * 9000} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    status, document = problem(exchange(directory, line))
    assert status == 414
    assert document["errors"][0]["location"] == "request_line"
    assert SECRET not in directory.log()


@pytest.mark.parametrize("line", [
    f"GET /v1/search?phone={SECRET} HTTP/1.1 please\r\nHost: 127.0.0.1\r\n\r\n",  # three spaces
    f"GET /v1/search?phone={SECRET}\r\nHost: 127.0.0.1\r\n\r\n",  # no HTTP version
    f"GET /v1/search?phone={SECRET} HTTP/1.1\nHost: 127.0.0.1\n\n",  # bare LF
    f"G(T /v1/search?phone={SECRET} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",  # not a method
    f"GET /v1/search?phone={SECRET} HTTP/9.1\r\nHost: 127.0.0.1\r\n\r\n",
])
def test_a_malformed_request_line_is_400_problem_json_and_the_log_keeps_no_query(directory, line):
    status, document = problem(exchange(directory, line.encode()))
    assert status == 400
    assert document["type"] == "urn:haven:problem:malformed-request"
    assert document["errors"][0]["location"] == "request_line"
    assert SECRET not in directory.log()


@pytest.mark.parametrize("headers", [
    f"X-Caller: {SECRET}{'9' * 9000}\r\n",  # one header longer than 8190 bytes
    "".join(f"X-Caller-{n}: {SECRET}\r\n" for n in range(120)),  # more than 100 headers
    "".join(f"X-Caller-{n}: {SECRET}{'9' * 8000}\r\n" for n in range(10)),  # more than 64 KiB in all
])
def test_headers_too_large_are_431_problem_json_and_the_log_keeps_none_of_them(directory, headers):
    request = f"GET /v1/search?phone={SECRET} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()
    status, document = problem(exchange(directory, request))
    assert status == 431
    assert document["errors"][0]["location"] == "headers"
    assert SECRET not in directory.log()


def test_a_malformed_header_is_400_problem_json_naming_it(directory):
    request = f"GET /v1/search?phone={SECRET} HTTP/1.1\r\nHost: 127.0.0.1\r\nX Caller: {SECRET}\r\n\r\n"
    status, document = problem(exchange(directory, request.encode()))
    assert status == 400
    assert document["errors"][0]["location"] == "headers"
    assert SECRET not in directory.log()


def test_a_client_that_leaves_half_way_through_its_request_leaves_nothing_in_the_log(directory):
    with socket.create_connection((directory.host, directory.port), timeout=5) as sock:
        sock.sendall(f"GET /v1/search?phone={SECRET} HTTP/1.1\r\nHost: 127".encode())
    assert timed_get(directory.host, directory.port, "/healthz")[1] == 200
    assert SECRET not in directory.log()


# --- stopping ---------------------------------------------------------------------------------

def test_on_sigterm_a_request_still_being_sent_is_answered_before_the_server_stops(tmp_path):
    served = ServedService("directory", tmp_path / "data").start()
    try:
        with socket.create_connection((served.host, served.port), timeout=15) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            time.sleep(0.5)  # the worker has the connection
            served.process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            sock.sendall(b"\r\n")
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        [(status, headers, body)] = answers(received)
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        assert headers["connection"] == "close"
        assert served.process.wait(30) == 0
    finally:
        served.stop()
