"""End to end over real HTTP on loopback: HQ runs as ``fieldkit hq serve`` in its own process
(SQLite and PostgreSQL); a field station enrolls, submits, is returned, resubmits, is approved,
and a later edit of the approved inspection becomes a conflict at HQ, not an overwrite."""

import pytest

from cli_helpers import run_cli, run_json
from fieldkit.core.store.blobs import BlobStore
from fieldkit.core.store.sql import SQLStore
from fieldkit.core.workflow import finding_id
from test_sync_support import HQServer, fill_inspection, hq_db, open_station  # noqa: F401


@pytest.fixture
def hq_server(hq_db, tmp_path, capsys):  # noqa: F811
    run_json(capsys, "hq", "init", "--db", hq_db, "--blobs", tmp_path / "hqdata", "--json")
    server = HQServer(hq_db, tmp_path / "hqdata").start()
    yield server
    server.stop()


def field(capsys, data, *args):
    return run_json(capsys, "field", "--data", data, *args)


def hq(capsys, server, *args):
    return run_json(capsys, "hq", *args, "--db", server.db)


def test_submit_return_resubmit_approve_then_a_late_edit_is_a_conflict(
        hq_server, tmp_path, capsys):
    data = tmp_path / "station"
    issued = hq(capsys, hq_server, "enroll", "--team", "Đoàn 1", "--province", "25",
                "--campaign", "ctr-72-2024", "--json")
    assert issued["url"] == hq_server.url
    station = open_station(data)
    station.close()
    enrolled = field(capsys, data, "enroll", issued["code"], "--json")
    assert enrolled["scope"] == {"campaign_id": "ctr-72-2024", "provinces": ["25"]}

    station = open_station(data)
    inspection = fill_inspection(station)
    station.close()

    first = field(capsys, data, "sync", "--json")
    assert first["pushed"] >= 24 and first["blobs"] == 1 and first["rejected"] == 0
    assert first["conflicts"] == 0 and first["pending"] == 0
    again = field(capsys, data, "sync", "--json")
    assert again["pushed"] == 0 and again["pulled"] == 0   # nothing travels twice

    listed = {row["id"]: row for row in hq(capsys, hq_server, "inspections", "list", "--json")}
    assert listed[inspection["id"]]["status"] == "submitted"
    assert listed[inspection["id"]]["findings"] >= 22
    evidence_sha = next(iter(BlobStore(tmp_path / "station").root.glob("*/*"))).parent.name
    assert any(BlobStore(tmp_path / "hqdata").root.glob(f"{evidence_sha}/*"))

    code, _, err = run_cli(capsys, "hq", "review", inspection["id"], "--return", "--comment",
                           "Bổ sung biên bản hội nghị", "--db", hq_server.db)
    assert code == 0, err
    pulled = field(capsys, data, "sync", "--json")
    assert pulled["pulled"] >= 2 and pulled["conflicts"] == 0
    station = open_station(data)
    flow = station.workflow()
    returned = flow.inspection(inspection["id"])
    assert returned["status"] == "returned"
    assert returned["review"]["comment"] == "Bổ sung biên bản hội nghị"
    flow.answer(inspection["id"], "KT01", "5", note="đã bổ sung")
    flow.submit(inspection["id"])
    station.close()
    resent = field(capsys, data, "sync", "--json")
    assert resent["pushed"] == 2 and resent["conflicts"] == 0

    listed = {row["id"]: row for row in hq(capsys, hq_server, "inspections", "list",
                                           "--status", "received", "--json")}
    assert listed[inspection["id"]]["status"] == "resubmitted"
    code, _, err = run_cli(capsys, "hq", "review", inspection["id"], "--approve",
                           "--db", hq_server.db)
    assert code == 0, err
    field(capsys, data, "sync", "--json")
    station = open_station(data)
    assert station.workflow().inspection(inspection["id"])["status"] == "approved"
    # A device that missed the approval (or a hand edit) changes a finding afterwards.
    late = station.store.get(finding_id(inspection["id"], "KT01"))
    station.store.save({**late, "value": 9}, device=station.device_id)
    station.close()

    late_sync = field(capsys, data, "sync", "--json")
    assert late_sync["conflicts"] == 1
    conflicts = hq(capsys, hq_server, "conflicts", "list", "--json")
    assert [c["id"] for c in conflicts] == [finding_id(inspection["id"], "KT01")]
    assert conflicts[0]["versions"][0]["value"] == 9
    assert conflicts[0]["current"]["value"] == 5          # the approved content stays
    station = open_station(data)
    try:  # the next pull brought the approved content back to the device
        field_now = station.store.get(finding_id(inspection["id"], "KT01"))
    finally:
        station.close()
    assert field_now["value"] == 5
    store = SQLStore(hq_server.db)
    try:
        assert store.get(inspection["id"])["status"] == "approved"
    finally:
        store.close()
