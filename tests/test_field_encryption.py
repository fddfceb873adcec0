"""Encryption at rest: a lost laptop's data folder shows no finding, no photo, no JSON key."""

import base64
import io
import os
import random
import signal
import subprocess
import sys
import time
import zlib
from datetime import date

import pytest
from PIL import Image

from cli_helpers import run_cli
from fieldkit.core.errors import AuthError, StoreError, UsageError, ValidationFailed
from fieldkit.core.station import PASSPHRASE_ENV, Station
from fieldkit.core.store.blobs import BlobStore
from fieldkit.core.store.crypto import MAGIC, create_keys, unlock_keys
from fieldkit.core.store.field import FieldStore

PASSPHRASE = "mưa-phùn-tháng-ba 2024"
FINDING = "Chủ tịch xã chưa công khai dự toán"


def photo():
    out = io.BytesIO()
    image = Image.new("RGB", (320, 240), (20, 120, 200))
    for x in range(0, 320, 7):
        image.putpixel((x, x % 240), (255, 255, 0))
    image.save(out, "PNG")
    return out.getvalue()


def secrets_in(directory, *needles):
    """``[(file, needle), ...]`` for every needle found in the bytes of a file under it."""
    found = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [(path.relative_to(directory), needle) for needle in needles if needle in data]
    return found


def file_states(directory):
    return {path: (path.read_bytes(), path.stat().st_mtime_ns) if path.is_file() else None
            for path in sorted(directory.rglob("*"))}


NEEDLES = (FINDING.encode(), b'"inspection_id"', b"inspection_id", b"recommendation",
           b"\x89PNG\r\n", b"JFIF", photo()[-200:])


@pytest.fixture(autouse=True)
def no_passphrase_env(monkeypatch):
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)


@pytest.fixture
def filled(tmp_path):
    """An encrypted station with a recommendation, a photo and its thumbnail; still open."""
    station = Station(tmp_path / "data", passphrase=PASSPHRASE)
    station.init(author="Nguyễn Thị Hoà")
    flow = station.workflow()
    inspection = flow.new_inspection("17", "province", "vn.baseline.province",
                                     on=date(2024, 6, 1))
    flow.add_recommendation(inspection["id"], FINDING)
    evidence = flow.add_evidence(inspection["id"], photo(), filename="bien-ban.png",
                                 caption=FINDING)
    station.blobs.thumbnail(evidence["sha256"], 64)
    yield station, inspection, evidence
    station.close()


def test_no_plaintext_on_disk_in_the_journal_nor_after_compaction(filled, tmp_path):
    station, _, evidence = filled
    data_dir = tmp_path / "data"
    assert station.store.last_seq() > 0
    assert (data_dir / "blobs" / evidence["sha256"][:2] / evidence["sha256"][2:]).is_file()
    assert secrets_in(data_dir, *NEEDLES) == []

    station.close()
    assert (data_dir / "store" / "snapshot.json").read_bytes().startswith(MAGIC)
    assert secrets_in(data_dir, *NEEDLES) == []


def test_the_right_passphrase_reopens_everything(filled, tmp_path):
    station, inspection, evidence = filled
    station.close()

    again = Station(tmp_path / "data", passphrase=PASSPHRASE)
    try:
        flow = again.workflow()
        assert [r["text"] for r in flow.recommendations(inspection["id"])] == [FINDING]
        assert [e["caption"] for e in flow.evidence(inspection["id"])] == [FINDING]
        assert again.blobs.get(evidence["sha256"]) == photo()
        assert again.blobs.verify(evidence["sha256"])
        with again.blobs.open(evidence["sha256"]) as stream:
            assert stream.read() == photo()
        assert again.blobs.thumbnail(evidence["sha256"], 64).startswith(b"\xff\xd8\xff")
        assert again.store.get_meta("author") == "Nguyễn Thị Hoà"
    finally:
        again.close()


def test_the_passphrase_may_come_from_the_environment(filled, tmp_path, monkeypatch):
    station, inspection, _ = filled
    station.close()
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    again = Station(tmp_path / "data")
    try:
        assert again.workflow().inspection(inspection["id"])["id"] == inspection["id"]
    finally:
        again.close()


@pytest.mark.parametrize("passphrase, error, message", [
    ("not the passphrase", AuthError, "Wrong passphrase"),
    (None, AuthError, "is encrypted: set FIELDKIT_PASSPHRASE"),
])
def test_a_wrong_or_missing_passphrase_changes_nothing(filled, tmp_path, passphrase, error,
                                                       message):
    filled[0].close()
    data_dir = tmp_path / "data"
    before = file_states(data_dir)

    for part in ("store", "blobs", "device_id"):
        station = Station(data_dir, passphrase=passphrase)
        with pytest.raises(error, match=message):
            getattr(station, part)
        station.close()

    assert file_states(data_dir) == before


def test_an_encrypted_store_without_its_key_refuses_to_open(filled, tmp_path):
    station, _, evidence = filled
    station.close()
    with pytest.raises(StoreError, match="is encrypted"):
        FieldStore(tmp_path / "data" / "store")
    with pytest.raises(StoreError, match="is encrypted"):
        BlobStore(tmp_path / "data").get(evidence["sha256"])


def test_compaction_keeps_the_store_encrypted(tmp_path):
    data_dir = tmp_path / "data"
    cipher = create_keys(data_dir, PASSPHRASE)
    store = FieldStore(data_dir / "store", compact_every=7, background_compaction=False,
                       cipher=cipher)
    ids = [store.save({"type": "finding", "inspection_id": "x", "note": f"{FINDING} {n}"})["id"]
           for n in range(40)]
    assert store.last_compaction is not None
    store.compact()
    store.close()
    assert secrets_in(data_dir, *NEEDLES) == []
    assert (data_dir / "store" / "snapshot.json").read_bytes().startswith(MAGIC)

    store = FieldStore(data_dir / "store", cipher=unlock_keys(data_dir, PASSPHRASE))
    try:
        assert [store.get(i)["note"] for i in ids] == [f"{FINDING} {n}" for n in range(40)]
    finally:
        store.close()


def test_an_altered_journal_line_is_refused_not_dropped(tmp_path):
    """A torn line (bad crc) is dropped; an intact line that does not decrypt is tampering."""
    data_dir = tmp_path / "data"
    cipher = create_keys(data_dir, PASSPHRASE)
    store = FieldStore(data_dir / "store", cipher=cipher)
    for n in range(3):
        store.save({"type": "finding", "note": f"{FINDING} {n}"})
    journal = store._writer.path
    store.close(compact=False)

    lines = journal.read_bytes().split(b"\n")
    sealed = bytearray(base64.b64decode(lines[-2][9:]))
    sealed[-1] ^= 1
    payload = base64.b64encode(bytes(sealed))
    lines[-2] = b"%08x %s" % (zlib.crc32(payload), payload)
    journal.write_bytes(b"\n".join(lines))
    with pytest.raises(StoreError, match="cannot be decrypted"):
        FieldStore(data_dir / "store", cipher=cipher)


def test_an_existing_plain_store_is_not_silently_encrypted(tmp_path):
    plain = Station(tmp_path / "data")
    plain.init()
    plain.close()
    with pytest.raises(UsageError, match="not encrypted"):
        Station(tmp_path / "data", passphrase=PASSPHRASE).store
    assert not (tmp_path / "data" / "keys.json").exists()
    reopened = Station(tmp_path / "data")  # and it still opens as it is
    assert reopened.store.last_seq() > 0
    reopened.close()


def test_a_short_passphrase_is_refused(tmp_path):
    with pytest.raises(ValidationFailed, match="at least 8 characters"):
        Station(tmp_path / "data", passphrase="1234").store
    assert not (tmp_path / "data" / "keys.json").exists()


def test_cli_creates_and_opens_an_encrypted_station(tmp_path, capsys, monkeypatch):
    data_dir = tmp_path / "data"
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    code, _, err = run_cli(capsys, "field", "--data", data_dir, "--encrypt", "init")
    assert code == 0, err
    assert (data_dir / "keys.json").is_file()
    assert (data_dir / "store" / "snapshot.json").read_bytes().startswith(MAGIC)

    monkeypatch.setenv(PASSPHRASE_ENV, "a wrong passphrase")
    code, _, err = run_cli(capsys, "field", "--data", data_dir, "init")
    assert code == 1 and "Wrong passphrase" in err and "Traceback" not in err

    monkeypatch.delenv(PASSPHRASE_ENV)
    code, _, err = run_cli(capsys, "field", "--data", data_dir, "init")
    assert code == 1 and "FIELDKIT_PASSPHRASE" in err


# --- crash safety, as in test_store_crash.py, on an encrypted store --------------------------

ROUNDS = 8
TIME_BUDGET = 15.0

WRITER = r"""
import sys
from fieldkit.core.store.crypto import unlock_keys
from fieldkit.core.store.field import FieldStore

data_dir, first, passphrase = sys.argv[1], int(sys.argv[2]), sys.argv[3]
store = FieldStore(data_dir + "/store", compact_every=30, cipher=unlock_keys(data_dir, passphrase))
print("ready", flush=True)
n = first
while True:
    if n % 5 == 0:
        with store.transaction():
            done = [store.save({"type": "finding", "n": n, "note": f"ghi chú {n}"}),
                    store.save({"type": "finding", "n": n + 1, "note": f"ghi chú {n + 1}"})]
        for doc in done:
            print(f"ack {doc['id']} {doc['n']}", flush=True)
        n += 2
    else:
        doc = store.save({"type": "finding", "n": n, "note": f"ghi chú {n}",
                          "padding": "x" * (n % 300)})
        print(f"ack {doc['id']} {doc['n']}", flush=True)
        n += 1
"""


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")
def test_every_acknowledged_write_survives_sigkill_when_encrypted(tmp_path):
    data_dir = tmp_path / "data"
    cipher = create_keys(data_dir, PASSPHRASE)
    rng = random.Random(20241128)
    acknowledged, started, rounds = {}, time.monotonic(), 0
    for number in range(ROUNDS):
        if time.monotonic() - started > TIME_BUDGET:
            break
        rounds += 1
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(data_dir),
                                  str(number * 1_000_000), PASSPHRASE],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            ready = child.stdout.readline()
            assert ready == b"ready\n", (ready, child.stderr.read().decode())
            time.sleep(rng.uniform(0.0, 0.3))
            child.send_signal(signal.SIGKILL)
            out, err = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == -signal.SIGKILL, err.decode()
        for line in out.split(b"\n")[:-1]:
            _, doc_id, n = line.decode().split()
            acknowledged[doc_id] = int(n)

        store = FieldStore(data_dir / "store", cipher=cipher)
        try:
            for doc_id, n in acknowledged.items():
                doc = store.get(doc_id)
                assert doc is not None, f"round {number}: acknowledged {doc_id} is missing"
                assert doc["n"] == n and doc["note"] == f"ghi chú {n}"
        finally:
            store.close(compact=False)

    assert rounds >= 4 and len(acknowledged) > 50
    assert secrets_in(data_dir, "ghi chú".encode(), b'"note"') == []
    assert not list(data_dir.rglob("*.tmp-*"))
