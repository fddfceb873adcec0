"""Enrollment codes and device tokens: expired, reused, altered and forged codes are refused
with a sentence; revoked and unknown tokens get 401 on every API call; a device sees and
writes only its scope (campaign and current-era provinces)."""

import hashlib

import pytest
import sqlalchemy as sa

from cli_helpers import run_cli, run_json
from fieldkit.core.documents import new_id
from fieldkit.core.errors import AuthError, UsageError
from fieldkit.core.station import Station
from fieldkit.core.store.memory import MemoryStore
from fieldkit.sync import client as sync_client
from fieldkit.sync.enrollment import (_b32decode, _b32encode, decode_code, encode_code,
                                      redeem_code, revoke_device)
from fieldkit.sync.tables import enrollment_codes
from test_sync_support import (NINH_BINH_COMMUNE, InProcessClient, enroll_store,
                               fill_inspection, issue, make_hq_app)


@pytest.fixture
def hq(tmp_path):
    app, store = make_hq_app(f"sqlite:///{tmp_path / 'hq.db'}", tmp_path)
    yield app, store
    store.close()


def test_a_code_enrolls_one_device_once(hq):
    app, store = hq
    issued = issue(store)
    answer = redeem_code(store, issued["code"], device_id=new_id())
    assert answer["scope"] == {"campaign_id": "ctr-72-2024", "provinces": ["25"]}
    assert answer["token"].startswith("fkd_")
    with store.connection() as connection:  # HQ keeps only the token's hash
        row = connection.execute(sa.text("SELECT token_hash FROM sync_devices")).one()
    assert row.token_hash == hashlib.sha256(answer["token"].encode()).hexdigest()
    with pytest.raises(AuthError, match="already used"):
        redeem_code(store, issued["code"])


def test_expired_code_is_refused(hq):
    app, store = hq
    issued = issue(store)
    with store.transaction(), store.connection() as connection:
        connection.execute(enrollment_codes.update().values(
            expires_at="2020-01-01T00:00:00+00:00"))
    response = app.test_client().post("/api/v1/enroll", json={"code": issued["code"]})
    assert response.status_code == 403
    assert "expired" in response.get_json()["error"]


def test_altered_and_forged_codes_are_refused(hq):
    app, store = hq
    issued = issue(store)
    # One character changed: the check characters catch it on the device.
    text = issued["short_code"]
    typo = text[:5] + ("A" if text[5] != "A" else "B") + text[6:]
    with pytest.raises(AuthError, match="mistyped"):
        decode_code(typo)
    # Altered with a valid check (someone who knows the format): HQ's MAC refuses it.
    data = bytearray(_b32decode(issued["code"]))
    data[12] ^= 0x01
    body = bytes(data[:-2])
    altered = _b32encode(body + hashlib.sha256(body).digest()[:2])
    with pytest.raises(AuthError, match="not issued by this headquarters"):
        redeem_code(store, altered)
    # A code made with another HQ's secret.
    forged = encode_code(b"another secret", bytes.fromhex(issued["code_id"]), "http://hq.test")
    response = app.test_client().post("/api/v1/enroll", json={"code": forged})
    assert response.status_code == 403 and "signature" in response.get_json()["error"]
    # The genuine code still works afterwards.
    assert redeem_code(store, issued["code"])["device_id"]


def test_codes_carry_the_hq_address_and_legacy_provinces_are_refused(hq):
    app, store = hq
    issued = issue(store, provinces=("25", "37"))
    assert decode_code(issued["code"]).url == "http://hq.test"
    assert decode_code(issued["short_code"]).url is None
    assert issued["provinces"] == ["25", "37"]
    with pytest.raises(UsageError, match="17 is not a current-era province code"):
        issue(store, provinces=("17",))


def test_revoked_and_unknown_tokens_get_401_everywhere(hq):
    app, store = hq
    field = MemoryStore()
    client = enroll_store(app, store, field)
    assert client.device()["team"] == "Đoàn 1"
    device_id = field.get_meta("sync.enrollment")["device_id"]
    revoke_device(store, device_id)
    http = app.test_client()
    sha = "0" * 64
    calls = [("GET", "/api/v1/device", {}), ("GET", "/api/v1/changes?since=0", {}),
             ("POST", "/api/v1/push", {"json": {"docs": []}}),
             ("POST", "/api/v1/blobs/missing", {"json": {"hashes": [sha]}}),
             ("PUT", f"/api/v1/blobs/{sha}", {"data": b"x"})]
    for token in (client.token, "fkd_unknown", None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for method, path, kwargs in calls:
            response = http.open(path, method=method, headers=headers, **kwargs)
            assert response.status_code == 401, (token, path)
            assert response.get_json()["error"]
    with pytest.raises(AuthError, match="revoked"):
        sync_client.sync(field, client=client)


def test_a_device_pulls_and_pushes_only_inside_its_scope(hq, tmp_path):
    app, store = hq
    phu_tho = Station(tmp_path / "a")
    ninh_binh = Station(tmp_path / "b")
    try:
        phu_tho.init()
        ninh_binh.init()
        client_a = enroll_store(app, store, phu_tho.store, provinces=("25",))
        client_b = enroll_store(app, store, ninh_binh.store, team="Đoàn 2", provinces=("37",))
        mine = fill_inspection(phu_tho, evidence=False)
        theirs = fill_inspection(ninh_binh, unit=NINH_BINH_COMMUNE, evidence=False)
        sync_client.sync(ninh_binh.store, client=client_b)
        summary = sync_client.sync(phu_tho.store, client=client_a)
        assert summary["rejected"] == 0
        assert phu_tho.store.get(theirs["id"]) is None          # another province: not pulled
        assert not phu_tho.store.find("finding", inspection_id=theirs["id"])
        assert phu_tho.store.get("checklist:vn.baseline.commune@2.0.0") is not None

        # Pushes outside the scope are refused per document, the rest applied.
        theirs_at_hq = store.get(theirs["id"])
        outside = {**mine, "id": new_id(), "province_code": "37", "rev": "1-aa",
                   "base_rev": None}
        claimed = {**theirs_at_hq, "province_code": "25", "rev": "9-bb",
                   "base_rev": theirs_at_hq["rev"]}
        orphan = {"id": new_id(), "type": "finding", "inspection_id": theirs["id"],
                  "campaign_id": "ctr-72-2024", "province_code": "25", "rev": "1-cc",
                  "item": "LD02", "value": "no", "deleted": False}
        review = {"id": new_id(), "type": "review", "inspection_id": mine["id"],
                  "campaign_id": "ctr-72-2024", "province_code": "25", "rev": "1-dd",
                  "decision": "approved"}
        approve_self = {**store.get(mine["id"]), "status": "approved", "rev": "9-ee"}
        fine = {"id": new_id(), "type": "recommendation", "inspection_id": mine["id"],
                "campaign_id": "ctr-72-2024", "province_code": "25", "rev": "1-ff",
                "text": "Niêm yết công khai", "device": "someone-else", "deleted": False}
        docs = [outside, claimed, orphan, review, approve_self, fine]
        answer = client_a.push([{k: v for k, v in d.items() if not k.startswith("_")}
                                for d in docs])
        outcomes = [r["outcome"] for r in answer["results"]]
        assert outcomes == ["rejected"] * 5 + ["applied"]
        assert all(r["reason"] for r in answer["results"][:5])
        assert "outside this device's scope" in answer["results"][0]["reason"]
        assert "only headquarters" in answer["results"][3]["reason"]
        assert store.get(outside["id"]) is None and store.get(orphan["id"]) is None
        assert store.get(theirs["id"])["province_code"] == "37"
        assert store.get(fine["id"])["device"] == phu_tho.store.get_meta("device_id")
    finally:
        phu_tho.close()
        ninh_binh.close()


def test_cli_enroll_refuses_a_mistyped_code_in_one_sentence(tmp_path, capsys):
    code, out, err = run_cli(capsys, "field", "--data", tmp_path / "s", "enroll",
                             "0000-0000-0000-0000-0000-0000-0000-0000-0000")
    assert code != 0 and out == ""
    assert err.startswith("Error: ") and "Traceback" not in err


def test_cli_device_list_and_revoke(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'hq.db'}"
    run_json(capsys, "hq", "init", "--db", db, "--json")
    issued = run_json(capsys, "hq", "enroll", "--team", "Đoàn 3", "--province", "91",
                      "--db", db, "--url", "http://127.0.0.1:1", "--qr", tmp_path / "qr",
                      "--json")
    assert (tmp_path / "qr.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (tmp_path / "qr.svg").read_bytes()
    from fieldkit.core.store.sql import SQLStore
    store = SQLStore(db)
    try:
        device_id = redeem_code(store, issued["code"])["device_id"]
    finally:
        store.close()
    devices = run_json(capsys, "hq", "device", "list", "--db", db, "--json")
    assert [(d["id"], d["team"], d["revoked"]) for d in devices] == [(device_id, "Đoàn 3",
                                                                      False)]
    code, _, err = run_cli(capsys, "hq", "device", "revoke", device_id, "--db", db)
    assert code == 0, err
    assert run_json(capsys, "hq", "device", "list", "--db", db, "--json")[0]["revoked"]


def test_client_requires_an_address_for_a_short_code(hq):
    app, store = hq
    issued = issue(store)
    from fieldkit.core.errors import SyncError
    with pytest.raises(SyncError, match="--url"):
        sync_client.enroll(MemoryStore(), issued["short_code"],
                           client_factory=lambda url: InProcessClient(app))


def test_a_device_cannot_change_a_published_checklist(hq, tmp_path):
    app, store = hq
    station = Station(tmp_path / "a")
    try:
        station.init()
        client = enroll_store(app, store, station.store, provinces=("25",))
        published = store.get("checklist:vn.baseline.commune@2.0.0")
        altered = {k: v for k, v in published.items() if not k.startswith("_")}
        altered["definition"] = {**altered["definition"], "title": {"vi": "Đã bị sửa"}}
        altered.update(rev="9-ab", base_rev=published["rev"])
        same = {k: v for k, v in published.items() if not k.startswith("_")}
        same.update(rev="2-cd", base_rev=published["rev"], plugin="field")
        answer = client.push([altered])
        assert answer["results"][0]["outcome"] == "rejected"
        assert "fixed once HQ holds them" in answer["results"][0]["reason"]
        assert client.push([same])["results"][0]["outcome"] in ("applied", "duplicate")
        assert store.get(published["id"])["definition"] == published["definition"]
    finally:
        station.close()
