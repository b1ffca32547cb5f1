"""Notify benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.benchmarks.bench_notify [--referrals 1000] [--rate 50] [--with-email]

Starts Haven with `haven run` (embedded defaults: SQLite, the embedded event log) and a local
webhook receiver that verifies every signature, subscribes the receiving agency's webhook,
then creates referrals through the referral API at a steady rate (several client threads,
so a slow answer does not slow the pace). Reports referral created (the `created` event's
`occurred_at`) -> signed webhook received, p50/p95/p99/max, plus what the notify worker's
metrics say. `--with-email` also sends every agency e-mail to a local SMTP server (the
directory contact address, looked up over HTTP).
"""
from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import requests

from tests.support.auth import bearer
from tests.support.haven_process import RunningHaven
from tests.support.smtp_sink import SmtpSink
from tests.support.webhook_receiver import WebhookReceiver


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--referrals", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--with-email", action="store_true")
    args = parser.parse_args()

    receiver = WebhookReceiver().start()
    smtp = SmtpSink().start() if args.with_email else None
    data_dir = tempfile.mkdtemp(prefix="haven-bench-notify-") + "/data"
    extra = {"NOTIFY_SMTP_HOST": "127.0.0.1", "NOTIFY_SMTP_PORT": str(smtp.port)} if smtp else {}
    haven = RunningHaven(data_dir, LOG_LEVEL="warning", NOTIFY_WEBHOOK_PRIVATE_TARGETS="true", **extra)
    haven.env.update(REFERRAL_DIRECTORY_URL=haven.url("directory"), NOTIFY_DIRECTORY_URL=haven.url("directory"))
    haven.start()
    try:
        admin = bearer(data_dir, "directory_admin")
        organization = requests.post(haven.url("directory") + "/v1/organizations", headers=admin, timeout=5,
                                     json={"name": "Trung tâm CTXH (bench)", "email": "bench@agency.example"}).json()
        service = requests.post(haven.url("directory") + "/v1/services", headers=admin, timeout=5, json={
            "organization_id": organization["id"], "name": "Hỗ trợ (bench)", "kind": "social_work",
            "always_open": True}).json()
        staff = bearer(data_dir, "agency_staff", organization_id=organization["id"])
        hook = requests.post(haven.url("notify") + "/v1/subscriptions", headers=staff, timeout=5,
                             json={"channel": "webhook", "target": receiver.url("/bench")}).json()
        receiver.secrets["/bench"] = hook["secret"]
        caseworker = bearer(data_dir, "caseworker", organization_id="bench-union", subject="bench-cw")
        session = threading.local()
        now = datetime.now(timezone.utc)
        body = {"receiving_service_id": service["id"], "urgency": "high", "risk_level": "high",
                "profile": {"client_ref": "BENCH-1"},
                "consent": {"given": True, "obtained_by": "bench-cw",
                            "obtained_at": (now - timedelta(minutes=1)).isoformat()}}
        failures = []

        def create(_):
            if not hasattr(session, "http"):
                session.http = requests.Session()
            answer = session.http.post(haven.url("referral") + "/v1/referrals", json=body, headers=caseworker,
                                       timeout=10)
            if answer.status_code != 201:
                failures.append(answer.status_code)

        print(f"creating {args.referrals} referrals at {args.rate:g}/s "
              f"({'webhook + e-mail' if smtp else 'webhook'}) ...", flush=True)
        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            for n in range(args.referrals):
                delay = started + n / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(create, n)
        sent_for = time.monotonic() - started
        got = receiver.wait_for(args.referrals - len(failures), "/bench", timeout=120)
        latencies = [r.at - datetime.fromisoformat(r.json["data"]["occurred_at"]).timestamp() for r in got]
        print(f"sent in {sent_for:.1f} s ({args.referrals / sent_for:.1f}/s); API failures: {len(failures)}")
        print(f"webhooks received (signature verified, unique): {len(got)}; all requests: {len(receiver.received)}")
        if latencies:
            print("created -> webhook delivered: " + ", ".join(
                f"{name} {percentile(latencies, q) * 1000:.0f} ms"
                for name, q in (("p50", .5), ("p95", .95), ("p99", .99), ("max", 1.0)))
                + f", mean {statistics.mean(latencies) * 1000:.0f} ms")
        if smtp:
            mails = smtp.wait_for("bench@agency.example", args.referrals, timeout=120)
            print(f"e-mails received: {len(mails)}")
        metrics = requests.get(haven.worker_url("notify") + "/metrics", timeout=5).text
        for line in metrics.splitlines():
            if re.match(r"haven_(notify_(attempts|failures)_total|notify_dead_letters|"
                        r"referral_time_to_notify_seconds_(count|sum))", line):
                print("  " + line)
    finally:
        haven.stop()
        haven.kill_everything()
        receiver.stop()
        if smtp:
            smtp.stop()


if __name__ == "__main__":
    main()
