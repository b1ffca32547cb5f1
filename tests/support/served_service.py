"""One service under `python -m haven serve SERVICE` (gunicorn, as in a container) on a free
port of 127.0.0.1, its data in a given folder and its output in a log file there."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests

from .network import free_port


class ServedService:
    def __init__(self, service: str, data_dir, **environ: str):
        self.service = service
        self.data_dir = str(data_dir)
        self.host, self.port = "127.0.0.1", free_port()
        self.env = {**os.environ, "HAVEN_DATA_DIR": self.data_dir, "PYTHONUNBUFFERED": "1",
                    f"{service.upper()}_PORT": str(self.port), **environ}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.log_path = os.path.join(self.data_dir, f"serve-{service}.log")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60) -> "ServedService":
        os.makedirs(self.data_dir, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "haven", "serve", self.service], env=self.env,
                                        stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"haven serve {self.service} exited early:\n{self.log()[-5000:]}")
            try:
                if requests.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.service} not ready in {timeout}s:\n{self.log()[-5000:]}")
            time.sleep(0.2)

    def stop(self, timeout: float = 30) -> int | None:
        if self.process is None:
            return None
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
