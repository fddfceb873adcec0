"""The field UI's sync routes (``web/field/sync_views.py``): status for the Sync button, and a
sync run by the team lead; refusals are one sentence."""

import pytest

from fieldkit.core.station import Station
from fieldkit.sync import client as sync_client
from fieldkit.web.field import create_field_app, sync_views
from test_sync_support import InProcessClient, fill_inspection, issue, make_hq_app


@pytest.fixture
def field_app(tmp_path):
    station = Station(tmp_path / "station")
    station.init()
    app = create_field_app(station, {"TESTING": True})
    if "sync" not in app.blueprints:
        app.register_blueprint(sync_views.bp)
    yield app, station
    station.close()


def _lead(app):
    web = app.extensions["fieldkit.field"]
    browser = app.test_client()
    browser.get(f"/join?token={web.issue_lead_token()}")
    return browser, web.sessions.active()[-1].csrf


def test_status_and_sync_from_the_field_ui(field_app, tmp_path, monkeypatch):
    app, station = field_app
    browser, csrf = _lead(app)
    status = browser.get("/api/sync/status").get_json()
    assert status["enrolled"] is False
    refused = browser.post("/api/sync", headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 400 and "not enrolled" in refused.get_json()["error"]

    hq_app, hq_store = make_hq_app(f"sqlite:///{tmp_path / 'hq.db'}", tmp_path)
    try:
        sync_client.enroll(station.store, issue(hq_store)["code"],
                           client_factory=lambda url: InProcessClient(hq_app))
        token = station.store.get_meta("sync.enrollment")["token"]
        monkeypatch.setattr(sync_client, "HQClient",
                            lambda url, token=None: InProcessClient(hq_app, token))
        monkeypatch.setattr(sync_client.client_for, "__defaults__",
                            (lambda url, token=None: InProcessClient(hq_app, token), None))
        fill_inspection(station, evidence=False)
        before = browser.get("/api/sync/status").get_json()
        assert before["enrolled"] and before["pending"] > 20
        done = browser.post("/api/sync", headers={"X-CSRF-Token": csrf})
        assert done.status_code == 200, done.get_json()
        assert done.get_json()["pushed"] == before["pending"]
        after = browser.get("/api/sync/status").get_json()
        assert after["pending"] == 0 and after["last_sync"]
        assert token
    finally:
        hq_store.close()
