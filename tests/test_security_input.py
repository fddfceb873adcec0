"""Input hardening at HQ: request size limits, JSON nesting, XSS in what devices send,
CSRF on every form, path traversal in blob hashes and evidence names."""

import json

import pytest

from fieldkit.core.store.memory import MemoryStore
from fieldkit.sync import client as sync_client
from test_security_support import csrf, sign_in
from test_sync_support import enroll_store, fill_inspection, make_hq_app, open_station

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def hq(tmp_path):
    app, store = make_hq_app(f"sqlite:///{tmp_path / 'hq.db'}", tmp_path)
    station = open_station(tmp_path / "station")
    device = enroll_store(app, store, station.store)
    inspection = fill_inspection(station)
    sync_client.sync(station.store, blobs=station.blobs, client=device)
    station.close()
    yield app, store, inspection, device
    store.close()


def _api(app, device, method, path, **kwargs):
    return app.test_client().open("/api/v1" + path, method=method,
                                  headers={"Authorization": f"Bearer {device.token}"}, **kwargs)


@pytest.mark.parametrize("depth, status", [(60, 200), (65, 400), (100_000, 400)])
def test_json_nesting_is_limited(hq, depth, status):
    app, store, _, device = hq
    nested = "[" * depth + "]" * depth
    body = '{"docs": [], "x": ' + nested + "}"
    response = _api(app, device, "POST", "/push", data=body, content_type="application/json")
    assert response.status_code == status, response.data[:200]
    if status == 400:
        assert "nests deeper" in response.get_json()["error"]


@pytest.mark.parametrize("value, depth", [
    (1, 0), ("x", 0), ([], 1), ({}, 1), ({"a": [1, {"b": []}]}, 4), ([[], [[[]]], 2], 4),
    ({"docs": [{"x": {"y": 1}}, {"z": [[[[]]]]}]}, 7)])
def test_json_depth_counts_the_deepest_branch(value, depth):
    from fieldkit.web.hq.api import json_depth
    assert json_depth(value) == depth


def test_request_sizes_are_limited(hq):
    app, _, inspection, device = hq
    big = _api(app, device, "POST", "/blobs/missing", data=b"{" + b" " * (3 * 1024 * 1024),
               content_type="application/json")
    assert big.status_code == 413 and big.get_json()["code"] == "too_large"
    browser = sign_in(app, "admin")
    page = browser.get(f"/inspections/{inspection['id']}")
    huge = browser.post(f"/inspections/{inspection['id']}/review",
                        data={"decision": "return", "comment": "x" * (2 * 1024 * 1024),
                              "csrf_token": csrf(page.data)})
    assert huge.status_code == 413


def test_what_devices_send_is_escaped_in_the_hq_ui(hq):
    app, store, inspection, device = hq
    finding = [f for f in store.find("finding") if f["item"] == "LD02"][0]
    evidence = store.find("evidence")[0]
    edited = []
    for doc, fields in ((finding, {"note": XSS, "value": XSS}),
                        (evidence, {"filename": XSS, "caption": XSS}),
                        (store.get(inspection["id"]), {"team": XSS, "unit_name": XSS})):
        doc = {k: v for k, v in doc.items() if not k.startswith("_")}
        generation = int(doc["rev"].split("-")[0]) + 1
        doc.update(fields, base_rev=doc["rev"], rev=f"{generation}-{'a' * 32}", author=XSS)
        edited.append(doc)
    answer = device.push(edited)
    assert {r["outcome"] for r in answer["results"]} == {"applied"}, answer
    browser = sign_in(app, "admin")
    for url in (f"/inspections/{inspection['id']}", "/inspections", "/audit"):
        html = browser.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;" in html or "\\u003cscript\\u003e" in html, url


def test_every_hq_form_refuses_a_post_without_the_csrf_token(hq):
    app, store, inspection, _ = hq
    browser = sign_in(app, "admin")
    for url, form in ((f"/inspections/{inspection['id']}/review", {"decision": "approve"}),
                      ("/devices/codes", {"team": "X", "province": "25"}),
                      ("/users", {"name": "abc", "role": "viewer", "password": "x" * 12}),
                      ("/logout", {}), ("/logout/everywhere", {})):
        assert browser.post(url, data=form).status_code == 400, url
        assert browser.post(url, data={**form, "csrf_token": "forged"}).status_code == 400
    assert store.get(inspection["id"])["status"] == "submitted"
    assert browser.get("/inspections").status_code == 200     # still signed in


@pytest.mark.parametrize("name", ["..%2F..%2Fhq.db", "../../etc/passwd", "%2e%2e%2fx",
                                  "A" * 64, "0" * 63, "0" * 65])
def test_blob_hashes_cannot_name_a_path(hq, name):
    app, _, _, device = hq
    put = _api(app, device, "PUT", f"/blobs/{name}", data=b"x",
               content_type="application/octet-stream")
    assert put.status_code in (400, 404)
    assert sign_in(app, "admin").get(f"/evidence/{name}").status_code == 404


def test_evidence_file_names_do_not_become_paths(hq, tmp_path):
    app, store, inspection, device = hq
    evidence = {k: v for k, v in store.find("evidence")[0].items() if not k.startswith("_")}
    generation = int(evidence["rev"].split("-")[0]) + 1
    evidence.update(filename="../../../../etc/passwd", base_rev=evidence["rev"],
                    rev=f"{generation}-{'b' * 32}")
    device.push([evidence])
    browser = sign_in(app, "admin")
    page = browser.get(f"/inspections/{inspection['id']}").get_data(as_text=True)
    link = f'/evidence/{evidence["sha256"]}'
    assert link in page                                   # served by hash, never by name
    served = browser.get(link)
    assert served.status_code == 200 and served.headers["Content-Disposition"] == "inline"
    assert not (tmp_path / "etc").exists()
    json.dumps(page)  # the page rendered
