"""The HQ API's contract: its OpenAPI document is valid and names every ``/api/v1/`` route;
oversized requests get 413; malformed JSON and wrong types get 400 with a sentence, and
nothing is written."""

import re

import pytest
from openapi_spec_validator import validate

from fieldkit.core.documents import new_id
from fieldkit.core.store.memory import MemoryStore
from fieldkit.sync.protocol import MAX_BLOB_BYTES, MAX_JSON_BYTES
from test_sync_support import enroll_store, make_hq_app


@pytest.fixture
def hq(tmp_path):
    app, store = make_hq_app(f"sqlite:///{tmp_path / 'hq.db'}", tmp_path)
    client = enroll_store(app, store, MemoryStore())
    yield app, store, {"Authorization": f"Bearer {client.token}"}
    store.close()


def test_openapi_document_is_valid_and_covers_every_route(hq):
    app, _, _ = hq
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    validate(document)
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((path, method.lower()))
    documented = {(path, method) for path, item in document["paths"].items()
                  for method in item}
    assert routes == documented


def _doc(**fields):
    return {"id": new_id(), "type": "recommendation", "rev": "1-ab", "base_rev": None,
            "campaign_id": "ctr-72-2024", "province_code": "25", "deleted": False,
            "text": "x", **fields}


@pytest.mark.parametrize("body, message", [
    (b"{not json", "not valid JSON"),
    (b"[]", "must be a JSON object"),
    (b'{"docs": {}}', "'docs' must be a list"),
    (b'{"docs": [VALID, 1]}', "docs[1] is not a JSON object"),
    (b'{"docs": [VALID, {"id": 5, "type": "finding", "rev": "1-a"}]}', "docs[1].id"),
    (b'{"docs": [VALID, {"id": "a", "type": "finding", "rev": "one"}]}', "docs[1].rev"),
    (b'{"docs": [VALID, {"id": "a", "type": "finding", "rev": "1-a", "deleted": "no"}]}',
     "docs[1].deleted"),
    (b'{"docs": [VALID, {"id": "a", "type": "finding", "rev": "1-a", "province_code": 25}]}',
     "docs[1].province_code"),
])
def test_malformed_push_is_400_and_nothing_is_written(hq, body, message):
    app, store, auth = hq
    valid_first = _doc()
    body = body.replace(b"VALID", _json(valid_first))
    before = store.last_seq()
    response = app.test_client().post("/api/v1/push", data=body, headers=auth,
                                      content_type="application/json")
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert store.last_seq() == before and store.get(valid_first["id"]) is None


def _json(doc):
    import json
    return json.dumps(doc).encode()


@pytest.mark.parametrize("query", ["since=abc", "since=-1", "limit=0", "limit=100000"])
def test_bad_cursor_is_400(hq, query):
    app, _, auth = hq
    response = app.test_client().get(f"/api/v1/changes?{query}", headers=auth)
    assert response.status_code == 400 and "Query parameter" in response.get_json()["error"]


def test_oversized_requests_get_413(hq):
    app, store, auth = hq
    http = app.test_client()
    before = store.last_seq()
    big = b'{"docs": [], "pad": "' + b"x" * MAX_JSON_BYTES + b'"}'
    response = http.post("/api/v1/push", data=big, headers=auth,
                         content_type="application/json")
    assert response.status_code == 413 and "limit" in response.get_json()["error"]
    response = http.put("/api/v1/blobs/" + "a" * 64, data=b"x" * (MAX_BLOB_BYTES + 1),
                        headers=auth, content_type="application/octet-stream")
    assert response.status_code == 413
    assert store.last_seq() == before


def test_blob_upload_checks_the_hash(hq, tmp_path):
    app, _, auth = hq
    http = app.test_client()
    data = b"bien ban hoi nghi\n"
    import hashlib
    sha = hashlib.sha256(data).hexdigest()
    assert http.post("/api/v1/blobs/missing", json={"hashes": [sha]},
                     headers=auth).get_json() == {"missing": [sha]}
    wrong = http.put(f"/api/v1/blobs/{'b' * 64}", data=data, headers=auth,
                     content_type="application/octet-stream")
    assert wrong.status_code == 400 and "does not match its hash" in wrong.get_json()["error"]
    stored = http.put(f"/api/v1/blobs/{sha}", data=data, headers=auth,
                      content_type="application/octet-stream")
    assert stored.status_code == 201 and stored.get_json()["size"] == len(data)
    again = http.put(f"/api/v1/blobs/{sha}", data=data, headers=auth,
                     content_type="application/octet-stream")
    assert again.status_code == 200
    assert http.post("/api/v1/blobs/missing", json={"hashes": [sha]},
                     headers=auth).get_json() == {"missing": []}
    bad = http.post("/api/v1/blobs/missing", json={"hashes": ["../etc"]}, headers=auth)
    assert bad.status_code == 400


def test_push_is_idempotent_and_answers_per_document(hq):
    app, store, auth = hq
    http = app.test_client()
    doc = _doc()
    first = http.post("/api/v1/push", json={"docs": [doc]}, headers=auth).get_json()
    assert first["results"][0]["outcome"] == "applied"
    seq = store.last_seq()
    again = http.post("/api/v1/push", json={"docs": [doc]}, headers=auth).get_json()
    assert again["results"][0]["outcome"] == "duplicate" and store.last_seq() == seq
    other = {**doc, "text": "y", "rev": "1-ff"}   # edited elsewhere from the same base
    answer = http.post("/api/v1/push", json={"docs": [other]}, headers=auth).get_json()
    assert answer["results"][0]["outcome"] == "conflict"
    assert store.get(doc["id"])["rev"] == "1-ff"     # the higher hash wins
    assert [v["rev"] for v in store.conflicts(doc["id"])] == ["1-ab"]   # the loser is kept
    twice = http.post("/api/v1/push", json={"docs": [doc, doc]}, headers=auth)
    assert twice.status_code == 400


def test_wrong_content_type_is_refused(hq):
    app, _, auth = hq
    response = app.test_client().post("/api/v1/push", data=b'{"docs": []}', headers=auth,
                                      content_type="text/plain")
    assert response.status_code == 400 and "application/json" in response.get_json()["error"]
