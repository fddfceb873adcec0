"""The audit log in the HQ UI (administrators only): ``/audit`` pages through it, newest
first; ``/audit/export.csv`` and ``/audit/export.json`` download all of it. The log itself
is ``sync/audit.py``."""

from flask import Blueprint, Response, abort, render_template, request

from ...sync import audit
from . import hq_context
from .ui import admin_only

bp = Blueprint("audit", __name__)
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@bp.get("/audit")
@admin_only
def log():
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        number = 1
    return render_template("hq/audit.html", log=audit.page(hq_context().store, number))


@bp.get("/audit/export.<fmt>")
@admin_only
def export(fmt):
    if fmt not in FORMATS:
        abort(404)
    audit.record(hq_context().store, "audit.export", None, None, "ok", {"format": fmt})
    text = audit.export(hq_context().store, fmt)
    return Response(text, mimetype=FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="fieldkit-audit.{fmt}"',
        "Cache-Control": "no-store"})
