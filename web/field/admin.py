"""The team lead's pages: who is connected (end any session) and the join QR code.

Only a ``lead`` session (opened with the one-time URL ``serve`` prints) may use them.
"""

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from ..common.security import SESSION_COOKIE
from . import field_web
from .errors import refuse
from .helpers import notice
from .qr import base_url, join_url, qr_svg

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _lead_only():
    if not g.session.is_lead:
        return refuse(403, "admin.lead_only")
    return None


@bp.get("/sessions")
def sessions():
    web = field_web()
    return render_template("admin/sessions.html", sessions=web.sessions.active(),
                           idle_timeout=web.sessions.idle_timeout)


@bp.post("/sessions/<session_id>/end")
def end_session(session_id):
    ended = field_web().sessions.end(session_id)
    notice("admin.ended" if ended else "admin.not_found")
    if ended is not None and ended.id == g.session.id:
        response = redirect(url_for("auth.left"), code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response
    return redirect(url_for("admin.sessions"), code=303)


@bp.get("/join")
def join_code():
    """The current team join link as a QR code, with its expiry."""
    web = field_web()
    current = web.current_join
    url = svg = None
    if current and current[1] > web.tokens.clock():
        base = base_url(current_app.config["JOIN_BASE_URL"], request.host_url)
        url = join_url(base, current[0])
        svg = qr_svg(url)
    return render_template("admin/join.html", url=url, svg=svg,
                           expires_at=current[1] if url else None,
                           ttl_minutes=round(current_app.config["JOIN_TOKEN_TTL"] / 60))


@bp.post("/join")
def new_join_code():
    """A fresh team token; the previous QR code stops working."""
    field_web().issue_join_token()
    notice("admin.new_code")
    return redirect(url_for("admin.join_code"), code=303)
