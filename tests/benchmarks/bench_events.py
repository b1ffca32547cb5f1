"""Event-log benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.benchmarks.bench_events [--kafka HOST:PORT | --kafka-stand-in] [--events 20000]

`--kafka-stand-in` starts the noida-db Kafka-protocol stand-in on a free port and measures
the Kafka adapter against it: stand-in figures, not a real Kafka's.

A publisher process appends events in batches of `--batch` (as a relay does) at full
speed; a consumer process in its own group handles them with the standard worker
(one commit per polled batch). Reports publish→handler throughput and latency percentiles,
then the consumer's wake-up latency for single events published 100 ms apart.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import tempfile
import threading
import time

from haven.platform.eventlog import Message, worker
from tests.support.eventlog_adapters import open_event_log


def consume(spec: dict, topic: str, expected: int, results) -> None:
    event_log = open_event_log(spec)
    latencies: list[float] = []
    stop = threading.Event()

    first_sent = []

    def handle(record):
        sent = json.loads(record.value)["sent"]
        first_sent.append(sent) if not first_sent else None
        latencies.append(time.time() - sent)
        if len(latencies) >= expected:
            stop.set()

    worker.run(event_log, "bench", [topic], handle, stop, poll_timeout=0.1)
    # from the first event published to the last one handled: start-up of the processes
    # (imports, connecting, joining the group) is not the log's throughput
    results.put((latencies, time.time() - min(first_sent)))


def publish(spec: dict, topic: str, count: int, batch: int, pause: float = 0.0) -> None:
    """`count` events in batches of `batch`, one batch every `pause` seconds (0: flat out)."""
    event_log = open_event_log(spec)
    next_at = time.monotonic()
    for start in range(0, count, batch):
        now = time.time()
        event_log.publish([Message(topic, f"referral-{i % 500}", json.dumps({"n": i, "sent": now}).encode())
                           for i in range(start, min(count, start + batch))])
        if pause:
            next_at += pause
            time.sleep(max(0.0, next_at - time.monotonic()))


def run_phase(spec: dict, topic: str, count: int, batch: int, pause: float = 0.0) -> tuple[list[float], float]:
    results = multiprocessing.Queue()
    consumer = multiprocessing.Process(target=consume, args=(spec, topic, count, results))
    consumer.start()
    time.sleep(1.0 if spec["adapter"] == "embedded" else 5.0)  # joined the group (Kafka: a rebalance)
    publisher = multiprocessing.Process(target=publish, args=(spec, topic, count, batch, pause))
    publisher.start()
    latencies, elapsed = results.get(timeout=600)
    publisher.join()
    consumer.join()
    return latencies, elapsed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kafka", help="bootstrap servers of a Kafka (or the stand-in); default: embedded log")
    parser.add_argument("--kafka-stand-in", action="store_true",
                        help="start the noida-db stand-in and measure the Kafka adapter against it")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--rate", type=int, default=2000, help="events per second offered (0: flat out)")
    args = parser.parse_args()
    if args.kafka_stand_in:
        from tests.support.noida import NoidaKafka

        with NoidaKafka(tempfile.mkdtemp(prefix="haven-noida-")) as broker:
            args.kafka = broker.bootstrap
            measure(args, "kafka adapter against the noida-db 0.2.3 STAND-IN (not a real Kafka; "
                          "stand-in figures)")
        return
    measure(args)


def measure(args, label: str | None = None) -> None:
    if args.kafka:
        spec, label = {"adapter": "kafka", "bootstrap": args.kafka}, label or f"kafka adapter at {args.kafka}"
    else:
        spec = {"adapter": "embedded", "path": tempfile.mkdtemp(prefix="haven-events-") + "/events.sqlite3",
                "partitions": 8}
        label = "embedded log (SQLite WAL, fsync per append)"

    pause = args.batch / args.rate if args.rate else 0.0
    latencies, elapsed = run_phase(spec, "bench-throughput", args.events, args.batch, pause)
    print(f"\nevent log benchmark: {label}")
    offered = f"offered {args.rate}/s" if args.rate else "offered flat out"
    print(f"  throughput: {len(latencies)} events in {elapsed:.1f}s = {len(latencies) / elapsed:.0f} events/s "
          f"publish->handler ({offered} in batches of {args.batch}, 1 publisher, 1 consumer committing after each polled batch)")
    print(f"  latency publish->handler: p50 {percentile(latencies, 0.5):.1f} ms  p95 {percentile(latencies, 0.95):.1f} ms"
          f"  p99 {percentile(latencies, 0.99):.1f} ms  (target: >= 2000 events/s, p95 <= 100 ms)")
    single, _ = run_phase(spec, "bench-wakeup", 50, 1, pause=0.1)
    print(f"  wake-up, single events 100 ms apart: p50 {percentile(single, 0.5):.1f} ms  "
          f"p95 {percentile(single, 0.95):.1f} ms  max {max(single) * 1000:.1f} ms  (target: <= 50 ms); "
          f"mean {statistics.fmean(single) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
