"""The HQ review UI (Vietnamese, server-rendered, every asset local): sign-in, received
inspections, one inspection's findings with the review form, devices and enrollment codes,
conflicts, user accounts.

Sign-in: a user name and password at ``/login`` (accounts in ``accounts.py``). The signed
link of ``fieldkit hq login-url`` is only a one-time bootstrap: it works while HQ has no
enabled administrator, and gives a session whose purpose is to create the first one.

The session is a signed cookie (key from the database, so every worker accepts it) holding
the user's id, the user's session generation (checked against the database on each
request: "log out everywhere"), the sign-in time and the last activity (idle and absolute
limits) and the CSRF token. ``load_session`` runs before every UI request: it checks the
session and the CSRF token of every POST. ``signed_in`` guards the pages (and the reports
blueprint, which finds it in ``app.extensions``); ``admin_only`` the administration.
Province scopes: a user sees only inspections (findings, evidence, reports, conflicts) of
its provinces; anything else is answered 404, as if it did not exist.
"""

import re
import secrets
import time
from functools import wraps
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import (Blueprint, abort, current_app, g, redirect, render_template, request,
                   send_file, session, url_for)
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ...core.errors import FieldkitError, NotFound
from ...sync import audit, enrollment, review
from . import accounts, hq_context

ui = Blueprint("ui", __name__)
LOGIN_MAX_AGE = 24 * 3600
IDLE_SECONDS = 2 * 3600           # a session unused this long ends
ABSOLUTE_SECONDS = 12 * 3600      # and every session ends this long after sign-in
UI_MAX_BYTES = 1024 * 1024        # a form post (file uploads have their own limit)
UPLOAD_ENDPOINTS = {"reports.verify_file": 30 * 1024 * 1024}
# POSTs that need no session and no CSRF token: public, and they change nothing.
CSRF_EXEMPT = frozenset({"reports.verify_file"})
SCOPED_REPORTS = frozenset({"reports.dashboard", "reports.summary_report", "reports.export"})
STATUS_LABELS = {"draft": "Nháp", "submitted": "Đã nộp", "resubmitted": "Nộp lại",
                 "approved": "Đã duyệt", "returned": "Trả lại"}
ROLE_LABELS = {"admin": "Quản trị", "reviewer": "Người duyệt", "viewer": "Người xem"}
BOOTSTRAP = accounts.User("bootstrap", "bootstrap", "admin")
_SHA256 = re.compile(r"[0-9a-f]{64}")


# --- the bootstrap link ---------------------------------------------------------------------

def login_serializer(secret):
    return URLSafeTimedSerializer(secret, salt="fieldkit-hq-login")


def login_token(secret):
    """A one-time bootstrap sign-in token (valid ``LOGIN_MAX_AGE`` seconds, and only while
    HQ has no enabled administrator)."""
    return login_serializer(secret).dumps({"nonce": secrets.token_hex(8)})


def _redeem_login_token(store, token):
    """True when the token is genuine, fresh and unused (then it is used up)."""
    try:
        data = login_serializer(current_app.config["SECRET_KEY"]).loads(
            token, max_age=LOGIN_MAX_AGE)
    except BadSignature:
        return False
    key = f"hq.login_link_used:{str(data.get('nonce'))[:32]}"
    with store.transaction():
        if store.get_meta(key) is not None:
            return False
        store.set_meta(key, enrollment.iso(enrollment.utcnow()))
    return True


# --- sessions -------------------------------------------------------------------------------

def _csrf():
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def client_ip():
    return request.remote_addr


def _session_user(store):
    """The user of this request's session, or None (ending a stale session)."""
    now = time.time()
    started, seen = session.get("at", 0), session.get("seen", 0)
    if not (session.get("uid") or session.get("bootstrap")):
        return None
    if now - started > ABSOLUTE_SECONDS or now - seen > IDLE_SECONDS:
        session.clear()
        return None
    if session.get("bootstrap"):
        user = None if accounts.has_admin(store) else BOOTSTRAP
    else:
        user = accounts.find_user(store, session["uid"])
        if user is None or user.disabled or user.session_generation != session.get("gen"):
            user = None
    if user is None:
        session.clear()
        return None
    if now - seen > 60:
        session["seen"] = int(now)
    return user


def load_session():
    """Before every request of the UI (not the device API): the signed-in user, the audit
    actor, the body size limit, and the CSRF token of every POST."""
    endpoint = request.endpoint or ""
    g.user = None
    if endpoint.startswith("api.") or endpoint == "static":
        return None
    request.max_content_length = UPLOAD_ENDPOINTS.get(endpoint, UI_MAX_BYTES)
    g.user = _session_user(hq_context().store)
    g.audit_token = audit.set_actor(
        audit.Actor("user", g.user.name, ip=client_ip()) if g.user
        else audit.Actor("anonymous", None, ip=client_ip()))
    if request.method not in ("GET", "HEAD", "OPTIONS") and endpoint not in CSRF_EXEMPT:
        sent = request.form.get("csrf_token", "")
        if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
            abort(400, "Phiên làm việc đã hết hạn; tải lại trang và thử lại.")
    return None


def end_request(_exc=None):
    token = g.pop("audit_token", None)
    if token is not None:
        audit.reset_actor(token)


def _start_session(user=None, bootstrap=False):
    session.clear()
    now = int(time.time())
    session.update(at=now, seen=now, csrf=secrets.token_urlsafe(24))
    if bootstrap:
        session["bootstrap"] = True
    else:
        session.update(uid=user.id, gen=user.session_generation)
    session.permanent = True


# --- guards ---------------------------------------------------------------------------------

def _login_page(status=401, **context):
    return render_template("hq/login.html", bootstrap=_bootstrap_open(), **context), status


def _bootstrap_open():
    return not accounts.has_admin(hq_context().store)


def denied(status=403, what=None):
    """Refuse (403: not allowed for this role; 404: outside the user's provinces)."""
    audit.record(hq_context().store, "access.denied", None, what or request.path[:200],
                 str(status), {"endpoint": request.endpoint, "method": request.method})
    if status == 404:
        abort(404, "Không tìm thấy.")
    abort(403, "Tài khoản này không được phép làm việc này.")


def signed_in(view):
    """Guard a view: a signed-in user (401 with the sign-in form otherwise). For the reports
    blueprint's routes it also applies the user's province scope."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if getattr(g, "user", None) is None:
            return _login_page()
        if (request.endpoint or "").startswith("reports."):
            refused = _reports_scope(g.user)
            if refused is not None:
                return refused
        return view(*args, **kwargs)
    return wrapper


def admin_only(view):
    @signed_in
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not g.user.is_admin:
            denied(403)
        return view(*args, **kwargs)
    return wrapper


def _reports_scope(user):
    if request.endpoint == "reports.inspection_report":
        _scoped_inspection(user, request.view_args.get("inspection_id"))
        return None
    if request.endpoint in SCOPED_REPORTS and user.provinces is not None:
        wanted = (request.args.get("province") or "").strip()
        if not wanted:  # a scoped user sees its own provinces' figures only
            args = {**request.args.to_dict(), "province": user.provinces[0]}
            return redirect(f"{request.path}?{urlencode(args)}")
        if wanted.zfill(2) not in user.provinces:
            denied(403)
    return None


def _scoped_inspection(user, inspection_id, for_review=False):
    """The inspection if ``user`` may see it (404 otherwise; 403 to review without right)."""
    doc = hq_context().store.get(inspection_id) if isinstance(inspection_id, str) else None
    if doc is None or doc.get("type") != "inspection":
        abort(404, "Không tìm thấy cuộc kiểm tra.")
    if not user.sees(doc.get("province_code")):
        denied(404, inspection_id)
    if for_review and not user.may_review(doc.get("province_code")):
        denied(403, inspection_id)
    return doc


@ui.app_context_processor
def _template_globals():
    return {"csrf_token": _csrf, "status_label": lambda s: STATUS_LABELS.get(s, s or ""),
            "role_label": lambda r: ROLE_LABELS.get(r, r or ""),
            "current_user": getattr(g, "user", None),
            "has_reports": "reports" in current_app.blueprints}


# --- signing in and out ---------------------------------------------------------------------

@ui.get("/login")
def login():
    token = request.args.get("token")
    if token is None:
        return _login_page(200)
    store = hq_context().store
    if not _bootstrap_open() or not _redeem_login_token(store, token):
        audit.record(store, "login.bootstrap", None, None, "refused")
        return _login_page(refused=True)
    _start_session(bootstrap=True)
    audit.record(store, "login.bootstrap", None, None, "ok")
    return redirect(url_for("ui.inspections"))


@ui.post("/login")
def login_submit():
    store = hq_context().store
    try:
        user = accounts.login(store, request.form.get("name", ""),
                              request.form.get("password", ""), ip=client_ip())
    except accounts.LoginRefused as exc:
        return _login_page(exc.status, error=str(exc), name=request.form.get("name", "")[:64])
    _start_session(user)
    return redirect(url_for("ui.inspections"), code=303)


@ui.post("/logout")
@signed_in
def logout():
    audit.record(hq_context().store, "logout", "user", g.user.name, "ok")
    session.clear()
    return _login_page(200, left=True)


@ui.post("/logout/everywhere")
@signed_in
def logout_everywhere():
    if g.user is not BOOTSTRAP:
        accounts.end_sessions(hq_context().store, g.user.name)
    session.clear()
    return _login_page(200, left=True)


# --- inspections ----------------------------------------------------------------------------

@ui.get("/")
@signed_in
def home():
    return redirect(url_for("ui.inspections"))


@ui.get("/inspections")
@signed_in
def inspections():
    status = request.args.get("status", "received")
    rows = review.list_inspections(hq_context().store, None if status == "all" else status)
    rows = [r for r in rows if g.user.sees(r.get("province_code"))]
    return render_template("hq/inspections.html", rows=rows, status=status)


@ui.get("/inspections/<inspection_id>")
@signed_in
def inspection(inspection_id):
    _scoped_inspection(g.user, inspection_id)
    details = review.inspection_details(hq_context().store, inspection_id)
    return render_template("hq/inspection.html", d=details, error=None,
                           may_review=g.user.may_review(details["inspection"].get(
                               "province_code")))


@ui.post("/inspections/<inspection_id>/review")
@signed_in
def inspection_review(inspection_id):
    _scoped_inspection(g.user, inspection_id, for_review=True)
    store = hq_context().store
    try:  # the reviewer is the signed-in account, never a name typed in the form
        review.review_inspection(store, inspection_id, request.form.get("decision", ""),
                                 comment=request.form.get("comment"), reviewer=g.user.name)
    except FieldkitError as exc:
        details = review.inspection_details(store, inspection_id)
        return render_template("hq/inspection.html", d=details, error=str(exc),
                               may_review=True), 400
    return redirect(url_for("ui.inspection", inspection_id=inspection_id))


def evidence_provinces(store, sha256):
    """Province codes of the evidence documents naming this file."""
    from ...core.store.sql import documents
    with store.connection() as connection:
        rows = connection.execute(sa.select(documents.c.province_code).where(
            documents.c.type == "evidence",
            documents.c.body["sha256"].as_string() == sha256)).all()
    return {row.province_code for row in rows}


@ui.get("/evidence/<sha256>")
@signed_in
def evidence(sha256):
    if not _SHA256.fullmatch(sha256):
        abort(404)
    hq = hq_context()
    if not any(g.user.sees(code) for code in evidence_provinces(hq.store, sha256)):
        denied(404, sha256)
    try:
        info = hq.blobs.info(sha256)
        response = send_file(hq.blobs.path(sha256), mimetype=info.media_type)
    except FieldkitError:
        abort(404)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = "inline"
    return response


# --- devices (administrators) ---------------------------------------------------------------

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
@admin_only
def devices():
    return _devices_page()


@ui.post("/devices/codes")
@admin_only
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
@admin_only
def revoke(device_id):
    try:
        enrollment.revoke_device(hq_context().store, device_id)
    except FieldkitError as exc:
        return _devices_page(error=str(exc), status=404)
    return redirect(url_for("ui.devices"))


# --- conflicts ------------------------------------------------------------------------------

def _conflict_province(row):
    doc = row.get("current") or (row.get("versions") or [{}])[0]
    return doc.get("province_code")


@ui.get("/conflicts")
@signed_in
def conflicts():
    rows = [r for r in review.list_conflicts(hq_context().store)
            if g.user.sees(_conflict_province(r))]
    return render_template("hq/conflicts.html", rows=rows,
                           may_review=g.user.role in ("admin", "reviewer"))


@ui.post("/conflicts/<doc_id>/resolve")
@signed_in
def resolve(doc_id):
    store = hq_context().store
    doc = store.get(doc_id) or (store.conflicts(doc_id) or [None])[0]
    if doc is None or not g.user.sees(doc.get("province_code")):
        denied(404, doc_id)
    if not g.user.may_review(doc.get("province_code")):
        denied(403, doc_id)
    try:
        review.resolve_conflict(store, doc_id)
    except NotFound:
        abort(404)
    return redirect(url_for("ui.conflicts"))


# --- user accounts (administrators) ---------------------------------------------------------

def _users_page(error=None, status=200, added=None):
    hq = hq_context()
    return render_template("hq/users.html", users=accounts.list_users(hq.store),
                           provinces=hq.units.list(level="province", era="current"),
                           roles=accounts.ROLES, error=error, added=added), status


@ui.get("/users")
@admin_only
def users():
    return _users_page()


@ui.post("/users")
@admin_only
def user_add():
    hq = hq_context()
    form = request.form
    try:
        user = accounts.add_user(hq.store, hq.units, form.get("name"), form.get("role"),
                                 form.get("password") or "",
                                 provinces=form.getlist("province") or None)
    except FieldkitError as exc:
        return _users_page(error=str(exc), status=400)
    if g.user is BOOTSTRAP and user.is_admin:  # the bootstrap session has done its job
        session.clear()
        return _login_page(200, created=user.name)
    return _users_page(added=user.name)


@ui.post("/users/<name>/disable")
@admin_only
def user_disable(name):
    try:
        accounts.disable_user(hq_context().store, name)
    except FieldkitError as exc:
        return _users_page(error=str(exc), status=404)
    return redirect(url_for("ui.users"))
