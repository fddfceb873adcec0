"""The field store's snapshot, one entry per line: stock TinyDB reads it, older snapshots still
open (and are rewritten in it), damage is named and loses nothing acknowledged."""

import json

import pytest
from tinydb import TinyDB

from fieldkit.core.errors import StoreError
from fieldkit.core.store.crypto import MAGIC, create_keys
from fieldkit.core.store.field import FieldStore
from fieldkit.core.store.snapshot import SNAPSHOT_CONTEXT

PASSPHRASE = "mật khẩu đủ dài"
LINE_LAYOUT = b'{"meta":{\n'


def finding(n, **fields):
    return {"type": "finding", "inspection_id": f"insp-{n % 2}", "item": f"LD{n:02d}",
            "value": "yes", "note": "Ủy ban nhân dân xã Hòa Bình", **fields}


def stocked(directory, count=6, **options):
    """A store with findings, an edit, a tombstone, a conflict and metadata; still open."""
    store = FieldStore(directory, **options)
    saved = [store.save(finding(n)) for n in range(count)]
    saved[1] = store.save({**saved[1], "value": "no"})
    saved[2] = store.delete(saved[2]["id"])
    store.add_conflict({**saved[0], "rev": "2-ffff"})
    store.set_meta("device_id", "laptop-1")
    store.set_meta("scope", {"provinces": ["Ninh Bình", "Kiên Giang"]})
    return store, saved


def assert_holds(store, saved):
    for doc in saved:
        assert store.get(doc["id"]) == doc
    assert store.last_seq() == max(doc["_seq"] for doc in saved)
    assert [c["rev"] for c in store.conflicts()] == ["2-ffff"]
    assert store.get_meta("scope") == {"provinces": ["Ninh Bình", "Kiên Giang"]}
    assert [d["_seq"] for d in store.find("finding", inspection_id="insp-1")] == sorted(
        d["_seq"] for d in saved if d["inspection_id"] == "insp-1")


def files(directory):
    return {path.name: path.read_bytes() for path in directory.iterdir()
            if path.name != "store.lock"}


def one_line(snapshot):
    """Rewrite a snapshot as fieldkit wrote it before the line layout: one line of JSON."""
    tables = json.loads(snapshot.read_bytes())
    snapshot.write_bytes(json.dumps(tables, ensure_ascii=False,
                                    separators=(",", ":")).encode() + b"\n")


# --- the layout ----------------------------------------------------------------------------


def test_the_snapshot_has_one_entry_a_line_and_stock_tinydb_reads_every_table(tmp_path):
    store, saved = stocked(tmp_path)
    store.close()

    raw = (tmp_path / "snapshot.json").read_bytes()
    lines = raw.split(b"\n")
    assert lines[0] == b'{"meta":{' and lines[-2:] == [b"}}", b""]
    assert b'},"conflicts":{' in lines and b'},"docs":{' in lines
    doc_lines = lines[lines.index(b'},"docs":{') + 1:-2]
    assert len(doc_lines) == len(saved)
    assert all(line.startswith(b'"') for line in doc_lines)

    db = TinyDB(tmp_path / "snapshot.json", access_mode="r")
    try:
        for doc in saved:
            stored = db.table("docs").get(doc_id=doc["_seq"])
            assert {**stored, "_seq": doc["_seq"]} == doc
        assert [c["rev"] for c in db.table("conflicts")] == ["2-ffff"]
        meta = {entry["key"]: entry["value"] for entry in db.table("meta") if "key" in entry}
        assert meta == {"device_id": "laptop-1",
                        "scope": {"provinces": ["Ninh Bình", "Kiên Giang"]}}
        assert db.table("meta").get(doc_id=1)["format_version"] == 1
    finally:
        db.close()


def test_an_empty_store_writes_an_empty_snapshot_that_tinydb_reads(tmp_path):
    FieldStore(tmp_path).close()

    db = TinyDB(tmp_path / "snapshot.json", access_mode="r")
    assert len(db.table("docs")) == 0 and len(db.table("conflicts")) == 0
    db.close()
    with FieldStore(tmp_path) as store:
        assert store.last_seq() == 0 and store.find("finding") == []


def test_reopening_after_a_compaction_in_the_background_keeps_everything(tmp_path):
    store, saved = stocked(tmp_path, count=80, compact_every=10)
    store.wait_for_compaction()
    more = store.save(finding(99))
    store.close(compact=False)  # the journal holds what the snapshot does not

    with FieldStore(tmp_path) as reopened:
        assert_holds(reopened, [*saved, more])


# --- older snapshots -----------------------------------------------------------------------


def test_a_snapshot_of_one_line_opens_and_is_rewritten_in_the_line_layout(tmp_path):
    store, saved = stocked(tmp_path)
    store.close()
    one_line(tmp_path / "snapshot.json")
    assert not (tmp_path / "snapshot.json").read_bytes().startswith(LINE_LAYOUT)

    with FieldStore(tmp_path, background_compaction=False) as reopened:
        assert_holds(reopened, saved)
        assert (tmp_path / "snapshot.json").read_bytes().startswith(LINE_LAYOUT)
        later = reopened.save(finding(7))

    with FieldStore(tmp_path) as again:
        assert_holds(again, [*saved, later])


def test_a_snapshot_of_one_line_with_journals_after_it_opens(tmp_path):
    store, saved = stocked(tmp_path, compact_every=10**9)
    store.close(compact=False)  # snapshot of the empty store, everything in the journal
    one_line(tmp_path / "snapshot.json")

    with FieldStore(tmp_path, background_compaction=False) as reopened:
        assert_holds(reopened, saved)
    with FieldStore(tmp_path) as again:
        assert_holds(again, saved)


def test_a_snapshot_that_begins_in_the_layout_but_strays_from_it_is_read_whole(tmp_path):
    store, saved = stocked(tmp_path)
    store.close()
    snapshot = tmp_path / "snapshot.json"
    tables = json.loads(snapshot.read_bytes())
    docs = json.dumps(tables["docs"], ensure_ascii=False, indent=1)  # valid, other layout
    snapshot.write_bytes(b'{"meta":{\n' + json.dumps(tables["meta"])[1:].encode()
                         + b',"conflicts":' + json.dumps(tables["conflicts"]).encode()
                         + b',"docs":' + docs.encode() + b"}")

    with FieldStore(tmp_path, background_compaction=False) as reopened:
        assert_holds(reopened, saved)


def test_an_encrypted_snapshot_of_one_line_opens_and_is_rewritten(tmp_path):
    cipher = create_keys(tmp_path, PASSPHRASE)
    store, saved = stocked(tmp_path / "store", cipher=cipher)
    store.close()
    snapshot = tmp_path / "store" / "snapshot.json"
    plain = cipher.open_file(snapshot.read_bytes(), SNAPSHOT_CONTEXT, "snapshot")
    assert plain.startswith(LINE_LAYOUT)
    tables = json.dumps(json.loads(plain), ensure_ascii=False, separators=(",", ":"))
    snapshot.write_bytes(cipher.seal_file(tables.encode(), SNAPSHOT_CONTEXT))  # as before

    with FieldStore(tmp_path / "store", cipher=cipher, background_compaction=False) as again:
        assert_holds(again, saved)
    raw = snapshot.read_bytes()
    assert raw.startswith(MAGIC)
    assert cipher.open_file(raw, SNAPSHOT_CONTEXT, "snapshot").startswith(LINE_LAYOUT)


# --- damage --------------------------------------------------------------------------------


def _cut_in_the_documents(raw):
    return raw[:raw.index(b'},"docs":{') + 60]


def _not_json(raw):
    at = raw.rindex(b'"type":"finding"')
    return raw[:at] + b'"type":finding"' + raw[at + 16:]


def _not_an_object(raw):
    at = raw.index(b'},"docs":{\n') + len(b'},"docs":{\n')
    end = raw.index(b"\n", at)
    return raw[:at] + b'"1":[1,2],' + raw[end:]


def _twice(raw):
    at = raw.index(b'},"docs":{\n') + len(b'},"docs":{\n')
    first = raw[at:raw.index(b"\n", at) + 1]
    key_end = first.index(b'":')
    again = b'"999"' + first[key_end + 1:].rstrip(b",\n") + b"\n"
    return raw[:-4].rstrip(b"\n") + b",\n" + again + b"}}\n"


@pytest.mark.parametrize("damage, why", [
    (lambda raw: raw[:len(raw) // 2], "not valid JSON"),
    (lambda raw: raw[:-3], "not valid JSON"),
    (_cut_in_the_documents, "not valid JSON"),
    (_not_json, "not valid JSON"),
    (_not_an_object, "not an object"),
    (_twice, "appears twice"),
    (lambda raw: raw.replace(b'"format_version":1', b'"format_version":"1"'),
     "unreadable format version"),
])
def test_a_damaged_snapshot_is_a_clear_error_and_nothing_is_changed(tmp_path, damage, why):
    store, _ = stocked(tmp_path)
    store.close()
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_bytes(damage(snapshot.read_bytes()))
    before = files(tmp_path)

    with pytest.raises(StoreError, match=why) as raised:
        FieldStore(tmp_path)

    assert files(tmp_path) == before
    if why != "unreadable format version":
        assert "snapshot.json is damaged" in str(raised.value)
        assert "backup" in str(raised.value)


def test_a_torn_journal_after_a_line_layout_snapshot_loses_nothing_acknowledged(tmp_path):
    store, saved = stocked(tmp_path, compact_every=10**9)
    store.compact()
    with store.transaction():  # one journal line holding several documents
        batch = [store.save(finding(n)) for n in range(10, 14)]
    store.save(finding(20))
    store.close(compact=False)
    journal = sorted(tmp_path.glob("journal-*.log"))[-1]
    journal.write_bytes(journal.read_bytes()[:-30])  # the last, unacknowledged, torn

    with FieldStore(tmp_path) as reopened:
        assert_holds(reopened, [*saved, *batch])
        assert reopened.last_seq() == batch[-1]["_seq"]


def test_a_damaged_journal_line_before_intact_ones_refuses_to_open(tmp_path):
    store, _ = stocked(tmp_path, compact_every=10**9)
    store.compact()
    for n in range(10, 14):
        store.save(finding(n))
    store.close(compact=False)
    journal = sorted(tmp_path.glob("journal-*.log"))[-1]
    lines = journal.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"value":"yes"', b'"value":"YES"')
    journal.write_bytes(b"\n".join(lines))
    before = files(tmp_path)

    with pytest.raises(StoreError, match="damaged at line 2 while later lines are intact"):
        FieldStore(tmp_path)
    assert files(tmp_path) == before
