"""The field UI's Sync button, as JSON under ``/api/sync`` (owned by the sync layer).

Register in ``create_field_app``::

    from . import sync_views
    app.register_blueprint(sync_views.bp)

``GET /api/sync/status`` → ``{enrolled, hq_url, device_id, team, scope, last_sync,
pending}``; ``POST /api/sync`` (team lead; CSRF header as for every POST) runs a sync and
answers ``{pushed, pulled, conflicts, blobs, rejected, last_sync, pending, …}``. Errors
(HQ unreachable, token revoked) come back through the app's error handlers as one sentence.
"""

from flask import Blueprint, g, jsonify

bp = Blueprint("sync", __name__, url_prefix="/api/sync")


def _station():
    from . import field_web
    return field_web().station


@bp.get("/status")
def status():
    from ...sync.client import sync_status
    return jsonify(sync_status(_station()))


@bp.post("")
def run_sync():
    from ...core.errors import AuthError
    from ...sync.client import sync_station
    session = getattr(g, "session", None)
    if session is None or not session.is_lead:
        raise AuthError("Only the team lead can sync with headquarters.")
    return jsonify(sync_station(_station()))
