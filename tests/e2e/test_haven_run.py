"""`haven run` as a person uses it: real processes, real ports, HTTP, Ctrl-C."""
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests.support.haven_process import SERVICES, RunningHaven, processes_using
from tests.support.auth import bearer
from tests.support.network import free_port


@pytest.fixture
def haven(tmp_path):
    running = RunningHaven(tmp_path / "data").start()
    yield running
    if running.process.poll() is None:
        running.stop()
    running.kill_everything()


def test_every_service_answers_its_operational_endpoints(haven):
    for service in SERVICES:
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
            response = requests.get(haven.url(service) + path, timeout=5)
            assert response.status_code == 200, (service, path, response.text[:300])
        assert requests.get(haven.url(service) + "/openapi.json").json()["info"]["title"] == f"Haven {service}"


def test_metrics_count_every_request_across_gunicorn_workers(haven):
    url = haven.url("directory")
    for _ in range(40):  # spread over both workers by the kernel's accept queue
        requests.get(f"{url}/v1/organizations", timeout=5)
    metrics = requests.get(f"{url}/metrics", timeout=5).text
    line = next(line for line in metrics.splitlines()
                if line.startswith("haven_http_request_duration_seconds_count")
                and 'route="/v1/organizations"' in line and 'method="GET"' in line)
    assert float(line.rsplit(" ", 1)[1]) == 40


def test_demo_data_is_loaded_once_and_data_survives_a_restart(tmp_path):
    haven = RunningHaven(tmp_path / "data").start()
    try:
        url = haven.url("directory")
        demo_count = requests.get(f"{url}/v1/organizations").json()["total"]
        assert demo_count > 0
        admin = bearer(haven.data_dir, "directory_admin")
        created = requests.post(f"{url}/v1/organizations", json={"name": "Nhà tạm lánh Bình Minh"}, timeout=5,
                                headers=admin)
        assert created.status_code == 201
        assert haven.stop() is not None
        haven.start()
        assert requests.get(f"{url}/v1/organizations").json()["total"] == demo_count + 1  # not loaded twice
        assert requests.get(f"{url}{created.headers['Location']}").json()["name"] == "Nhà tạm lánh Bình Minh"
    finally:
        if haven.process.poll() is None:
            haven.stop()
        haven.kill_everything()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_ctrl_c_sigterm_or_sighup_stops_every_process(tmp_path, sig):
    haven = RunningHaven(tmp_path / "data").start()
    children = processes_using(haven.data_dir)
    assert len(children) >= 1 + 3 * 3  # haven run, 3 gunicorn masters, their workers
    haven.stop(sig)
    deadline = time.monotonic() + 15
    while processes_using(haven.data_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    leftover = processes_using(haven.data_dir)
    haven.kill_everything()
    assert leftover == []
    for service in SERVICES:
        with pytest.raises(requests.ConnectionError):
            requests.get(haven.url(service) + "/healthz", timeout=2)


def test_nothing_outlives_a_killed_haven_run(tmp_path):
    """`kill -9` of `haven run` itself: its processes follow it (the kernel tells each one),
    gunicorn's workers included, so no port stays taken by an orphan."""
    haven = RunningHaven(tmp_path / "data").start()
    assert len(processes_using(haven.data_dir)) >= 1 + 3 * 3
    haven.process.kill()
    haven.process.wait(10)
    deadline = time.monotonic() + 30
    while processes_using(haven.data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    leftover = processes_using(haven.data_dir)
    haven.kill_everything()
    haven._log.close()
    assert leftover == []


def test_malformed_json_over_real_http_is_400_problem(haven):
    response = requests.post(f"{haven.url('directory')}/v1/organizations", data='{"name": ',
                             headers={"Content-Type": "application/json"}, timeout=5)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("variable, value", [("DIRECTORY_PORT", "abc"), ("NOTIFY_PORT", "99999"),
                                             ("HAVEN_WORKERS", "many")])
def test_a_bad_setting_stops_haven_with_one_line_naming_it(tmp_path, variable, value):
    env = {**os.environ, "HAVEN_DATA_DIR": str(tmp_path), variable: value}
    result = subprocess.run([sys.executable, "-m", "haven", "run"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr


def test_a_port_in_use_is_reported_before_anything_starts(tmp_path):
    import socket

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        env = {**os.environ, "HAVEN_DATA_DIR": str(tmp_path), "REFERRAL_PORT": str(port),
               "DIRECTORY_PORT": str(free_port()), "NOTIFY_PORT": str(free_port()),
               **{f"{name}_WORKER_PORT": str(free_port()) for name in ("DIRECTORY", "REFERRAL", "NOTIFY")}}
        result = subprocess.run([sys.executable, "-m", "haven", "run"], env=env, capture_output=True,
                                text=True, timeout=60)
    assert result.returncode != 0
    assert f"REFERRAL_PORT={port}" in result.stderr and "in use" in result.stderr


def test_the_outbox_relay_runs_with_haven(haven):
    """`haven run` starts the referral service's relay: a row written to its outbox reaches
    the event log without anything else being started."""
    import marshmallow as ma

    from haven.platform import db, events
    from haven.platform.eventlog.embedded import EmbeddedEventLog
    from haven.platform.outbox import Outbox
    from services.referral import SPEC as REFERRAL
    from services.referral.adapters.orm import outbox

    class _Ping(ma.Schema):
        n = ma.fields.Integer(required=True)

    events.register("org.haven.test.ping.v1", _Ping)
    engine = db.create_engine(REFERRAL.database_url(REFERRAL.load_config(haven.env)))
    with engine.begin() as connection:
        Outbox(outbox).add(connection, "test-pings", "p1", events.new_event("org.haven.test.ping.v1", "/test", {"n": 1}))
    log = EmbeddedEventLog(os.path.join(haven.data_dir, "events.sqlite3"))
    consumer = log.consumer("e2e", ["test-pings"])
    deadline, got = time.monotonic() + 20, []
    while not got and time.monotonic() < deadline:
        got = consumer.poll(0.5)
    assert [events.decode(r.value).data for r in got] == [{"n": 1}]
    assert requests.get(haven.url("referral") + "/readyz", timeout=5).json()["checks"]["event log"] == "ok"

    # the relay's work shows on its worker's own endpoint, for Prometheus and for probes
    health = requests.get(haven.worker_url("referral") + "/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["jobs"]["relay"]["running"] is True
    haven.metrics("referral", r'haven_events_published_total\{topic="test-pings"\} 1\.0\n',
                  r'haven_outbox_backlog\{service="referral"\} 0\.0\n')  # measured each second
