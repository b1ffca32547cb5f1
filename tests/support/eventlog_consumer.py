"""A consumer process for crash tests: handles records of one group slowly, writing each
handled record's key/offset to a file (flushed) before committing it.

    python -m tests.support.eventlog_consumer ADAPTER_JSON GROUP TOPIC OUT_FILE [INSTANCE | --as-worker SERVICE]

`--as-worker SERVICE`: the member name a worker of SERVICE uses (from EVENT_CONSUMER_INSTANCE).
"""
import json
import os
import sys
import threading
import time

from haven.platform.eventlog import worker
from tests.support.eventlog_adapters import open_event_log


def main() -> None:
    adapter, group, topic, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    event_log = open_event_log(json.loads(adapter))
    with open(out, "a", buffering=1) as fh:
        def handle(record):
            time.sleep(0.003)
            fh.write(f"{record.key} {record.value.decode()}\n")
            fh.flush()
            os.fsync(fh.fileno())

        instance = sys.argv[5] if len(sys.argv) > 5 else None
        if instance == "--as-worker":
            from haven.platform import config
            from haven.platform.eventlog.settings import EVENT_LOG_SETTINGS, consumer_instance

            instance = consumer_instance(config.load(EVENT_LOG_SETTINGS), sys.argv[6])
        worker.run(event_log, group, [topic], handle, threading.Event(), poll_timeout=0.2, instance=instance)


if __name__ == "__main__":
    main()
