"""The OpenAPI 3.0 document of the sync API, written by hand and kept honest by a test (it
validates and names every ``/api/v1/`` route)."""

from ...sync.protocol import BATCH_SIZE, MAX_BATCH_DOCS, PROTOCOL_VERSION


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema):
    return {"application/json": {"schema": schema}}


def _errors(*codes):
    text = {400: "Malformed request (the sentence says what); nothing was applied.",
            401: "Missing, unknown or revoked device token.",
            403: "Enrollment code refused (unknown, expired, used, altered).",
            404: "Not found.", 413: "Request too large.", 500: "HQ failed; nothing applied.",
            503: "Database unavailable."}
    return {str(code): {"description": text[code], "content": _json(_ref("Error"))}
            for code in codes}


_DOCUMENT = {
    "type": "object",
    "description": "A document (see ARCHITECTURE.md, Data model); other fields by type.",
    "required": ["id", "type", "rev"],
    "properties": {
        "id": {"type": "string", "maxLength": 200},
        "type": {"type": "string", "enum": ["campaign", "inspection", "finding", "evidence",
                                            "recommendation", "review", "checklist"]},
        "rev": {"type": "string", "pattern": "^[1-9][0-9]{0,8}-[0-9a-f]{1,64}$"},
        "base_rev": {"type": "string", "nullable": True},
        "device": {"type": "string", "nullable": True},
        "author": {"type": "string", "nullable": True},
        "updated_at": {"type": "string", "nullable": True},
        "deleted": {"type": "boolean"},
        "campaign_id": {"type": "string", "nullable": True},
        "province_code": {"type": "string", "nullable": True},
        "inspection_id": {"type": "string", "nullable": True},
    },
    "additionalProperties": True,
}

_SCOPE = {"type": "object", "required": ["campaign_id", "provinces"], "properties": {
    "campaign_id": {"type": "string", "nullable": True},
    "provinces": {"type": "array", "items": {"type": "string"}}}}

_SCHEMAS = {
    "Error": {"type": "object", "required": ["error", "code"], "properties": {
        "error": {"type": "string", "description": "One sentence for the user."},
        "code": {"type": "string"}}},
    "Document": _DOCUMENT,
    "Scope": _SCOPE,
    "EnrollRequest": {"type": "object", "required": ["code"], "properties": {
        "code": {"type": "string", "description": "The enrollment code as text."},
        "device_id": {"type": "string", "nullable": True,
                      "description": "The station's own id, kept when free."},
        "name": {"type": "string", "nullable": True}}},
    "EnrollResponse": {"type": "object",
                       "required": ["device_id", "token", "signing_key", "scope", "team"],
                       "properties": {
                           "device_id": {"type": "string"},
                           "token": {"type": "string", "description": "Shown once."},
                           "signing_key": {"type": "string",
                                           "description": "HMAC key for bundles."},
                           "team": {"type": "string"}, "scope": _ref("Scope"),
                           "hq_url": {"type": "string", "nullable": True},
                           "enrolled_at": {"type": "string"},
                           "hq_public_key": {"type": "string", "description":
                                             "HQ's X25519 public key (base64) for sealed "
                                             "bundles."},
                           "protocol": {"type": "integer"}}},
    "Device": {"type": "object", "required": ["id", "team", "revoked"], "properties": {
        "id": {"type": "string"}, "name": {"type": "string", "nullable": True},
        "team": {"type": "string"}, "campaign_id": {"type": "string", "nullable": True},
        "provinces": {"type": "array", "items": {"type": "string"}},
        "enrolled_at": {"type": "string", "nullable": True},
        "last_seen_at": {"type": "string", "nullable": True},
        "revoked": {"type": "boolean"}, "revoked_at": {"type": "string", "nullable": True},
        "protocol": {"type": "integer"}, "server_time": {"type": "string"},
        "last_seq": {"type": "integer"}}},
    "PushRequest": {"type": "object", "required": ["docs"], "properties": {
        "docs": {"type": "array", "maxItems": MAX_BATCH_DOCS, "items": _ref("Document")}}},
    "PushResult": {"type": "object", "required": ["id", "rev", "outcome"], "properties": {
        "id": {"type": "string"}, "rev": {"type": "string"},
        "outcome": {"type": "string",
                    "enum": ["applied", "duplicate", "conflict", "rejected"]},
        "current_rev": {"type": "string", "nullable": True},
        "reason": {"type": "string"}}},
    "PushResponse": {"type": "object", "required": ["results", "counts"], "properties": {
        "results": {"type": "array", "items": _ref("PushResult")},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}}}},
    "Changes": {"type": "object", "required": ["docs", "cursor", "more"], "properties": {
        "docs": {"type": "array", "items": _ref("Document")},
        "cursor": {"type": "integer", "description": "The next 'since'."},
        "more": {"type": "boolean"}}},
    "MissingRequest": {"type": "object", "required": ["hashes"], "properties": {
        "hashes": {"type": "array", "items": {"type": "string",
                                              "pattern": "^[0-9a-f]{64}$"}}}},
    "MissingResponse": {"type": "object", "required": ["missing"], "properties": {
        "missing": {"type": "array", "items": {"type": "string"}}}},
    "BlobStored": {"type": "object", "required": ["sha256", "size"], "properties": {
        "sha256": {"type": "string"}, "size": {"type": "integer"},
        "media_type": {"type": "string"}, "created": {"type": "boolean"}}},
}


def openapi_document():
    bearer = [{"deviceToken": []}]
    return {
        "openapi": "3.0.3",
        "info": {"title": "fieldkit HQ sync API", "version": f"{PROTOCOL_VERSION}.0",
                 "description": "Push and pull of documents between field stations and "
                                "headquarters; see docs/sync.md."},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"deviceToken": {"type": "http", "scheme": "bearer",
                                                "description": "The device token from "
                                                               "POST /api/v1/enroll."}},
            "schemas": _SCHEMAS,
        },
        "paths": {
            "/api/v1/openapi.json": {"get": {
                "summary": "This document.", "operationId": "openapi",
                "responses": {"200": {"description": "The OpenAPI document.",
                                      "content": _json({"type": "object"})}}}},
            "/api/v1/enroll": {"post": {
                "summary": "Trade a one-time enrollment code for a device token.",
                "operationId": "enroll",
                "requestBody": {"required": True, "content": _json(_ref("EnrollRequest"))},
                "responses": {"200": {"description": "Enrolled.",
                                      "content": _json(_ref("EnrollResponse"))},
                              **_errors(400, 403, 413)}}},
            "/api/v1/device": {"get": {
                "summary": "The calling device as HQ knows it.", "operationId": "device",
                "security": bearer,
                "responses": {"200": {"description": "The device.",
                                      "content": _json(_ref("Device"))},
                              **_errors(401)}}},
            "/api/v1/push": {"post": {
                "summary": "Apply a batch of documents in one transaction.",
                "operationId": "push", "security": bearer,
                "requestBody": {"required": True, "content": _json(_ref("PushRequest"))},
                "responses": {"200": {"description": "One result per document, in order.",
                                      "content": _json(_ref("PushResponse"))},
                              **_errors(400, 401, 413, 500, 503)}}},
            "/api/v1/changes": {"get": {
                "summary": "HQ's changes after a cursor, within the device's scope.",
                "operationId": "changes", "security": bearer,
                "parameters": [
                    {"name": "since", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 0, "default": 0}},
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": BATCH_SIZE,
                                "default": BATCH_SIZE}}],
                "responses": {"200": {"description": "A batch of changes.",
                                      "content": _json(_ref("Changes"))},
                              **_errors(400, 401)}}},
            "/api/v1/blobs/missing": {"post": {
                "summary": "Which of these evidence hashes HQ lacks.",
                "operationId": "blobsMissing", "security": bearer,
                "requestBody": {"required": True, "content": _json(_ref("MissingRequest"))},
                "responses": {"200": {"description": "The hashes to upload.",
                                      "content": _json(_ref("MissingResponse"))},
                              **_errors(400, 401, 413)}}},
            "/api/v1/blobs/{sha256}": {"put": {
                "summary": "Upload one evidence file; HQ checks its hash.",
                "operationId": "blobPut", "security": bearer,
                "parameters": [{"name": "sha256", "in": "path", "required": True,
                                "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}],
                "requestBody": {"required": True, "content": {
                    "application/octet-stream": {"schema": {"type": "string",
                                                            "format": "binary"}}}},
                "responses": {"201": {"description": "Stored.",
                                      "content": _json(_ref("BlobStored"))},
                              "200": {"description": "Already stored.",
                                      "content": _json(_ref("BlobStored"))},
                              **_errors(400, 401, 413)}}},
        },
    }
