"""The authorization matrix: EVERY route of the HQ app and of the field station app, for every
role, with the status each must get. A route without an entry fails the test, so a new
endpoint cannot arrive without someone deciding who may use it.

HQ roles: anonymous, viewer (all provinces), reviewer-37 (Ninh Bình only), reviewer-all,
admin, device-in-scope (a device token for Phú Thọ, 25), device-revoked. The target of every
route is Phú Thọ (25) data: reviewer-37 must never reach it (404, as if it did not exist).
Field roles: anonymous, member (a tablet), lead.
"""

import io

import pytest

from fieldkit.core.store.memory import MemoryStore
from fieldkit.sync import client as sync_client
from fieldkit.sync.enrollment import list_devices, revoke_device
from test_security_support import add_account, csrf, sign_in
from test_sync_support import PNG, enroll_store, fill_inspection, make_hq_app, open_station

HQ_ROLES = ("anonymous", "viewer", "reviewer-37", "reviewer-all", "admin", "device-in-scope",
            "device-revoked")
USERS = {"viewer": ("viewer", None), "reviewer-37": ("reviewer", ["37"]),
         "reviewer-all": ("reviewer", None), "admin": ("admin", None)}


def _by_kind(anyone=None, anonymous=None, viewer=None, r37=None, rall=None, admin=None,
             device=None, revoked=None):
    """Expected statuses; a ``None`` falls back to ``anyone``, devices to ``anonymous`` (the
    UI ignores device tokens), the revoked device to what anonymous gets."""
    anonymous = anonymous if anonymous is not None else anyone
    users = {"viewer": viewer, "reviewer-37": r37, "reviewer-all": rall, "admin": admin}
    table = {"anonymous": anonymous,
             **{role: (value if value is not None else anyone) for role, value in users.items()},
             "device-in-scope": device if device is not None else anonymous,
             "device-revoked": revoked if revoked is not None else anonymous}
    assert None not in table.values(), table
    return table


def signed_in_only(status, **overrides):
    """Anonymous and devices 401; every account ``status`` unless overridden."""
    return _by_kind(anyone=status, anonymous=401, **overrides)


def admin_only(status):
    return _by_kind(anyone=403, anonymous=401, admin=status)


def scoped(status, refused=404):
    """Readers of Phú Thọ get ``status``; reviewer-37 ``refused``."""
    return signed_in_only(status, r37=refused)


def device_only(status):
    return _by_kind(anyone=401, device=status)


# endpoint -> (method, url, request options, expected statuses per role)
# ``{i}`` the Phú Thọ inspection id, ``{sha}`` its photo, ``{conflict}`` a document with a kept
# conflict, ``{spare_device}`` a device to revoke; forms get the session's CSRF token.
HQ_MATRIX = {
    "static": ("GET", "/static/hq/hq.css", {}, _by_kind(anyone=200)),
    "api.openapi": ("GET", "/api/v1/openapi.json", {}, _by_kind(anyone=200)),
    "api.enroll": ("POST", "/api/v1/enroll", {"json": {"code": "0000-0000"}},
                   _by_kind(anyone=403)),            # public; a bad code is refused (403)
    "api.device": ("GET", "/api/v1/device", {}, device_only(200)),
    "api.push": ("POST", "/api/v1/push", {"json": {"docs": []}}, device_only(200)),
    "api.changes": ("GET", "/api/v1/changes?since=0&limit=5", {}, device_only(200)),
    "api.blobs_missing": ("POST", "/api/v1/blobs/missing", {"json": {"hashes": []}},
                          device_only(200)),
    "api.blob_put": ("PUT", "/api/v1/blobs/{sha}",
                     {"data": PNG, "content_type": "application/octet-stream"},
                     device_only(200)),
    "ui.login": ("GET", "/login", {}, _by_kind(anyone=200)),
    "ui.login_submit": ("POST", "/login", {"form": {"name": "admin", "password": "sai-roi-nhe"}},
                        _by_kind(anyone=401)),
    "ui.home": ("GET", "/", {}, signed_in_only(302)),
    "ui.inspections": ("GET", "/inspections", {}, signed_in_only(200)),
    "ui.inspection": ("GET", "/inspections/{i}", {}, scoped(200)),
    "ui.inspection_review": ("POST", "/inspections/{i}/review",
                             {"form": {"decision": "return", "comment": "Thiếu"}},
                             signed_in_only(302, viewer=403, r37=404)),
    "ui.evidence": ("GET", "/evidence/{sha}", {}, scoped(200)),
    "ui.devices": ("GET", "/devices", {}, admin_only(200)),
    "ui.issue_code": ("POST", "/devices/codes",
                      {"form": {"team": "Đoàn 9", "province": "25", "expires": "1h"}},
                      admin_only(200)),
    "ui.revoke": ("POST", "/devices/{spare_device}/revoke", {"form": {}}, admin_only(302)),
    "ui.conflicts": ("GET", "/conflicts", {}, signed_in_only(200)),
    "ui.resolve": ("POST", "/conflicts/{conflict}/resolve", {"form": {}},
                   signed_in_only(302, viewer=403, r37=404)),
    "ui.users": ("GET", "/users", {}, admin_only(200)),
    "ui.user_add": ("POST", "/users", {"form": {"name": "moi", "role": "viewer",
                                                "password": "mat-khau-moi-dai"}},
                    admin_only(200)),
    "ui.user_disable": ("POST", "/users/spare/disable", {"form": {}}, admin_only(302)),
    "audit.log": ("GET", "/audit", {}, admin_only(200)),
    "audit.export": ("GET", "/audit/export.csv", {}, admin_only(200)),
    "reports.inspection_report": ("GET", "/reports/inspections/{i}.json", {}, scoped(200)),
    "reports.summary_report": ("GET", "/reports/summary.json?period=2025&province=25", {},
                               scoped(200, refused=403)),
    "reports.export": ("GET", "/reports/export.csv?province=25", {}, scoped(200, refused=403)),
    "reports.dashboard": ("GET", "/dashboard?province=25", {}, scoped(200, refused=403)),
    "reports.verify": ("GET", "/verify/0190a000-0000-7000-8000-000000000000", {},
                       _by_kind(anyone=404)),        # public; an unknown report id
    "reports.verify_file": ("POST", "/verify/0190a000-0000-7000-8000-000000000000", {},
                            _by_kind(anyone=404)),   # public, no CSRF: changes nothing
    "reports.stylesheet": ("GET", "/reports/dashboard.css", {}, _by_kind(anyone=200)),
    # last: they end the session
    "ui.logout": ("POST", "/logout", {"form": {}}, signed_in_only(200)),
    "ui.logout_everywhere": ("POST", "/logout/everywhere", {"form": {}, "fresh": True},
                             signed_in_only(200)),
}


@pytest.fixture
def world(tmp_path):
    """HQ with a Phú Thọ inspection (photo, a kept conflict), devices and a spare user."""
    app, store = make_hq_app(f"sqlite:///{tmp_path / 'hq.db'}", tmp_path)
    station = open_station(tmp_path / "station")
    device = enroll_store(app, store, station.store)
    inspection = fill_inspection(station)
    sync_client.sync(station.store, blobs=station.blobs, client=device)
    station.close()
    other = enroll_store(app, store, MemoryStore())
    finding = [f for f in store.find("finding") if f["item"] == "LD02"][0]
    changed = {k: v for k, v in finding.items() if not k.startswith("_")}
    changed.update(value="no", rev="1-" + "f" * 32, base_rev=None)
    other.push([changed])
    revoked = enroll_store(app, store, MemoryStore(), team="Đoàn cũ")
    revoke_device(store, [d for d in list_devices(store) if d.team == "Đoàn cũ"][0].id)
    enroll_store(app, store, MemoryStore(), team="Đoàn dự phòng")
    spare = [d for d in list_devices(store) if d.team == "Đoàn dự phòng"][0].id
    add_account(app, "spare", "viewer")
    names = {"i": inspection["id"], "sha": store.find("evidence")[0]["sha256"],
             "conflict": finding["id"], "spare_device": spare}
    yield {"app": app, "store": store, "names": names, "tokens": {
        "device-in-scope": device.token, "device-revoked": revoked.token}}
    store.close()


def _client_for(world, role):
    app = world["app"]
    if role in USERS:
        kind, provinces = USERS[role]
        return sign_in(app, role.replace("-", ""), role=kind, provinces=provinces), {}
    headers = {}
    if role in world["tokens"]:
        headers["Authorization"] = f"Bearer {world['tokens'][role]}"
    return app.test_client(), headers


def _call(browser, headers, method, url, options):
    options = dict(options)
    if "form" in options:
        form = dict(options.pop("form"))
        form["csrf_token"] = csrf(browser.get("/login", headers=headers).data)
        options["data"] = form
    if "data" in options and isinstance(options["data"], bytes):
        options["data"] = io.BytesIO(options["data"])
    return browser.open(url, method=method, headers=headers, **options)


def test_every_hq_route_has_a_matrix_entry(world):
    rules = {rule.endpoint for rule in world["app"].url_map.iter_rules()}
    missing = rules - set(HQ_MATRIX)
    assert not missing, f"routes without an authorization entry: {sorted(missing)}"
    assert not set(HQ_MATRIX) - rules, "entries for routes that do not exist"
    for endpoint, (_m, _u, _o, expected) in HQ_MATRIX.items():
        assert set(expected) == set(HQ_ROLES), endpoint


@pytest.mark.parametrize("role", HQ_ROLES)
def test_hq_authorization_matrix(world, role):
    browser, headers = _client_for(world, role)
    wrong = {}
    for endpoint, (method, url, options, expected) in HQ_MATRIX.items():
        options = dict(options)
        if options.pop("fresh", False):   # after a log out: sign in again
            browser, headers = _client_for(world, role)
        response = _call(browser, headers, method, url.format(**world["names"]), options)
        if response.status_code != expected[role]:
            wrong[endpoint] = (response.status_code, expected[role])
    assert not wrong, f"{role}: endpoint -> (got, expected): {wrong}"


# --- the field station --------------------------------------------------------------------

FIELD_ROLES = ("anonymous", "member", "lead")


def _field(anyone, anonymous=401, member=None):
    return {"anonymous": anonymous, "member": member if member is not None else anyone,
            "lead": anyone}


FIELD_MATRIX = {
    "static": ("GET", "/static/field.css", {}, _field(200, anonymous=200)),
    "auth.join": ("GET", "/join?token=forged", {}, _field(401)),
    "auth.join_pin": ("POST", "/join", {"form": {"token": "forged", "pin": "0000"}},
                      _field(401)),                  # the lead's PIN form (no CSRF: no session)
    "auth.left": ("GET", "/left", {}, _field(401)),          # always the "you left" page
    "auth.set_name": ("POST", "/me", {"form": {"name": "An"}}, _field(303)),
    "sync.status": ("GET", "/api/sync/status", {}, _field(200)),
    "sync.run_sync": ("POST", "/api/sync", {"json": {}},
                      _field(400, member=403)),      # the lead's; this station is not enrolled
    "inspections.index": ("GET", "/", {}, _field(200)),
    "inspections.sync_now": ("POST", "/sync", {"form": {}}, _field(302)),
    "inspections.new": ("GET", "/inspections/new", {}, _field(200)),
    "inspections.create": ("POST", "/inspections/new", {"form": {}}, _field(400)),
    "inspections.fill": ("GET", "/inspections/{i}", {}, _field(200)),
    "inspections.save_item": ("POST", "/inspections/{i}/items/A1",
                              {"form": {"value": "yes"}}, _field(303)),
    "inspections.evidence": ("GET", "/inspections/{i}/evidence", {}, _field(200)),
    "inspections.upload_evidence": ("POST", "/inspections/{i}/evidence", {"form": {}},
                                    _field(400)),
    "inspections.evidence_thumbnail": ("GET", "/inspections/{i}/evidence/{e}/thumbnail", {},
                                       _field(422)),     # allowed; a 1-pixel photo
    "inspections.evidence_file": ("GET", "/inspections/{i}/evidence/{e}/file", {},
                                  _field(200)),
    "inspections.recommendations": ("GET", "/inspections/{i}/recommendations", {},
                                    _field(200)),
    "inspections.add_recommendation": ("POST", "/inspections/{i}/recommendations",
                                       {"form": {"text": ""}}, _field(422)),
    "inspections.submit_step": ("GET", "/inspections/{i}/submit", {}, _field(200)),
    "inspections.submit": ("POST", "/inspections/{i}/submit", {"form": {}}, _field(422)),
    "api.state": ("GET", "/api/inspections/{i}/state", {}, _field(200)),
    "api.put_answer": ("PUT", "/api/inspections/{i}/items/A1", {"json": {"value": "yes"}},
                       _field(200)),
    "api.delete_answer": ("DELETE", "/api/inspections/{i}/items/A1", {"json": {}},
                          _field(200)),
    "api.post_evidence": ("POST", "/api/inspections/{i}/evidence", {"json": {}}, _field(400)),
    "api.list_evidence": ("GET", "/api/inspections/{i}/evidence", {}, _field(200)),
    "api.post_recommendation": ("POST", "/api/inspections/{i}/recommendations",
                                {"json": {"text": ""}}, _field(422)),
    "api.list_recommendations": ("GET", "/api/inspections/{i}/recommendations", {},
                                 _field(200)),
    "api.applicable_checklists": ("GET", "/api/checklists?unit=04792", {}, _field(200)),
    "api.units": ("GET", "/api/units?q=ha", {}, _field(200)),
    "admin.sessions": ("GET", "/admin/sessions", {}, _field(200, member=403)),
    "admin.end_session": ("POST", "/admin/sessions/nobody00/end", {"form": {}},
                          _field(303, member=403)),
    "admin.join_code": ("GET", "/admin/join", {}, _field(200, member=403)),
    "admin.new_join_code": ("POST", "/admin/join", {"form": {}}, _field(303, member=403)),
    "auth.logout": ("POST", "/logout", {"form": {}}, _field(303)),   # last: ends the session
}


@pytest.fixture
def field_world(tmp_path):
    from test_field_web import PLUGINS, Tablet, new_inspection

    from fieldkit.core.station import Station
    from fieldkit.web.field import create_field_app
    station = Station(tmp_path / "data", plugins_dir=PLUGINS)
    station.init(author="trạm thử")
    app = create_field_app(station, {"TESTING": True})
    setup = Tablet(app)
    inspection_id = new_inspection(setup)
    uploaded = setup.upload(inspection_id, PNG, filename="anh.png")
    assert uploaded.status_code in (200, 201), uploaded.get_data(as_text=True)
    evidence_id = uploaded.get_json()["evidence"]["id"]
    yield {"app": app, "Tablet": Tablet, "names": {"i": inspection_id, "e": evidence_id}}
    station.close()


def test_every_field_route_has_a_matrix_entry(field_world):
    rules = {rule.endpoint for rule in field_world["app"].url_map.iter_rules()}
    missing = rules - set(FIELD_MATRIX)
    assert not missing, f"routes without an authorization entry: {sorted(missing)}"
    assert not set(FIELD_MATRIX) - rules


@pytest.mark.parametrize("role", FIELD_ROLES)
def test_field_authorization_matrix(field_world, role):
    app = field_world["app"]
    tablet = None if role == "anonymous" else field_world["Tablet"](app, role=role)
    browser = tablet.client if tablet else app.test_client()
    headers = {"X-CSRF-Token": tablet.csrf} if tablet else {}
    wrong = {}
    for endpoint, (method, url, options, expected) in FIELD_MATRIX.items():
        options = dict(options)
        if "form" in options:
            options["data"] = {**options.pop("form"),
                               "csrf_token": tablet.csrf if tablet else "x"}
        response = browser.open(url.format(**field_world["names"]), method=method,
                                headers=headers, **options)
        if response.status_code != expected[role]:
            wrong[endpoint] = (response.status_code, expected[role])
    assert not wrong, f"{role}: endpoint -> (got, expected): {wrong}"
