"""Portal benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.benchmarks.bench_portal --services 100000

1. Server: the search results page, rendered by the portal with its directory call, at N
   services (embedded directory, SQLite FTS5), from 8 client processes over HTTP with a
   signed-in session; then the portal's own /healthz in the same run, for the throughput
   ratio. Targets: p95 <= 100 ms at concurrency 8.
2. Bytes: what Chromium transfers for the search page on a first visit (empty cache:
   HTML + CSS + JS, compressed as sent) and on a repeat search (warm cache), and any request
   to another host. Targets: <= 60 KB and <= 15 KB, no other host.
3. Slow network: the results page's largest contentful paint with Chromium throttled over
   CDP (1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip, 4x CPU slowdown). Target <= 2.5 s.

Every process runs as in production (`haven serve`, gunicorn). Reuse a loaded data dir with
--data-dir to skip the load.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
from urllib.parse import urlencode

import requests

from tests.benchmarks import bench_search as search_bench
from tests.benchmarks.bench_search import CENTRES, children_of, load, rss_mb, wait_ready
from tests.support.network import free_port

USER = "bench-caseworker"
PASSWORD = "bench-password-1"


# What caseworkers type (without diacritics) and the kind they pick with it: searches that
# find services, so the page measured is a results page, not "nothing found".
SEARCHES = [("tam lanh", "shelter"), ("cho o an toan", "shelter"), ("tham van", "counselling"),
            ("tu van phap ly", "legal_aid"), ("cap cuu", "health"), ("tin bao bao luc", "police"),
            ("chuyen tuyen", "social_work"), ("dia chi tin cay", "trusted_address"), ("bao luc", None),
            ("duong day nong", "hotline")]


def results_path(rng: random.Random) -> str:
    """A caseworker's search as the page's form sends it: words without diacritics, a kind,
    near her location within a distance (a hotline is national: no distance); a third of
    them open at a set weekday morning ("open now" would find a different share of
    services at each hour the benchmark is run)."""
    lat, lon = rng.choice(CENTRES)
    text, kind = rng.choice(SEARCHES)
    near = [("lat", round(lat + rng.uniform(-0.05, 0.05), 4)), ("lon", round(lon + rng.uniform(-0.05, 0.05), 4)),
            ("radius", rng.choice([10, 20, 30]))]
    params = [("q", text), *([("kind", kind)] if kind else []), *(near if kind != "hotline" else [])]
    if rng.random() < 1 / 3:
        params += [("open", "at"), ("at", "2026-12-07T10:00")]
    return "/search?" + urlencode(params)


def results_shown(session: requests.Session, portal: str, samples: int = 40) -> list[int]:
    """How many services each of `samples` searches of the benchmark shows on its page."""
    rng = random.Random(99)
    return [session.get(portal + results_path(rng), timeout=30).text.count('class="card result"')
            for _ in range(samples)]


def drive(port: int, kind: str, seconds: float, concurrency: int, cookie: str) -> dict:
    return search_bench.drive(port, kind, seconds, concurrency, path_for=results_path,
                              headers={"Cookie": cookie, "Accept-Encoding": "gzip"})


def serve(environ: dict, services: list[str]) -> dict[str, subprocess.Popen]:
    processes = {}
    for service in services:
        env = {**os.environ, **environ, "LOG_LEVEL": "warning"}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        processes[service] = subprocess.Popen([sys.executable, "-m", "haven", "serve", service], env=env,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                              start_new_session=True)
    return processes


def sign_in(portal: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{portal}/sign-in", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = session.post(f"{portal}/sign-in", data={"csrf_token": token, "username": USER, "password": PASSWORD,
                                                      "next": "/"}, timeout=10)
    answer.raise_for_status()
    return session


def browser_figures(portal: str, rng: random.Random) -> dict:
    """Bytes on a first visit and a repeat search, other hosts asked, and the throttled LCP."""
    from playwright.sync_api import sync_playwright

    from tests.support.browser import launch

    figures = {}
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            figures.update(transfer(browser, portal, rng))
            figures["lcp_ms"] = [throttled_lcp(browser, portal, rng) for _ in range(3)]
        finally:
            browser.close()
    return figures


def _signed_in_page(browser, portal: str):
    context = browser.new_context(base_url=portal, locale="vi-VN", viewport={"width": 360, "height": 800})
    page = context.new_page()
    page.goto("/sign-in")
    page.fill("#field-username", USER)
    page.fill("#field-password", PASSWORD)
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_load_state("load")
    return context, page


def _measured_load(page, cdp, path: str) -> tuple[int, list[str]]:
    """Bytes on the wire (headers + compressed bodies) of everything loading `path` asks for."""
    sizes: dict[str, float] = {}
    urls: dict[str, str] = {}
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    page.goto(path, wait_until="networkidle")
    page.wait_for_timeout(300)
    return int(sum(sizes.values())), sorted(set(urls.values()))


def transfer(browser, portal: str, rng: random.Random) -> dict:
    context, page = _signed_in_page(browser, portal)
    try:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.clearBrowserCache")  # a first visit: the sign-in page's CSS must not count
        first, first_urls = _measured_load(page, cdp, results_path(rng))
        cdp2 = context.new_cdp_session(page)
        cdp2.send("Network.enable")
        repeat, repeat_urls = _measured_load(page, cdp2, results_path(rng))
        own = re.compile(r"^https?://127\.0\.0\.1[:/]")
        foreign = [u for u in first_urls + repeat_urls if not own.match(u) and not u.startswith("data:")]
        return {"first_bytes": first, "first_urls": first_urls, "repeat_bytes": repeat, "repeat_urls": repeat_urls,
                "foreign": foreign}
    finally:
        context.close()


LCP_SCRIPT = """() => new Promise(resolve => {
  let last = 0;
  new PerformanceObserver(list => { for (const e of list.getEntries()) last = e.renderTime || e.loadTime || e.startTime; })
    .observe({type: 'largest-contentful-paint', buffered: true});
  setTimeout(() => resolve(last), 500);
})"""


def throttled_lcp(browser, portal: str, rng: random.Random) -> float:
    context, page = _signed_in_page(browser, portal)
    try:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.clearBrowserCache")
        cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 150,
                                                      "downloadThroughput": 1_600_000 / 8,
                                                      "uploadThroughput": 750_000 / 8})
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
        page.goto(results_path(rng), wait_until="load")
        return float(page.evaluate(LCP_SCRIPT))
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--data-dir", help="reuse (or create) this data dir")
    parser.add_argument("--warm-up", type=float, default=20,
                        help="seconds of searches before anything is measured (page cache, listing caches)")
    args = parser.parse_args()

    data_dir = args.data_dir or tempfile.mkdtemp(prefix="haven-bench-portal-")
    if not os.path.exists(os.path.join(data_dir, "directory.sqlite3")):
        load(data_dir, args.services)
    from haven.platform.local_users import LocalUser, LocalUsers

    users = LocalUsers(data_dir)
    if users.get(USER) is None:
        users.add(LocalUser(USER, "Bench caseworker", ("caseworker",), "00000000-0000-4000-8000-0000000000aa", "vi"),
                  PASSWORD)
    ports = {name: free_port() for name in ("portal", "directory", "referral", "notify")}
    environ = {"HAVEN_DATA_DIR": data_dir, **{f"{n.upper()}_PORT": str(p) for n, p in ports.items()},
               **{f"PORTAL_{n.upper()}_URL": f"http://127.0.0.1:{p}" for n, p in ports.items() if n != "portal"}}
    processes = serve(environ, ["directory", "referral", "notify", "portal"])
    portal = f"http://127.0.0.1:{ports['portal']}"
    try:
        for name in ("directory", "referral", "notify", "portal"):
            wait_ready(ports[name])
        session = sign_in(portal)
        cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        print(f"\nportal benchmark: {args.services} services (embedded directory), gunicorn "
              f"{os.environ.get('HAVEN_WORKERS', '2')} workers per service, {os.cpu_count()} cores", flush=True)
        shown = sorted(results_shown(session, portal))
        print(f"  {sum(1 for n in shown if n)} of {len(shown)} sample searches show services "
              f"(median {shown[len(shown) // 2]} on the page)", flush=True)
        # Warm-up: the page cache and each directory worker's decoded listings fill as
        # searches find services, as they are on a server that has been up a while.
        drive(ports["portal"], "search", args.warm_up, args.concurrency, cookie)
        healthz = drive(ports["portal"], "healthz", args.seconds, args.concurrency, cookie)
        search = drive(ports["portal"], "search", args.seconds, args.concurrency, cookie)
        print(f"  concurrency {args.concurrency}, {args.seconds:.0f}s per phase")
        for name, phase in (("portal /healthz      ", healthz), ("search results page ", search)):
            print(f"  {name}: {phase['rps']:7.1f} req/s  p50 {phase['p50_ms']:6.1f} ms  p95 {phase['p95_ms']:6.1f} ms  "
                  f"p99 {phase['p99_ms']:6.1f} ms  ({phase['requests']} requests, {phase['errors']} errors, "
                  f"{phase['mean_bytes'] / 1024:.1f} KB gzip each)")
        print(f"  results page p95: {search['p95_ms']:.1f} ms (target <= 100 ms)")
        print(f"  results page / healthz throughput ratio: {search['rps'] / healthz['rps']:.2f}")
        memory = {}
        for name in ("portal", "directory"):
            pids = [processes[name].pid] + children_of(processes[name].pid)
            memory[name] = max(rss_mb(pids).values())
        print("  largest RSS: " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in memory.items()), flush=True)

        figures = browser_figures(portal, random.Random(11))
        print(f"\n  search page, first visit (empty cache): {figures['first_bytes'] / 1024:.1f} KB on the wire "
              f"(target <= 60 KB), {len(figures['first_urls'])} requests:")
        for url in figures["first_urls"]:
            print(f"    {url.split('?')[0]}")
        print(f"  repeat search (warm cache): {figures['repeat_bytes'] / 1024:.1f} KB (target <= 15 KB), "
              f"{len(figures['repeat_urls'])} requests")
        print(f"  requests to any other host: {len(figures['foreign'])} {figures['foreign'] or ''}")
        lcp = figures["lcp_ms"]
        print(f"  throttled (1.6 Mbit/s, 150 ms RTT, 4x CPU) largest contentful paint: "
              f"{', '.join(f'{v:.0f} ms' for v in lcp)} (max {max(lcp):.0f} ms; target <= 2500 ms)", flush=True)
    finally:
        for process in processes.values():
            try:
                os.killpg(process.pid, 15)
            except ProcessLookupError:
                pass
        for process in processes.values():
            process.wait(30)


if __name__ == "__main__":
    main()
