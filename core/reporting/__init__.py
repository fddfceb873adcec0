"""HQ reporting: report data builders (inspection report, summaries, exports, dashboard).

Builders read the HQ store and return JSON-like dicts (``kind``: ``inspection``, ``summary``
or ``export``); the renderers (plugins, hook ``fieldkit_report_renderers``) turn them into
DOCX, XLSX, CSV or HTML. Aggregations run in SQL (``sql.py``), never in Python loops over
findings. The document layout (fonts, sizes, margins, header texts) lives in ``layout.py``.
"""
