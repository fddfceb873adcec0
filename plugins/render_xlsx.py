"""XLSX renderer (openpyxl, write-only: an export of a million rows streams to the file).

Reads ``report["sheets"]``: ``[{"name", "columns", "rows", "widths"?, "formats"?}]``. Header
row bold and frozen, column widths set, numbers stay numbers (``formats`` maps a column index
to a number format such as ``"0.0"``). Text that a spreadsheet would run as a formula
(starting with = + - @) is written as a text cell with the quote prefix set, never as a
formula.
"""

import io
import re

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from fieldkit.core.reporting.text import formula_like

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_BAD_SHEET_CHARS = re.compile(r"[\\/*?:\[\]]")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML


def sheet_name(name, taken):
    """A valid, unique sheet name: at most 31 characters, none of \\ / * ? : [ ]."""
    base = _BAD_SHEET_CHARS.sub("-", str(name or "Sheet")).strip("'")[:31] or "Sheet"
    candidate, number = base, 2
    while candidate.casefold() in taken:
        suffix = f" ({number})"
        candidate, number = base[:31 - len(suffix)] + suffix, number + 1
    taken.add(candidate.casefold())
    return candidate


def text_cell(sheet, value):
    """A cell for a value: numbers as numbers, text as text (formula-like text too)."""
    if isinstance(value, str):
        value = _ILLEGAL.sub("", value)
    cell = WriteOnlyCell(sheet, value=value)
    if formula_like(value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def render_xlsx(report):
    workbook = Workbook(write_only=True)
    workbook.properties.title = report.get("title") or ""
    workbook.properties.language = "vi-VN"
    header_font = Font(name="Times New Roman", bold=True)
    body_font = Font(name="Times New Roman")
    header_fill = PatternFill("solid", fgColor="E8E8E8")
    wrap = Alignment(wrap_text=True, vertical="top")
    taken = set()
    for spec in report.get("sheets") or []:
        sheet = workbook.create_sheet(sheet_name(spec.get("name"), taken))
        sheet.freeze_panes = "A2"
        columns = spec["columns"]
        widths = spec.get("widths") or [max(10, min(60, len(str(c)) + 4)) for c in columns]
        for index, width in enumerate(widths, 1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        formats = {int(k): v for k, v in (spec.get("formats") or {}).items()}
        header = []
        for title in columns:
            cell = text_cell(sheet, title)
            cell.font, cell.fill, cell.alignment = header_font, header_fill, wrap
            header.append(cell)
        sheet.append(header)
        for row in spec["rows"]:
            cells = []
            for index, value in enumerate(row):
                cell = text_cell(sheet, value)
                cell.font = body_font
                if index in formats and isinstance(value, (int, float)):
                    cell.number_format = formats[index]
                cells.append(cell)
            sheet.append(cells)
    if not taken:
        workbook.create_sheet("Trống").append(["Không có dữ liệu"])
    verification = report.get("verification")
    if verification:
        sheet = workbook.create_sheet(sheet_name("Xác thực", taken))
        sheet.column_dimensions["A"].width = 22
        sheet.column_dimensions["B"].width = 70
        for label, value in (("Mã xác thực văn bản", verification["id"]),
                             ("Kiểm tra tại", verification["url"])):
            sheet.append([text_cell(sheet, label), text_cell(sheet, value)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
