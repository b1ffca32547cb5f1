"""A fresh service exports its metric families before anything happened: every route at 0
errors, readiness as a gauge, the referral response times for every urgency. A dashboard
of a new installation shows 0, not "no data"."""
import time

from prometheus_client.parser import text_string_to_metric_families

from tests.support.apps import service_app
from tests.support.network import free_port


def samples(client) -> dict[tuple, float]:
    text = client.get("/metrics").get_data(as_text=True)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


def test_every_route_and_readiness_are_exported_before_the_first_request(tmp_path):
    client = service_app("directory", tmp_path).test_client()
    # the search index is built in the background at start: not ready until it is
    deadline = time.monotonic() + 20
    while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    found = samples(client)
    assert value(found, "haven_http_request_duration_seconds_count", service="directory", route="/v1/search",
                 method="GET", status="500") == 0
    assert value(found, "haven_http_request_duration_seconds_count", service="directory",
                 route="/v1/services/<uuid:service_id>/capacity", method="PUT", status="500") == 0
    assert value(found, "haven_ready", service="directory") == 1
    assert value(found, "haven_readiness_check", service="directory", check="database") == 1


def test_a_failing_dependency_shows_in_the_readiness_gauges(tmp_path):
    app = service_app("referral", tmp_path, REFERRAL_DIRECTORY_URL=f"http://127.0.0.1:{free_port()}")
    found = samples(app.test_client())
    assert value(found, "haven_readiness_check", service="referral", check="directory") == 0
    assert value(found, "haven_readiness_check", service="referral", check="database") == 1


def test_response_times_exist_for_every_urgency_and_kind_before_the_first_referral(tmp_path):
    app = service_app("referral", tmp_path, REFERRAL_DIRECTORY_URL=f"http://127.0.0.1:{free_port()}")
    found = samples(app.test_client())
    for urgency in ("emergency", "high", "normal"):
        for name in ("haven_referral_time_to_acknowledge_seconds_count", "haven_referral_time_to_decision_seconds_count",
                     "haven_referral_time_to_complete_seconds_count"):
            assert value(found, name, urgency=urgency, service_kind="shelter") is not None, (name, urgency)
        for deadline in ("acknowledge", "decide"):
            assert value(found, "haven_referral_sla_breaches_total", deadline=deadline, urgency=urgency,
                         service_kind="trusted_address") is not None
    labels = {key for (name, items) in found for key, _ in items if name.startswith("haven_referral")}
    assert labels <= {"urgency", "service_kind", "action", "deadline", "le"}  # nothing that could identify anyone


def test_the_outbox_says_how_long_its_oldest_unsent_event_has_waited(tmp_path):
    """What HavenOutboxBacklogOld reads: 0 with nothing waiting, the age of the oldest
    unsent row otherwise, 0 again once it is sent."""
    from datetime import datetime, timedelta, timezone

    import marshmallow as ma
    import sqlalchemy as sa

    from haven.platform import db, events
    from haven.platform.outbox import Outbox
    from services.referral import SPEC as REFERRAL
    from services.referral.adapters.orm import outbox as table

    class _Aged(ma.Schema):
        n = ma.fields.Integer(required=True)

    events.register("org.haven.test.aged.v1", _Aged)

    url = REFERRAL.database_url(REFERRAL.load_config({"HAVEN_DATA_DIR": str(tmp_path)}))
    REFERRAL.migrations().upgrade(url)
    engine, outbox = db.create_engine(url), Outbox(table)
    assert outbox.oldest_age(engine) == 0
    with engine.begin() as connection:
        for minutes in (3, 10):  # the older one written second: age is by row order, the relay's order
            outbox.add(connection, "test-events", "k", events.new_event("org.haven.test.aged.v1", "/test",
                                                                         {"n": minutes}))
            connection.execute(table.update().where(table.c.id == sa.select(sa.func.max(table.c.id)).scalar_subquery())
                               .values(created_at=datetime.now(timezone.utc) - timedelta(minutes=minutes)))
    assert 175 <= outbox.oldest_age(engine) <= 200  # the first row, three minutes old
    with engine.begin() as connection:
        connection.execute(table.update().values(sent_at=datetime.now(timezone.utc)))
    assert outbox.oldest_age(engine) == 0
