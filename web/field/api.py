"""JSON endpoints used by the pages' autosave script. Every call needs a session cookie;
every change also needs the ``X-CSRF-Token`` header. Errors are JSON:
``{"error": "<sentence in the user's language, naming the item>", "status": 422, ...}``
with 400 (bad request), 401 (no session), 403 (CSRF), 404, 409 (conflict), 413 (too large),
415 (file type refused), 422 (invalid answer).
"""


from flask import Blueprint, current_app, g, jsonify, request

from ...core.errors import ConflictError, UsageError
from ..common.i18n import localize_error, t
from .errors import error_body
from .helpers import evidence_json, progress_summary, parse_day
from .saving import UNCHECKED, clear_answer, receive_upload, save_answer

bp = Blueprint("api", __name__, url_prefix="/api")


def _body():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise UsageError(t("api.json_expected"))
    return body


def _finding_json(finding):
    return {key: finding.get(key) for key in
            ("id", "item", "value", "extras", "note", "evidence", "flagged", "rev",
             "author", "updated_at")}


def _conflict(inspection_id, code, error):
    """409 with the item's current answer, so the page can show it."""
    current = g.flow.findings(inspection_id).get(code)
    shown = "—" if current is None else current["value"]
    body = error_body(error)
    body.update(error=t("conflict.item", code=code, value=shown), item=code,
                current=_finding_json(current) if current else None)
    return jsonify(body), 409


@bp.get("/inspections/<inspection_id>/state")
def state(inspection_id):
    """``GET /api/inspections/<id>/state``: status, progress per section, missing required
    items, flags, hidden items (skip logic) and every current finding by item code."""
    inspection = g.flow.inspection(inspection_id)
    findings = g.flow.findings(inspection_id)
    return jsonify({"id": inspection_id, "status": inspection["status"],
                    "state": progress_summary(g.flow, inspection_id),
                    "findings": {code: _finding_json(f) for code, f in findings.items()}})


@bp.put("/inspections/<inspection_id>/items/<code>")
def put_answer(inspection_id, code):
    """``PUT /api/inspections/<id>/items/<code>``: save one answer.

    Body: ``{"value": ..., "extras": {"date": "2024-05-01"}, "note": "...",
    "evidence": [ids] (optional: the item's uploads by default),
    "expected_rev": "<rev edited from>" | null (no answer yet) (optional)}``.
    200: ``{"item", "saved": true, "flagged", "rev", "message", "finding", "state"}``;
    422 names the item and saves nothing; 409 carries ``current`` (the stored answer).
    """
    body = _body()
    expected = body["expected_rev"] if "expected_rev" in body else UNCHECKED
    extras = body.get("extras") or {}
    if not isinstance(extras, dict):
        raise UsageError(t("api.json_expected"))
    try:
        finding = save_answer(g.flow, inspection_id, code, body.get("value"), extras=extras,
                              note=body.get("note"), evidence=body.get("evidence"),
                              expected_rev=expected)
    except ConflictError as error:
        return _conflict(inspection_id, code, error)
    return jsonify({"item": code, "saved": True, "flagged": finding["flagged"],
                    "rev": finding["rev"], "message": t("item.saved"),
                    "finding": _finding_json(finding),
                    "state": progress_summary(g.flow, inspection_id)})


@bp.delete("/inspections/<inspection_id>/items/<code>")
def delete_answer(inspection_id, code):
    """``DELETE /api/inspections/<id>/items/<code>``: withdraw an answer. Optional body
    ``{"expected_rev": "..."}``; 409 if it changed meanwhile."""
    body = request.get_json(silent=True) or {}
    try:
        clear_answer(g.flow, inspection_id, code, body.get("expected_rev", UNCHECKED))
    except ConflictError as error:
        return _conflict(inspection_id, code, error)
    return jsonify({"item": code, "saved": True, "cleared": True, "rev": None,
                    "flagged": False, "message": t("item.cleared"),
                    "state": progress_summary(g.flow, inspection_id)})


@bp.post("/inspections/<inspection_id>/evidence")
def post_evidence(inspection_id):
    """``POST /api/inspections/<id>/evidence`` (multipart: ``file``, optional ``item``,
    ``caption``): store a photo or PDF. 201: ``{"evidence": {..., "thumbnail_url"},
    "finding": <the item's answer, updated to link it> | null, "state"}``; 415 for any
    other file type, 413 when too large."""
    doc, finding, problem = receive_upload(g.flow, inspection_id, request.files.get("file"),
                                           request.form.get("item"),
                                           request.form.get("caption"))
    return jsonify({"evidence": evidence_json(inspection_id, doc),
                    "finding": _finding_json(finding) if finding else None,
                    "flagged": finding["flagged"] if finding else None,
                    "problem": localize_error(str(problem)) if problem else None,
                    "message": t("upload.saved"),
                    "state": progress_summary(g.flow, inspection_id)}), 201


@bp.get("/inspections/<inspection_id>/evidence")
def list_evidence(inspection_id):
    """``GET /api/inspections/<id>/evidence``: the inspection's evidence files."""
    g.flow.inspection(inspection_id)
    return jsonify([evidence_json(inspection_id, doc) for doc in g.flow.evidence(inspection_id)])


@bp.post("/inspections/<inspection_id>/recommendations")
def post_recommendation(inspection_id):
    """``POST /api/inspections/<id>/recommendations``: add a recommendation (kiến nghị).
    Body ``{"text", "responsible", "due": "YYYY-MM-DD"}``; 201 with the document."""
    body = _body()
    doc = g.flow.add_recommendation(inspection_id, body.get("text"),
                                    responsible=body.get("responsible") or None,
                                    due=body.get("due") or None)
    return jsonify(doc), 201


@bp.get("/inspections/<inspection_id>/recommendations")
def list_recommendations(inspection_id):
    """``GET /api/inspections/<id>/recommendations``."""
    g.flow.inspection(inspection_id)
    return jsonify(g.flow.recommendations(inspection_id))


@bp.get("/checklists")
def applicable_checklists():
    """``GET /api/checklists?unit=<code>&date=YYYY-MM-DD&unit_kind=commune``: checklists
    that apply to a unit on a date (codes read in that date's era)."""
    on = parse_day(request.args.get("date"))
    station = current_app.extensions["fieldkit.field"].station
    found = station.checklists.applicable(unit=request.args.get("unit") or None,
                                          unit_kind=request.args.get("unit_kind") or None,
                                          as_of=on)
    return jsonify([checklist.summary() for checklist in found])


@bp.get("/units")
def units():
    """``GET /api/units?q=<name>&date=YYYY-MM-DD``: units whose name matches (either era's
    spelling, with or without diacritics), in force on the date."""
    station = current_app.extensions["fieldkit.field"].station
    found = station.units.search(request.args.get("q", ""),
                                 as_of=parse_day(request.args.get("date")), limit=20)
    return jsonify([unit.as_dict() for unit in found])
