"""The Elasticsearch stand-in for the tests: `noida-db` (PyPI, pinned to 0.2.3) serving only
its Elasticsearch REST API on a free port of 127.0.0.1, with its data in a directory of the
test's own.

    with NoidaElasticsearch(tmp_path) as es:
        index = ElasticProviderIndex(elastic_client(es.url), alias="haven-test-1")

What the stand-in is and is not (noida-db 0.2.3, checked with elasticsearch-py 9.5.1): one
node answering as Elasticsearch 8.15.3. Index templates, custom analyzers (standard
tokenizer, lowercase, asciifolding with preserve_original — Vietnamese included, `đ` too —,
edge_ngram), `_analyze`, keyword/integer/boolean/date/integer_range/geo_point mappings,
`_meta`, aliases with atomic `_aliases` updates, bulk with external versions
(`external_gte`), `refresh=wait_for`, bool/term/terms/range/match/multi_match (with
fuzziness)/geo_distance queries, function_score (filter weights, gauss on dates), terms and
filters aggregations, `_geo_distance` sorts, `track_scores`, `search_after` and `op_type=create`
work as the client expects. Where it differs from a real cluster:
- it accepts the 9.x client's `compatible-with=9` headers although it says it is 8.15.3 (a
  real 8.x cluster refuses them with `media_type_header_exception`: use the client of the
  cluster's major version);
- painless is a small subset: no geo methods (`arcDistance`), no `_script` sorts, no
  `script` query — Haven uses none of them;
- sorting on `_id` is refused (as on a real 8.x cluster by default): Haven sorts on the
  `service_id` keyword;
- a document without a point sorts with a `null` `_geo_distance` value (a real cluster
  gives `Infinity`); Haven reads both;
- a `geo_point` accepts latitudes outside -90..90 (a real cluster refuses the document);
- it has no inverted index to speak of: every search reads every document, and re-parses
  object fields of `_source` as it goes, so a search costs ~0.1-0.3 s at 5 000 services
  (text on the edge n-gram fields ~1 s) and grows linearly — fine for tests, meaningless as
  a performance figure (the benchmark labels its figures "stand-in"). Haven keeps the
  listing payload as one unindexed JSON string, which is also cheaper on a real cluster;
- cluster health is `yellow` on its single node whatever the replicas; relevance scores are
  its own (BM25-like, not Lucene's numbers), so the contract suite checks relevance order
  only where every engine must agree;
- it keeps everything in memory and writes its data directory only on a clean shutdown
  (SIGTERM, which `stop()` sends).

Like the Kafka stand-in (tests/support/noida.py), the console script is a wrapper that
does not forward signals: it runs in a session of its own, stopped through its process group.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .network import free_port
from .noida import HOST, _group_alive, noida_executable


def answers(url: str, timeout: float = 1.0) -> bool:
    """True if an Elasticsearch node answers its root endpoint at `url`."""
    try:
        with urllib.request.urlopen(url + "/", timeout=timeout) as response:
            return "version" in json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False


class NoidaElasticsearch:
    """One noida-db process serving only Elasticsearch, on 127.0.0.1:<free port>."""

    def __init__(self, tmp_dir: str | os.PathLike, port: int | None = None, start_timeout: float = 30.0,
                 stop_timeout: float = 10.0):
        self.root = Path(tmp_dir)
        self.data_dir = self.root / "noida-data"
        self.log_path = self.root / "noida.log"
        self.port = port or free_port()
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> NoidaElasticsearch:
        if self.process is not None:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [noida_executable(), "start", "--data-dir", str(self.data_dir), "--host", HOST,
                   "--only", "elasticsearch", "--elasticsearch-port", str(self.port)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            cwd=self.root, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(f"noida-db exited during start-up:\n{self.log_tail()}")
            if answers(self.url, timeout=0.5):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"noida-db did not answer on {self.url} within {self.start_timeout:.0f}s:\n"
                           f"{self.log_tail()}")

    def stop(self) -> None:
        """Clean shutdown (SIGTERM), SIGKILL if it lingers."""
        process, self.process = self.process, None
        if process is None:
            return
        group = process.pid  # a session of its own: its id is the process group's id
        try:
            os.killpg(group, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + self.stop_timeout
        while time.monotonic() < deadline and _group_alive(group):
            process.poll()
            time.sleep(0.05)
        if _group_alive(group):
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait(timeout=self.stop_timeout)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> NoidaElasticsearch:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
