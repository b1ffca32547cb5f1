"""The indicators' rules: the programme year in Vietnam time, quantiles, what each count
counts, and small-cell suppression that an attacker with the published totals cannot undo
(solved exactly, by linear algebra over the sums the tables publish)."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest

from services.referral.adapters import figures
from services.referral.domain import indicators as ind
from services.referral.domain.indicators import IncidentFacts, ReferralFacts
from services.referral.domain.model import DECLINE_REASONS
from services.referral.domain.sla import SlaPolicy
from services.referral.domain.suppression import SMALL, TOTAL, WITHHELD, Breakdown, suppress

POLICY = SlaPolicy()  # emergency 15m/1h, high 4h/24h, normal 24h/72h
NOW = datetime(2026, 6, 1, tzinfo=UTC)
T = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


# --- the programme year -------------------------------------------------------------------

def test_programme_year_2026_runs_from_1_december_2025_to_30_november_2026_in_vietnam():
    year = ind.programme_year(2026)
    assert (year.first, year.last) == (date(2025, 12, 1), date(2026, 11, 30))
    assert year.starts_at == datetime(2025, 11, 30, 17, 0, tzinfo=UTC)  # midnight in Hà Nội
    assert year.ends_before == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert year.months()[0] == "2025-12" and year.months()[-1] == "2026-11" and len(year.months()) == 12


def test_a_referral_is_in_the_month_and_year_of_its_vietnam_day():
    late_evening = datetime(2025, 11, 30, 17, 30, tzinfo=UTC)  # 00:30 on 1 December in Vietnam
    facts = ReferralFacts(created_at=late_evening, status="sent", urgency="normal", risk_level="low", kind="shelter")
    assert facts.key("month") == "2025-12"
    assert ind.programme_year_of(ind.vietnam_day(late_evening)) == 2026
    assert ind.programme_year_of(date(2026, 11, 30)) == 2026


@pytest.mark.parametrize("first, last, today, expected", [
    (None, None, date(2026, 12, 2), (date(2026, 12, 1), date(2027, 11, 30))),
    (None, None, date(2026, 11, 30), (date(2025, 12, 1), date(2026, 11, 30))),
    (date(2026, 3, 1), None, date(2026, 12, 2), (date(2026, 3, 1), date(2026, 11, 30))),
    (None, date(2026, 3, 31), date(2026, 12, 2), (date(2025, 12, 1), date(2026, 3, 31))),
])
def test_a_missing_end_of_the_period_is_the_programme_years(first, last, today, expected):
    period = ind.period_of(first, last, today)
    assert (period.first, period.last) == expected


@pytest.mark.parametrize("call, field", [
    (lambda: ind.Period(date(2026, 3, 2), date(2026, 3, 1)), "to"),
    (lambda: ind.Period(date(2020, 1, 1), date(2024, 1, 1)), "to"),
    (lambda: ind.Period(date(2023, 12, 1), date(2026, 12, 1)), "to"),  # three years and a day
    (lambda: ind.Period(date(2024, 2, 29), date(2027, 3, 1)), "to"),
    (lambda: ind.programme_year(1999), "year"),
    (lambda: ind.programme_year(2101), "year"),
    (lambda: ind.table([], [], ind.programme_year(2026), "name", POLICY, NOW, 5), "group_by"),
])
def test_questions_the_indicators_cannot_answer_name_their_parameter(call, field):
    with pytest.raises(ind.InvalidQuery) as refused:
        call()
    assert refused.value.field == field and refused.value.location == "query"


def test_three_programme_years_are_the_longest_period():
    assert ind.Period(date(2023, 12, 1), date(2026, 11, 30)).last == date(2026, 11, 30)
    assert ind.Period(date(2024, 2, 29), date(2027, 2, 28)).first == date(2024, 2, 29)


def test_the_nearest_rank_quantile_is_a_value_that_occurred():
    assert ind.nearest_rank([5, 1, 3, 2, 4], 0.5) == 3
    assert ind.nearest_rank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9
    assert ind.nearest_rank([10, 20], 0.5) == 10
    assert ind.nearest_rank([], 0.5) is None


# --- what each figure counts ----------------------------------------------------------------

def referral(status="sent", urgency="normal", after=None, **fields) -> ReferralFacts:
    """A referral made at T; `after`: step -> hours after T."""
    after = after or {}
    stamps = {name: T + timedelta(hours=after[step]) for step, name in
              (("ack", "acknowledged_at"), ("decide", "decided_at"), ("complete", "completed_at")) if step in after}
    return ReferralFacts(created_at=T, status=status, urgency=urgency, risk_level="medium", kind="legal_aid",
                         **stamps, **fields)


def test_each_count_and_share_counts_what_its_name_says():
    facts = ([referral("completed", after={"ack": 1, "decide": 2, "complete": 48}, accepted=True)] * 6
             + [referral("accepted", after={"ack": 1, "decide": 30}, accepted=True)] * 5
             + [referral("declined", after={"decide": 3}, decline_reason="no_capacity", re_referred=True)] * 5
             + [referral("cancelled", after={"ack": 1, "decide": 2}, accepted=True)] * 5
             + [referral("sent", consent_overridden=True, escalations=("acknowledge", "decide"))] * 5)
    row = ind.table(facts, [], ind.programme_year(2026), None, POLICY, NOW, 5).total
    assert {k.split(".")[1]: v for k, v in row.cells.items() if k.startswith("counts.")} == {
        "created": 26, "acknowledged": 16, "accepted": 16, "declined": 5, "completed": 6, "cancelled": 5,
        "re_referred": 5, "consent_overridden": 5}
    assert row.cells["declined_by_reason.no_capacity"] == 5 and row.cells["received_help.count"] == 11
    assert row.shares["received_help"] == round(11 / 21, 4)
    # Answered: 16 acknowledged (1 h) and 5 declined straight from sent (3 h); normal: 24 h allowed.
    assert row.times["acknowledge"] == {"median_seconds": 3600.0, "p90_seconds": 3 * 3600.0}
    assert row.times["complete"] == {"median_seconds": 48 * 3600.0, "p90_seconds": 48 * 3600.0}
    # Deadline to decide (72 h): met by 21, missed by none decided; the 5 still sent are overdue.
    assert (row.cells["sla.decide.due"], row.cells["sla.decide.missed"]) == (26, 5)
    assert row.shares["sla.decide"] == round(5 / 26, 4)
    assert row.cells["escalations.acknowledge"] == 5 and row.cells["escalations.decide"] == 5


def test_a_deadline_not_yet_come_or_no_longer_owed_is_not_counted_as_due():
    fresh = referral("sent", urgency="normal")  # made at T, the policy gives it 24 h
    cancelled = referral("cancelled")
    row = ind.raw([fresh, cancelled], [], POLICY, T + timedelta(hours=1))
    assert row.cells["sla.acknowledge.due"] == 0 and row.cells["sla.acknowledge.missed"] == 0


def test_serious_incidents_are_counted_by_the_state_of_their_written_report():
    due_at = T + timedelta(days=5)
    incidents = [IncidentFacts(T, due_at, T + timedelta(days=1)), IncidentFacts(T, due_at, due_at),
                 IncidentFacts(T, due_at, None), IncidentFacts(NOW, NOW + timedelta(days=5), None)]
    cells = ind.raw([], incidents, POLICY, NOW).cells
    assert [cells[f"serious_incidents.{s}"] for s in ("reported", "on_time", "late", "missing", "due")] == \
        [4, 1, 1, 1, 1]


def test_small_counts_withhold_the_rates_and_times_built_on_them():
    facts = [referral("accepted", after={"ack": 1, "decide": 2}, accepted=True)] * 3
    row = ind.table(facts, [], ind.programme_year(2026), None, POLICY, NOW, 5).total
    assert row.cells["counts.created"] == "<5" and row.cells["counts.completed"] == 0
    assert row.shares["received_help"] is None
    assert row.times["acknowledge"] == {"median_seconds": None, "p90_seconds": None}  # three survivors' times


def test_the_minimum_cell_is_a_setting():
    facts = [referral("sent")] * 7
    assert ind.table(facts, [], ind.programme_year(2026), None, POLICY, NOW, 10).total.cells["counts.created"] \
        == "<10"


def test_no_personal_column_is_read_for_a_statistic():
    read = {column.name for column in figures._COLUMNS} | {"reason_code", "action", "referral_id"}
    for personal in ("personal", "profile", "override_reason", "note", "referring_user_id", "override_by",
                     "phoned_to", "report_sent_to", "marked_by", "consent"):
        assert personal not in read
    assert not {f for f in ReferralFacts.__dataclass_fields__} & {"name", "phone", "note", "personal", "profile"}


# --- an attacker with the published table ------------------------------------------------

def recoverable(shown: dict, equations: list[tuple[object, list[object]]]) -> set:
    """The hidden cells (shown as a string) whose value the equations `whole = sum(parts)`
    determine, given every cell shown as a number: Gaussian elimination over the rationals."""
    unknowns = sorted({c for whole, parts in equations for c in (whole, *parts) if isinstance(shown[c], str)},
                      key=repr)
    index = {c: i for i, c in enumerate(unknowns)}
    rows = []
    for whole, parts in equations:
        row = [Fraction(0)] * (len(unknowns) + 1)
        for cell, sign in [(whole, -1)] + [(p, 1) for p in parts]:
            if cell in index:
                row[index[cell]] += sign
            else:
                row[-1] -= sign * shown[cell]
        rows.append(row)
    pivots, r = [], 0
    for column in range(len(unknowns)):
        pivot = next((i for i in range(r, len(rows)) if rows[i][column] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        rows[r] = [x / rows[r][column] for x in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][column] != 0:
                factor = rows[i][column]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r])]
        pivots.append((r, column))
        r += 1
    pivot_columns = {column for _, column in pivots}
    free = [c for c in range(len(unknowns)) if c not in pivot_columns]
    return {unknowns[column] for row, column in pivots if all(rows[row][f] == 0 for f in free)}


def table_equations(names, groups: int, breakdowns) -> list:
    rows = [TOTAL, *range(groups)]
    equations = [((TOTAL, n), [(g, n) for g in range(groups)]) for n in names] if groups else []
    equations += [((r, b.whole), [(r, p) for p in b.parts]) for b in breakdowns for r in rows]
    return equations


def random_table(rng: random.Random):
    groups = rng.randint(0, 6)
    reasons = [f"r{i}" for i in range(rng.randint(2, 4))]
    names = ["a", "b", "d", *reasons]
    rows = []
    for _ in range(max(groups, 1)):
        row = {n: rng.choice((0, 0, 1, 2, 3, 4, 5, 6, 9, 14)) for n in ("a", "b", *reasons)}
        row["d"] = sum(row[r] for r in reasons)
        rows.append(row)
    total = {n: sum(row[n] for row in rows) for n in names}
    return total, rows if groups else [], names, [Breakdown("d", tuple(reasons))]


def shown_cells(total, groups, hidden):
    values = {(TOTAL, n): v for n, v in total.items()}
    values.update({(i, n): v for i, row in enumerate(groups) for n, v in row.items()})
    return {c: ("hidden" if c in hidden else v) for c, v in values.items()}


# Random tables, and ones where "two hidden cells in every row and column" still gives a cell
# away (a hidden cell on no cycle of hidden cells: found by running that weaker rule).
TWO_PER_LINE_LEAKS = (289, 562, 584, 742, 916, 1008, 1106, 1705, 1748, 1803, 1811, 2386, 2833, 2959)


@pytest.mark.parametrize("seed", [*range(300), *TWO_PER_LINE_LEAKS])
def test_no_suppressed_cell_can_be_worked_out_from_the_totals_shown_beside_it(seed):
    total, groups, names, breakdowns = random_table(random.Random(seed))
    hidden = suppress(total, groups, 5, breakdowns)
    shown = shown_cells(total, groups, hidden)
    assert all(not (0 < v < 5) for v in shown.values() if not isinstance(v, str)), "a small count is shown"
    assert recoverable(shown, table_equations(names, len(groups), breakdowns)) == set()
    assert {state for state in hidden.values()} <= {SMALL, WITHHELD}


def test_the_attack_does_recover_a_cell_when_only_small_counts_are_hidden():
    """The attacker above is not toothless: without complementary suppression it wins."""
    total, groups = {"a": 12}, [{"a": 3}, {"a": 9}]
    primary = {c for c in shown_cells(total, groups, set()) if 0 < shown_cells(total, groups, set())[c] < 5}
    assert recoverable(shown_cells(total, groups, primary), table_equations(["a"], 2, [])) == {(0, "a")}
    # The same for a cell on a "bridge": two hidden cells in each of its lines are not enough.
    total = {"d": 20, "r1": 10, "r2": 10}
    groups = [{"d": 10, "r1": 5, "r2": 5}, {"d": 10, "r1": 5, "r2": 5}]
    hidden = {(0, "r1"), (0, "r2"), (1, "r1"), (TOTAL, "r1"), (TOTAL, "r2")}
    equations = table_equations(["d", "r1", "r2"], 2, [Breakdown("d", ("r1", "r2"))])
    assert recoverable(shown_cells(total, groups, hidden), equations)


def test_every_grouping_of_the_same_referrals_hides_the_same_totals():
    rng = random.Random(7)
    kinds, months = ("shelter", "legal_aid", "health"), [T + timedelta(days=31 * m) for m in range(6)]
    facts = [ReferralFacts(created_at=rng.choice(months), status=rng.choice(("sent", "declined", "accepted")),
                           urgency=rng.choice(("normal", "high")), risk_level="low", kind=rng.choice(kinds),
                           decline_reason=rng.choice(DECLINE_REASONS), accepted=rng.random() < 0.4)
             for _ in range(40)]
    period = ind.programme_year(2026)
    totals = [ind.table(facts, [], period, g, POLICY, NOW, 5).total.cells for g in (None, *ind.GROUPINGS)]
    assert all(t == totals[0] for t in totals)


@pytest.mark.parametrize("grouping", ind.GROUPINGS)
def test_the_indicator_tables_withstand_the_attack_in_every_grouping(grouping):
    rng = random.Random(grouping)
    facts = [ReferralFacts(
        created_at=T + timedelta(days=rng.randint(0, 200)), status=rng.choice(("sent", "declined", "completed")),
        urgency=rng.choice(("normal", "high", "emergency")), risk_level=rng.choice(("low", "high")),
        kind=rng.choice(("shelter", "legal_aid")), province=rng.choice(("01", "20", None)),
        commune=rng.choice(("00004", "06100", None)), decline_reason=rng.choice(DECLINE_REASONS[:3]),
        accepted=rng.random() < 0.5, escalations=rng.choice(((), ("acknowledge",))))
        for _ in range(45)]
    incidents = [(f, IncidentFacts(f.created_at, f.created_at + timedelta(days=5), None)) for f in facts[:6]]
    table = ind.table(facts, incidents, ind.programme_year(2026), grouping, POLICY, NOW, 5)
    rows = [table.total, *table.groups]
    shown = {(i - 1 if i else TOTAL, n): v for i, row in enumerate(rows) for n, v in row.cells.items()}
    assert not [v for v in shown.values() if isinstance(v, int) and 0 < v < 5]
    equations = table_equations(ind.cell_names(), len(table.groups), ind.BREAKDOWNS)
    assert recoverable(shown, equations) == set()
    for row in rows:  # a share shown never sits on a hidden figure
        if row.shares["received_help"] is not None:
            assert all(isinstance(row.cells[n], int) for n in
                       ("received_help.count", "counts.created", "counts.cancelled"))
