"""The in-memory state shared by the memory and field stores, with all-or-nothing transactions.

``DocumentIndex`` holds documents by id and by sequence number, a per-type index, conflicts and
metadata. It changes only through *operations* (small JSON records, the same ones the field
store writes to its journal), and each applied operation returns its undo, so a transaction
that fails is rolled back exactly. ``IndexedStore`` is a ``Store`` over such an index: one
``threading.RLock`` around every read and read-modify-write, ``transaction()`` holding it.
"""

import json
import threading
from bisect import bisect_right
from contextlib import contextmanager

from ..errors import StoreError
from .base import Store

_MISSING = object()


def copy_json(value):
    """A deep copy of a JSON-like value (dicts and lists copied, scalars shared)."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def to_json(value, what="A value"):
    """Compact JSON text of ``value``; ``StoreError`` naming ``what`` if it is not JSON data."""
    try:
        return _encode(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} cannot be stored: it is not plain JSON data ({exc}).") from None


class DocumentIndex:
    """Documents by id and by seq, a per-type index, conflicts and metadata, in memory.

    Stored dicts are never mutated after they are stored (edits replace them), so a shallow
    copy of ``docs`` is a consistent picture of the store (what compaction writes out).
    """

    def __init__(self):
        self.docs = {}          # seq -> current document (without "_seq")
        self.seq_of = {}        # document id -> seq of its current version
        self.by_type = {}       # type -> {document id: None} (an ordered set)
        self.seqs = []          # ascending seqs of current versions, plus stale ones (lazy)
        self.last_seq = 0
        self.conflicts = {}     # conflict id -> losing version
        self.conflicts_of = {}  # document id -> [conflict id, ...]
        self.next_conflict_id = 1
        self.meta = {}          # key -> value

    # --- operations (journal records) ----------------------------------------------------

    def apply(self, op):
        """Apply one operation; return a function that undoes it."""
        kind = op["op"]
        if kind == "put":
            return self._put(op["seq"], op["doc"])
        if kind == "conflict":
            return self._add_conflict(op["cid"], op["doc"])
        if kind == "resolve":
            return self._resolve(op["id"])
        if kind == "meta":
            return self._set_meta(op["key"], op["value"])
        raise StoreError(f"Unknown store operation {kind!r}.")

    def _put(self, seq, doc):
        if seq <= self.last_seq:
            raise StoreError(f"Sequence number {seq} is not after {self.last_seq}.")
        doc_id = doc["id"]
        old_seq = self.seq_of.get(doc_id)
        old_doc = self.docs.pop(old_seq) if old_seq is not None else None
        previous_last = self.last_seq
        self.docs[seq] = doc
        self.seq_of[doc_id] = seq
        self.seqs.append(seq)
        self.last_seq = seq
        old_type, new_type = (old_doc or {}).get("type"), doc.get("type")
        if old_doc is not None and old_type != new_type:
            self.by_type[old_type].pop(doc_id, None)
        self.by_type.setdefault(new_type, {})[doc_id] = None

        def undo():
            del self.docs[seq]
            self.seqs.pop()  # ``seq`` is the newest entry: undo runs newest first
            self.last_seq = previous_last
            if old_doc is None:
                del self.seq_of[doc_id]
                self.by_type[new_type].pop(doc_id, None)
            else:
                self.docs[old_seq] = old_doc
                self.seq_of[doc_id] = old_seq
                if old_type != new_type:
                    self.by_type[new_type].pop(doc_id, None)
                    self.by_type.setdefault(old_type, {})[doc_id] = None
        return undo

    def _add_conflict(self, cid, doc):
        previous_next = self.next_conflict_id
        self.conflicts[cid] = doc
        self.conflicts_of.setdefault(doc["id"], []).append(cid)
        self.next_conflict_id = max(self.next_conflict_id, cid + 1)

        def undo():
            del self.conflicts[cid]
            self.conflicts_of[doc["id"]].remove(cid)
            if not self.conflicts_of[doc["id"]]:
                del self.conflicts_of[doc["id"]]
            self.next_conflict_id = previous_next
        return undo

    def _resolve(self, doc_id):
        cids = self.conflicts_of.pop(doc_id, [])
        removed = [(cid, self.conflicts.pop(cid)) for cid in cids]

        def undo():
            if removed:
                self.conflicts_of[doc_id] = [cid for cid, _ in removed]
                self.conflicts.update(removed)
        return undo

    def _set_meta(self, key, value):
        previous = self.meta.get(key, _MISSING)
        self.meta[key] = value

        def undo():
            if previous is _MISSING:
                del self.meta[key]
            else:
                self.meta[key] = previous
        return undo

    def load(self, docs):
        """Fill an empty index with ``[(seq, doc), ...]`` in ascending seq order (a snapshot)."""
        seq_of, by_type, stored = self.seq_of, self.by_type, self.docs
        for seq, doc in docs:
            doc_id = doc.get("id")
            if not isinstance(doc_id, str) or not doc_id:
                raise StoreError(f"document {seq} has no id")
            if doc_id in seq_of:
                raise StoreError(f"document {doc_id} appears twice")
            if seq <= self.last_seq:
                raise StoreError(f"sequence number {seq} appears out of order")
            stored[seq] = doc
            seq_of[doc_id] = seq
            by_type.setdefault(doc.get("type"), {})[doc_id] = None
            self.seqs.append(seq)
            self.last_seq = seq

    # --- queries -------------------------------------------------------------------------

    def changed_since(self, since, limit):
        """Current documents (seq, doc) with seq > ``since``, in seq order, at most ``limit``."""
        found = []
        seqs, docs = self.seqs, self.docs
        for position in range(bisect_right(seqs, since), len(seqs)):
            seq = seqs[position]
            doc = docs.get(seq)  # None: a stale entry (that version was replaced)
            if doc is not None:
                found.append((seq, doc))
                if len(found) >= limit:
                    break
        return found

    def tidy(self):
        """Drop stale entries from the seq list once they outnumber the live ones."""
        if len(self.seqs) > 2 * len(self.docs) + 1024:
            docs = self.docs
            self.seqs = [seq for seq in self.seqs if seq in docs]

    def conflict_ids_for_version(self, doc_id, rev):
        return [cid for cid in self.conflicts_of.get(doc_id, ())
                if self.conflicts[cid].get("rev") == rev]


class IndexedStore(Store):
    """A ``Store`` over a ``DocumentIndex``; subclasses make committed operations durable."""

    def __init__(self):
        self._lock = threading.RLock()
        self._index = DocumentIndex()
        self._depth = 0       # nesting of transaction() in the thread holding the lock
        self._pending = []    # operations of the open transaction, in order, as
        self._pending_json = []  # ... dicts and as JSON text (None: not encoded yet)
        self._undo = []       # their undo functions (same length as _pending)
        self._closed = False

    # --- durability hooks ----------------------------------------------------------------

    def _commit(self, ops, texts):
        """Make the operations of one finished transaction durable (all or none); ``texts``
        holds their JSON where it was already made (else None)."""

    def _after_commit(self):
        """Called with the lock held after a successful commit."""

    # --- transactions --------------------------------------------------------------------

    def _check_open(self):
        if self._closed:
            raise StoreError("The store is closed.")

    @contextmanager
    def transaction(self):
        """Group writes: all become durable together when the outermost block ends, or none
        (an exception undoes them); the store's lock is held throughout."""
        with self._lock:
            self._check_open()
            mark = len(self._undo)
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._rollback(mark)
                raise
            finally:
                self._depth -= 1
            if self._depth == 0 and self._pending:
                try:
                    self._commit(self._pending, self._pending_json)
                except BaseException:
                    self._rollback(0)
                    raise
                self._pending, self._pending_json, self._undo = [], [], []
                self._index.tidy()
                self._after_commit()

    def _rollback(self, mark):
        while len(self._undo) > mark:
            self._undo.pop()()
            self._pending.pop()
            self._pending_json.pop()

    def _apply(self, op, text=None):
        """Apply an operation inside the current transaction (``text``: its JSON, if made)."""
        self._undo.append(self._index.apply(op))
        self._pending.append(op)
        self._pending_json.append(text)

    # --- writes --------------------------------------------------------------------------

    def write(self, doc):
        with self.transaction():
            if not isinstance(doc, dict) or not isinstance(doc.get("id"), str) or not doc["id"]:
                raise StoreError("A document needs a non-empty text id to be stored.")
            if not isinstance(doc.get("type"), (str, type(None))):
                raise StoreError(f"Document {doc['id']} has a type that is not text.")
            text = to_json({k: v for k, v in doc.items() if k != "_seq"}, f"Document {doc['id']}")
            seq = self._index.last_seq + 1
            self._apply({"op": "put", "seq": seq, "doc": json.loads(text)},
                        f'{{"op":"put","seq":{seq},"doc":{text}}}')
            return seq

    def write_many(self, docs):
        """Write several documents in one transaction; their seqs, in order."""
        with self.transaction():
            return [self.write(doc) for doc in docs]

    def add_conflict(self, doc):
        """Keep a losing version; adding the same version (id and rev) again keeps one copy."""
        with self.transaction():
            if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
                raise StoreError("A conflicting version needs the id of its document.")
            if self._index.conflict_ids_for_version(doc["id"], doc.get("rev")):
                return
            stored = json.loads(to_json({k: v for k, v in doc.items() if k != "_seq"},
                                        f"Conflicting version of {doc['id']}"))
            self._apply({"op": "conflict", "cid": self._index.next_conflict_id, "doc": stored})

    def resolve_conflicts(self, doc_id):
        with self.transaction():
            count = len(self._index.conflicts_of.get(doc_id, ()))
            if count:
                self._apply({"op": "resolve", "id": doc_id})
            return count

    def set_meta(self, key, value):
        if not isinstance(key, str):
            raise StoreError("A metadata key must be text.")
        with self.transaction():
            self._apply({"op": "meta", "key": key,
                         "value": json.loads(to_json(value, f"Metadata value {key!r}"))})

    # --- reads ---------------------------------------------------------------------------

    def get(self, doc_id):
        with self._lock:
            self._check_open()
            seq = self._index.seq_of.get(doc_id)
            if seq is None:
                return None
            return {**copy_json(self._index.docs[seq]), "_seq": seq}

    def find(self, type=None, **equals):
        with self._lock:
            self._check_open()
            index = self._index
            if type is None:
                candidates = index.docs.items()
            else:
                candidates = ((index.seq_of[i], index.docs[index.seq_of[i]])
                              for i in index.by_type.get(type, ()))
            found = [(seq, doc) for seq, doc in candidates
                     if all(doc.get(field) == value for field, value in equals.items())]
            found.sort(key=lambda pair: pair[0])
            return [{**copy_json(doc), "_seq": seq} for seq, doc in found]

    def changes(self, since=0, limit=500):
        with self._lock:
            self._check_open()
            if limit is None:
                limit = float("inf")
            if limit <= 0:
                return []
            return [{**copy_json(doc), "_seq": seq}
                    for seq, doc in self._index.changed_since(since or 0, limit)]

    def last_seq(self):
        with self._lock:
            self._check_open()
            return self._index.last_seq

    def conflicts(self, doc_id=None):
        with self._lock:
            self._check_open()
            index = self._index
            cids = sorted(index.conflicts) if doc_id is None else index.conflicts_of.get(doc_id, [])
            return [copy_json(index.conflicts[cid]) for cid in cids]

    def get_meta(self, key, default=None):
        with self._lock:
            self._check_open()
            value = self._index.meta.get(key, _MISSING)
            return default if value is _MISSING else copy_json(value)

    def close(self):
        with self._lock:
            self._closed = True
