"""Errors as HTTP answers: ``FieldkitError`` subclasses map to status codes, and every
refusal is a JSON body under ``/api/`` and a page elsewhere, in the user's language."""

from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from ...core.errors import (AuthError, ConflictError, FieldkitError, NotFound, StoreError,
                            UsageError, ValidationFailed)
from ..common.i18n import localize_error, t

STATUS_BY_ERROR = (  # first match wins: subclasses before their parents
    (ConflictError, 409),
    (ValidationFailed, 422),  # AnswerError too
    (NotFound, 404),
    (UsageError, 400),
    (AuthError, 403),
    (StoreError, 503),
    (FieldkitError, 400),
)
HTTP_MESSAGES = {400: "http.400", 401: "auth.required", 403: "http.403", 404: "http.404",
                 405: "http.405", 413: "http.413", 415: "http.415", 500: "http.500"}


def status_of(error):
    for error_class, status in STATUS_BY_ERROR:
        if isinstance(error, error_class):
            return status
    return 500


def wants_json():
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json")


def error_body(error):
    """The JSON body of a refused request: a sentence for the user, and the details."""
    body = {"error": localize_error(str(error)), "status": status_of(error)}
    messages = getattr(error, "messages", None)
    if messages:
        body["messages"] = messages
    return body


def refuse(status, key, **params):
    """A refusal with a translated message: JSON under /api/, a page elsewhere."""
    message = t(key, **params)
    if wants_json():
        return jsonify({"error": message, "status": status}), status
    return render_template("error.html", status=status, message=message), status


def register_error_handlers(app):
    @app.errorhandler(FieldkitError)
    def _fieldkit_error(error):
        status = status_of(error)
        if wants_json():
            return jsonify(error_body(error)), status
        return render_template("error.html", status=status,
                               message=localize_error(str(error))), status

    @app.errorhandler(HTTPException)
    def _http_error(error):
        key = HTTP_MESSAGES.get(error.code)
        if key is None:
            return error
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        return refuse(error.code, key, limit=f"{limit / 1024 / 1024:g}")
