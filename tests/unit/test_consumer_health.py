"""When a consumer counts as not doing its share (the worker's /healthz then fails)."""
from haven.platform.eventlog.health import ConsumerHealth, HealthLimits

LIMITS = HealthLimits(stalled_after=60, growing_after=300)


def samples(health, *points):
    for now, holds, lag in points:
        health.observe(now, holds, lag)
    return health.problem()


def test_holding_no_partition_while_the_lag_stands_still_is_a_stall():
    health = ConsumerHealth("notify", LIMITS)
    assert samples(health, (0, False, 40), (30, False, 40)) is None
    problem = samples(health, (61, False, 41))
    assert problem == "holds no partitions of group notify while its lag (41) has not shrunk for 61 s"


def test_a_spare_member_of_a_group_that_consumes_is_fine():
    health = ConsumerHealth("notify", LIMITS)
    assert samples(health, *[(t, False, 100 - t // 10) for t in range(0, 600, 10)]) is None


def test_a_spare_member_with_nothing_to_do_is_fine():
    health = ConsumerHealth("notify", LIMITS)
    assert samples(health, *[(t, False, 0) for t in range(0, 600, 10)]) is None


def test_getting_partitions_back_ends_the_stall():
    health = ConsumerHealth("notify", LIMITS)
    assert samples(health, (0, False, 40), (70, False, 40)) is not None
    assert samples(health, (80, True, 40)) is None


def test_a_lag_that_only_climbs_is_reported_once_it_has_for_long_enough():
    health = ConsumerHealth("referral-delivery-status", LIMITS)
    assert samples(health, *[(t, True, t // 10) for t in range(0, 300, 10)]) is None
    assert samples(health, (300, True, 31)) == "lag of group referral-delivery-status grew from 0 to 31 in 300 s"


def test_a_lag_that_dips_now_and_then_is_a_consumer_keeping_up():
    health = ConsumerHealth("notify", LIMITS)
    points = [(t, True, 20 + (t // 10) % 7 - (3 if t % 200 == 0 else 0)) for t in range(0, 1200, 10)]
    assert samples(health, *points) is None


def test_a_steady_lag_is_not_growth():
    health = ConsumerHealth("notify", LIMITS)
    assert samples(health, *[(t, True, 5) for t in range(0, 1200, 10)]) is None
