"""Report renderers: what a ``fieldkit_report_renderers`` hook returns, and how one is chosen.

A renderer turns report data (a JSON-like dict built by the HQ report builders: ``kind`` is
``inspection`` or ``summary``) into bytes of one format. Plugins may add formats or replace a
built-in one (a plugin's renderer for the same kind and format wins over the built-in).
"""

from dataclasses import dataclass
from typing import Callable

from .errors import NotFound, PluginError


@dataclass(frozen=True)
class ReportRenderer:
    """Renders report data of one ``kind`` into one ``format`` (file extension)."""

    kind: str  # "inspection" | "summary" | "export"
    format: str  # "docx" | "xlsx" | "html" | "csv" | "json" | ...
    media_type: str
    render: Callable[[dict], bytes]
    label: str = ""


def renderers(pm):
    """Every renderer by (kind, format); the first plugin in call order wins."""
    table = {}
    for plugin_name, provided in pm.call_each("fieldkit_report_renderers"):
        for renderer in provided or []:
            if not isinstance(renderer, ReportRenderer):
                pm.statuses[plugin_name].fail(str(PluginError(
                    plugin_name, "fieldkit_report_renderers",
                    f"expected ReportRenderer objects, got {type(renderer).__name__}")))
                continue
            table.setdefault((renderer.kind, renderer.format), (plugin_name, renderer))
    return table


def renderer_for(pm, kind, fmt):
    """The renderer for a report kind and format, or ``NotFound`` listing the formats."""
    table = renderers(pm)
    try:
        return table[(kind, fmt)][1]
    except KeyError:
        known = sorted(f for k, f in table if k == kind)
        raise NotFound(f"No renderer for {kind} reports as {fmt} "
                       f"(available: {', '.join(known) or 'none'}).") from None
