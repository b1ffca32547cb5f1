"""Slow-client drill benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.benchmarks.bench_slow_clients [--slow 50] [--idle 50] [--requests 200] [--rate 20]

Serves the directory with `haven serve directory` (gunicorn as in production, embedded
data in a temporary folder), then times /healthz and a search from a well-behaved client
(a new connection per request, one at a time, --rate a second, so the drill phase outlasts
the server's header timeout and keep-alive timeout): first alone, then while the drill holds
--slow connections that drip their headers a byte every two seconds or stall half-way,
and --idle idle keep-alive connections. Prints p50 / p95 / max of each, in milliseconds.
A request that gets no answer within --timeout seconds counts as taking that long.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from tests.support.served_service import ServedService
from tests.support.slow_clients import SlowClientDrill, percentiles, timed_get

HOST = "127.0.0.1"
PATHS = {"healthz": "/healthz", "search": "/v1/search?q=nha+tam+lanh"}


def measure(port: int, requests: int, rate: float, timeout: float) -> dict[str, dict[str, float]]:
    figures = {}
    for name, path in PATHS.items():
        samples, failures = [], 0
        started = time.monotonic()
        for n in range(requests):
            time.sleep(max(0.0, started + n / rate - time.monotonic()))
            try:
                seconds, status = timed_get(HOST, port, path, timeout=timeout)
                failures += status != 200
            except OSError:
                seconds, failures = timeout, failures + 1
            samples.append(seconds)
        figures[name] = {**percentiles(samples), "failed": failures}
    return figures


def show(label: str, figures: dict[str, dict[str, float]]) -> None:
    for name, f in figures.items():
        print(f"{label:<28} {name:<8} p50 {f['p50'] * 1000:8.1f} ms   p95 {f['p95'] * 1000:8.1f} ms   "
              f"max {f['max'] * 1000:8.1f} ms   failed {f['failed']}", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--idle", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200, help="requests per path and phase")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--timeout", type=float, default=15.0)
    parser.add_argument("--data-dir", help="keep the server's data and log (serve-directory.log) here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="haven-bench-slow-") as scratch:
        data_dir = args.data_dir or scratch
        os.makedirs(data_dir, exist_ok=True)
        server = ServedService("directory", data_dir).start()
        try:
            show("alone", measure(server.port, args.requests, args.rate, args.timeout))
            with SlowClientDrill(server.host, server.port, slow=args.slow, idle=args.idle) as drill:
                time.sleep(1)  # every drill connection is in place
                show(f"with {args.slow} slow + {args.idle} idle",
                     measure(server.port, args.requests, args.rate, args.timeout))
                print(f"drill connections held at the end: {drill.held}; closed by the server (and "
                      f"reopened): {drill.closed_by_server}", flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
