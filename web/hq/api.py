"""The sync API (``/api/v1/``, JSON), described by ``openapi.py``; the protocol is in
docs/sync.md. Every route but ``enroll`` and ``openapi.json`` needs ``Authorization: Bearer
<device token>``; a revoked or unknown token gets 401 everywhere."""

import json

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ...core.errors import (AuthError, FieldkitError, NotFound, StoreError, SyncError,
                            UsageError, ValidationFailed)
from ...sync import audit, enrollment, server
from ...sync.protocol import (BATCH_SIZE, MAX_BATCH_DOCS, MAX_BLOB_BYTES, MAX_JSON_BYTES,
                              PROTOCOL_VERSION, check_wire_document)
from . import hq_context
from .openapi import openapi_document

api = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_JSON_DEPTH = 64   # deeper JSON is refused (400): no document needs it


class BadRequest(FieldkitError):
    status = 400


def _error(status, message, code):
    response = jsonify({"error": message, "code": code})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fieldkit-hq"'
    return response


@api.errorhandler(FieldkitError)
def _fieldkit_error(exc):
    if isinstance(exc, AuthError):
        if request.endpoint == "api.enroll":
            return _error(403, str(exc), "enrollment_refused")
        return _error(401, str(exc), "unauthorized")
    if isinstance(exc, NotFound):
        return _error(404, str(exc), "not_found")
    if isinstance(exc, StoreError):
        return _error(503, str(exc), "store_unavailable")
    if isinstance(exc, (ValidationFailed, UsageError, SyncError, BadRequest)):
        return _error(400, str(exc), "bad_request")
    return _error(400, str(exc), "bad_request")


@api.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    limit = request.max_content_length or MAX_BLOB_BYTES
    return _error(413, f"The request is larger than the limit of {limit // (1024 * 1024)} MB; "
                  f"send smaller batches.", "too_large")


@api.errorhandler(HTTPException)
def _http_error(exc):
    return _error(exc.code or 500, exc.description or exc.name, exc.name.lower()
                  .replace(" ", "_"))


@api.errorhandler(Exception)
def _unexpected(exc):  # noqa: ARG001 - never a traceback page for a device
    import logging
    logging.getLogger(__name__).exception("HQ API failure")
    return _error(500, "Headquarters failed to handle this request; it was not applied. "
                  "Try again later.", "internal")


# --- helpers --------------------------------------------------------------------------------

def _json_body(limit=MAX_JSON_BYTES):
    """The request's JSON object, within ``limit`` bytes, or a 400/413/415 sentence."""
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    if request.mimetype != "application/json":
        return_error = BadRequest("Send JSON with Content-Type: application/json.")
        raise return_error
    raw = request.get_data(cache=False)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The request body is not valid JSON ({exc}).") from None
    except RecursionError:
        raise BadRequest(f"The request body nests deeper than {MAX_JSON_DEPTH} levels.") \
            from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    if json_depth(body) > MAX_JSON_DEPTH:
        raise BadRequest(f"The request body nests deeper than {MAX_JSON_DEPTH} levels.")
    return body


def json_depth(value):
    """How deeply ``value`` nests (a scalar is 0, ``[]`` and ``{}`` are 1), without recursion;
    stops counting past ``MAX_JSON_DEPTH``. Walks one level at a time and keeps only the
    containers (a push body is mostly scalars: this walk was a sixth of a push's server
    time when it queued every value)."""
    depth, level = 0, [value] if isinstance(value, (dict, list)) else []
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            return depth
        below = []
        for item in level:
            for child in (item.values() if isinstance(item, dict) else item):
                if isinstance(child, (dict, list)):
                    below.append(child)
        level = below
    return depth


def _device():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("A device token is required (header Authorization: Bearer <token>).")
    g.device = enrollment.authenticate(hq_context().store, token.strip())
    g.audit_token = audit.set_actor(audit.Actor("device", g.device.team,
                                                device_id=g.device.id,
                                                ip=request.remote_addr))
    return g.device


def _int_arg(name, default, minimum=0, maximum=None):
    value = request.args.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"Query parameter '{name}' must be a whole number, not "
                         f"'{value[:40]}'.") from None
    if number < minimum or (maximum is not None and number > maximum):
        raise BadRequest(f"Query parameter '{name}' must be between {minimum} and "
                         f"{maximum if maximum is not None else 'any'}.")
    return number


def _optional_text(body, key, limit=200):
    value = body.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise BadRequest(f"'{key}' must be a string of at most {limit} characters, or null.")
    return value


# --- routes ---------------------------------------------------------------------------------

@api.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@api.post("/enroll")
def enroll():
    g.audit_token = audit.set_actor(audit.Actor("device", None, ip=request.remote_addr))
    body = _json_body(64 * 1024)
    code = body.get("code")
    if not isinstance(code, str):
        raise BadRequest("'code' (the enrollment code, a string) is required.")
    answer = enrollment.redeem_code(hq_context().store, code,
                                    device_id=_optional_text(body, "device_id"),
                                    name=_optional_text(body, "name"))
    answer["hq_url"] = answer.get("hq_url") or hq_context().public_url
    answer["protocol"] = PROTOCOL_VERSION
    return jsonify(answer)


@api.get("/device")
def device():
    me = _device()
    store = hq_context().store
    return jsonify({**me.summary(), "protocol": PROTOCOL_VERSION,
                    "server_time": enrollment.iso(enrollment.utcnow()),
                    "last_seq": store.last_seq()})


@api.post("/push")
def push():
    me = _device()
    body = _json_body()
    docs = body.get("docs")
    if not isinstance(docs, list):
        raise BadRequest("'docs' must be a list of documents.")
    if len(docs) > MAX_BATCH_DOCS:
        raise BadRequest(f"A push batch holds at most {MAX_BATCH_DOCS} documents, not "
                         f"{len(docs)}.")
    for index, doc in enumerate(docs):
        problem = check_wire_document(doc, index)
        if problem:
            raise BadRequest(f"Malformed document: {problem}. Nothing was applied.")
    ids = [doc["id"] for doc in docs]
    if len(set(ids)) != len(ids):
        raise BadRequest("A push batch names a document twice; send each id once.")
    store = hq_context().store
    results = server.apply_push(store, me, docs)  # also records the device as seen
    return jsonify({"results": results, "counts": server.count_outcomes(results)})


@api.get("/changes")
def changes():
    me = _device()
    since = _int_arg("since", 0)
    limit = _int_arg("limit", BATCH_SIZE, minimum=1, maximum=BATCH_SIZE)
    return jsonify(server.pull_changes(hq_context().store, me, since, limit))


@api.post("/blobs/missing")
def blobs_missing():
    _device()
    body = _json_body(2 * 1024 * 1024)
    try:
        missing = server.missing_blobs(hq_context().blobs, body.get("hashes"))
    except ValidationFailed as exc:
        raise BadRequest(str(exc)) from None
    return jsonify({"missing": missing})


@api.put("/blobs/<sha256>")
def blob_put(sha256):
    _device()
    request.max_content_length = MAX_BLOB_BYTES
    if request.content_length is not None and request.content_length > MAX_BLOB_BYTES:
        raise RequestEntityTooLarge()
    data = request.get_data(cache=False)
    stored = server.receive_blob(hq_context().blobs, sha256, data)
    response = jsonify(stored)
    response.status_code = 201 if stored["created"] else 200
    return response
