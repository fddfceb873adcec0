"""The headquarters web app: the sync API under ``/api/v1/`` and a small review UI.

``create_hq_app(config)`` builds it. Nothing that matters lives in the process: documents,
devices, codes and the session secret are in the database, evidence files in the blob
directory, so any number of worker processes can serve one HQ (see ``wsgi.py``).

config keys: ``db`` (database URL, required unless ``store`` is given), ``blobs`` (blob
directory; default: beside an SQLite file), ``public_url`` (the address devices use; put
into enrollment codes), ``secret_key`` (UI sessions; default: HQ's secret in the database),
``store`` (an open ``SQLStore``, tests), ``publish_checklists`` (default True),
``plugins_dir``, ``secure_cookies`` (send the session cookie only over HTTPS; default: when
``public_url`` starts with ``https://``), ``proxy_hops`` (how many reverse proxies in front
whose ``X-Forwarded-For``/``-Proto``/``-Host`` to believe; default 0).

Security (docs/security.md): the UI needs an account (``accounts.py``, ``ui.py``), the API a
device token (``api.py``); every POST of the UI carries the session's CSRF token; every
change and decision goes to the audit log (``sync/audit.py``).
"""

from datetime import timedelta
from functools import cached_property
from pathlib import Path

from flask import Flask, request

from ...core.registries import Registries

from ..common.security import SECURITY_HEADERS

HERE = Path(__file__).parent
EXTENSION = "fieldkit.hq"


class HQContext(Registries):
    """What every request of this process reaches: the store, the blobs, the registries."""

    def __init__(self, config):
        super().__init__(plugins_dir=config.get("plugins_dir"))
        self.config = config
        self._store = config.get("store")

    @cached_property
    def store(self):
        if self._store is not None:
            return self._store
        from ...core.store.sql import SQLStore
        return SQLStore(self.config["db"])

    @cached_property
    def blobs(self):
        from ...core.store.blobs import BlobStore
        from ...sync.paths import blob_dir
        return BlobStore(self.config.get("blobs") or blob_dir(self.config.get("db")))

    @property
    def public_url(self):
        from ...sync.paths import PUBLIC_URL_META
        return self.config.get("public_url") or self.store.get_meta(PUBLIC_URL_META)


def create_hq_app(config=None):
    """The HQ Flask app for ``config`` (a dict; see the module docstring)."""
    from ...sync.enrollment import hq_secret
    from ...sync.protocol import MAX_BLOB_BYTES
    from ...sync.server import publish_checklists, seed_campaign
    from . import audit as audit_views
    from .api import api
    from .ui import end_request, load_session, ui

    config = dict(config or {})
    # Paths given explicitly: Flask cannot find the package of an editable, mapped install.
    app = Flask(__name__, root_path=str(HERE), instance_path=str(HERE / "instance"),
                template_folder="templates", static_folder="static",
                static_url_path="/static/hq")
    hq = HQContext(config)
    app.extensions[EXTENSION] = hq
    secure = config.get("secure_cookies")
    if secure is None:
        secure = str(config.get("public_url") or "").startswith("https://")
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BLOB_BYTES + 1024 * 1024,
        SECRET_KEY=config.get("secret_key") or hq_secret(hq.store).decode(),
        # "__Host-": the browser keeps it only if Secure, for this host, path "/".
        SESSION_COOKIE_NAME="__Host-fk_hq_session" if secure else "fk_hq_session",
        SESSION_COOKIE_SECURE=bool(secure),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        JSON_AS_ASCII=False,
    )
    hops = int(config.get("proxy_hops") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.json.ensure_ascii = False
    if config.get("publish_checklists", True):
        seed_campaign(hq.store)
        publish_checklists(hq.store, hq.checklists)
    app.before_request(load_session)
    app.teardown_request(end_request)
    app.register_blueprint(api)
    app.register_blueprint(ui)
    app.register_blueprint(audit_views.bp)
    _register_reports(app)

    @app.after_request
    def _headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    return app


def _register_reports(app):
    """The reports and dashboard blueprint (``reports.py``, built by the reporting layer),
    when this install has it; it finds the store and blobs through ``HQContext``, and guards
    its routes with the UI's ``signed_in`` (sign-in and province scope)."""
    try:
        from . import reports
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("fieldkit."):
            return
        raise
    from .ui import signed_in
    reports.init_app(app, login_required=signed_in)


def hq_context(app=None):
    from flask import current_app
    return (app or current_app).extensions[EXTENSION]
