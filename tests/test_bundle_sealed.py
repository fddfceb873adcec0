"""Sealed bundles: a push bundle exported by an enrolled station is encrypted for HQ by
default, so the file reveals no note, document or photo; HQ detects and opens it; one
changed, dropped or truncated byte — or a bundle sealed for another HQ — is refused with a
clear message and nothing applied. ``--no-encrypt`` writes a readable bundle."""

import pytest

from cli_helpers import run_cli, run_json
from fieldkit.core.store.sql import SQLStore
from fieldkit.sync import sealed
from fieldkit.sync.local import ENROLLMENT
from test_bundles import hq_state
from test_sync_support import PNG, enroll_store, fill_inspection, make_hq_app, open_station

NOTE = "Biên bản mật: ông Trần Văn Khánh nhận 40 triệu đồng"


@pytest.fixture
def setup(tmp_path):
    """HQ (SQLite) and an enrolled station with a submitted inspection carrying NOTE."""
    db = f"sqlite:///{tmp_path / 'hq.db'}"
    app, store = make_hq_app(db, tmp_path)
    station = open_station(tmp_path / "station")
    enroll_store(app, store, station.store)
    inspection = fill_inspection(station, submit=False)
    flow = station.workflow()
    value = flow.findings(inspection["id"])["LD02"]["value"]
    flow.answer(inspection["id"], "LD02", value, note=NOTE)
    flow.submit(inspection["id"])
    station.close()
    store.close()
    return db, tmp_path / "station"


def export(capsys, data, out, *options):
    return run_json(capsys, "field", "--data", data, "bundle", "export", "--out", out,
                    "--json", *options)


def hq_import(capsys, db, tmp_path, bundle):
    return run_cli(capsys, "hq", "bundle", "import", bundle, "--db", db, "--blobs",
                   tmp_path / "hqdata", "--json")


def plaintext_markers():
    return [NOTE.encode("utf-8"), "Trần Văn Khánh".encode("utf-8"), PNG[8:40],
            b"manifest.json", b"vn.baseline.commune", b"PK\x03\x04"]


def test_a_sealed_bundle_reveals_nothing_and_hq_imports_it(setup, tmp_path, capsys):
    db, data = setup
    bundle = tmp_path / "push.fkb"
    exported = export(capsys, data, bundle)
    assert exported["sealed"] is True and exported["docs"] >= 25
    raw = bundle.read_bytes()
    assert raw.startswith(sealed.MAGIC)
    for marker in plaintext_markers():
        assert marker not in raw, marker

    code, out, err = hq_import(capsys, db, tmp_path, bundle)
    assert code == 0, err
    import json
    counts = json.loads(out)
    assert counts["sealed"] is True and counts["applied"] >= 24 and counts["rejected"] == 0
    assert counts["blobs"] == 1
    store = SQLStore(db)
    try:
        notes = [doc.get("note") for doc in store.find(type="finding")]
    finally:
        store.close()
    assert NOTE in notes


def test_no_encrypt_writes_a_readable_bundle(setup, tmp_path, capsys):
    db, data = setup
    bundle = tmp_path / "plain.fkb"
    assert export(capsys, data, bundle, "--no-encrypt")["sealed"] is False
    assert b"PK\x03\x04" in bundle.read_bytes() and PNG[8:40] in bundle.read_bytes()
    code, _, err = hq_import(capsys, db, tmp_path, bundle)
    assert code == 0, err


@pytest.mark.parametrize("where", ["header", "first", "middle", "tag", "truncated", "extended"])
def test_a_tampered_sealed_bundle_is_refused_and_nothing_applied(setup, tmp_path, capsys,
                                                                 where):
    db, data = setup
    bundle = tmp_path / "push.fkb"
    export(capsys, data, bundle)
    raw = bytearray(bundle.read_bytes())
    if where == "header":
        raw[sealed.HEADER_SIZE - 10] ^= 0x01          # the ephemeral public key
    elif where == "first":
        raw[sealed.HEADER_SIZE] ^= 0x01
    elif where == "middle":
        raw[len(raw) // 2] ^= 0x80
    elif where == "tag":
        raw[-1] ^= 0x01
    elif where == "truncated":
        raw = raw[:-100]
    else:
        raw += b"\x00" * 64
    tampered = tmp_path / "tampered.fkb"
    tampered.write_bytes(bytes(raw))
    before = hq_state(db)
    code, out, err = hq_import(capsys, db, tmp_path, tampered)
    assert code != 0 and out == ""
    assert "nothing was applied" in err and len(err.strip().splitlines()) == 1
    assert "altered" in err or "damaged" in err
    assert hq_state(db) == before


def test_a_bundle_sealed_for_another_hq_is_refused(setup, tmp_path, capsys):
    db, data = setup
    other = f"sqlite:///{tmp_path / 'other.db'}"
    _, other_store = make_hq_app(other, tmp_path / "o")
    try:
        other_key = sealed.hq_public_key_text(other_store)
    finally:
        other_store.close()
    station = open_station(data)
    try:
        info = station.store.get_meta(ENROLLMENT)
        station.store.set_meta(ENROLLMENT, {**info, "hq_public_key": other_key})
    finally:
        station.close()
    bundle = tmp_path / "push.fkb"
    export(capsys, data, bundle)
    before = hq_state(db)
    code, _, err = hq_import(capsys, db, tmp_path, bundle)
    assert code != 0 and "sealed for another headquarters" in err
    assert hq_state(db) == before


def test_encrypt_needs_hq_public_key_and_default_falls_back(setup, tmp_path, capsys):
    _, data = setup
    station = open_station(data)
    try:
        info = station.store.get_meta(ENROLLMENT)
        station.store.set_meta(ENROLLMENT, {**info, "hq_public_key": None})
    finally:
        station.close()
    code, _, err = run_cli(capsys, "field", "--data", data, "bundle", "export", "--out",
                           tmp_path / "x.fkb", "--encrypt")
    assert code != 0 and "--no-encrypt" in err and not (tmp_path / "x.fkb").exists()
    code, out, _ = run_cli(capsys, "field", "--data", data, "bundle", "export", "--out",
                           tmp_path / "y.fkb")
    assert code == 0 and "NOT encrypted" in out


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 1000])
def test_seal_and_open_round_trip_across_chunk_boundaries(tmp_path, size):
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    private = X25519PrivateKey.generate()
    public = sealed.base64.b64encode(sealed._public_bytes(private.public_key())).decode()
    plaintext = bytes(range(256)) * 4
    plaintext = plaintext[:size]
    path = tmp_path / "s.bin"
    with open(path, "wb") as out:
        sealed.seal(plaintext, public, out, chunk=64)
    with sealed.open_sealed(path, private) as opened:
        assert opened.read() == plaintext
    raw = path.read_bytes()
    block = 64 + sealed.TAG
    chunks = (len(raw) - sealed.HEADER_SIZE) // block
    if chunks >= 2:  # dropping a whole chunk, or swapping two, is refused
        body = raw[sealed.HEADER_SIZE:]
        dropped = raw[:sealed.HEADER_SIZE] + body[block:]
        swapped = raw[:sealed.HEADER_SIZE] + body[block:2 * block] + body[:block] + \
            body[2 * block:]
        for changed in (dropped, swapped):
            path.write_bytes(changed)
            with pytest.raises(Exception, match="refused and nothing was applied"):
                sealed.open_sealed(path, private)
