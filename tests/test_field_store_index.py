"""The field store's indexes (by id, by type, by type and inspection) always answer as a scan of
every document would: across edits that move a document, deletes, rolled-back transactions,
compactions and reopening, and when ids share a hash."""

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from fieldkit.core.store import index as index_module
from fieldkit.core.store.field import FieldStore
from fieldkit.core.store.index import SeqsById
from fieldkit.core.store.memory import MemoryStore

TYPES = ["finding", "evidence", "recommendation", None]
INSPECTIONS = ["insp-a", "insp-b", "insp-ç", None, 7]  # 7: not text, so not indexed


def poor_hash(doc_id):
    """Three hash values for every id: most ids share one with others."""
    return len(doc_id) % 3


def scan(store, kind=None, **equals):
    """What ``find`` must return, from the change feed (which does not use those indexes)."""
    return [doc for doc in store.changes(0, None)
            if (kind is None or doc.get("type") == kind)
            and all(doc.get(field) == value for field, value in equals.items())]


class IndexesMatchAScan(RuleBasedStateMachine):
    """Random saves, edits that change a document's type or inspection, deletes, transactions
    that fail half-way, compactions and reopenings; every query is checked against a scan
    and against a plain dict of what was saved."""

    ids = Bundle("ids")
    field = True          # a FieldStore (reopened, compacted) or a MemoryStore
    colliding = False     # every id shares its hash with others

    def __init__(self):
        super().__init__()
        self.restore = None
        if self.colliding:
            self.restore = index_module.SeqsById
            index_module.SeqsById = lambda: SeqsById(hash_id=poor_hash)
        self.directory = Path(tempfile.mkdtemp(prefix="fieldkit-index-"))
        self.store = self.open()
        self.model = {}  # id -> document as last saved (without _seq)
        self.counter = 0

    def open(self):
        if self.field:
            return FieldStore(self.directory, fsync=False, compact_every=9,
                              background_compaction=False)
        return MemoryStore()

    def saved(self, doc):
        self.model[doc["id"]] = {k: v for k, v in doc.items() if k != "_seq"}

    @rule(target=ids, kind=st.sampled_from(TYPES), inspection=st.sampled_from(INSPECTIONS))
    def save_new(self, kind, inspection):
        self.counter += 1
        doc_id = "x" * (self.counter % 4) + f"doc-{self.counter}"
        doc = {"id": doc_id, "type": kind, "value": "có"}
        if inspection is not None:
            doc["inspection_id"] = inspection
        self.saved(self.store.save(doc))
        return doc_id

    @rule(doc_id=ids, kind=st.sampled_from(TYPES), inspection=st.sampled_from(INSPECTIONS))
    def move(self, doc_id, kind, inspection):
        doc = {**self.store.get(doc_id), "type": kind, "inspection_id": inspection}
        self.saved(self.store.save(doc))

    @rule(doc_id=ids)
    def delete(self, doc_id):
        self.saved(self.store.delete(doc_id))

    @rule(doc_ids=st.lists(ids, max_size=4), new=st.integers(0, 2),
          inspection=st.sampled_from(INSPECTIONS), fail=st.booleans())
    def transaction(self, doc_ids, new, inspection, fail):
        done = []
        try:
            with self.store.transaction():
                for doc_id in doc_ids:
                    done.append(self.store.save({**self.store.get(doc_id),
                                                 "inspection_id": inspection, "value": "sửa"}))
                for n in range(new):
                    self.counter += 1
                    done.append(self.store.save({"id": f"tx-{self.counter}", "type": "finding",
                                                 "inspection_id": inspection}))
                if fail:
                    raise RuntimeError("interrupted")
        except RuntimeError:
            return
        for doc in done:
            self.saved(doc)

    @rule()
    def reopen(self):
        if self.field:
            self.store.close(compact=False)
            self.store = self.open()

    @rule()
    def compact(self):
        if self.field:
            self.store.compact()

    @invariant()
    def every_query_answers_as_a_scan_does(self):
        store = self.store
        feed = store.changes(0, None)
        assert {d["id"]: {k: v for k, v in d.items() if k != "_seq"} for d in feed} == self.model
        assert [d["_seq"] for d in feed] == sorted(d["_seq"] for d in feed)
        assert list(store.iter_changes(0)) == feed
        for doc in feed:
            assert store.get(doc["id"]) == doc
        assert store.find() == feed
        for kind in TYPES:
            assert store.find(kind) == scan(store, kind)
            for inspection in INSPECTIONS:
                assert store.find(kind, inspection_id=inspection) == scan(
                    store, kind, inspection_id=inspection)
                assert store.find(kind, inspection_id=inspection, value="sửa") == scan(
                    store, kind, inspection_id=inspection, value="sửa")
        assert store.get("no-such-id") is None

    def teardown(self):
        self.store.close()
        if self.restore is not None:
            index_module.SeqsById = self.restore
        shutil.rmtree(self.directory, ignore_errors=True)


MACHINE_SETTINGS = settings(max_examples=30, stateful_step_count=30, deadline=None)

IndexesMatchAScan.TestCase.settings = MACHINE_SETTINGS
test_field_store_indexes_match_a_scan = IndexesMatchAScan.TestCase


class MemoryIndexesWithSharedHashes(IndexesMatchAScan):
    field = False
    colliding = True


MemoryIndexesWithSharedHashes.TestCase.settings = MACHINE_SETTINGS
test_indexes_hold_when_ids_share_hashes = MemoryIndexesWithSharedHashes.TestCase


class FieldIndexesWithSharedHashes(IndexesMatchAScan):
    colliding = True


FieldIndexesWithSharedHashes.TestCase.settings = MACHINE_SETTINGS
test_field_indexes_hold_when_ids_share_hashes = FieldIndexesWithSharedHashes.TestCase


# --- by example ----------------------------------------------------------------------------


@pytest.fixture(params=["memory", "field"])
def store(request, tmp_path):
    opened = MemoryStore() if request.param == "memory" else FieldStore(tmp_path, fsync=False)
    yield opened
    opened.close()


def test_findings_of_an_inspection_follow_an_edit_that_moves_one(store):
    kept = store.save({"type": "finding", "inspection_id": "insp-a", "item": "LD01"})
    moved = store.save({"type": "finding", "inspection_id": "insp-a", "item": "LD02"})
    store.save({"type": "evidence", "inspection_id": "insp-a"})

    moved = store.save({**moved, "inspection_id": "insp-b"})

    assert [d["item"] for d in store.find("finding", inspection_id="insp-a")] == ["LD01"]
    assert store.find("finding", inspection_id="insp-b") == [moved]
    assert len(store.find("evidence", inspection_id="insp-a")) == 1
    assert store.find("finding", inspection_id="insp-c") == []
    assert store.get(kept["id"]) == kept


def test_a_rolled_back_transaction_leaves_every_index_as_it_was(store):
    first = store.save({"type": "finding", "inspection_id": "insp-a", "item": "LD01"})
    before = {kind: store.find(kind, inspection_id="insp-a") for kind in TYPES}

    with pytest.raises(RuntimeError):
        with store.transaction():
            store.save({**first, "type": "recommendation", "inspection_id": "insp-b"})
            store.save({"type": "finding", "inspection_id": "insp-a", "item": "LD02"})
            store.delete(first["id"])
            raise RuntimeError("interrupted")

    assert {kind: store.find(kind, inspection_id="insp-a") for kind in TYPES} == before
    assert store.find("recommendation") == [] and store.find("finding") == [first]
    assert store.get(first["id"]) == first and store.last_seq() == first["_seq"]


def test_iterating_changes_sees_the_store_as_it_was_when_it_began(store):
    saved = [store.save({"type": "finding", "n": n}) for n in range(5)]
    feed = store.iter_changes(2)
    store.save({**saved[3], "n": 30})
    store.save({"type": "finding", "n": 9})
    assert [doc["n"] for doc in feed] == [2, 3, 4]
    assert [doc["n"] for doc in store.iter_changes(2)] == [2, 4, 30, 9]


def test_many_edits_of_few_documents_stay_right(tmp_path):
    store = FieldStore(tmp_path, fsync=False, compact_every=10**9)
    docs = [store.save({"type": "finding", "inspection_id": f"i{n % 3}", "n": 0})
            for n in range(30)]
    for round_ in range(1, 120):  # enough stale versions to tidy the seq list
        docs = [store.save({**doc, "n": round_}) for doc in docs]
    assert [d["n"] for d in store.find("finding")] == [119] * 30
    assert store.changes(0, None) == docs
    store.close()
    with FieldStore(tmp_path) as reopened:
        assert reopened.find("finding", inspection_id="i1") == [d for d in docs
                                                               if d["inspection_id"] == "i1"]


def test_the_id_table_keeps_ids_that_share_a_hash_apart():
    table = SeqsById(hash_id=lambda doc_id: 5)
    for seq in range(1, 300):
        table.add(f"doc-{seq}", seq)
    table.replace("doc-7", 7, 4000)
    table.remove("doc-9", 9)
    table.add("doc-9", 4001)

    assert len(table) == 299
    assert sorted(table.candidates("anything"))[-3:] == [299, 4000, 4001]
    assert 7 not in table.candidates("doc-7") and 9 not in table.candidates("doc-9")
