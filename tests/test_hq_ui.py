"""The HQ review UI: sign-in with an account (the signed link only bootstraps the first
administrator), received inspections, one inspection with the
review form, devices with an enrollment code and its inline QR, revoking, conflicts; every
form needs the session's CSRF token; nothing loads from elsewhere."""

import re

import pytest

from fieldkit.core.store.memory import MemoryStore
from fieldkit.sync import client as sync_client
from fieldkit.sync.enrollment import list_devices
from fieldkit.web.hq.ui import login_token
from test_security_support import sign_in
from test_sync_support import enroll_store, fill_inspection, make_hq_app, open_station


@pytest.fixture
def hq(tmp_path):
    app, store = make_hq_app(f"sqlite:///{tmp_path / 'hq.db'}", tmp_path)
    station = open_station(tmp_path / "station")
    client = enroll_store(app, store, station.store)
    inspection = fill_inspection(station)
    sync_client.sync(station.store, blobs=station.blobs, client=client)
    station.close()
    yield app, store, inspection
    store.close()


def signed_in(app):
    return sign_in(app, "quan.tri", role="admin")


def csrf(page):
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def test_pages_need_a_signed_in_session(hq):
    app, _, _ = hq
    browser = app.test_client()
    assert browser.get("/inspections").status_code == 401
    assert browser.get("/login?token=forged").status_code == 401
    assert "Đăng nhập" in browser.get("/devices").get_data(as_text=True)


def test_the_login_link_only_bootstraps_the_first_admin(hq):
    app, _, _ = hq
    token = login_token(app.config["SECRET_KEY"])
    browser = app.test_client()
    assert browser.get(f"/login?token={token}").status_code == 302
    assert app.test_client().get(f"/login?token={token}").status_code == 401   # one time
    page = browser.get("/users")
    assert page.status_code == 200
    created = browser.post("/users", data={"name": "admin1", "role": "admin",
                                           "password": "mot-mat-khau-dai",
                                           "csrf_token": csrf(page.data)})
    assert created.status_code == 200 and "admin1" in created.get_data(as_text=True)
    assert browser.get("/inspections").status_code == 401     # the bootstrap session ended
    fresh = login_token(app.config["SECRET_KEY"])
    assert app.test_client().get(f"/login?token={fresh}").status_code == 401


def test_review_from_the_ui(hq):
    app, store, inspection = hq
    browser = signed_in(app)
    listing = browser.get("/inspections")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert "Phường Hòa Bình" in html and "Đã nộp" in html
    assert "Content-Security-Policy" in listing.headers
    assert "http" not in re.sub(r'href="/[^"]*"', "", html.split("<main>")[0]).replace(
        "http-equiv", "")   # no external asset in the page head
    page = browser.get(f"/inspections/{inspection['id']}")
    text = page.get_data(as_text=True)
    assert "LD02" in text and "Duyệt" in text and "anh.png" in text
    assert 'name="reviewer"' not in text           # the reviewer is the signed-in account
    refused = browser.post(f"/inspections/{inspection['id']}/review",
                           data={"decision": "return", "comment": "x"})
    assert refused.status_code == 400                       # no CSRF token
    assert store.get(inspection["id"])["status"] == "submitted"
    done = browser.post(f"/inspections/{inspection['id']}/review",
                        data={"decision": "return", "comment": "Thiếu biên bản",
                              "csrf_token": csrf(page.data)})
    assert done.status_code == 302
    assert store.get(inspection["id"])["status"] == "returned"
    assert store.get(inspection["id"])["review"]["reviewer"] == "quan.tri"
    assert "Thiếu biên bản" in browser.get(f"/inspections/{inspection['id']}").get_data(
        as_text=True)
    evidence = store.find("evidence")[0]
    image = browser.get(f"/evidence/{evidence['sha256']}")
    assert image.status_code == 200 and image.mimetype == "image/png"


def test_devices_issue_a_code_with_its_qr_and_revoke(hq):
    app, store, _ = hq
    browser = signed_in(app)
    page = browser.get("/devices")
    assert page.status_code == 200
    issued = browser.post("/devices/codes", data={
        "team": "Đoàn 5", "province": ["37", "25"], "campaign": "ctr-72-2024",
        "expires": "2d", "url": "http://hq.example:8765", "csrf_token": csrf(page.data)})
    html = issued.get_data(as_text=True)
    assert issued.status_code == 200 and "<svg" in html and "Đoàn 5" in html
    code = re.search(r'<code class="code">([^<]+)</code>', html).group(1)
    answer = sync_client.enroll(MemoryStore(), code,
                                client_factory=lambda url: _client(app, url))
    assert answer["scope"]["provinces"] == ["25", "37"]
    bad = browser.post("/devices/codes", data={"team": "X", "province": ["17"],
                                               "csrf_token": csrf(page.data)})
    assert bad.status_code == 400 and "current-era" in bad.get_data(as_text=True)
    device = [d for d in list_devices(store) if d.team == "Đoàn 5"][0]
    revoked = browser.post(f"/devices/{device.id}/revoke", data={"csrf_token": csrf(page.data)})
    assert revoked.status_code == 302
    assert [d for d in list_devices(store) if d.team == "Đoàn 5"][0].revoked


def _client(app, url):
    from test_sync_support import InProcessClient
    assert url == "http://hq.example:8765"
    return InProcessClient(app)


def test_conflicts_page_lists_and_resolves(hq):
    app, store, inspection = hq
    device = MemoryStore()
    client = enroll_store(app, store, device)
    finding = [f for f in store.find("finding") if f["item"] == "LD02"][0]
    other = {k: v for k, v in finding.items() if not k.startswith("_")}
    other.update(value="no", rev="1-" + "f" * 32, base_rev=None)
    client.push([other])
    browser = signed_in(app)
    page = browser.get("/conflicts")
    assert finding["id"] in page.get_data(as_text=True)
    browser.post(f"/conflicts/{finding['id']}/resolve", data={"csrf_token": csrf(page.data)})
    assert store.conflicts(finding["id"]) == []
