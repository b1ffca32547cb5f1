"""Directory search benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.benchmarks.bench_search --services 100000

Loads N generated services into an embedded directory (SQLite + FTS5), serves it with
`haven serve directory` (gunicorn, as in production), then drives it from 8 client
processes over HTTP: first /healthz, then search with q + kind + radius + open_now.
Reports latency percentiles, throughput, their ratio, and the RSS of every directory
process. Reuse a loaded data dir with --data-dir to skip the load.
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlencode

from tests.support.network import free_port

TERMS = ["nha tam lanh", "tu van", "tro giup phap ly", "cong an", "tram y te", "cong tac xa hoi",
         "phu nu", "duong day nong", "tham van", "benh vien"]
KINDS = ["shelter", "counselling", "legal_aid", "police", "health", "social_work", "hotline", "trusted_address"]
CENTRES = [(21.0285, 105.8542), (21.8537, 106.7615), (20.2506, 105.9745), (19.8067, 105.7852),
           (21.88, 106.80), (20.20, 105.47)]


def load(data_dir: str, services: int) -> None:
    from haven.platform import db
    from services.directory import SPEC, demo_data
    from services.directory.bootstrap import directory_from

    config = SPEC.load_config({"HAVEN_DATA_DIR": data_dir})
    url = SPEC.database_url(config)
    SPEC.migrations().upgrade(url)
    directory = directory_from(config, db.create_engine(url))
    directory.add_areas(demo_data.areas())
    started = time.monotonic()
    count = directory.load_trusted(demo_data.generate(services))
    print(f"loaded and indexed {count} services in {time.monotonic() - started:.1f}s")


def search_path(rng: random.Random) -> str:
    lat, lon = rng.choice(CENTRES)
    params = [("q", rng.choice(TERMS)), ("kind", rng.choice(KINDS)), ("kind", rng.choice(KINDS)),
              ("lat", round(lat + rng.uniform(-0.1, 0.1), 4)), ("lon", round(lon + rng.uniform(-0.1, 0.1), 4)),
              ("radius_km", rng.choice([10, 20, 30])), ("open_now", "true")]
    return "/v1/search?" + urlencode(params)


def client(port: int, kind: str, seconds: float, seed: int, results) -> None:
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, errors = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        path = "/healthz" if kind == "healthz" else search_path(rng)
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        errors += response.status != 200
    results.put((latencies, errors))


def drive(port: int, kind: str, seconds: float, concurrency: int) -> dict:
    results = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=client, args=(port, kind, seconds, i, results))
               for i in range(concurrency)]
    for w in workers:
        w.start()
    latencies, errors = [], 0
    for _ in workers:
        lat, err = results.get()
        latencies += lat
        errors += err
    for w in workers:
        w.join()
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"requests": len(latencies), "errors": errors, "rps": len(latencies) / seconds,
            "p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99),
            "mean_ms": statistics.fmean(latencies) * 1000}


def rss_mb(pids: list[int]) -> dict[int, float]:
    sizes = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        sizes[pid] = int(line.split()[1]) / 1024
        except FileNotFoundError:
            pass
    return sizes


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--data-dir", help="reuse (or create) this data dir")
    args = parser.parse_args()

    data_dir = args.data_dir or tempfile.mkdtemp(prefix="haven-bench-")
    if not os.path.exists(os.path.join(data_dir, "directory.sqlite3")):
        load(data_dir, args.services)
    port = free_port()
    env = {**os.environ, "HAVEN_DATA_DIR": data_dir, "DIRECTORY_PORT": str(port), "LOG_LEVEL": "warning"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen([sys.executable, "-m", "haven", "serve", "directory"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(1500):  # the first start may build the index
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/readyz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        drive(port, "search", 3, args.concurrency)  # warm-up: page cache, connections
        healthz = drive(port, "healthz", args.seconds, args.concurrency)
        search = drive(port, "search", args.seconds, args.concurrency)
        processes = [server.pid] + children_of(server.pid)
        memory = rss_mb(processes)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)

    print(f"\ndirectory search benchmark: {args.services} services, embedded engine (SQLite FTS5), "
          f"gunicorn {os.environ.get('HAVEN_WORKERS', '2')} workers, concurrency {args.concurrency}, "
          f"{args.seconds:.0f}s per phase, {os.cpu_count()} cores")
    for name, figures in (("healthz", healthz), ("search ", search)):
        print(f"  {name}: {figures['rps']:8.1f} req/s  p50 {figures['p50_ms']:6.1f} ms  "
              f"p95 {figures['p95_ms']:6.1f} ms  p99 {figures['p99_ms']:6.1f} ms  "
              f"({figures['requests']} requests, {figures['errors']} errors)")
    print(f"  search/healthz throughput ratio: {search['rps'] / healthz['rps']:.2f} (target >= 0.33)")
    print(f"  search p95: {search['p95_ms']:.1f} ms (target <= 50 ms)")
    print("  RSS per directory process: " + ", ".join(f"{mb:.0f} MB" for mb in memory.values())
          + f" (max {max(memory.values()):.0f} MB; target <= 300 MB)")


if __name__ == "__main__":
    main()
