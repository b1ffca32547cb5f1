"""The directory under `haven run` (gunicorn, several workers), on each search backend:
writes are searchable at once from every worker, and `haven reindex` never interrupts search."""
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.support.auth import bearer
from tests.support.haven_process import RunningHaven


@pytest.fixture(scope="module", params=["embedded", "elasticsearch"])
def haven(request, tmp_path_factory):
    """Once on each search backend; on Elasticsearch, against the stand-in (one per session)."""
    environ = {}
    if request.param == "elasticsearch":
        standin = request.getfixturevalue("elasticsearch_standin")
        environ = {"SEARCH_BACKEND": "elasticsearch", "ELASTICSEARCH_URL": standin.url,
                   "ELASTICSEARCH_INDEX": "haven-e2e", "ELASTICSEARCH_REPLICAS": "0"}
    running = RunningHaven(tmp_path_factory.mktemp("directory") / "data", **environ).start()
    yield running
    if running.process.poll() is None:
        running.stop()
    running.kill_everything()


def test_demo_data_is_searchable(haven):
    url = haven.url("directory")
    answer = requests.get(f"{url}/v1/search", params={"q": "nha tam lanh", "province": "20"}, timeout=5).json()
    assert answer["total"] > 0
    assert all(item["service"]["kind"] in ("shelter", "trusted_address") or "<mark>" in str(item["highlights"])
               for item in answer["items"])
    assert len(requests.get(f"{url}/v1/search", params={"per_page": 100}, timeout=5).json()["items"]) == 100


def test_a_write_is_searchable_at_once_from_every_worker(haven):
    url = haven.url("directory")
    admin = bearer(haven.data_dir, "directory_admin")
    organization = requests.post(f"{url}/v1/organizations", json={"name": "Hội Phụ nữ xã Tân Liên"},
                                 headers=admin, timeout=5).json()
    service = requests.post(f"{url}/v1/services", headers=admin, timeout=5, json={
        "organization_id": organization["id"], "name": "Tư vấn pháp lý lưu động Quỳnh Lâm", "kind": "legal_aid",
        "always_open": True})
    assert service.status_code == 201
    for _ in range(20):  # new connections: the kernel spreads them over both workers
        found = requests.get(f"{url}/v1/search", params={"q": "quynh lam"}, timeout=5).json()
        assert [item["service"]["id"] for item in found["items"]] == [service.json()["id"]]
    capacity = requests.put(f"{url}/v1/services/{service.json()['id']}/capacity", headers=admin, timeout=5,
                            json={"available": 4, "maximum": 6})
    assert capacity.status_code == 200
    for _ in range(10):
        found = requests.get(f"{url}/v1/search", params={"q": "quynh lam", "has_capacity": "true"}, timeout=5)
        assert found.json()["total"] == 1


def test_reindex_never_interrupts_search(haven):
    url = haven.url("directory")
    expected = requests.get(f"{url}/v1/search", params={"q": "tu van"}, timeout=5).json()["total"]
    failures, answers = [], []
    done = threading.Event()

    def search_in_a_loop():
        while not done.is_set():
            try:
                response = requests.get(f"{url}/v1/search", params={"q": "tu van"}, timeout=10)
                answers.append(response.json()["total"] if response.status_code == 200 else response.status_code)
            except requests.RequestException as exc:
                failures.append(repr(exc))

    threads = [threading.Thread(target=search_in_a_loop) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "haven", "reindex"], env=haven.env, capture_output=True,
                                text=True, timeout=120)
        took = time.monotonic() - started
    finally:
        time.sleep(0.5)
        done.set()
        for thread in threads:
            thread.join()
    assert result.returncode == 0, result.stderr
    assert f"into the {haven.env.get('SEARCH_BACKEND', 'embedded')} search index" in result.stdout
    assert failures == []
    assert len(answers) > 10 * took or len(answers) > 20
    assert set(answers) == {expected}  # never an error, never an empty or partial answer
