"""Beyond one machine: a service on PostgreSQL is not ready until `haven migrate` has run,
then serves (the same code as the embedded default)."""
import os
import signal
import subprocess
import sys
import time

import requests

from tests.support.auth import bearer
from tests.support.network import free_port


def _wait_for(url: str, status: int, timeout: float = 60) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = requests.get(url, timeout=2)
            if response.status_code == status:
                return response
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} never answered {status}")
        time.sleep(0.2)


def test_directory_on_postgres_needs_migrate_then_serves(postgres_cluster, tmp_path):
    database = postgres_cluster.create_database(f"haven_e2e_{os.getpid()}")
    port = free_port()
    env = {**os.environ, "HAVEN_DATA_DIR": str(tmp_path), "DIRECTORY_PORT": str(port),
           "DIRECTORY_DATABASE_URL": database.replace("+psycopg", ""), "HAVEN_WORKERS": "2"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen([sys.executable, "-m", "haven", "serve", "directory"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        not_ready = _wait_for(f"{url}/readyz", 503)
        assert "haven migrate" in not_ready.json()["checks"]["database"]
        migrate = subprocess.run([sys.executable, "-m", "haven", "migrate", "directory"], env=env,
                                 capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stderr
        _wait_for(f"{url}/readyz", 200)
        admin = bearer(tmp_path, "directory_admin")
        created = requests.post(f"{url}/v1/organizations", json={"name": "Trung tâm CTXH Thanh Hóa"},
                                headers=admin, timeout=5)
        assert created.status_code == 201
        assert requests.get(f"{url}{created.headers['Location']}", timeout=5).json()["name"] == \
            "Trung tâm CTXH Thanh Hóa"
        service = requests.post(f"{url}/v1/services", headers=admin, timeout=5, json={
            "organization_id": created.json()["id"], "name": "Đường dây nóng Thanh Hóa", "kind": "hotline",
            "always_open": True})
        assert service.status_code == 201
        found = requests.get(f"{url}/v1/search", params={"q": "duong day nong thanh hoa"}, timeout=5).json()
        assert [item["service"]["id"] for item in found["items"]] == [service.json()["id"]]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
