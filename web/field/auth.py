"""Joining the station: ``/join?token=…`` opens a session; ``/logout`` ends one.

The team's token is in the QR code the lead shows (several tablets may use it until it
expires, 10 minutes by default); the lead's own token, printed once by ``serve``, opens one
session only. The session id travels in an HttpOnly, SameSite=Strict cookie; the session
itself (role, CSRF token, last activity) stays in the server's memory.

With a station PIN set (``fieldkit field pin set`` / ``serve --pin``), the lead's URL opens
a PIN form instead (``POST /join``); the right PIN turns the token into a lead session, and
``MAX_PIN_TRIES`` wrong ones burn the token.
"""

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from ..common.security import SESSION_COOKIE, device_label
from . import field_web
from .errors import refuse
from .helpers import notice, safe_next
from .pin import MAX_PIN_TRIES, stored_pin, verify_pin

bp = Blueprint("auth", __name__)


@bp.get("/join")
def join():
    """Trade a join token for a session, then go to the inspections list."""
    web = field_web()
    token = request.args.get("token", "")
    if web.tokens.peek(token) == "lead" and stored_pin(web.station.store):
        return _pin_form(token)
    role = web.tokens.redeem(token)
    if role is None:
        return refuse(401, "auth.bad_token")
    return _open_session(web, role)


@bp.post("/join")
def join_pin():
    """The lead's PIN form: the right PIN opens the lead session; wrong ones are counted."""
    web = field_web()
    token = request.form.get("token", "")
    pin_hash = stored_pin(web.station.store)
    if web.tokens.peek(token) != "lead" or not pin_hash:
        return refuse(401, "auth.bad_token")
    if not verify_pin(request.form.get("pin", ""), pin_hash):
        left = web.tokens.fail(token, MAX_PIN_TRIES)
        if left == 0:
            return refuse(401, "auth.pin_burnt")
        return _pin_form(token, left=left, status=401)
    if web.tokens.redeem(token) != "lead":  # used meanwhile by another request
        return refuse(401, "auth.bad_token")
    return _open_session(web, "lead")


def _pin_form(token, left=None, status=200):
    return render_template("pin.html", token=token, left=left), status


def _open_session(web, role):
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
