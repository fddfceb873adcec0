"""The inspectors' pages: the list, a new inspection, the fill page (one section at a time),
evidence, recommendations and the submit step. Forms work without JavaScript; with it, the
fill page saves each answer as it is entered (see ``api.py`` and ``static/field.js``)."""

import io
from datetime import date

from flask import (Blueprint, Response, current_app, g, redirect, render_template, request,
                   send_file, url_for)

from ...core.errors import ConflictError, FieldkitError, NotFound, UsageError, ValidationFailed
from ...forms.checklist import UNIT_KINDS
from ..common.i18n import localize_error, t
from .errors import status_of
from .helpers import inspection_page, notice, parse_day
from .saving import UNCHECKED, clear_answer, receive_upload, save_answer

bp = Blueprint("inspections", __name__)


def _station():
    return current_app.extensions["fieldkit.field"].station


@bp.get("/")
def index():
    """Every inspection at this station, newest first, with its progress."""
    rows = []
    for inspection in g.flow.inspections():
        try:
            progress = g.flow.progress(inspection["id"])
        except FieldkitError:
            progress = None
        rows.append({"inspection": inspection, "progress": progress})
    from ...sync.client import sync_status
    return render_template("inspections/list.html", rows=rows, sync=sync_status(_station()))


@bp.post("/sync")
def sync_now():
    """The Sync button (team lead): push to HQ and pull its news, then back to the list."""
    from ...sync.client import sync_station
    if not g.session.is_lead:
        notice("sync.lead_only")
    else:
        try:
            summary = sync_station(_station())
        except FieldkitError as exc:
            notice("sync.failed", reason=localize_error(str(exc)))
        else:
            notice("sync.done", pushed=summary["pushed"], pulled=summary["pulled"],
                   conflicts=summary["conflicts"], blobs=summary.get("blobs", 0))
    return redirect(url_for("inspections.index"))


# --- a new inspection ------------------------------------------------------------------




def _new_form_context(values):
    """Step 1 resolves the unit (by code, or candidates by name) and the checklists that
    apply to it on the date; step 2 (POST) creates the inspection."""
    context = {"values": values, "unit": None, "candidates": [], "checklists": [],
               "unit_kinds": UNIT_KINDS, "error": None}
    query = (values.get("unit") or "").strip()
    if not query:
        return context
    try:
        on = parse_day(values.get("date"))
        units = _station().units
        if query.isdigit():
            context["unit"] = units.get(query, as_of=on)
            kind = values.get("unit_kind") or context["unit"].level
            context["checklists"] = _station().checklists.applicable(
                unit=query, unit_kind=kind, as_of=on)
            if not context["checklists"]:
                context["error"] = t("new.no_checklist", kind=t(f"kind.{kind}"),
                                     date=on.isoformat())
        else:
            context["candidates"] = units.search(query, as_of=on, limit=15)
            if not context["candidates"]:
                context["error"] = t("new.no_unit", query=query)
    except FieldkitError as exc:
        context["error"] = localize_error(str(exc))
    return context


@bp.get("/inspections/new")
def new():
    values = {key: request.args.get(key, "") for key in ("unit", "date", "unit_kind")}
    values["date"] = values["date"] or date.today().isoformat()
    values["unit_kind"] = values["unit_kind"] or "commune"
    return render_template("inspections/new.html", **_new_form_context(values))


@bp.post("/inspections/new")
def create():
    form = request.form
    values = {key: form.get(key, "") for key in
              ("unit", "date", "unit_kind", "checklist", "team", "inspectors", "unit_name")}
    values["self_assessment"] = bool(form.get("self_assessment"))
    try:
        if not values["checklist"]:
            raise UsageError(t("new.pick_checklist"))
        checklist_id, _, version = values["checklist"].partition("@")
        inspectors = [name.strip() for line in values["inspectors"].splitlines()
                      for name in line.split(",") if name.strip()]
        doc = g.flow.new_inspection(
            values["unit"].strip(), values["unit_kind"], checklist_id,
            on=parse_day(values["date"]), self_assessment=values["self_assessment"],
            team=values["team"].strip() or None, inspectors=inspectors,
            unit_name=values["unit_name"].strip() or None, version=version or None)
    except FieldkitError as exc:
        context = _new_form_context(values)
        context["error"] = localize_error(str(exc))
        return render_template("inspections/new.html", **context), status_of(exc)
    notice("new.created")
    return redirect(url_for("inspections.fill", inspection_id=doc["id"]), code=303)


# --- the fill page -----------------------------------------------------------------------


def _render_fill(inspection_id, section_code=None, errors=None, status=200):
    page = inspection_page(g.flow, inspection_id)
    codes = [section["code"] for section in page["sections"]]
    if section_code not in codes:
        section_code = codes[0]
    current = page["sections"][codes.index(section_code)]
    return render_template("inspections/fill.html", **page, section=current,
                           errors=errors or {}), status


@bp.get("/inspections/<inspection_id>")
def fill(inspection_id):
    return _render_fill(inspection_id, request.args.get("section"))


@bp.post("/inspections/<inspection_id>/items/<code>")
def save_item(inspection_id, code):
    """The form fallback of autosave: save (or clear) one item, then back to its section."""
    form = request.form
    item = g.flow.checklist_of(g.flow.inspection(inspection_id)).item(code)
    expected = form.get("expected_rev", "") if "expected_rev" in form else UNCHECKED
    extras = {name: form.get(f"extra_{name}", "") for name in item.get("extras", [])}
    value = form.get("value", "")
    try:
        if form.get("action") == "clear" or (value == "" and item["answer"]["type"] != "photo"
                                             and not form.get("note")):
            clear_answer(g.flow, inspection_id, code, expected)
        else:
            save_answer(g.flow, inspection_id, code, value, extras=extras,
                        note=form.get("note"), expected_rev=expected)
    except ConflictError:
        current = g.flow.findings(inspection_id).get(code)
        message = t("conflict.item", code=code, value=current["value"] if current else "—")
        return _render_fill(inspection_id, item["section"], {code: message}, 409)
    except (ValidationFailed, UsageError, NotFound) as exc:
        return _render_fill(inspection_id, item["section"], {code: localize_error(str(exc))},
                            status_of(exc))
    notice("item.saved_code", code=code)
    return redirect(url_for("inspections.fill", inspection_id=inspection_id,
                            section=item["section"], _anchor=f"item-{code}"), code=303)


# --- evidence ----------------------------------------------------------------------------


@bp.get("/inspections/<inspection_id>/evidence")
def evidence(inspection_id):
    page = inspection_page(g.flow, inspection_id)
    return render_template("inspections/evidence.html", **page)


@bp.post("/inspections/<inspection_id>/evidence")
def upload_evidence(inspection_id):
    item_code = request.form.get("item") or None
    _, _, problem = receive_upload(g.flow, inspection_id, request.files.get("file"),
                                   item_code, request.form.get("caption"))
    if problem is not None:
        notice("upload.not_linked", reason=localize_error(str(problem)))
    else:
        notice("upload.saved")
    if item_code:
        section = g.flow.checklist_of(g.flow.inspection(inspection_id)).item(item_code)
        return redirect(url_for("inspections.fill", inspection_id=inspection_id,
                                section=section["section"], _anchor=f"item-{item_code}"),
                        code=303)
    return redirect(url_for("inspections.evidence", inspection_id=inspection_id), code=303)


def _evidence_doc(inspection_id, evidence_id):
    doc = g.flow.store.get(evidence_id)
    if (doc is None or doc.get("type") != "evidence" or doc.get("deleted")
            or doc.get("inspection_id") != inspection_id):
        raise NotFound(t("evidence.not_found", id=evidence_id))
    return doc


@bp.get("/inspections/<inspection_id>/evidence/<evidence_id>/thumbnail")
def evidence_thumbnail(inspection_id, evidence_id):
    """A small JPEG of a photo, made from the blob store (content-addressed: cacheable)."""
    doc = _evidence_doc(inspection_id, evidence_id)
    if not str(doc.get("media_type", "")).startswith("image/"):
        raise NotFound(t("evidence.no_thumbnail"))
    data = _station().blobs.thumbnail(doc["sha256"], current_app.config["THUMBNAIL_SIZE"])
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    return response


@bp.get("/inspections/<inspection_id>/evidence/<evidence_id>/file")
def evidence_file(inspection_id, evidence_id):
    """The original file; anything but an image is a download, never shown inline."""
    doc = _evidence_doc(inspection_id, evidence_id)
    blobs = _station().blobs
    media_type = doc.get("media_type") or "application/octet-stream"
    is_image = media_type.startswith("image/")
    return send_file(io.BytesIO(blobs.get(doc["sha256"])), mimetype=media_type,
                     as_attachment=not is_image,
                     download_name=doc.get("filename") or f"{doc['sha256'][:12]}",
                     max_age=86400)


# --- recommendations and submission ------------------------------------------------------


@bp.get("/inspections/<inspection_id>/recommendations")
def recommendations(inspection_id, error=None, values=None, status=200):
    page = inspection_page(g.flow, inspection_id)
    return render_template("inspections/recommendations.html", **page,
                           recommendations=g.flow.recommendations(inspection_id),
                           error=error, values=values or {}), status


@bp.post("/inspections/<inspection_id>/recommendations")
def add_recommendation(inspection_id):
    form = request.form
    values = {key: form.get(key, "").strip() for key in ("text", "responsible", "due")}
    try:
        g.flow.add_recommendation(inspection_id, values["text"],
                                  responsible=values["responsible"] or None,
                                  due=values["due"] or None)
    except (ValidationFailed, UsageError) as exc:
        return recommendations(inspection_id, error=localize_error(str(exc)), values=values,
                               status=status_of(exc))
    notice("rec.added")
    return redirect(url_for("inspections.recommendations", inspection_id=inspection_id),
                    code=303)


@bp.get("/inspections/<inspection_id>/submit")
def submit_step(inspection_id, refused=False, status=200):
    page = inspection_page(g.flow, inspection_id)
    section_of = {item["code"]: item["section"] for item in page["checklist"].items}
    return render_template("inspections/submit.html", **page, section_of=section_of,
                           recommendations=g.flow.recommendations(inspection_id),
                           refused=refused), status


@bp.post("/inspections/<inspection_id>/submit")
def submit(inspection_id):
    try:
        g.flow.submit(inspection_id)
    except ValidationFailed:
        return submit_step(inspection_id, refused=True, status=422)
    notice("submit.done")
    return redirect(url_for("inspections.submit_step", inspection_id=inspection_id), code=303)
