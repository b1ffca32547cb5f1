"""A service's background worker: jobs are supervised, and its endpoint tells Prometheus
and the orchestrator how they are doing."""
import threading
import time

import requests

from haven.platform import metrics
from haven.platform.background import Job, bind_endpoint, run_worker
from tests.support.network import free_port


def _start(jobs):
    stop, port = threading.Event(), free_port()
    thread = threading.Thread(target=run_worker, args=(jobs, stop, bind_endpoint("127.0.0.1", port)))
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/healthz", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.05)
    return stop, thread, url


def test_a_failing_job_is_restarted_and_health_says_so(monkeypatch):
    calls = []

    def flaky(stop):
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("database locked")
        stop.wait()

    def steady(stop):
        stop.wait()

    monkeypatch.setattr("haven.platform.background.supervise.__defaults__", (0.05, 0.5))
    stop, thread, url = _start([Job("flaky", flaky), Job("steady", steady)])
    try:
        deadline = time.monotonic() + 5
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        health = requests.get(url + "/healthz", timeout=2)
        assert health.status_code == 200
        assert health.json()["jobs"]["flaky"] == {"running": True, "restarts": 1, "last_error": "RuntimeError"}
        assert health.json()["jobs"]["steady"]["restarts"] == 0
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()  # stopping waits for the jobs and returns


def test_health_is_503_naming_the_job_that_is_down(monkeypatch):
    def broken(stop):
        raise OSError("cannot open the outbox")

    monkeypatch.setattr("haven.platform.background.supervise.__defaults__", (5.0, 5.0))
    stop, thread, url = _start([Job("relay", broken)])
    try:
        time.sleep(0.2)
        health = requests.get(url + "/healthz", timeout=2)
        assert health.status_code == 503
        assert health.json()["status"] == "down" and health.json()["jobs"]["relay"]["running"] is False
        assert requests.get(url + "/nowhere", timeout=2).status_code == 404
    finally:
        stop.set()
        thread.join(10)


def test_metrics_are_served(monkeypatch):
    metrics.EVENTS_PUBLISHED.labels("worker-endpoint-test").inc(3)
    stop, thread, url = _start([Job("idle", lambda stop: stop.wait())])
    try:
        scraped = requests.get(url + "/metrics", timeout=2)
        assert scraped.status_code == 200
        assert 'haven_events_published_total{topic="worker-endpoint-test"} 3.0' in scraped.text
    finally:
        stop.set()
        thread.join(10)


def test_a_worker_whose_port_is_taken_stops_at_once_and_leaves_the_other_workers_metrics(tmp_path):
    import os
    import socket
    import subprocess
    import sys

    port = free_port()
    samples = tmp_path / "run" / "metrics" / "referral-worker"
    samples.mkdir(parents=True)
    (samples / "counter_1.db").write_bytes(b"the running worker's samples")
    env = {**os.environ, "HAVEN_DATA_DIR": str(tmp_path), "REFERRAL_WORKER_PORT": str(port)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with socket.socket() as running_worker:
        running_worker.bind(("127.0.0.1", port))
        running_worker.listen()
        second = subprocess.run([sys.executable, "-m", "haven", "worker", "referral"], env=env,
                                capture_output=True, text=True, timeout=60)
    assert second.returncode == 2
    assert f"REFERRAL_WORKER_PORT={port}: cannot listen on 127.0.0.1:{port}" in second.stderr
    assert (samples / "counter_1.db").read_bytes() == b"the running worker's samples"


def test_health_fails_naming_the_group_when_a_consumer_holds_no_partitions_while_the_lag_stands(tmp_path):
    """Another member holds the only partition and handles nothing (as a dead member the
    broker never expires would): the worker's consumer gets no share and the lag does not
    shrink, so its /healthz must fail for the orchestrator to replace it."""
    from haven.platform.eventlog import Message, worker
    from haven.platform.eventlog.embedded import EmbeddedEventLog
    from haven.platform.eventlog.health import HealthLimits

    log = EmbeddedEventLog(str(tmp_path / "events.sqlite3"), partitions=1, session_timeout=6.0)  # the holder stays a member on a loaded machine
    log.health_limits = HealthLimits(stalled_after=1.0, growing_after=600.0)
    holder = log.consumer("notify", ["referral-events"], instance="a-stuck-member")

    def hold(stop):  # alive (it polls), but never commits what it reads
        while not stop.is_set():
            holder.poll(0.2)

    log.publish([Message("referral-events", f"r{i}", b"{}") for i in range(5)])
    stop, thread, url = _start([Job("stuck-member", hold), Job(
        "referral-events", lambda stop: worker.run(log, "notify", ["referral-events"], lambda r: None, stop,
                                                   instance="z-worker"))])
    try:
        deadline, health = time.monotonic() + 30, None
        while time.monotonic() < deadline:
            health = requests.get(url + "/healthz", timeout=2)
            if health.status_code == 503:
                break
            time.sleep(0.2)
        assert health.status_code == 503 and health.json()["status"] == "down"
        report = health.json()["consumers"]["notify"]
        assert report["holds_partitions"] is False and report["lag"] == 5
        assert report["problem"].startswith("holds no partitions of group notify while its lag (5) has not shrunk")
        assert all(job["running"] for job in health.json()["jobs"].values())  # every job runs: only health says
    finally:
        stop.set()
        thread.join(10)
        holder.close()
