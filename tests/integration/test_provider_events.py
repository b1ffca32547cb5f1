"""Provider events keep the search index in step with every writer's changes.

- every change to a service is announced on `provider-events` in the same transaction;
- the directory worker's consumer re-indexes what another writer changed (here a directory
  whose search engine was down when it wrote: the write still succeeds, and the index
  catches up from the event), and reports how far behind it runs;
- a retired service disappears from search the same way.
"""
import threading
import time

import sqlalchemy as sa
from prometheus_client import REGISTRY

from haven.platform import db, events
from haven.platform.eventlog.embedded import EmbeddedEventLog
from haven.platform.outbox import Outbox, Relay
from services.directory import SPEC as DIRECTORY
from services.directory import contract
from services.directory.adapters.orm import outbox as outbox_table
from services.directory.bootstrap import directory_from
from services.directory.domain.confidential import Viewer
from services.directory.domain.search import SearchQuery
from services.directory.entrypoints import consumers as provider_events
from tests.support.apps import service_app
from tests.support.auth import bearer
from tests.support.network import free_port


def _announced(engine) -> list:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(outbox_table.c.event).order_by(outbox_table.c.id)).scalars().all()
    return [events.decode(bytes(row)) for row in rows]


def test_changes_are_announced_and_another_writers_change_reaches_the_index(tmp_path):
    # The writer: a directory whose search engine (Elasticsearch) is unreachable.
    unreachable = {"SEARCH_BACKEND": "elasticsearch", "ELASTICSEARCH_URL": f"http://127.0.0.1:{free_port()}"}
    writer = service_app("directory", tmp_path, **unreachable).test_client()
    admin = bearer(tmp_path, "directory_admin")
    organization = writer.post("/v1/organizations", json={"name": "Hội Phụ nữ xã Yên Trạch"}, headers=admin).json
    created = writer.post("/v1/services", headers=admin, json={
        "organization_id": organization["id"], "name": "Tư vấn pháp lý lưu động Yên Trạch", "kind": "legal_aid",
        "always_open": True})
    assert created.status_code == 201, created.json  # the change stands although the index missed it
    service_id = created.json["id"]
    capacity = writer.put(f"/v1/services/{service_id}/capacity", json={"available": 2, "maximum": 5}, headers=admin)
    assert capacity.status_code == 200

    config = DIRECTORY.load_config({"HAVEN_DATA_DIR": str(tmp_path)})
    engine = db.create_engine(DIRECTORY.database_url(config))
    announced = _announced(engine)
    assert [(e.type, e.data["service_id"], e.data["change"]) for e in announced] == [
        (contract.SERVICE_CHANGED, service_id, "created"), (contract.SERVICE_CHANGED, service_id, "capacity_changed")]
    assert all(e.subject == service_id and e.data["organization_id"] == organization["id"] for e in announced)

    # The directory worker: relay the outbox, consume the events into the embedded index.
    log = EmbeddedEventLog(str(tmp_path / "events.sqlite3"))
    assert Relay(engine, Outbox(outbox_table), log).relay_once() == 2
    reader = directory_from(config, engine)  # embedded index, which never saw the write
    query = SearchQuery(text="yen trach")
    assert reader.index.search(query, Viewer(False), reader.today()).total == 0
    stop = threading.Event()
    consumer = threading.Thread(target=provider_events.run, args=(log, reader, stop), kwargs={"watch_every": 0.1})
    consumer.start()
    try:
        deadline = time.monotonic() + 15
        while reader.index.search(query, Viewer(False), reader.today()).total == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        found = reader.index.search(query, Viewer(False), reader.today())
        assert [hit.listing.service.id for hit in found.hits] == [service_id]
        assert found.hits[0].listing.service.capacity.available == 2
        deadline = time.monotonic() + 5  # caught up, nothing waiting: the lag reads 0
        while REGISTRY.get_sample_value("haven_search_index_lag_seconds") != 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert REGISTRY.get_sample_value("haven_search_index_lag_seconds") == 0

        # retired by the writer: gone from the reader's index too
        etag = writer.get(f"/v1/services/{service_id}").headers["ETag"]
        assert writer.delete(f"/v1/services/{service_id}", headers={**admin, "If-Match": etag}).status_code == 204
        assert _announced(engine)[-1].data["change"] == "retired"
        Relay(engine, Outbox(outbox_table), log).relay_once()
        deadline = time.monotonic() + 15
        while reader.index.search(query, Viewer(False), reader.today()).total and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reader.index.search(query, Viewer(False), reader.today()).total == 0
    finally:
        stop.set()
        consumer.join(10)
    assert sum(log.lag(provider_events.GROUP, [contract.TOPIC]).values()) == 0


def test_an_event_of_another_stream_is_dead_lettered_at_once(tmp_path):
    import pytest

    from haven.platform.eventlog import Record, worker
    from services.referral import contract as referral_contract  # noqa: F401  (registers its types)

    config = DIRECTORY.load_config({"HAVEN_DATA_DIR": str(tmp_path)})
    DIRECTORY.migrations().upgrade(DIRECTORY.database_url(config))
    handle = provider_events.handler(directory_from(config, db.create_engine(DIRECTORY.database_url(config))))
    foreign = events.new_event(referral_contract.event_type("cancelled"), "/test", {
        "referral_id": "r1", "occurred_at": "2026-11-25T08:00:00+00:00", "urgency": "high", "service_kind": "shelter",
        "receiving_service_id": "s", "receiving_organization_id": "o", "referring_organization_id": "p",
        "referring_user_id": "u", "actor_user_id": "u"})
    with pytest.raises(worker.Permanent):
        handle(Record(contract.TOPIC, 0, 0, "r1", foreign.to_json()))
