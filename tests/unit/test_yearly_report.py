"""The yearly report: a known set of referrals goes in, and every figure of every sheet of
the workbook that comes out (openpyxl, read back) is checked against values this test
computes on its own from the same list; small counts are `<5`, any `x` sits beside another
hidden cell, and the CSV says the same."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import openpyxl
import pytest

from haven.platform.principal import Principal, permissions_for
from services.referral.adapters.report_files import ReportFiles
from services.referral.domain.indicators import IncidentFacts, ReferralFacts
from services.referral.domain.sla import SlaPolicy
from services.referral.service_layer.stats import OPERATOR, Stats
from services.referral.service_layer.yearly_report import YearlyReports

VN = timezone(timedelta(hours=7))
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=VN)  # after programme year 2026
ALLOWED = {"emergency": (0.25, 1), "high": (4, 24), "normal": (24, 72)}  # hours to acknowledge / decide


@dataclass(frozen=True)
class Case:
    made: datetime
    kind: str
    province: str | None
    urgency: str
    status: str
    ack: float | None = None  # hours after it was made
    decide: float | None = None
    complete: float | None = None
    accepted: bool = False
    reason: str | None = None
    escalated: tuple[str, ...] = ()


def cases() -> list[Case]:
    dec, jan, mar, may = (datetime(2025, 12, 3, 9, tzinfo=VN), datetime(2026, 1, 5, 9, tzinfo=VN),
                          datetime(2026, 3, 9, 9, tzinfo=VN), datetime(2026, 5, 4, 9, tzinfo=VN))
    found = []
    for i in range(10):  # legal aid in Lạng Sơn, high: acknowledged in 1 h, accepted in 3 h, half completed
        found.append(Case(dec + timedelta(days=i), "legal_aid", "20", "high",
                          "completed" if i < 5 else "accepted", ack=1 + i / 10, decide=3 + i, complete=72 + i
                          if i < 5 else None, accepted=True))
    for i in range(8):  # shelters in Hà Nội, normal: acknowledged in 2 h; 5 declined, 3 never decided
        found.append(Case(jan + timedelta(days=i), "shelter", "01", "normal", "declined" if i < 5 else "acknowledged",
                          ack=2, decide=5 + i if i < 5 else None, reason="no_capacity" if i < 5 else None,
                          escalated=() if i < 5 else ("decide",)))
    for i in range(6):  # counselling in Lạng Sơn, emergency: never answered (one cancelled)
        found.append(Case(mar + timedelta(hours=i), "counselling", "20", "emergency",
                          "cancelled" if i == 5 else "sent", escalated=("acknowledge",) if i == 5
                          else ("acknowledge", "decide")))
    for i in range(2):  # made before the area was recorded
        found.append(Case(may + timedelta(days=i), "legal_aid", None, "normal", "sent", escalated=("acknowledge",
                                                                                                    "decide")))
    return found


def facts(case: Case) -> ReferralFacts:
    def at(hours):
        return None if hours is None else (case.made + timedelta(hours=hours)).astimezone(UTC)

    return ReferralFacts(created_at=case.made.astimezone(UTC), status=case.status, urgency=case.urgency,
                         risk_level="medium", kind=case.kind, province=case.province, acknowledged_at=at(case.ack),
                         decided_at=at(case.decide), completed_at=at(case.complete), accepted=case.accepted,
                         decline_reason=case.reason, escalations=case.escalated)


def incidents(all_cases: list[Case]) -> list[tuple[ReferralFacts, IncidentFacts]]:
    """Five incidents on December's referrals (3 reported on time, 2 late), one missing in March."""
    found = []
    for i, case in enumerate(all_cases[:5]):
        discovered = case.made.astimezone(UTC)
        due = discovered + timedelta(days=5)
        found.append((facts(case), IncidentFacts(discovered, due, discovered + timedelta(days=2 if i < 3 else 6))))
    march = all_cases[18]
    found.append((facts(march), IncidentFacts(march.made.astimezone(UTC),
                                              march.made.astimezone(UTC) + timedelta(days=5), None)))
    return found


class KnownFigures:
    def __init__(self, known: list[Case]):
        self.known = known

    def referrals(self, scope, period):
        return [facts(c) for c in self.known if period.starts_at <= c.made < period.ends_before
                and scope.province in (None, c.province)]

    def incidents(self, scope, period):
        return [pair for pair in incidents(self.known) if scope.province in (None, pair[0].province)]


@pytest.fixture(scope="module")
def workbook():
    reports = YearlyReports(Stats(KnownFigures(cases()), SlaPolicy(), lambda: NOW.astimezone(UTC), 5), ReportFiles())
    name, body = reports.file(OPERATOR, 2026, language="en", file_format="xlsx")
    assert name == "haven-yearly-report-2026.xlsx"
    return openpyxl.load_workbook(io.BytesIO(body))


# --- the figures, computed here --------------------------------------------------------

def nearest_rank(values, q):
    ordered = sorted(values)
    k = max(1, -(-q * len(ordered) // 1))
    return ordered[int(k) - 1]


def counts(group: list[Case]) -> dict:
    missed = {"acknowledge": 0, "decide": 0}
    for c in group:
        answered = c.ack if c.ack is not None else c.decide
        ack_allowed, decide_allowed = ALLOWED[c.urgency]
        if (answered is not None and answered > ack_allowed) or (answered is None and c.status == "sent"):
            missed["acknowledge"] += 1
        if (c.decide is not None and c.decide > decide_allowed) or \
                (c.decide is None and c.status in ("sent", "acknowledged")):
            missed["decide"] += 1
    not_cancelled = sum(c.status != "cancelled" for c in group)
    helped = sum(c.status in ("accepted", "completed") for c in group)
    return {
        "Referrals made": len(group), "Acknowledged": sum(c.ack is not None for c in group),
        "Accepted": sum(c.accepted for c in group), "Declined": sum(c.status == "declined" for c in group),
        "Completed": sum(c.status == "completed" for c in group),
        "Cancelled": sum(c.status == "cancelled" for c in group), "Re-referred": 0,
        "Consent overridden by a supervisor": 0, "Received help (accepted or completed)": helped,
        "Share that received help (of those not cancelled)": round(helped / not_cancelled, 4) if not_cancelled
        else None,
        "Deadlines to acknowledge missed": missed["acknowledge"], "Deadlines to decide missed": missed["decide"],
        "Escalations: deadline to acknowledge missed": sum("acknowledge" in c.escalated for c in group),
        "Escalations: deadline to decide missed": sum("decide" in c.escalated for c in group),
    }


def due(group: list[Case], kind: str) -> int:
    """Deadlines of `kind` due: the step done, or still owed with its time passed (it has, at NOW)."""
    if kind == "acknowledge":
        return sum((c.ack is not None or c.decide is not None) or c.status == "sent" for c in group)
    return sum(c.decide is not None or c.status in ("sent", "acknowledged") for c in group)


def shown(value):
    """What the report may show for a true value: the value, or "<5" for 1..4."""
    if isinstance(value, int) and 0 < value < 5:
        return "<5"
    return value


def check_cell(actual, expected, column_hidden: int, where: str):
    if actual == "x":
        assert isinstance(expected, int) and not 0 < expected < 5, f"{where}: x on a small count"
        assert column_hidden >= 2, f"{where}: an x with no other hidden cell beside it"
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, abs=1e-4), where
    else:
        assert actual == shown(expected), f"{where}: {actual!r} != {expected!r}"


def sheet_table(workbook, title: str, header_first: str):
    rows = [r for r in workbook[title].iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if r and r[0] == header_first)
    header = list(rows[start])
    return header, {r[0]: dict(zip(header, r)) for r in rows[start + 1:] if r and r[0] is not None}


def check_grouped(workbook, title: str, first: str, groups: dict[str, list[Case]]):
    header, table = sheet_table(workbook, title, first)
    assert list(table) == [*groups, "Total"]
    expected = {label: counts(group) for label, group in groups.items()}
    expected["Total"] = counts([c for g in groups.values() for c in g])
    for column in header[1:]:
        hidden = sum(table[label][column] in ("x", "<5") for label in table)
        for label in table:
            want = expected[label][column]
            if column.startswith("Share") and any(table[label][n] in ("x", "<5") for n in
                                                  ("Referrals made", "Cancelled",
                                                   "Received help (accepted or completed)")):
                want = None  # withheld: a figure it is made of is hidden
            check_cell(table[label][column], want, hidden, f"{title}/{label}/{column}")


# --- the sheets ------------------------------------------------------------------------

def test_the_workbook_has_the_seven_sheets_in_english_on_request(workbook):
    assert workbook.sheetnames == ["Summary", "By month", "By area", "By kind", "Response times",
                                   "SLA and escalations", "Serious incidents"]


def test_every_figure_by_month(workbook):
    months = [(2025, 12)] + [(2026, m) for m in range(1, 12)]
    groups = {f"{m:02d}/{y}": [c for c in cases() if (c.made.year, c.made.month) == (y, m)] for y, m in months}
    check_grouped(workbook, "By month", "Month", groups)


def test_every_figure_by_area(workbook):
    groups = {"01": [c for c in cases() if c.province == "01"], "20": [c for c in cases() if c.province == "20"],
              "Unknown": [c for c in cases() if c.province is None]}
    check_grouped(workbook, "By area", "Area", groups)


def test_every_figure_by_kind(workbook):
    check_grouped(workbook, "By kind", "Service kind",
                  {k: [c for c in cases() if c.kind == k] for k in ("counselling", "legal_aid", "shelter")})


def test_every_response_time(workbook):
    header, table = sheet_table(workbook, "Response times", "Urgency")
    groups = {u: [c for c in cases() if c.urgency == u] for u in ("emergency", "high", "normal")}
    groups["Total"] = cases()
    assert list(table) == list(groups)
    for label, group in groups.items():
        for step, values in (("acknowledge", [c.ack if c.ack is not None else c.decide for c in group]),
                             ("decide", [c.decide for c in group]), ("complete", [c.complete for c in group])):
            values = [v for v in values if v is not None]
            for name, q in (("Median", 0.5), ("90th percentile", 0.9)):
                column = f"{name} time to {step} (hours)"
                want = round(nearest_rank(values, q), 1) if len(values) >= 5 else None
                assert table[label][column] == want, f"{label}/{column}"


def test_every_sla_and_escalation_figure(workbook):
    header, table = sheet_table(workbook, "SLA and escalations", "Urgency")
    groups = {u: [c for c in cases() if c.urgency == u] for u in ("emergency", "high", "normal")}
    groups["Total"] = cases()
    for column in header[1:]:
        hidden = sum(table[label][column] in ("x", "<5") for label in table)
        for label, group in groups.items():
            figures = counts(group)
            want = {**figures,
                    **{f"Deadlines to {k} due": due(group, k) for k in ("acknowledge", "decide")}}
            for k in ("acknowledge", "decide"):
                missed, owed = figures[f"Deadlines to {k} missed"], due(group, k)
                withheld = any(table[label][f"Deadlines to {k} {n}"] in ("x", "<5") for n in ("missed", "due"))
                want[f"Share of deadlines to {k} missed"] = None if withheld or not owed else round(missed / owed, 4)
            check_cell(table[label][column], want[column], hidden, f"SLA/{label}/{column}")


def test_every_serious_incident_figure(workbook):
    header, table = sheet_table(workbook, "Serious incidents", "Month")
    expected = {label: dict.fromkeys(header[1:], 0) for label in table}
    for label in ("12/2025", "Total"):
        expected[label].update({"Serious incidents": 5, "Written report on time (5 days)": 3,
                                "Written report late": 2})
    expected["03/2026"].update({"Serious incidents": 1, "Overdue, no written report": 1})
    expected["Total"]["Serious incidents"] = 6
    expected["Total"]["Overdue, no written report"] = 1
    for column in header[1:]:
        hidden = sum(table[label][column] in ("x", "<5") for label in table)
        for label in table:
            check_cell(table[label][column], expected[label][column], hidden, f"incidents/{label}/{column}")


def test_every_figure_of_the_summary(workbook):
    rows = {r[0]: r[1:] for r in workbook["Summary"].iter_rows(values_only=True) if r and r[0]}
    everything = cases()
    total = counts(everything)
    assert rows["Period"][0] == "01/12/2025 – 30/11/2026" and rows["Scope"][0] == "All areas"
    for label in ("Referrals made", "Acknowledged", "Accepted", "Declined", "Completed", "Cancelled", "Re-referred",
                  "Consent overridden by a supervisor", "Received help (accepted or completed)"):
        assert rows[label][0] == shown(total[label]), label
    # 15 of 25 not cancelled, but one cancelled is a small count that the share would give back.
    assert total["Cancelled"] == 1
    assert rows["Share that received help (of those not cancelled)"] == (None, 1.0)
    assert rows["Share of survivors who seek help from a provider"] == ("Not measured by Haven", 0.5)
    assert rows["Declined – reason: no capacity"][0] == 5
    assert all(rows[f"Declined – reason: {r}"][0] == 0 for r in
               ("not eligible", "out of area", "client unreachable", "client declined", "duplicate", "other"))
    answered = [c.ack for c in everything if c.ack is not None]
    assert rows["Median time to acknowledge (hours)"][0] == round(nearest_rank(answered, 0.5), 1)
    assert rows["90th percentile time to acknowledge (hours)"][0] == round(nearest_rank(answered, 0.9), 1)
    decided = [c.decide for c in everything if c.decide is not None]
    assert rows["Median time to decide (hours)"][0] == round(nearest_rank(decided, 0.5), 1)
    assert rows["Median time to complete (hours)"][0] == 74.0
    for kind in ("acknowledge", "decide"):
        assert rows[f"Deadlines to {kind} due"][0] == due(everything, kind)
        assert rows[f"Deadlines to {kind} missed"][0] == total[f"Deadlines to {kind} missed"]
        assert rows[f"Share of deadlines to {kind} missed"][0] == pytest.approx(
            total[f"Deadlines to {kind} missed"] / due(everything, kind), abs=1e-4)
        assert rows[f"Escalations: deadline to {kind} missed"][0] == \
            total[f"Escalations: deadline to {kind} missed"]
    assert [rows[n][0] for n in ("Serious incidents", "Written report on time (5 days)", "Written report late",
                                 "Overdue, no written report", "Written report not yet due")] == [6, "<5", "<5",
                                                                                                   "<5", 0]


def test_the_csv_says_what_the_workbook_says_in_vietnamese_by_default():
    reports = YearlyReports(Stats(KnownFigures(cases()), SlaPolicy(), lambda: NOW.astimezone(UTC), 5), ReportFiles())
    name, body = reports.file(OPERATOR, 2026, file_format="csv")
    assert name == "haven-bao-cao-nam-2026.csv" and body.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    titles = [line[0][3:] for line in lines if line and line[0].startswith("## ")]
    assert titles == ["Tóm tắt", "Theo tháng", "Theo địa bàn", "Theo loại dịch vụ", "Thời gian phản hồi",
                      "SLA và chuyển cấp", "Vụ việc nghiêm trọng"]
    summary = {line[0]: line[1:] for line in lines if line}
    assert summary["Số ca chuyển gửi"][0] == "26"
    assert summary["Đã chấp nhận"][0] == "10" and summary["Đã hủy"][0] == "<5"
    assert summary["Tỷ lệ được hỗ trợ (trên số ca không hủy)"] == ["", "100.0%"]  # withheld, as in the workbook
    missed, owed = counts(cases())["Deadlines to acknowledge missed"], due(cases(), "acknowledge")
    assert summary["Tỷ lệ trễ hạn xác nhận"][0] == f"{missed / owed * 100:.1f}%"


def test_a_supervisor_report_is_of_her_organization_and_a_caseworker_gets_none():
    reports = YearlyReports(Stats(KnownFigures(cases()), SlaPolicy(), lambda: NOW.astimezone(UTC), 5), ReportFiles())
    supervisor = Principal("sup", ("supervisor",), "org-1", permissions_for(("supervisor",)))
    report = reports.report(supervisor, 2026)
    assert ["Tổ chức", "org-1"] in report.sheets[0].preamble
    from services.referral.domain.errors import NotPermitted
    caseworker = Principal("cw", ("caseworker",), "org-1", permissions_for(("caseworker",)))
    with pytest.raises(NotPermitted):
        reports.report(caseworker, 2026)
    with pytest.raises(NotPermitted):
        reports.report(supervisor, 2026, organization="org-2")
