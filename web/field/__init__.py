"""The field station's web UI: one Flask app over one ``Station`` (one store, one lock).

``create_field_app(station)`` builds it; ``fieldkit field serve`` runs it (see ``serve.py``).
Blueprints: ``auth`` (joining by token), ``inspections`` (pages), ``api`` (JSON for the
page's autosave), ``admin`` (the team lead: sessions, join QR). Every request needs a
session opened by a join token, loopback included; every state change needs the session's
CSRF token.
"""

from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, g, request

from ..common.i18n import init_i18n
from ..common.security import (CSRF_FIELD, CSRF_HEADER, SECURITY_HEADERS, SESSION_COOKIE,
                               UNSAFE_METHODS, SessionTable, TokenBook, csrf_ok)
from .errors import refuse, register_error_handlers
from .helpers import take_notices

HERE = Path(__file__).parent
EXTENSION = "fieldkit.field"
# Endpoints a browser may reach without a session: the join link (and the lead's PIN form)
# and the app's own CSS/JS.
PUBLIC_ENDPOINTS = frozenset({"auth.join", "auth.join_pin", "auth.left", "static"})

DEFAULTS = {
    "MAX_CONTENT_LENGTH": 30 * 1024 * 1024,  # one request (a photo or a document)
    "SESSION_IDLE_SECONDS": 12 * 3600,       # a session ends after this long unused
    "JOIN_TOKEN_TTL": 10 * 60,               # the team's QR code is valid this long
    "LEAD_TOKEN_TTL": 60 * 60,               # the lead's one-time URL is valid this long
    "THUMBNAIL_SIZE": 320,
    "EVIDENCE_TYPES": ("image/jpeg", "image/png", "image/webp", "image/gif",
                       "application/pdf"),
    "JOIN_BASE_URL": None,                   # e.g. http://192.168.137.1:5000 (serve sets it)
    "CLOCK": None,                           # tests: a function returning epoch seconds
}


class FieldWeb:
    """What the app holds for its whole life: the station, join tokens, sessions."""

    def __init__(self, station, config):
        import time
        clock = config.get("CLOCK") or time.time
        self.station = station
        self.tokens = TokenBook(clock)
        self.sessions = SessionTable(config["SESSION_IDLE_SECONDS"], clock)
        self.config = config
        self.current_join = None  # (token, expires_at): shown to the lead as a QR code

    def issue_join_token(self):
        """A fresh team token (replacing older ones): several tablets may join with it."""
        self.tokens.revoke_role("member")
        token = self.tokens.issue("member", self.config["JOIN_TOKEN_TTL"], one_time=False)
        self.current_join = (token, self.tokens.expires_at(token))
        return token

    def issue_lead_token(self):
        """A one-time token that opens one team-lead session (printed by ``serve``)."""
        return self.tokens.issue("lead", self.config["LEAD_TOKEN_TTL"], one_time=True)


def field_web(app=None):
    from flask import current_app
    return (app or current_app).extensions[EXTENSION]


def create_field_app(station, test_config=None):
    """Build the field station's Flask app around an opened ``Station``."""
    # Paths given explicitly: Flask cannot find them itself under the editable install's
    # package mapping (and a field station has no instance folder to find).
    app = Flask(__name__, root_path=str(HERE), instance_path=str(HERE / "instance"),
                static_folder="static", template_folder="templates")
    app.config.update(DEFAULTS)
    if test_config:
        app.config.update(test_config)
    _open_station(station)
    app.extensions[EXTENSION] = FieldWeb(station, app.config)
    app.jinja_env.autoescape = True
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    init_i18n(app, HERE / "translations")

    from . import admin, api, auth, inspections, sync_views
    app.register_blueprint(auth.bp)
    app.register_blueprint(sync_views.bp)
    app.register_blueprint(inspections.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    register_error_handlers(app)
    app.before_request(_require_session)
    app.after_request(_security_headers)

    @app.context_processor
    def _session_context():
        session = getattr(g, "session", None)
        return {"session": session, "csrf_token": session.csrf if session else "",
                "csrf_field": CSRF_FIELD, "notices": take_notices, "lang_url": lang_url}

    app.add_template_filter(_clock, "clock")

    return app


def _open_station(station):
    """Open everything once, before the server's threads start sharing the station."""
    station.store  # noqa: B018 - cached properties: open the store, registries, blobs now
    station.units  # noqa: B018
    station.checklists  # noqa: B018
    station.blobs  # noqa: B018
    station.device_id  # noqa: B018


def _require_session():
    """No session, no access (loopback too); state changes also need the CSRF token."""
    web = field_web()
    g.session = web.sessions.touch(request.cookies.get(SESSION_COOKIE))
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if g.session is None:
        return refuse(401, "auth.required")
    if request.method in UNSAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
        if not csrf_ok(g.session, sent):
            return refuse(403, "auth.csrf")
    g.flow = web.station.workflow(author=g.session.name or
                                  f"{g.session.device} #{g.session.short_id}")
    return None


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _clock(epoch_seconds):
    """Local time of day and date, as people at the station read it: ``14:05 · 03/06``."""
    return datetime.fromtimestamp(epoch_seconds).strftime("%H:%M · %d/%m")


def lang_url(code):
    """This page's URL with ``lang=code`` (other query arguments kept)."""
    args = request.args.to_dict()
    args["lang"] = code
    return f"{request.path}?{urlencode(args)}"
