"""The HQ review UI (Vietnamese, server-rendered, every asset local): received inspections,
one inspection's findings with the review form, devices and enrollment codes, conflicts.

Sign-in is a signed link printed by ``fieldkit hq serve`` or ``fieldkit hq login-url`` (valid
24 hours); the session is a signed cookie (key from the database), so every worker process
accepts it. Every form carries the session's CSRF token.
"""

import secrets
from functools import wraps

from flask import (Blueprint, abort, redirect, render_template, request, send_file, session,
                   url_for)
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ...core.errors import FieldkitError
from ...sync import enrollment, review
from . import hq_context

ui = Blueprint("ui", __name__)
LOGIN_MAX_AGE = 24 * 3600
STATUS_LABELS = {"draft": "Nháp", "submitted": "Đã nộp", "resubmitted": "Nộp lại",
                 "approved": "Đã duyệt", "returned": "Trả lại"}


def login_serializer(secret):
    return URLSafeTimedSerializer(secret, salt="fieldkit-hq-login")


def login_token(secret):
    """A sign-in token for the HQ UI (valid ``LOGIN_MAX_AGE`` seconds)."""
    return login_serializer(secret).dumps({"nonce": secrets.token_hex(8)})


def _csrf():
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def signed_in(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not session.get("hq_admin"):
            return render_template("hq/login.html"), 401
        if request.method == "POST":
            sent = request.form.get("csrf_token", "")
            if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
                abort(400, "Phiên làm việc đã hết hạn; tải lại trang và thử lại.")
        return view(*args, **kwargs)
    return wrapper


@ui.app_context_processor
def _template_globals():
    from flask import current_app
    return {"csrf_token": _csrf, "status_label": lambda s: STATUS_LABELS.get(s, s or ""),
            "has_reports": "reports" in current_app.blueprints}


@ui.get("/login")
def login():
    from flask import current_app
    token = request.args.get("token", "")
    try:
        login_serializer(current_app.config["SECRET_KEY"]).loads(token, max_age=LOGIN_MAX_AGE)
    except BadSignature:
        return render_template("hq/login.html", refused=True), 401
    session.clear()
    session["hq_admin"] = True
    session.permanent = False
    return redirect(url_for("ui.inspections"))


@ui.post("/logout")
@signed_in
def logout():
    session.clear()
    return render_template("hq/login.html", left=True)


@ui.get("/")
@signed_in
def home():
    return redirect(url_for("ui.inspections"))


@ui.get("/inspections")
@signed_in
def inspections():
    status = request.args.get("status", "received")
    rows = review.list_inspections(hq_context().store, None if status == "all" else status)
    return render_template("hq/inspections.html", rows=rows, status=status)


@ui.get("/inspections/<inspection_id>")
@signed_in
def inspection(inspection_id):
    details = review.inspection_details(hq_context().store, inspection_id)
    return render_template("hq/inspection.html", d=details, error=None)


@ui.post("/inspections/<inspection_id>/review")
@signed_in
def inspection_review(inspection_id):
    store = hq_context().store
    decision = request.form.get("decision", "")
    try:
        review.review_inspection(store, inspection_id, decision,
                                 comment=request.form.get("comment"),
                                 reviewer=request.form.get("reviewer") or "HQ")
    except FieldkitError as exc:
        details = review.inspection_details(store, inspection_id)
        return render_template("hq/inspection.html", d=details, error=str(exc)), 400
    return redirect(url_for("ui.inspection", inspection_id=inspection_id))


@ui.get("/evidence/<sha256>")
@signed_in
def evidence(sha256):
    blobs = hq_context().blobs
    try:
        info = blobs.info(sha256)
        return send_file(blobs.path(sha256), mimetype=info.media_type)
    except FieldkitError:
        abort(404)


def _devices_page(issued=None, error=None, status=200):
    hq = hq_context()
    provinces = [u for u in hq.units.list(level="province", era="current")]
    campaigns = [c for c in hq.store.find("campaign") if not c.get("deleted")]
    return render_template("hq/devices.html",
                           devices=[d.summary() for d in enrollment.list_devices(hq.store)],
                           codes=enrollment.list_codes(hq.store), issued=issued, error=error,
                           provinces=provinces, campaigns=campaigns,
                           public_url=hq.public_url or request.host_url.rstrip("/")), status


@ui.get("/devices")
@signed_in
def devices():
    return _devices_page()


@ui.post("/devices/codes")
@signed_in
def issue_code():
    hq = hq_context()
    form = request.form
    try:
        issued = enrollment.issue_code(
            hq.store, hq.units, form.get("team"), form.getlist("province"),
            campaign_id=form.get("campaign") or None,
            expires=enrollment.parse_duration(form.get("expires") or "24h"),
            hq_url=(form.get("url") or hq.public_url or request.host_url).rstrip("/"))
    except FieldkitError as exc:
        return _devices_page(error=str(exc), status=400)
    issued["qr_svg"] = enrollment.qr_svg(issued["code"])
    return _devices_page(issued=issued)


@ui.post("/devices/<device_id>/revoke")
@signed_in
def revoke(device_id):
    try:
        enrollment.revoke_device(hq_context().store, device_id)
    except FieldkitError as exc:
        return _devices_page(error=str(exc), status=404)
    return redirect(url_for("ui.devices"))


@ui.get("/conflicts")
@signed_in
def conflicts():
    return render_template("hq/conflicts.html", rows=review.list_conflicts(hq_context().store))


@ui.post("/conflicts/<doc_id>/resolve")
@signed_in
def resolve(doc_id):
    try:
        review.resolve_conflict(hq_context().store, doc_id)
    except FieldkitError:
        abort(404)
    return redirect(url_for("ui.conflicts"))
