"""The field store's own promises: what is acknowledged survives, damage is named, never guessed."""

import errno
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from tinydb import TinyDB

from fieldkit.core.errors import StoreError
from fieldkit.core.store import field as field_module
from fieldkit.core.store import journal as journal_module
from fieldkit.core.store.field import FieldStore
from fieldkit.core.store.memory import MemoryStore


def finding(n, **fields):
    return {"type": "finding", "inspection": "insp-1", "item": f"1.{n}", "value": "yes", **fields}


def journals(directory):
    return sorted(directory.glob("journal-*.log"))


def journal_bytes(directory):
    return sum(path.stat().st_size for path in journals(directory))


def fill(directory, count=3, **options):
    """A store with ``count`` findings, a conflict and a meta value, closed without a final
    snapshot (as after a crash): everything is still in the journal."""
    store = FieldStore(directory, **options)
    saved = [store.save(finding(n, note="Hòa Bình")) for n in range(count)]
    store.add_conflict({**saved[0], "rev": "2-ffff"})
    store.set_meta("checkpoint", {"pushed": count})
    store.close(compact=False)
    return saved


def assert_contents(store, saved):
    for doc in saved:
        assert store.get(doc["id"]) == doc
    assert store.last_seq() == max(doc["_seq"] for doc in saved)


# --- reopening -----------------------------------------------------------------------------


@pytest.mark.parametrize("final_snapshot", [True, False])
def test_reopening_keeps_everything(tmp_path, final_snapshot):
    store = FieldStore(tmp_path)
    saved = [store.save(finding(n)) for n in range(5)]
    saved[2] = store.save({**saved[2], "value": "no"})
    saved[3] = store.delete(saved[3]["id"])
    store.add_conflict({**saved[0], "rev": "2-ffff"})
    store.set_meta("device", {"id": "laptop-1"})
    store.close(compact=final_snapshot)

    with FieldStore(tmp_path) as reopened:
        assert_contents(reopened, saved)
        assert [c["rev"] for c in reopened.conflicts()] == ["2-ffff"]
        assert reopened.get_meta("device") == {"id": "laptop-1"}
        assert [d["id"] for d in reopened.changes(0)][-2:] == [saved[2]["id"], saved[3]["id"]]
        following = reopened.save(finding(9))
        assert following["_seq"] == saved[3]["_seq"] + 1


def test_the_snapshot_is_a_plain_tinydb_database(tmp_path):
    saved = fill(tmp_path)
    FieldStore(tmp_path).close()

    db = TinyDB(tmp_path / "snapshot.json", access_mode="r")
    assert {doc["id"] for doc in db.table("docs")} == {doc["id"] for doc in saved}
    assert db.table("docs").get(doc_id=saved[1]["_seq"])["rev"] == saved[1]["rev"]
    assert db.table("meta").get(doc_id=1)["format_version"] == 1
    db.close()


# --- damage --------------------------------------------------------------------------------


@pytest.mark.parametrize("torn", [
    b'5a1b2c3d {"ops":[{"op":"put","seq":6,"doc":{"id":"x"',  # cut short, no newline
    b'00000000 {"ops":[]}\n',  # whole line, wrong checksum
    b"\x00" * 300,  # blocks allocated but never written
])
def test_a_torn_last_journal_line_is_dropped_and_the_store_opens(tmp_path, torn):
    saved = fill(tmp_path)
    with open(journals(tmp_path)[-1], "ab") as journal:
        journal.write(torn)

    with FieldStore(tmp_path) as store:
        assert_contents(store, saved)
        more = store.save(finding(7))  # appended after the dropped tail, not after garbage

    with FieldStore(tmp_path) as store:
        assert store.get(more["id"]) == more


def test_a_damaged_line_before_intact_ones_refuses_to_open_and_changes_nothing(tmp_path):
    fill(tmp_path, count=4)
    path = journals(tmp_path)[-1]
    lines = path.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"value":"yes"', b'"value":"YES"')
    path.write_bytes(b"\n".join(lines))
    before = path.read_bytes()

    with pytest.raises(StoreError, match=r"damaged at line 2 while later lines are intact"):
        FieldStore(tmp_path)

    assert path.read_bytes() == before


def test_a_corrupt_snapshot_is_a_clear_error_and_nothing_is_overwritten(tmp_path):
    fill(tmp_path)
    FieldStore(tmp_path).close()
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_bytes(snapshot.read_bytes()[:-40])
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()
              if path.name != "store.lock"}

    with pytest.raises(StoreError, match=r"snapshot .*snapshot\.json is damaged .*backup"):
        FieldStore(tmp_path)

    after = {path.name: path.read_bytes() for path in tmp_path.iterdir()
             if path.name != "store.lock"}
    assert after == before
    FieldStore(tmp_path / "other").close()  # and the failed open let go of its lock:
    with pytest.raises(StoreError, match="damaged"):
        FieldStore(tmp_path)


def test_journals_without_a_snapshot_refuse_to_open(tmp_path):
    fill(tmp_path)
    (tmp_path / "snapshot.json").unlink()

    with pytest.raises(StoreError, match="no snapshot.json"):
        FieldStore(tmp_path)


def test_a_failed_journal_write_keeps_nothing_and_the_store_goes_on(tmp_path, monkeypatch):
    store = FieldStore(tmp_path)
    kept = store.save(finding(1))
    real_write = journal_module.os.write

    def disk_full(fd, data):
        real_write(fd, bytes(data[:10]))  # part of the line reaches the file
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_module.os, "write", disk_full)
    with pytest.raises(StoreError, match="not saved.*No space left"):
        store.save({**kept, "value": "no"})
    monkeypatch.undo()

    assert store.get(kept["id"]) == kept and store.last_seq() == kept["_seq"]
    later = store.save(finding(2))
    store.close(compact=False)
    with FieldStore(tmp_path) as reopened:
        assert_contents(reopened, [kept, later])


# --- transactions --------------------------------------------------------------------------


def test_a_transaction_is_replayed_whole_or_not_at_all(tmp_path):
    store = FieldStore(tmp_path)
    single = store.save(finding(0))
    with store.transaction():
        batch = [store.save(finding(n)) for n in range(1, 4)]
    store.close(compact=False)
    path = journals(tmp_path)[-1]
    assert len(path.read_bytes().splitlines()) == 2

    with FieldStore(tmp_path) as reopened:
        assert_contents(reopened, [single, *batch])
        reopened.close(compact=False)

    path.write_bytes(path.read_bytes()[:-25])  # the batch line torn
    with FieldStore(tmp_path) as reopened:
        assert_contents(reopened, [single])
        assert all(reopened.get(doc["id"]) is None for doc in batch)


# --- compaction ----------------------------------------------------------------------------


def test_compaction_keeps_everything_and_the_journal_shrinks(tmp_path):
    store = FieldStore(tmp_path, compact_every=10**9)
    saved = [store.save(finding(n, note="x" * 200)) for n in range(60)]
    saved[5] = store.save({**saved[5], "value": "no"})
    grown = journal_bytes(tmp_path)

    store.compact()

    assert journal_bytes(tmp_path) == 0 < grown
    assert len(journals(tmp_path)) == 1
    assert_contents(store, saved)
    store.close(compact=False)
    with FieldStore(tmp_path) as reopened:
        assert_contents(reopened, saved)


@pytest.mark.parametrize("background", [True, False])
def test_the_journal_is_compacted_when_it_passes_the_threshold(tmp_path, background):
    store = FieldStore(tmp_path, compact_every=25, background_compaction=background)
    saved = [store.save(finding(n)) for n in range(110)]
    store.wait_for_compaction()

    assert store.last_compaction is not None
    assert len(journals(tmp_path)) == 1
    assert sum(1 for _ in open(journals(tmp_path)[0], "rb")) < 25
    store.close(compact=False)
    with FieldStore(tmp_path) as reopened:
        assert_contents(reopened, saved)


def test_a_compaction_that_fails_loses_nothing(tmp_path, monkeypatch):
    store = FieldStore(tmp_path, compact_every=10, background_compaction=False)

    def broken_disk(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(field_module, "write_snapshot", broken_disk)
    saved = [store.save(finding(n)) for n in range(35)]  # compactions fail along the way
    assert len(journals(tmp_path)) > 1
    with pytest.raises(StoreError, match="nothing is lost"):
        store.close()
    monkeypatch.undo()

    with FieldStore(tmp_path) as reopened:
        assert_contents(reopened, saved)
    assert len(journals(tmp_path)) == 1


def test_leftover_temporary_snapshots_are_removed(tmp_path):
    saved = fill(tmp_path)
    leftover = tmp_path / "snapshot.json.tmp-999-abcdef"
    leftover.write_bytes(b'{"docs": {"1": ')

    with FieldStore(tmp_path) as store:
        assert_contents(store, saved)
    assert not leftover.exists()


# --- one process at a time -----------------------------------------------------------------

OPEN_IN_CHILD = """
import sys
from fieldkit.core.errors import StoreError
from fieldkit.core.store.field import FieldStore
try:
    FieldStore(sys.argv[1]).close()
except StoreError as exc:
    print(exc)
    sys.exit(3)
"""


def open_in_another_process(directory):
    return subprocess.run([sys.executable, "-c", OPEN_IN_CHILD, str(directory)],
                          capture_output=True, text=True, timeout=60)


def test_a_second_process_is_refused_while_the_store_is_open(tmp_path):
    store = FieldStore(tmp_path)

    refused = open_in_another_process(tmp_path)
    assert refused.returncode == 3, refused.stderr
    assert "store is in use by another process" in refused.stdout

    store.close()
    assert open_in_another_process(tmp_path).returncode == 0


def test_the_same_folder_cannot_be_opened_twice_in_one_process(tmp_path):
    with FieldStore(tmp_path):
        with pytest.raises(StoreError, match="already open"):
            FieldStore(tmp_path)


def test_a_closed_store_refuses_to_work(tmp_path):
    store = FieldStore(tmp_path)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.save(finding(1))


# --- format versions -----------------------------------------------------------------------


def test_a_plain_tinydb_file_is_migrated_on_open(tmp_path):
    db = TinyDB(tmp_path / "snapshot.json")
    docs = db.table("docs")
    docs.insert({"type": "finding", "item": "1.1", "value": "yes", "note": "Hòa Bình"})
    docs.insert({"id": "kept-id", "type": "inspection", "rev": "3-abc", "province": "Ninh Bình"})
    docs.insert({"id": "kept-id", "type": "inspection", "rev": "4-abd", "province": "Ninh Bình"})
    db.close()
    original = (tmp_path / "snapshot.json").read_bytes()

    with FieldStore(tmp_path) as store:
        found = store.find("finding")
        assert len(found) == 1 and found[0]["note"] == "Hòa Bình"
        assert found[0]["rev"].startswith("1-") and found[0]["deleted"] is False
        assert store.get("kept-id")["rev"] == "4-abd"
        assert [c["rev"] for c in store.conflicts("kept-id")] == ["3-abc"]
        assert store.last_seq() == 3
        store.save({**found[0], "value": "no"})

    assert (tmp_path / "snapshot.v0.json").read_bytes() == original
    header = json.loads((tmp_path / "snapshot.json").read_bytes())["meta"]["1"]
    assert header["format_version"] == 1
    with FieldStore(tmp_path) as store:
        assert store.find("finding")[0]["value"] == "no"


def test_a_tinydb_file_without_a_docs_table_is_refused(tmp_path):
    db = TinyDB(tmp_path / "snapshot.json")
    db.insert({"something": "else"})
    db.close()

    with pytest.raises(StoreError, match="without a 'docs' table"):
        FieldStore(tmp_path)


def test_a_newer_format_version_is_refused_and_left_alone(tmp_path):
    fill(tmp_path)
    FieldStore(tmp_path).close()
    snapshot = tmp_path / "snapshot.json"
    tables = json.loads(snapshot.read_bytes())
    tables["meta"]["1"]["format_version"] = 2
    snapshot.write_text(json.dumps(tables))
    before = snapshot.read_bytes()

    with pytest.raises(StoreError, match="format version 2, newer than .* upgrade fieldkit"):
        FieldStore(tmp_path)
    assert snapshot.read_bytes() == before


# --- threads -------------------------------------------------------------------------------


def test_concurrent_saves_are_all_kept_with_unique_gapless_seqs(tmp_path):
    store = FieldStore(tmp_path, compact_every=500)
    results, errors = [], []

    def inspector(number):
        try:
            for n in range(200):
                results.append(store.save(finding(n, inspector=number)))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=inspector, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    seqs = sorted(doc["_seq"] for doc in results)
    assert seqs == list(range(1, 1601))
    assert store.last_seq() == 1600
    store.close()
    with FieldStore(tmp_path) as reopened:
        assert len(reopened.find("finding")) == 1600
        assert [d["_seq"] for d in reopened.changes(0, limit=2000)] == list(range(1, 1601))


# --- the field store behaves like the reference store, across reopen and compaction ---------


class FieldStoreMatchesMemoryStore(RuleBasedStateMachine):
    """Random edits, conflicts, metadata, failed transactions, compactions and reopenings:
    the field store must always hold what the in-memory reference store holds."""

    ids = Bundle("ids")

    def __init__(self):
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="fieldkit-machine-"))
        self.field = FieldStore(self.directory, fsync=False, compact_every=7)
        self.model = MemoryStore()
        self.counter = 0

    def both(self, action):
        results = []
        for store in (self.field, self.model):
            try:
                results.append(("ok", action(store)))
            except Exception as exc:  # noqa: BLE001 - compared below
                results.append(("error", type(exc)))
        assert results[0][0] == results[1][0], results
        return results[0]

    @rule(target=ids, value=st.sampled_from(["yes", "no", "Hòa Bình", ""]))
    def save_new(self, value):
        self.counter += 1
        doc_id = f"doc-{self.counter}"
        self.both(lambda store: store.save({"id": doc_id, "type": "finding", "value": value}))
        return doc_id

    @rule(doc_id=ids, value=st.sampled_from(["yes", "no", "sửa"]), kind=st.sampled_from(
        ["finding", "recommendation"]))
    def edit(self, doc_id, value, kind):
        self.both(lambda store: store.save({**store.get(doc_id), "value": value, "type": kind}))

    @rule(doc_id=ids)
    def delete(self, doc_id):
        self.both(lambda store: store.delete(doc_id))

    @rule(doc_id=ids, generation=st.integers(1, 3))
    def keep_conflict(self, doc_id, generation):
        self.both(lambda store: store.add_conflict(
            {"id": doc_id, "rev": f"{generation}-abc", "value": "theirs"}))

    @rule(doc_id=ids)
    def resolve(self, doc_id):
        self.both(lambda store: store.resolve_conflicts(doc_id))

    @rule(key=st.sampled_from(["checkpoint", "device"]), value=st.integers(0, 5))
    def set_meta(self, key, value):
        self.both(lambda store: store.set_meta(key, value))

    @rule(doc_ids=st.lists(ids, max_size=3), fail=st.booleans())
    def transaction(self, doc_ids, fail):
        def batch(store):
            with store.transaction():
                for doc_id in doc_ids:
                    store.save({**store.get(doc_id), "value": "batch"})
                    store.set_meta("last-batch", doc_id)
                if fail:
                    raise RuntimeError("interrupted")
        self.both(batch)

    @rule(final_snapshot=st.booleans())
    def reopen(self, final_snapshot):
        self.field.close(compact=final_snapshot)
        self.field = FieldStore(self.directory, fsync=False, compact_every=7)

    @rule()
    def compact(self):
        self.field.compact()

    @invariant()
    def same_contents(self):
        def comparable(docs):
            return [{k: v for k, v in doc.items() if k != "updated_at"} for doc in docs]
        assert self.field.last_seq() == self.model.last_seq()
        assert comparable(self.field.changes(0, None)) == comparable(self.model.changes(0, None))
        assert self.field.conflicts() == self.model.conflicts()
        for key in ("checkpoint", "device", "last-batch"):
            assert self.field.get_meta(key) == self.model.get_meta(key)
        for kind in ("finding", "recommendation"):
            assert comparable(self.field.find(kind)) == comparable(self.model.find(kind))

    def teardown(self):
        self.field.close()
        shutil.rmtree(self.directory, ignore_errors=True)


FieldStoreMatchesMemoryStore.TestCase.settings = settings(
    max_examples=25, stateful_step_count=30, deadline=None)
test_field_store_matches_the_reference_store = FieldStoreMatchesMemoryStore.TestCase
