"""A consumer process for crash tests: handles records of one group slowly, writing each
handled record's key/offset to a file (flushed) before committing it.

    python -m tests.support.eventlog_consumer ADAPTER_JSON GROUP TOPIC OUT_FILE [INSTANCE]
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

        worker.run(event_log, group, [topic], handle, threading.Event(), poll_timeout=0.2,
                   instance=sys.argv[5] if len(sys.argv) > 5 else None)


if __name__ == "__main__":
    main()
