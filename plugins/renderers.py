"""Built-in report renderers: ONE plugin that registers every built-in format, each format
in its own module (``render_docx``, ``render_xlsx``, ``render_csv``, ``render_html``).
Registered ``trylast``: a province plugin's renderer for the same kind and format wins."""

import json

from fieldkit.core.hookspecs import hookimpl
from fieldkit.core.reports import ReportRenderer

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _render_json(report):
    """The report data itself (binary attachments, keys starting with "_", left out)."""
    data = {key: value for key, value in report.items() if not key.startswith("_")}
    return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")


def _lazy(module, function):
    """Import a format's module on first use: the field station never pays for python-docx."""
    def render(report):
        import importlib
        return getattr(importlib.import_module(f"fieldkit.plugins.{module}"), function)(report)
    render.__name__ = function
    return render


@hookimpl(trylast=True)
def fieldkit_report_renderers():
    """DOCX and HTML for documents, XLSX for summaries and exports, CSV for exports, JSON
    for every kind."""
    docx = _lazy("render_docx", "render_docx")
    html = _lazy("render_html", "render_html")
    xlsx = _lazy("render_xlsx", "render_xlsx")
    csv = _lazy("render_csv", "render_csv")
    return [
        *(ReportRenderer(kind, "json", "application/json", _render_json, "JSON")
          for kind in ("inspection", "summary", "export")),
        ReportRenderer("inspection", "docx", DOCX, docx, "Word (DOCX)"),
        ReportRenderer("inspection", "html", "text/html; charset=utf-8", html, "HTML (in)"),
        ReportRenderer("summary", "docx", DOCX, docx, "Word (DOCX)"),
        ReportRenderer("summary", "xlsx", XLSX, xlsx, "Excel (XLSX)"),
        ReportRenderer("summary", "html", "text/html; charset=utf-8", html, "HTML (in)"),
        ReportRenderer("export", "csv", "text/csv; charset=utf-8", csv, "CSV (UTF-8)"),
        ReportRenderer("export", "xlsx", XLSX, xlsx, "Excel (XLSX)"),
    ]
