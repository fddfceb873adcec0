"""Joining the station: ``/join?token=…`` opens a session; ``/logout`` ends one.

The team's token is in the QR code the lead shows (several tablets may use it until it
expires, 10 minutes by default); the lead's own token, printed once by ``serve``, opens one
session only. The session id travels in an HttpOnly, SameSite=Strict cookie; the session
itself (role, CSRF token, last activity) stays in the server's memory.
"""

from flask import Blueprint, current_app, g, redirect, request, url_for

from ..common.security import SESSION_COOKIE, device_label
from . import field_web
from .errors import refuse
from .helpers import notice, safe_next

bp = Blueprint("auth", __name__)


@bp.get("/join")
def join():
    """Trade a join token for a session, then go to the inspections list."""
    web = field_web()
    role = web.tokens.redeem(request.args.get("token", ""))
    if role is None:
        return refuse(401, "auth.bad_token")
    if g.session is not None:  # a browser joining again: replace its old session
        web.sessions.end(g.session.id)
    session = web.sessions.open(role, device_label(request.headers.get("User-Agent")))
    g.session = session
    notice("auth.joined_lead" if session.is_lead else "auth.joined")
    response = redirect(url_for("inspections.index"), code=303)
    response.set_cookie(SESSION_COOKIE, session.id, httponly=True, samesite="Strict",
                        max_age=int(current_app.config["SESSION_IDLE_SECONDS"]),
                        secure=request.is_secure)
    return response


@bp.post("/logout")
def logout():
    field_web().sessions.end(g.session.id)
    response = redirect(url_for("auth.left"), code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@bp.get("/left")
def left():
    """Where a browser lands after leaving (it has no session any more: a 401 page)."""
    return refuse(401, "auth.left")


@bp.post("/me")
def set_name():
    """The inspector's name, recorded as the author of what this session saves."""
    name = " ".join((request.form.get("name") or "").split())[:80]
    g.session.name = name or None
    notice("me.saved")
    return redirect(safe_next(request.form.get("next")), code=303)
