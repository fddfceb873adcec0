"""Offline bundles: export → import → counts; importing twice changes nothing; one changed
byte (documents or manifest) is refused with a clear message and nothing is applied; the ack
bundle advances the field's checkpoint and brings HQ's documents."""

import json
import zipfile

import pytest

from cli_helpers import run_cli, run_json
from fieldkit.core.store.sql import SQLStore
from fieldkit.sync.local import pending_count, push_checkpoint
from test_sync_support import enroll_store, fill_inspection, make_hq_app, open_station


@pytest.fixture
def setup(tmp_path):
    """HQ (SQLite) and an enrolled station with one submitted inspection, both closed."""
    db = f"sqlite:///{tmp_path / 'hq.db'}"
    app, store = make_hq_app(db, tmp_path)
    station = open_station(tmp_path / "station")
    enroll_store(app, store, station.store)
    inspection = fill_inspection(station)
    station.close()
    store.close()
    return db, tmp_path / "station", inspection


def hq_state(db):
    store = SQLStore(db)
    try:
        return store.last_seq(), len(store.conflicts())
    finally:
        store.close()


def rewrite(bundle, target, change):
    """Copy a bundle with one member's bytes changed by ``change(name, data)``."""
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            out.writestr(info, change(info.filename, source.read(info.filename)))
    return target


def flip_one_byte(data, at):
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def test_export_import_twice_and_ack(setup, tmp_path, capsys):
    db, data, inspection = setup
    bundle = tmp_path / "push.fkb"
    exported = run_json(capsys, "field", "--data", data, "bundle", "export", "--out", bundle,
                        "--json")
    assert exported["docs"] >= 25 and exported["blobs"] == 1

    first = run_json(capsys, "hq", "bundle", "import", bundle, "--db", db, "--blobs",
                     tmp_path / "hqdata", "--ack-out", tmp_path / "ack.fkb", "--json")
    assert first["applied"] + first["duplicate"] == exported["docs"]
    assert first["applied"] >= 24 and first["conflict"] == 0 and first["rejected"] == 0
    assert first["blobs"] == 1
    state = hq_state(db)

    second = run_json(capsys, "hq", "bundle", "import", bundle, "--db", db, "--blobs",
                      tmp_path / "hqdata", "--json")
    assert second["duplicate"] == exported["docs"]
    assert second["applied"] == second["conflict"] == second["blobs"] == 0
    assert hq_state(db) == state                       # nothing changed at HQ

    station = open_station(data)
    try:
        assert push_checkpoint(station.store) == 0 and pending_count(station.store) > 0
    finally:
        station.close()
    acked = run_json(capsys, "field", "--data", data, "bundle", "import-ack",
                     tmp_path / "ack.fkb", "--json")
    assert acked["acknowledged_until"] == exported["until_seq"]
    station = open_station(data)
    try:
        assert pending_count(station.store) == 0
        # HQ's published checklists came with the ack.
        assert station.store.get("checklist:vn.baseline.province@2.0.0") is not None
    finally:
        station.close()
    again = run_json(capsys, "field", "--data", data, "bundle", "import",
                     tmp_path / "ack.fkb", "--json")
    assert again["applied"] == 0 and again["conflicts"] == 0
    # Nothing left to send: the next export is empty.
    empty = run_json(capsys, "field", "--data", data, "bundle", "export", "--out",
                     tmp_path / "next.fkb", "--json")
    assert empty["docs"] == 0


@pytest.mark.parametrize("member, at", [("docs.jsonl", 40), ("manifest.json", 30),
                                        ("manifest.sig", 3)])
def test_a_changed_byte_is_refused_and_nothing_applied(setup, tmp_path, capsys, member, at):
    db, data, _ = setup
    bundle = tmp_path / "push.fkb"
    run_json(capsys, "field", "--data", data, "bundle", "export", "--out", bundle, "--json",
             "--no-encrypt")  # the signature layer, under the seal
    before = hq_state(db)
    tampered = rewrite(bundle, tmp_path / "tampered.fkb",
                       lambda name, raw: flip_one_byte(raw, at) if name == member else raw)
    code, out, err = run_cli(capsys, "hq", "bundle", "import", tampered, "--db", db,
                             "--json")
    assert code != 0 and out == ""
    assert "altered or damaged" in err and "nothing was applied" in err
    assert len(err.strip().splitlines()) == 1
    assert hq_state(db) == before


def test_raw_byte_change_in_the_file_is_refused(setup, tmp_path, capsys):
    db, data, _ = setup
    bundle = tmp_path / "push.fkb"
    run_json(capsys, "field", "--data", data, "bundle", "export", "--out", bundle, "--json",
             "--no-encrypt")  # the signature layer, under the seal
    raw = bytearray(bundle.read_bytes())
    with zipfile.ZipFile(bundle) as archive:
        info = archive.getinfo("docs.jsonl")
    raw[info.header_offset + 30 + len(info.filename) + 10] ^= 0xFF  # inside the docs data
    bundle.write_bytes(bytes(raw))
    before = hq_state(db)
    code, _, err = run_cli(capsys, "hq", "bundle", "import", bundle, "--db", db, "--json")
    assert code != 0 and "nothing was applied" in err
    assert hq_state(db) == before


def test_an_edited_document_with_a_matching_manifest_still_fails_the_signature(
        setup, tmp_path, capsys):
    db, data, inspection = setup
    bundle = tmp_path / "push.fkb"
    run_json(capsys, "field", "--data", data, "bundle", "export", "--out", bundle, "--json",
             "--no-encrypt")  # the signature layer, under the seal
    with zipfile.ZipFile(bundle) as archive:
        docs = archive.read("docs.jsonl").replace(b'"submitted"', b'"approved!"')
    import hashlib
    digest = hashlib.sha256(docs).hexdigest()

    def change(name, raw):
        if name == "docs.jsonl":
            return docs
        if name == "manifest.json":
            manifest = json.loads(raw)
            manifest["docs"]["sha256"] = digest
            return json.dumps(manifest).encode()
        return raw
    tampered = rewrite(bundle, tmp_path / "tampered.fkb", change)
    before = hq_state(db)
    code, _, err = run_cli(capsys, "hq", "bundle", "import", tampered, "--db", db)
    assert code != 0 and "signature" in err
    assert hq_state(db) == before
