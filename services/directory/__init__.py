"""Directory service: the registry of providers (HSDS-shaped) and the search over it."""
import re

from haven.platform import config as c
from haven.platform.config import Setting
from haven.platform.service_spec import COMMON_SETTINGS, ServiceSpec, service_settings


def _index_name(raw: str) -> str:
    # Elasticsearch's rules for index and alias names, minus the rarely wanted characters
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,200}", raw):
        raise ValueError("expected lower-case letters, digits, '-', '_' or '.', not starting with a symbol")
    return raw


SEARCH_SETTINGS = [
    Setting("SEARCH_BACKEND", c.choice("embedded", "elasticsearch"), "embedded",
            "Search index of the directory: `embedded` (SQLite under HAVEN_DATA_DIR/search, one machine) or "
            "`elasticsearch` (any number of directory replicas)."),
    Setting("ELASTICSEARCH_URL", c.http_url, None,
            "URL of the Elasticsearch 8 or 9 cluster (required with SEARCH_BACKEND=elasticsearch); the installed "
            "`elasticsearch` client must be of the cluster's major version."),
    Setting("ELASTICSEARCH_INDEX", _index_name, "haven-directory",
            "Alias search reads and writes through; the indices behind it are named ALIAS-<version>."),
    Setting("ELASTICSEARCH_REPLICAS", c.integer(0, 10), "1", "Replicas of the directory's index."),
    Setting("ELASTICSEARCH_API_KEY", c.text, None, "API key (encoded form); takes precedence over user name "
            "and password.", secret=True),
    Setting("ELASTICSEARCH_USERNAME", c.text, None, "User name for basic authentication."),
    Setting("ELASTICSEARCH_PASSWORD", c.text, None, "Password for basic authentication.", secret=True),
    Setting("ELASTICSEARCH_CA_CERTS", c.text, None, "CA bundle that signed the cluster's certificate (https)."),
    Setting("DIRECTORY_IMPORT_MAX_BYTES", c.integer(64 * 1024, 1024 ** 3), str(64 * 1024 * 1024),
            "Largest HSDS or CSV import body, in bytes (read as a stream, only from a caller with "
            "directory:write; every other body is refused above 256 KiB before it is read)."),
]

SPEC = ServiceSpec(
    name="directory",
    default_port=8001,
    # One thread: search is CPU-bound, and more threads per worker only add GIL contention
    # and tail latency (the benchmark's p95 dropped by a third from 4 threads to 2, and the
    # portal's results page's p95 by a tenth from 2 to 1).
    settings=COMMON_SETTINGS + service_settings(
        "directory", 8001, threads=1,
        threads_why=" One: a search is CPU work under Python's interpreter lock, so a second thread in a worker "
                    "adds no throughput and only makes searches share the core, which slows the slowest ones; "
                    "requests wait their turn in the worker's event loop instead. Scale with HAVEN_WORKERS or "
                    "replicas.") + SEARCH_SETTINGS,
    app_factory="services.directory.bootstrap:create_app",
    migrations_package="services.directory.migrations",
    demo_data="services.directory.demo:load",
    prepare="services.directory.bootstrap:prepare",
    outbox="services.directory.adapters.orm:outbox",
    topic="provider-events",
    jobs="services.directory.bootstrap:background_jobs",
)
