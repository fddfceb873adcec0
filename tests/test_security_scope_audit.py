"""Province scopes at HQ (a Ninh Bình reviewer never sees Phú Thọ) and the audit log (every
push outcome, review, enrollment, revocation, user change and sign-in; append-only;
viewable by administrators; exportable as CSV and JSON)."""

import csv
import io
import json

import pytest
import sqlalchemy as sa

from fieldkit.sync import client as sync_client
from fieldkit.sync.tables import audit_log
from cli_helpers import run_cli
from test_security_support import csrf, sign_in
from test_sync_support import (NINH_BINH_COMMUNE, enroll_store, fill_inspection, make_hq_app,
                               open_station)


@pytest.fixture
def hq(tmp_path):
    app, store = make_hq_app(f"sqlite:///{tmp_path / 'hq.db'}", tmp_path)
    ids = {}
    for province, unit in (("25", None), ("37", NINH_BINH_COMMUNE)):
        station = open_station(tmp_path / f"station{province}")
        client = enroll_store(app, store, station.store, provinces=(province,),
                              team=f"Đoàn {province}")
        kwargs = {"unit": unit} if unit else {}
        ids[province] = fill_inspection(station, **kwargs)["id"]
        sync_client.sync(station.store, blobs=station.blobs, client=client)
        station.close()
    yield app, store, ids
    store.close()


def test_a_ninh_binh_reviewer_sees_and_reviews_only_ninh_binh(hq):
    app, store, ids = hq
    browser = sign_in(app, "nb", role="reviewer", provinces=["37"])
    listing = browser.get("/inspections?status=all").get_data(as_text=True)
    assert ids["37"] in listing and ids["25"] not in listing
    page = browser.get(f"/inspections/{ids['37']}")
    assert page.status_code == 200
    done = browser.post(f"/inspections/{ids['37']}/review",
                        data={"decision": "approve", "csrf_token": csrf(page.data)})
    assert done.status_code == 302 and store.get(ids["37"])["status"] == "approved"
    assert browser.get(f"/inspections/{ids['25']}").status_code == 404
    assert browser.get(f"/reports/inspections/{ids['25']}.html").status_code == 404
    assert browser.get("/reports/export.csv?province=25").status_code == 403
    dashboard = browser.get("/dashboard")
    assert dashboard.status_code == 302 and "province=37" in dashboard.headers["Location"]
    photo = [e for e in store.find("evidence") if e["province_code"] == "25"][0]["sha256"]
    # the same photo is evidence in Ninh Bình too (files are stored by content): readable
    assert browser.get(f"/evidence/{photo}").status_code == 200
    hanoi = sign_in(app, "hn", role="reviewer", provinces=["01"])
    assert hanoi.get(f"/evidence/{photo}").status_code == 404
    assert hanoi.get("/evidence/..%2F..%2Fhq.db").status_code == 404
    denied = [r for r in _entries(store) if r["action"] == "access.denied"]
    assert {r["actor"] for r in denied} == {"nb", "hn"} and len(denied) >= 4


def test_a_viewer_reads_but_cannot_review(hq):
    app, store, ids = hq
    browser = sign_in(app, "xem", role="viewer")
    page = browser.get(f"/inspections/{ids['25']}")
    assert page.status_code == 200 and 'value="approve"' not in page.get_data(as_text=True)
    refused = browser.post(f"/inspections/{ids['25']}/review",
                           data={"decision": "approve", "csrf_token": csrf(page.data)})
    assert refused.status_code == 403 and store.get(ids["25"])["status"] == "submitted"


def _entries(store):
    with store.connection() as connection:
        return [dict(r) for r in connection.execute(
            sa.select(audit_log).order_by(audit_log.c.id)).mappings()]


def test_the_audit_log_records_who_did_what(hq):
    app, store, ids = hq
    admin = sign_in(app, "admin")
    page = admin.get(f"/inspections/{ids['25']}")
    admin.post(f"/inspections/{ids['25']}/review",
               data={"decision": "return", "comment": "Thiếu", "csrf_token": csrf(page.data)})
    entries = _entries(store)
    actions = {r["action"] for r in entries}
    assert {"enroll.code_issued", "enroll.redeem", "push", "user.add", "login",
            "review"} <= actions
    pushes = [r for r in entries if r["action"] == "push"]
    assert all(r["actor_kind"] == "device" and r["device_id"] for r in pushes)
    assert "applied" in {r["outcome"] for r in pushes}
    assert {r["doc_type"] for r in pushes} >= {"inspection", "finding", "evidence"}
    review = [r for r in entries if r["action"] == "review"][0]
    assert (review["actor"], review["doc_id"], review["outcome"]) == ("admin", ids["25"],
                                                                      "returned")
    assert review["detail"]["comment"] == "Thiếu"


def test_the_audit_log_is_append_only(hq):
    _app, store, _ids = hq
    with pytest.raises(Exception, match="append-only"):
        with store.engine.begin() as connection:
            connection.execute(audit_log.delete())
    with pytest.raises(Exception, match="append-only"):
        with store.engine.begin() as connection:
            connection.execute(audit_log.update().values(outcome="x"))


def test_audit_pages_and_exports(hq, tmp_path, capsys):
    app, store, _ids = hq
    admin = sign_in(app, "admin")
    page = admin.get("/audit")
    assert page.status_code == 200 and "enroll.redeem" in page.get_data(as_text=True)
    assert admin.get("/audit?page=2").status_code == 200
    download = admin.get("/audit/export.json")
    assert download.status_code == 200 and "attachment" in download.headers[
        "Content-Disposition"]
    assert {r["action"] for r in json.loads(download.data)} >= {"push", "login"}
    assert sign_in(app, "rv", role="reviewer").get("/audit").status_code == 403
    db = f"sqlite:///{tmp_path / 'hq.db'}"
    out = tmp_path / "audit.csv"
    code, _, err = run_cli(capsys, "hq", "audit", "export", "--format", "csv", "--out", out,
                           "--db", db)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[-1]["action"] == "audit.export" and rows[-1]["actor_kind"] == "cli"


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_security_tables_match_their_migration_and_refuse_edits(kind, tmp_path, request):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from fieldkit.core.store.sql import SQLStore
    from fieldkit.sync import audit
    from fieldkit.web.hq import accounts
    from test_sync_support import database_url
    store = SQLStore(database_url(kind, tmp_path, request))
    try:
        wanted = sa.MetaData()
        for table in (accounts.users, accounts.login_attempts, audit_log):
            table.to_metadata(wanted)
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True,
                "include_name": lambda name, kind_, _: kind_ != "table" or name in wanted.tables})
            assert compare_metadata(context, wanted) == []
        audit.record(store, "test", outcome="ok")
        with pytest.raises(Exception, match="append-only"):
            with store.engine.begin() as connection:
                connection.execute(audit_log.update().values(outcome="changed"))
        assert [e["outcome"] for e in audit.iter_entries(store)] == ["ok"]
        store.drop_all_for_tests()     # downgrade and upgrade again cleanly
        assert list(audit.iter_entries(store)) == []
    finally:
        store.close()
