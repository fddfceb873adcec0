"""CSV renderer for exports: UTF-8 with a byte-order mark (so Excel reads Vietnamese right),
CRLF line ends, the first sheet of ``report["sheets"]``. Text that a spreadsheet would run as
a formula (starting with = + - @, tab or CR) gets a leading apostrophe."""

import csv
import io

from fieldkit.core.reporting.text import formula_like

MEDIA_TYPE = "text/csv; charset=utf-8"


def safe(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if formula_like(value):
        return "'" + value
    return value


def render_csv(report):
    sheets = report.get("sheets") or [{"columns": [], "rows": []}]
    sheet = sheets[0]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe(c) for c in sheet["columns"]])
    for row in sheet["rows"]:
        writer.writerow([safe(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
