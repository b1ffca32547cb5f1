"""One process dying does not stop Haven: under `haven run`, each kind of process is killed
with SIGKILL in turn (each service's gunicorn master, a gunicorn worker, each `haven worker`).
The others keep answering, the killed one is back, and a caseworker's search, her referral
and its delivery to the receiving agency (signed webhook and inbox) work as before."""
from __future__ import annotations

import os
import signal
import socket
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.support.haven_process import SERVICES, RunningHaven
from tests.support.webhook_receiver import WebhookReceiver

SHELTER_ORGANIZATION = "871340d0-11fb-4c29-8ab8-34749717e79b"  # demo-agency's shelter (README, demo users)
WAIT = 90  # seconds: generous, other test runs share the CPU


@pytest.fixture(scope="module")
def receiver():
    running = WebhookReceiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def haven(tmp_path_factory):
    running = RunningHaven(tmp_path_factory.mktemp("supervision") / "data",
                           NOTIFY_WEBHOOK_PRIVATE_TARGETS="true").start()  # the receiver is local
    yield running
    if running.process.poll() is None:
        running.stop()
    running.kill_everything()


def sign_in(haven, username: str) -> dict:
    answer = requests.post(haven.url("referral") + "/v1/auth/login", timeout=10,
                           json={"username": username, "password": "haven-demo"})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


class Caseworker:
    """demo-caseworker refers to demo-agency's shelter, which hears of it by webhook and inbox."""

    def __init__(self, haven: RunningHaven, receiver: WebhookReceiver):
        self.haven, self.receiver = haven, receiver
        self.headers, self.agency = sign_in(haven, "demo-caseworker"), sign_in(haven, "demo-agency")
        subscription = requests.post(haven.url("notify") + "/v1/subscriptions", headers=self.agency, timeout=10,
                                     json={"channel": "webhook", "target": receiver.url("/agency")})
        assert subscription.status_code == 201, subscription.text
        receiver.secrets["/agency"] = subscription.json()["secret"]
        self.service = self.search()

    def search(self) -> str:
        answer = requests.get(self.haven.url("directory") + "/v1/search", timeout=10,
                              params={"kind": "shelter", "per_page": 50})
        assert answer.status_code == 200, answer.text
        return next(item["service"]["id"] for item in answer.json()["items"]
                    if item["service"]["organization_id"] == SHELTER_ORGANIZATION)

    def refer(self, n: int) -> str:
        now = datetime.now(timezone.utc)
        answer = requests.post(self.haven.url("referral") + "/v1/referrals", headers=self.headers, timeout=10, json={
            "receiving_service_id": self.service, "urgency": "high", "risk_level": "high",
            "profile": {"client_ref": f"SUP-{n}", "age_group": "25_59", "gender": "female"},
            "personal": {"name": "Người thử nghiệm"},
            "consent": {"given": True, "obtained_by": "demo-caseworker",
                        "obtained_at": (now - timedelta(minutes=2)).isoformat(), "scope": ["contact"]}})
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    def delivered(self, referral_id: str) -> bool:
        hooked = any(hook.json["subject"] == referral_id for hook in self.receiver.accepted("/agency"))
        inbox = requests.get(self.haven.url("notify") + "/v1/inbox", headers=self.agency, timeout=10,
                             params={"per_page": 100})
        return hooked and inbox.status_code == 200 and any(
            item["referral_id"] == referral_id for item in inbox.json()["items"])

    def search_refer_and_deliver(self, n: int) -> None:
        assert self.search() == self.service
        referral_id = self.refer(n)
        wait_until(lambda: self.delivered(referral_id), f"referral {n} delivered by webhook and inbox")


def wait_until(condition, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = condition()
        except requests.RequestException:
            found = None
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not seen within {timeout} s: {what() if callable(what) else what}")


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _running_and_healthy(haven: RunningHaven, name: str, killed: int) -> int | None:
    pid = haven.processes().get(name)
    if pid is None or pid == killed or not answers(health_url(haven, name)):
        return None
    return pid if haven.processes().get(name) == pid else None


def health_url(haven: RunningHaven, name: str) -> str:
    if name.endswith("-worker"):
        return haven.worker_url(name.removesuffix("-worker")) + "/healthz"
    return haven.url(name) + "/readyz"


def test_every_kind_of_process_killed_comes_back_and_haven_keeps_serving(haven, receiver):
    caseworker = Caseworker(haven, receiver)
    caseworker.search_refer_and_deliver(0)
    for n, name in enumerate(["directory", "referral", "notify", "directory-worker", "referral-worker",
                              "notify-worker"], start=1):
        killed = haven.processes()[name]
        os.kill(killed, signal.SIGKILL)
        # the others keep answering while it is down
        for service in SERVICES:
            if service != name:
                assert answers(haven.url(service) + "/healthz"), f"{service} stopped answering when {name} died"
        wait_until(lambda: haven.processes().get(name, killed) != killed, f"{name} started again")
        # One lookup for both: a process seen once and healthy once may not be the same one
        # (under load a restart can itself be restarted); the log then says why.
        back = wait_until(lambda: _running_and_healthy(haven, name, killed),
                          lambda: f"{name} healthy again; supervisor said: {haven.system_lines()[-8:]}")
        assert f"{name} started (pid={back})" in haven.system_lines()
        assert any(line.startswith(f"{name} exited (pid={killed}, killed by SIGKILL)") and "restarting in" in line
                   for line in haven.system_lines()), haven.system_lines()
        caseworker.search_refer_and_deliver(n)

    # a gunicorn worker: its master starts another, nothing else is touched
    master, [worker, *_] = haven.processes()["directory"], haven.gunicorn_workers("directory")
    before = haven.processes()
    os.kill(worker, signal.SIGKILL)
    wait_until(lambda: len(set(haven.gunicorn_workers("directory")) - {worker}) >= 2, "a new gunicorn worker")
    assert haven.processes() == before and haven.processes()["directory"] == master
    caseworker.search_refer_and_deliver(99)


def test_a_process_that_keeps_failing_at_start_is_reported_and_comes_back_once_it_can(haven):
    """The notify worker's port is taken while it is down: every start fails (exit code 2) and
    `haven run` says so, naming the setting; once the port is free it starts and stays up."""
    killed = haven.processes()["notify-worker"]
    port = haven.worker_ports["notify"]
    os.kill(killed, signal.SIGKILL)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        wait_until(lambda: _bound(squatter, port), f"port {port} taken by the test")
        squatter.listen()
        report = wait_until(lambda: [line for line in haven.system_lines() if line.startswith("notify-worker exited")
                                     and "keeps failing at start" in line], "a report that notify-worker keeps failing")
        assert "exit code 2" in report[0] and f"NOTIFY_WORKER_PORT={port}" in report[0], report[0]
        assert answers(haven.url("notify") + "/healthz")  # the notify server itself is untouched
    wait_until(lambda: answers(haven.worker_url("notify") + "/healthz"), "notify-worker back once its port is free",
               timeout=WAIT)


def _bound(sock: socket.socket, port: int) -> bool:
    try:
        sock.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
