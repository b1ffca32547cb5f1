"""Directory search benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.benchmarks.bench_search --services 100000
    .venv/bin/python -m tests.benchmarks.bench_search --backends elasticsearch --elasticsearch-url URL

Loads N generated services into an embedded directory (SQLite), then for each search
backend: rebuilds its index from the database (timed: the bulk indexing rate), serves it
with `haven serve directory` (gunicorn, as in production) and drives it from 8 client
processes over HTTP: first /healthz, then search with q + kind + radius + open_now.
Reports latency percentiles, throughput, their ratio, and the RSS of every directory
process. Reuse a loaded data dir with --data-dir to skip the load.

    .venv/bin/python -m tests.benchmarks.bench_search --keep-alive --connections 2,8,32 --rounds 3

Keep-alive mode (embedded backend): for each N, N client processes each hold one
persistent connection and search back to back, for several rounds, against one server.
Each round prints its throughput, its share of the best round's (target >= 85 %), and
each gunicorn worker's share of the CPU the workers used: every worker must take a share.

Without --elasticsearch-url the Elasticsearch figures come from the noida-db stand-in the
tests use (started here): they measure Haven's adapter and the stand-in, not a real
cluster, and are labelled so.
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
    directory.reference.add_areas(demo_data.areas())
    started = time.monotonic()
    count = directory.imports.load_trusted(demo_data.generate(services))
    print(f"loaded and indexed {count} services in {time.monotonic() - started:.1f}s")


def backend_environ(data_dir: str, backend: str, elasticsearch_url: str | None) -> dict:
    environ = {"HAVEN_DATA_DIR": data_dir, "SEARCH_BACKEND": backend}
    if backend == "elasticsearch":
        environ.update(ELASTICSEARCH_URL=elasticsearch_url, ELASTICSEARCH_INDEX="haven-bench",
                       ELASTICSEARCH_REPLICAS="0")
    return environ


def rebuild(environ: dict) -> tuple[int, float]:
    """Rebuild the backend's index from the database: (services, seconds)."""
    from haven.platform import db
    from services.directory import SPEC
    from services.directory.bootstrap import directory_from

    config = SPEC.load_config(environ)
    directory = directory_from(config, db.create_engine(SPEC.database_url(config)))
    started = time.monotonic()
    count = directory.indexing.rebuild()
    return count, time.monotonic() - started


def search_path(rng: random.Random) -> str:
    lat, lon = rng.choice(CENTRES)
    params = [("q", rng.choice(TERMS)), ("kind", rng.choice(KINDS)), ("kind", rng.choice(KINDS)),
              ("lat", round(lat + rng.uniform(-0.1, 0.1), 4)), ("lon", round(lon + rng.uniform(-0.1, 0.1), 4)),
              ("radius_km", rng.choice([10, 20, 30])), ("open_now", "true")]
    return "/v1/search?" + urlencode(params)


def client(port: int, kind: str, seconds: float, seed: int, results, path_for=None, headers=None) -> None:
    """One client process: requests back to back on one keep-alive connection. `path_for(rng)`
    gives each search's path (default: the directory's /v1/search)."""
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, errors, sizes = [], 0, []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        path = "/healthz" if kind == "healthz" else (path_for or search_path)(rng)
        started = time.perf_counter()
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        latencies.append(time.perf_counter() - started)
        sizes.append(len(body))
        errors += response.status != 200
    results.put((latencies, errors, sizes))


def drive(port: int, kind: str, seconds: float, concurrency: int, path_for=None, headers=None) -> dict:
    results = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=client, args=(port, kind, seconds, i, results, path_for, headers))
               for i in range(concurrency)]
    for w in workers:
        w.start()
    latencies, errors, sizes = [], 0, []
    for _ in workers:
        lat, err, size = results.get()
        latencies += lat
        errors += err
        sizes += size
    for w in workers:
        w.join()
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"requests": len(latencies), "errors": errors, "rps": len(latencies) / seconds,
            "p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99),
            "mean_ms": statistics.fmean(latencies) * 1000, "mean_bytes": statistics.fmean(sizes)}


def wait_ready(port: int, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"nothing ready on port {port} after {seconds:.0f}s")


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
    parser.add_argument("--backends", default="embedded,elasticsearch",
                        help="comma-separated search backends to measure, in order")
    parser.add_argument("--elasticsearch-url", help="a real cluster (default: start the noida-db stand-in)")
    parser.add_argument("--standin-searches", type=int, default=20,
                        help="searches (one at a time) measured on the stand-in")
    parser.add_argument("--keep-alive", action="store_true",
                        help="keep-alive mode: rounds of N persistent connections, per-worker CPU")
    parser.add_argument("--connections", default="2,8,32", help="keep-alive mode: the values of N")
    parser.add_argument("--rounds", type=int, default=3, help="keep-alive mode: rounds per N")
    parser.add_argument("--warm-up", type=float, default=20,
                        help="seconds of searches before anything is measured (page cache, listing caches)")
    args = parser.parse_args()

    data_dir = args.data_dir or tempfile.mkdtemp(prefix="haven-bench-")
    if not os.path.exists(os.path.join(data_dir, "directory.sqlite3")):
        load(data_dir, args.services)
    if args.keep_alive:
        keep_alive(backend_environ(data_dir, "embedded", None), [int(n) for n in args.connections.split(",")],
                   args.rounds, args.seconds, args.services, args.warm_up)
        return
    standin = None
    elasticsearch_url = args.elasticsearch_url
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "elasticsearch" in backends and not elasticsearch_url:
        from tests.support.noida_es import NoidaElasticsearch

        standin = NoidaElasticsearch(tempfile.mkdtemp(prefix="haven-bench-es-")).start()
        elasticsearch_url = standin.url
    engines = {"embedded": "embedded engine (SQLite FTS5 + in-memory columns)",
               "elasticsearch": "Elasticsearch STAND-IN (noida-db 0.2.3, not a real cluster)"
               if standin is not None else f"Elasticsearch at {elasticsearch_url}"}
    print(f"\ndirectory search benchmark: {args.services} services, gunicorn "
          f"{os.environ.get('HAVEN_WORKERS', '2')} workers, {os.cpu_count()} cores", flush=True)
    try:
        for backend in backends:
            environ = backend_environ(data_dir, backend, elasticsearch_url)
            indexed, seconds = rebuild(environ)
            print(f"\n{engines[backend]}:\n  rebuild from the database: {indexed} services in {seconds:.1f}s "
                  f"= {indexed / seconds:.0f} services/s", flush=True)
            if backend == "elasticsearch" and standin is not None:
                # The stand-in reads every document on every search (tests/support/noida_es.py):
                # at this size a search outlasts Haven's 10 s client timeout, so its searches
                # are timed in-process, one at a time, through the adapter.
                standin_searches(environ, args.standin_searches)
            else:
                report(serve_and_drive(environ, args.seconds, args.concurrency, args.warm_up), args.seconds,
                       args.concurrency)
    finally:
        if standin is not None:
            standin.stop()


def standin_searches(environ: dict, count: int) -> None:
    from datetime import date, datetime, timezone

    from services.directory.adapters.elastic_index import ElasticProviderIndex, elastic_client
    from services.directory.domain.confidential import Viewer
    from services.directory.domain.search import SearchQuery

    index = ElasticProviderIndex(elastic_client(environ["ELASTICSEARCH_URL"], timeout=600),
                                 alias=environ["ELASTICSEARCH_INDEX"])
    rng = random.Random(7)
    latencies = []
    for _ in range(count):
        lat, lon = rng.choice(CENTRES)
        query = SearchQuery(text=rng.choice(TERMS), kinds=(rng.choice(KINDS), rng.choice(KINDS)),
                            latitude=lat + rng.uniform(-0.1, 0.1), longitude=lon + rng.uniform(-0.1, 0.1),
                            radius_km=rng.choice([10, 20, 30]), open_at=datetime.now(timezone.utc))
        started = time.perf_counter()
        index.search(query, Viewer(), date.today())
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    print(f"  search (in-process, one at a time, {count} searches): p50 {pick(0.5):.0f} ms  "
          f"p95 {pick(0.95):.0f} ms  max {latencies[-1]:.0f} ms", flush=True)


def report(found: dict, seconds: float, concurrency: int) -> None:
    healthz, search, memory = found["healthz"], found["search"], found["memory"]
    print(f"  concurrency {concurrency}, {seconds:.0f}s per phase")
    for name, phase in (("healthz", healthz), ("search ", search)):
        print(f"  {name}: {phase['rps']:8.1f} req/s  p50 {phase['p50_ms']:6.1f} ms  "
              f"p95 {phase['p95_ms']:6.1f} ms  p99 {phase['p99_ms']:6.1f} ms  "
              f"({phase['requests']} requests, {phase['errors']} errors)")
    print(f"  search/healthz throughput ratio: {search['rps'] / healthz['rps']:.2f} (target >= 0.33)")
    print(f"  search p95: {search['p95_ms']:.1f} ms (target <= 50 ms)")
    print("  RSS per directory process: " + ", ".join(f"{mb:.0f} MB" for mb in memory.values())
          + f" (max {max(memory.values()):.0f} MB; target <= 300 MB)", flush=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def keep_alive(environ: dict, connections: list[int], rounds: int, seconds: float, services: int,
               warm_up: float) -> None:
    workers = int(os.environ.get("HAVEN_WORKERS", "2"))
    print(f"\nkeep-alive search benchmark: {services} services, embedded engine, gunicorn {workers} workers, "
          f"{os.cpu_count()} cores, {seconds:.0f}s per round after {warm_up:.0f}s of warm-up", flush=True)
    port = free_port()
    env = {**os.environ, **environ, "DIRECTORY_PORT": str(port), "LOG_LEVEL": "warning"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen([sys.executable, "-m", "haven", "serve", "directory"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_ready(port)
        # Warm-up: the page cache and each worker's decoded listings fill as searches find
        # services; the rounds measure a server that has been up a while, not its first seconds.
        drive(port, "search", warm_up, 8)
        for n in connections:
            print(f"  N = {n} persistent connections:")
            figures = []
            for number in range(1, rounds + 1):
                pids = children_of(server.pid)
                before = {pid: cpu_seconds(pid) for pid in pids}
                started = time.monotonic()
                phase = drive(port, "search", seconds, n)
                elapsed = time.monotonic() - started
                kept = [pid for pid in children_of(server.pid) if pid in before]  # a replaced worker drops out
                used = {pid: cpu_seconds(pid) - before[pid] for pid in kept}
                total = sum(used.values()) or 1.0
                figures.append((phase, [used[pid] / total for pid in kept], total / elapsed, len(kept) < len(pids)))
            best = max(phase["rps"] for phase, *_ in figures)
            for number, (phase, shares, cores, replaced) in enumerate(figures, 1):
                print(f"    round {number}: {phase['rps']:7.1f} req/s ({phase['rps'] / best:4.0%} of the best round)  "
                      f"p50 {phase['p50_ms']:6.1f} ms  p95 {phase['p95_ms']:6.1f} ms  {phase['errors']} errors  "
                      f"workers' CPU: " + " / ".join(f"{share:.0%}" for share in shares)
                      + f" ({cores:.2f} cores)" + ("  a worker was replaced (HAVEN_MAX_REQUESTS)" if replaced else ""),
                      flush=True)
            worst = min(phase["rps"] for phase, *_ in figures) / best
            print(f"    worst round: {worst:.0%} of the best (target >= 85 %); smallest worker share: "
                  f"{min(min(shares) for _, shares, *_ in figures):.0%}", flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def serve_and_drive(environ: dict, seconds: float, concurrency: int, warm_up: float) -> dict:
    port = free_port()
    env = {**os.environ, **environ, "DIRECTORY_PORT": str(port), "LOG_LEVEL": "warning"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen([sys.executable, "-m", "haven", "serve", "directory"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_ready(port)  # the first start may build the index
        drive(port, "search", warm_up, concurrency)  # warm-up: page cache, listing caches, connections
        healthz = drive(port, "healthz", seconds, concurrency)
        search = drive(port, "search", seconds, concurrency)
        memory = rss_mb([server.pid] + children_of(server.pid))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    return {"healthz": healthz, "search": search, "memory": memory}


if __name__ == "__main__":
    main()
