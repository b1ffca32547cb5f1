"""`haven run`'s demo referrals: figures an ops user can read (not all `<5`), in the programme
year that has just begun and in the last full one, and nothing the demo users would see in
their own lists or hear about."""
from datetime import UTC, datetime

import sqlalchemy as sa

from haven.platform import db
from services.directory import demo_data
from services.directory.demo import demo_organizations
from services.referral import SPEC
from services.referral.adapters.orm import outbox, referrals
from services.referral.bootstrap import reports_from
from services.referral.demo import REFERRALS, load
from services.referral.domain.indicators import programme_year
from services.referral.service_layer.stats import OPERATOR, StatsQuery

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # the second day of programme year 2027


def test_the_demo_referrals_give_figures_and_stay_out_of_the_demo_users_way(tmp_path):
    config = SPEC.load_config({"HAVEN_DATA_DIR": str(tmp_path)})
    url = SPEC.database_url(config)
    SPEC.migrations().upgrade(url)
    assert load(config, url, now=NOW) == REFERRALS
    engine = db.create_engine(url)
    stats = reports_from(config, engine, clock=lambda: NOW).stats
    scope = stats.scope(OPERATOR, StatsQuery())
    this_year = stats.indicators(OPERATOR, StatsQuery())
    assert this_year.period.first.isoformat() == "2026-12-01"
    assert isinstance(this_year.total.cells["counts.created"], int) and this_year.total.cells["counts.created"] >= 20
    last_year = stats.tables(scope, programme_year(2026), (None, "month", "kind", "province"))
    total = last_year[None].total
    shown = [v for k, v in total.cells.items() if k.startswith(("counts.", "sla.", "escalations.")) and v != 0]
    assert sum(isinstance(v, int) for v in shown) >= 0.8 * len(shown)  # mostly figures, not <5
    assert total.shares["received_help"] is not None and total.times["acknowledge"]["median_seconds"] is not None
    assert sum(isinstance(g.cells["counts.created"], int) and g.cells["counts.created"] >= 5
               for g in last_year["month"].groups) >= 10
    assert {g.key for g in last_year["province"].groups} <= {"01", "20"}
    users = set(demo_organizations(demo_data.providers()).values())
    with engine.connect() as connection:
        sides = connection.execute(sa.select(referrals.c.referring_organization_id,
                                             referrals.c.receiving_organization_id)).all()
        assert not {org for side in sides for org in side} & users
        assert connection.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one() == 0
        assert connection.execute(sa.select(sa.func.count()).select_from(referrals).where(
            referrals.c.personal.is_not(None))).scalar_one() == 0
    engine.dispose()
