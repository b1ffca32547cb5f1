"""The Elasticsearch stand-in for the tests: `noida-db` (PyPI, pinned to 0.2.3) serving only
its Elasticsearch REST API on a free port of 127.0.0.1, with its data in a directory of the
test's own.

    with NoidaElasticsearch(tmp_path) as es:
        index = ElasticProviderIndex(elastic_client(es.url), alias="haven-test-1")

What the stand-in is and is not (noida-db 0.2.3, checked with elasticsearch-py 9.5.1): one
node answering as Elasticsearch 8.15.3. Index templates, custom analyzers (standard and
whitespace tokenizers, lowercase, asciifolding with preserve_original — Vietnamese included,
`đ` too —, edge_ngram), `_analyze`, keyword/integer/boolean/date/integer_range/geo_point mappings,
`_meta`, aliases with atomic `_aliases` updates, bulk with external versions
(`external_gte`), `refresh=wait_for`, bool/term/terms/range/match/multi_match (with
fuzziness)/prefix/geo_distance queries, function_score (filter weights, gauss on dates), terms
(also ordered by `_key`), filter and filters aggregations with sub-aggregations,
`_geo_distance` sorts, `track_scores`, `search_after` and `op_type=create` work as the client
expects. Where it differs from a real cluster:
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
import urllib.error
import urllib.request

from .noida import HOST, NoidaStandIn


def root_answers(url: str, timeout: float = 1.0) -> bool:
    """True if an Elasticsearch node answers its root endpoint at `url`."""
    try:
        with urllib.request.urlopen(url + "/", timeout=timeout) as response:
            return "version" in json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False


class NoidaElasticsearch(NoidaStandIn):
    """The Elasticsearch protocol: `url` is what a client connects to."""

    protocol = "elasticsearch"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def answers(self) -> bool:
        return root_answers(self.url, timeout=0.5)
