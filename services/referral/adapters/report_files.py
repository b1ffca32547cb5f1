"""The yearly report as a file: an XLSX workbook (openpyxl), one sheet per section, or one
CSV (UTF-8 with a byte-order mark, so Excel reads Vietnamese) with the sections one after
another, each introduced by its title."""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ..service_layer.yearly_report import Hours, Report, Share, Value

PERCENT = "0.0%"
ONE_DECIMAL = "0.0"


class ReportFiles:
    def write(self, report: Report, file_format: str) -> bytes:
        return _xlsx(report) if file_format == "xlsx" else _csv(report)


def _xlsx(report: Report) -> bytes:
    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for sheet in report.sheets:
        page = book.create_sheet(sheet.title[:31])  # Excel's limit for a sheet's name
        page.append([report.title])
        page["A1"].font = Font(bold=True, size=13)
        for line in sheet.preamble:
            page.append([_plain(value) for value in line])
        page.append([])
        page.append(sheet.header)
        header_row = page.max_row
        for cell in page[header_row]:
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for line in sheet.rows:
            page.append([_plain(value) for value in line])
            for cell, value in zip(page[page.max_row], line):
                if isinstance(value, Share):
                    cell.number_format = PERCENT
                elif isinstance(value, Hours):
                    cell.number_format = ONE_DECIMAL
                elif isinstance(value, str) and cell.column > 1:
                    cell.alignment = Alignment(horizontal="right")  # "<5" and "x" stand where numbers do
        page.freeze_panes = page.cell(row=header_row + 1, column=2)
        page.column_dimensions["A"].width = 48
        for column in range(2, len(sheet.header) + 1):
            page.column_dimensions[get_column_letter(column)].width = 16
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _plain(value: Value):
    if isinstance(value, (Share, Hours)):
        return value.value
    if isinstance(value, str):  # a control character cannot be stored in a workbook
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, Share):
        return f"{value.value * 100:.1f}%"
    if isinstance(value, Hours):
        return f"{value.value:.1f}"
    return str(value)


def _csv(report: Report) -> bytes:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    out.writerow([report.title])
    for sheet in report.sheets:
        out.writerow([])
        out.writerow([f"## {sheet.title}"])
        for line in sheet.preamble:
            out.writerow([_text(v) for v in line])
        out.writerow(sheet.header)
        for line in sheet.rows:
            out.writerow([_text(v) for v in line])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


__all__ = ["ReportFiles"]
