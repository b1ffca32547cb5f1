"""The yearly report (issue 15 §2): the programme year's indicators as a workbook of seven
sheets, in Vietnamese by default or English, every figure suppressed as in `/v1/stats`
(the same tables: `stats.py`). What the sheets say is decided here; a `ReportWriter` port
(`adapters/report_files.py`) lays it out as XLSX or CSV.

The programme year Y runs from 01/12/Y-1 to 30/11/Y. Every sheet shows the same totals,
suppressed alike (the total row is suppressed on its own figures, whatever the grouping).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from haven.platform.principal import Principal

from ..domain import indicators
from ..domain.indicators import DEADLINE_KINDS, INCIDENT_STATES, TIMES, Row, Table
from ..domain.model import DECLINE_REASONS
from .stats import Stats, StatsQuery

LANGUAGES = ("vi", "en")
FORMATS = ("xlsx", "csv")


@dataclass(frozen=True)
class Share:
    """A share 0..1, shown as a percentage."""

    value: float


@dataclass(frozen=True)
class Hours:
    """A duration in hours (from seconds), shown with one decimal."""

    value: float


Value = int | str | Share | Hours | None


@dataclass
class Sheet:
    title: str
    header: list[str]
    rows: list[list[Value]]
    preamble: list[list[Value]] = field(default_factory=list)  # lines above the table


@dataclass
class Report:
    title: str
    filename: str  # without its extension
    sheets: list[Sheet]


class ReportWriter(Protocol):
    def write(self, report: Report, file_format: str) -> bytes: ...


class Names(Protocol):
    """What the directory calls areas and kinds (code -> name); empty when it cannot say."""

    def area_names(self) -> dict[str, str]: ...

    def kind_names(self, language: str) -> dict[str, str]: ...


class NoNames:
    def area_names(self) -> dict[str, str]:
        return {}

    def kind_names(self, language: str) -> dict[str, str]:
        return {}


# --- words -------------------------------------------------------------------------------

WORDS = {
    "title": ("Báo cáo năm {year} – chuyển gửi hỗ trợ nạn nhân bạo lực trên cơ sở giới",
              "Yearly report {year} – referrals of gender-based violence survivors"),
    "filename": ("haven-bao-cao-nam-{year}", "haven-yearly-report-{year}"),
    "period": ("Kỳ báo cáo", "Period"),
    "scope": ("Phạm vi", "Scope"),
    "everywhere": ("Toàn bộ", "All areas"),
    "province": ("Tỉnh/thành phố", "Province"),
    "organization": ("Tổ chức", "Organization"),
    "generated": ("Lập lúc (giờ Việt Nam)", "Generated (Vietnam time)"),
    "note": ("Ghi chú", "Note"),
    "suppression": ("Số từ 1 đến {low} hiển thị là \"<{min}\"; \"x\": ẩn để không thể suy ra số nhỏ từ tổng; "
                    "tỷ lệ và thời gian dựa trên số nhỏ không được công bố. Không có thông tin cá nhân.",
                    "Counts from 1 to {low} are shown as \"<{min}\"; \"x\": withheld so that a small count cannot be "
                    "worked out from the totals; rates and times built on small counts are withheld. No personal "
                    "data."),
    "cohort": ("Số liệu của các ca chuyển gửi được tạo trong kỳ (vụ việc nghiêm trọng: phát hiện trong kỳ).",
               "Figures of the referrals made in the period (serious incidents: discovered in it)."),
    "indicator": ("Chỉ số", "Indicator"), "value": ("Giá trị", "Value"), "target": ("Chỉ tiêu", "Target"),
    "total": ("Tổng", "Total"), "unknown": ("Chưa rõ", "Unknown"),
    "month": ("Tháng", "Month"), "area": ("Địa bàn", "Area"), "kind": ("Loại dịch vụ", "Service kind"),
    "urgency": ("Mức khẩn cấp", "Urgency"),
    "not_measured": ("Haven không đo được", "Not measured by Haven"),
    "sheet.summary": ("Tóm tắt", "Summary"), "sheet.month": ("Theo tháng", "By month"),
    "sheet.area": ("Theo địa bàn", "By area"), "sheet.kind": ("Theo loại dịch vụ", "By kind"),
    "sheet.times": ("Thời gian phản hồi", "Response times"),
    "sheet.sla": ("SLA và chuyển cấp", "SLA and escalations"),
    "sheet.incidents": ("Vụ việc nghiêm trọng", "Serious incidents"),
    "counts.created": ("Số ca chuyển gửi", "Referrals made"),
    "counts.acknowledged": ("Đã xác nhận tiếp nhận", "Acknowledged"),
    "counts.accepted": ("Đã chấp nhận", "Accepted"),
    "counts.declined": ("Từ chối", "Declined"),
    "counts.completed": ("Đã hoàn thành", "Completed"),
    "counts.cancelled": ("Đã hủy", "Cancelled"),
    "counts.re_referred": ("Chuyển gửi lại", "Re-referred"),
    "counts.consent_overridden": ("Chuyển gửi không có đồng ý (giám sát viên quyết định)",
                                  "Consent overridden by a supervisor"),
    "received_help.count": ("Được hỗ trợ (đã chấp nhận hoặc hoàn thành)", "Received help (accepted or completed)"),
    "received_help.share": ("Tỷ lệ được hỗ trợ (trên số ca không hủy)", "Share that received help (of those not "
                                                                         "cancelled)"),
    "seek_help": ("Tỷ lệ nạn nhân tìm kiếm sự giúp đỡ từ nhà cung cấp dịch vụ",
                  "Share of survivors who seek help from a provider"),
    "declined_by_reason": ("Từ chối – lý do: {reason}", "Declined – reason: {reason}"),
    "reason.no_capacity": ("hết chỗ", "no capacity"), "reason.not_eligible": ("không đủ điều kiện", "not eligible"),
    "reason.out_of_area": ("ngoài địa bàn", "out of area"),
    "reason.client_unreachable": ("không liên lạc được", "client unreachable"),
    "reason.client_declined": ("nạn nhân không muốn", "client declined"),
    "reason.duplicate": ("trùng lặp", "duplicate"), "reason.other": ("khác", "other"),
    "times.median": ("Trung vị thời gian {step} (giờ)", "Median time to {step} (hours)"),
    "times.p90": ("P90 thời gian {step} (giờ)", "90th percentile time to {step} (hours)"),
    "times.count_note": ("Trung vị và P90 chỉ công bố khi có ít nhất {min} ca.",
                         "Median and 90th percentile are shown for at least {min} referrals only."),
    "step.acknowledge": ("xác nhận", "acknowledge"), "step.decide": ("quyết định", "decide"),
    "step.complete": ("hoàn thành", "complete"),
    "sla.due": ("Hạn {step} đã đến", "Deadlines to {step} due"),
    "sla.missed": ("Trễ hạn {step}", "Deadlines to {step} missed"),
    "sla.share": ("Tỷ lệ trễ hạn {step}", "Share of deadlines to {step} missed"),
    "escalations": ("Chuyển cấp do trễ hạn {step}", "Escalations: deadline to {step} missed"),
    "serious_incidents.reported": ("Vụ việc nghiêm trọng", "Serious incidents"),
    "serious_incidents.on_time": ("Báo cáo bằng văn bản đúng hạn (5 ngày)", "Written report on time (5 days)"),
    "serious_incidents.late": ("Báo cáo bằng văn bản trễ hạn", "Written report late"),
    "serious_incidents.missing": ("Quá hạn, chưa có báo cáo", "Overdue, no written report"),
    "serious_incidents.due": ("Chưa đến hạn báo cáo", "Written report not yet due"),
    "urgency.emergency": ("khẩn cấp", "emergency"), "urgency.high": ("cao", "high"),
    "urgency.normal": ("bình thường", "normal"),
}


class Words:
    def __init__(self, language: str):
        if language not in LANGUAGES:
            raise indicators.InvalidQuery("language", "must be vi or en")
        self.index = LANGUAGES.index(language)

    def __call__(self, key: str, **values) -> str:
        return WORDS[key][self.index].format(**values)


# --- the sheets --------------------------------------------------------------------------

# The counts each grouped sheet shows, in order (cells of the measures row).
GROUPED_COUNTS = ("counts.created", "counts.acknowledged", "counts.accepted", "counts.declined", "counts.completed",
                  "counts.cancelled", "counts.re_referred", "counts.consent_overridden", "received_help.count")


def _hours(seconds: float | None) -> Hours | None:
    return None if seconds is None else Hours(round(seconds / 3600, 1))


def _share(value: float | None) -> Share | None:
    return None if value is None else Share(value)


class YearlyReports:
    def __init__(self, stats: Stats, writer: ReportWriter, names: Names | None = None):
        self.stats, self.writer, self.names = stats, writer, names or NoNames()

    def file(self, principal: Principal, year: int, province: str | None = None, organization: str | None = None,
             language: str = "vi", file_format: str = "xlsx") -> tuple[str, bytes]:
        """The report's file name (with its extension) and bytes."""
        if file_format not in FORMATS:
            raise indicators.InvalidQuery("format", "must be xlsx or csv")
        made = self.report(principal, year, province, organization, language)
        return f"{made.filename}.{file_format}", self.writer.write(made, file_format)

    def report(self, principal: Principal, year: int, province: str | None = None, organization: str | None = None,
               language: str = "vi") -> Report:
        words = Words(language)
        period = indicators.programme_year(year)
        scope = self.stats.scope(principal, StatsQuery(province=province, organization=organization))
        area_grouping = "commune" if province else "province"
        tables = self.stats.tables(scope, period, (None, "month", area_grouping, "kind", "urgency"))
        preamble = [[words("period"), f"{period.first:%d/%m/%Y} – {period.last:%d/%m/%Y}"],
                    [words("scope"), f"{words('province')} {province}" if province else words("everywhere")],
                    *([[words("organization"), scope.reach.organization_id or organization]]
                      if scope.reach.organization_id or organization else []),
                    [words("generated"), f"{self.stats.clock().astimezone(indicators.VIETNAM):%d/%m/%Y %H:%M}"],
                    [words("note"), words("suppression", low=tables[None].min_cell - 1, min=tables[None].min_cell)],
                    [words("note"), words("cohort")]]
        name = words("filename", year=year) + (f"-{province}" if province else "")
        areas, kinds = self.names.area_names(), self.names.kind_names(language)
        return Report(words("title", year=year), name, [
            self._summary(words, tables[None], preamble),
            self._grouped(words, "sheet.month", "month", tables["month"], _month_label),
            self._grouped(words, "sheet.area", "area", tables[area_grouping],
                          lambda w, key: _named(w, key, areas, with_code=True)),
            self._grouped(words, "sheet.kind", "kind", tables["kind"], lambda w, key: _named(w, key, kinds)),
            self._times(words, tables["urgency"]),
            self._sla(words, tables["urgency"]),
            self._incidents(words, tables["month"]),
        ])

    def _summary(self, words: Words, table: Table, preamble) -> Sheet:
        row = table.total
        lines: list[list[Value]] = [
            [words("counts.created"), row.cells["counts.created"], None],
            [words("received_help.share"), _share(row.shares["received_help"]), Share(1.0)],
            [words("received_help.count"), row.cells["received_help.count"], None],
            [words("seek_help"), words("not_measured"), Share(0.5)],
        ]
        lines += [[words(name), row.cells[name], None] for name in GROUPED_COUNTS[1:8]]
        lines += [[words("declined_by_reason", reason=words(f"reason.{r}")), row.cells[f"declined_by_reason.{r}"],
                   None] for r in DECLINE_REASONS]
        for step in TIMES:
            lines.append([words("times.median", step=words(f"step.{step}")),
                          _hours(row.times[step]["median_seconds"]), None])
            lines.append([words("times.p90", step=words(f"step.{step}")), _hours(row.times[step]["p90_seconds"]),
                          None])
        for kind in DEADLINE_KINDS:
            step = words(f"step.{kind}")
            lines += [[words("sla.due", step=step), row.cells[f"sla.{kind}.due"], None],
                      [words("sla.missed", step=step), row.cells[f"sla.{kind}.missed"], None],
                      [words("sla.share", step=step), _share(row.shares[f"sla.{kind}"]), None]]
        lines += [[words("escalations", step=words(f"step.{kind}")), row.cells[f"escalations.{kind}"], None]
                  for kind in DEADLINE_KINDS]
        lines += [[words(f"serious_incidents.{state}"), row.cells[f"serious_incidents.{state}"], None]
                  for state in ("reported", *INCIDENT_STATES)]
        return Sheet(words("sheet.summary"), [words("indicator"), words("value"), words("target")], lines,
                     preamble)

    def _grouped(self, words: Words, title: str, key_word: str, table: Table, label) -> Sheet:
        header = [words(key_word), *(words(n) for n in GROUPED_COUNTS), words("received_help.share"),
                  *(words("sla.missed", step=words(f"step.{k}")) for k in DEADLINE_KINDS),
                  *(words("escalations", step=words(f"step.{k}")) for k in DEADLINE_KINDS)]

        def line(first: str, row: Row) -> list[Value]:
            return [first, *(row.cells[n] for n in GROUPED_COUNTS), _share(row.shares["received_help"]),
                    *(row.cells[f"sla.{k}.missed"] for k in DEADLINE_KINDS),
                    *(row.cells[f"escalations.{k}"] for k in DEADLINE_KINDS)]

        rows = [line(label(words, g.key), g) for g in table.groups] + [line(words("total"), table.total)]
        return Sheet(words(title), header, rows)

    def _times(self, words: Words, table: Table) -> Sheet:
        header = [words("urgency")]
        for step in TIMES:
            header += [words("times.median", step=words(f"step.{step}")),
                       words("times.p90", step=words(f"step.{step}"))]

        def line(first: str, row: Row) -> list[Value]:
            values: list[Value] = [first]
            for step in TIMES:
                values += [_hours(row.times[step]["median_seconds"]), _hours(row.times[step]["p90_seconds"])]
            return values

        rows = [line(words(f"urgency.{g.key}"), g) for g in table.groups] + [line(words("total"), table.total)]
        note = [[words("note"), words("times.count_note", min=table.min_cell)]]
        return Sheet(words("sheet.times"), header, rows, note)

    def _sla(self, words: Words, table: Table) -> Sheet:
        header = [words("urgency")]
        for kind in DEADLINE_KINDS:
            step = words(f"step.{kind}")
            header += [words("sla.due", step=step), words("sla.missed", step=step), words("sla.share", step=step)]
        header += [words("escalations", step=words(f"step.{k}")) for k in DEADLINE_KINDS]

        def line(first: str, row: Row) -> list[Value]:
            values: list[Value] = [first]
            for kind in DEADLINE_KINDS:
                values += [row.cells[f"sla.{kind}.due"], row.cells[f"sla.{kind}.missed"],
                           _share(row.shares[f"sla.{kind}"])]
            return values + [row.cells[f"escalations.{k}"] for k in DEADLINE_KINDS]

        rows = [line(words(f"urgency.{g.key}"), g) for g in table.groups] + [line(words("total"), table.total)]
        return Sheet(words("sheet.sla"), header, rows)

    def _incidents(self, words: Words, table: Table) -> Sheet:
        names = ("reported", *INCIDENT_STATES)
        header = [words("month"), *(words(f"serious_incidents.{n}") for n in names)]

        def line(first: str, row: Row) -> list[Value]:
            return [first, *(row.cells[f"serious_incidents.{n}"] for n in names)]

        rows = [line(_month_label(words, g.key), g) for g in table.groups] + [line(words("total"), table.total)]
        return Sheet(words("sheet.incidents"), header, rows)


def _month_label(words: Words, key: str) -> str:
    year, month = key.split("-")
    return f"{month}/{year}"


def _named(words: Words, key: str, names: dict[str, str], with_code: bool = False) -> str:
    """`Lạng Sơn (20)` for an area, `Trợ giúp pháp lý` for a kind; the code alone when the
    directory gave no name."""
    if key == indicators.UNKNOWN:
        return words("unknown")
    name = names.get(key)
    if name is None:
        return key
    return f"{name} ({key})" if with_code else name


__all__ = ["FORMATS", "LANGUAGES", "Hours", "Names", "NoNames", "Report", "ReportWriter", "Share", "Sheet",
           "YearlyReports"]
