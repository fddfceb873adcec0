"""The in-memory state shared by the memory and field stores, with all-or-nothing transactions.

``DocumentIndex`` holds every current document packed (compressed JSON, see ``packed.py``: a
field station keeps 100,000 findings in ~30 MB instead of ~270 MB of dicts), small indexes
to find them (by id, by type, by type and inspection), conflicts and metadata. It changes
only through *operations* (small JSON records, the same ones the field store writes to its
journal) and each applied operation returns its undo, so a transaction that fails is rolled
back exactly. ``IndexedStore`` is a ``Store`` over such an index: one ``threading.RLock``
around every read and read-modify-write, ``transaction()`` holding it.
"""

import json
import threading
from array import array
from bisect import bisect_left, bisect_right, insort
from contextlib import contextmanager
from itertools import compress

from ..errors import StoreError
from .base import Store
from .packed import pack, unpack
from .seqtable import SeqsById

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
    """Compact JSON text of ``value``; ``StoreError`` naming ``what`` if it is not JSON data
    (or holds text that UTF-8 cannot carry: a lone surrogate)."""
    try:
        text = _encode(value)
        text.encode()
        return text
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} cannot be stored: it is not plain JSON data ({exc}).") from None


class DocumentIndex:
    """Packed documents in seq order, indexes over them, conflicts and metadata, in memory.

    ``seqs`` and ``packed`` run side by side: every version stored, in seq order, and its
    packed JSON, or None once a newer version replaced it (such stale entries are dropped by
    ``tidy``). Packed documents are immutable ``bytes``, so copies of the two lists are a
    consistent picture of the store (what compaction writes out) and readers decode them
    without the lock. ``ids`` finds a document's current seq by its id; ``by_type`` and
    ``by_inspection`` hold exactly the seqs of the current documents, ascending, so a
    ``find`` decodes only what it returns.
    """

    def __init__(self):
        self.seqs = array("q")     # seqs of stored versions, ascending
        self.packed = []           # beside each: its packed JSON, None once replaced
        self.stale = 0             # how many entries of ``packed`` are None
        self.ids = SeqsById()      # document id -> seq of its current version
        self.by_type = {}          # type -> array of the current seqs of that type
        self.by_inspection = {}    # (type, inspection_id) -> array of current seqs
        self.last_seq = 0
        self.conflicts = {}        # conflict id -> losing version
        self.conflicts_of = {}     # document id -> [conflict id, ...]
        self.next_conflict_id = 1
        self.meta = {}             # key -> value

    # --- operations (journal records) ----------------------------------------------------

    def apply(self, op):
        """Apply one operation; return a function that undoes it."""
        kind = op["op"]
        if kind == "put":
            doc = op["doc"]
            _check_document(op["seq"], doc)
            return self.put(op["seq"], doc["id"], doc.get("type"), doc.get("inspection_id"),
                            pack(to_json(doc, f"Document {doc['id']}")))
        if kind == "conflict":
            return self._add_conflict(op["cid"], op["doc"])
        if kind == "resolve":
            return self._resolve(op["id"])
        if kind == "meta":
            return self._set_meta(op["key"], op["value"])
        raise StoreError(f"Unknown store operation {kind!r}.")

    def put(self, seq, doc_id, doc_type, inspection_id, packed):
        """Store a new current version (``packed`` JSON, with the values it holds for its id,
        type and inspection id); return its undo."""
        if seq <= self.last_seq:
            raise StoreError(f"Sequence number {seq} is not after {self.last_seq}.")
        old = self.current(doc_id)
        if old is None:
            self.ids.add(doc_id, seq)
        else:
            old_seq, old_doc = old
            old_position = self._position(old_seq)
            old_packed = self.packed[old_position]
            old_keys = _index_keys(old_doc)
            self._unindex(old_seq, *old_keys)
            self.packed[old_position] = None
            self.stale += 1
            self.ids.replace(doc_id, old_seq, seq)
        previous_last = self.last_seq
        self.seqs.append(seq)
        self.packed.append(packed)
        self.last_seq = seq
        keys = (doc_type, inspection_id if isinstance(inspection_id, str) else None)
        self._index(seq, *keys)

        def undo():  # undo runs newest first: ``seq`` is the last entry again
            self._unindex(seq, *keys)
            self.seqs.pop()
            self.packed.pop()
            self.last_seq = previous_last
            if old is None:
                self.ids.remove(doc_id, seq)
            else:
                self.packed[old_position] = old_packed
                self.stale -= 1
                self.ids.replace(doc_id, seq, old_seq)
                self._index(old_seq, *old_keys)
        return undo

    def _index(self, seq, doc_type, inspection_id):
        insort(self.by_type.setdefault(doc_type, array("q")), seq)
        if inspection_id is not None:
            insort(self.by_inspection.setdefault((doc_type, inspection_id), array("q")), seq)

    def _unindex(self, seq, doc_type, inspection_id):
        _discard(self.by_type, doc_type, seq)
        if inspection_id is not None:
            _discard(self.by_inspection, (doc_type, inspection_id), seq)

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

    def load(self, seq, doc, text=None):
        """Add a document of a snapshot (ascending seqs, each id once) to the index;
        ``text``: its JSON as read, if at hand (else it is encoded again)."""
        _check_document(seq, doc)
        doc_id = doc["id"]
        if seq <= self.last_seq:
            raise StoreError(f"sequence number {seq} appears out of order")
        if self.current(doc_id) is not None:
            raise StoreError(f"document {doc_id} appears twice")
        self.seqs.append(seq)
        self.packed.append(pack(text if text is not None
                                else to_json(doc, f"Document {doc_id}")))
        self.ids.add(doc_id, seq)
        self.last_seq = seq
        # Appending keeps the arrays ascending: no insort needed for a snapshot.
        doc_type, inspection_id = _index_keys(doc)
        self.by_type.setdefault(doc_type, array("q")).append(seq)
        if inspection_id is not None:
            self.by_inspection.setdefault((doc_type, inspection_id), array("q")).append(seq)

    # --- queries -------------------------------------------------------------------------

    def _position(self, seq):
        return bisect_left(self.seqs, seq)

    def current(self, doc_id):
        """``(seq, doc)`` of a document's current version, decoded, or None."""
        for seq in self.ids.candidates(doc_id):
            doc = unpack(self.packed[self._position(seq)])
            if doc.get("id") == doc_id:
                return seq, doc
        return None

    def matching(self, doc_type, inspection_id=None):
        """``[(seq, packed), ...]`` of the current documents of a type (and, if given, of one
        inspection), in seq order."""
        if inspection_id is None:
            seqs = self.by_type.get(doc_type, ())
        else:
            seqs = self.by_inspection.get((doc_type, inspection_id), ())
        packed, position = self.packed, self._position
        return [(seq, packed[position(seq)]) for seq in seqs]

    def changed_since(self, since, limit=None):
        """``(seqs, packed)``: the current documents with seq > ``since``, in seq order, at
        most ``limit`` of them (two lists side by side, cheaper than pairs for many)."""
        start = bisect_right(self.seqs, since)
        if limit is None:
            seqs, packed = self.seqs[start:], self.packed[start:]
            if self.stale:
                live = [p is not None for p in packed]
                seqs, packed = array("q", compress(seqs, live)), list(compress(packed, live))
            return seqs, packed
        seqs, packed = array("q"), []
        for position in range(start, len(self.seqs)):
            if len(packed) >= limit:
                break
            if self.packed[position] is not None:
                seqs.append(self.seqs[position])
                packed.append(self.packed[position])
        return seqs, packed

    def frozen(self):
        """A copy of ``(seqs, packed)`` to read later without the lock (for compaction)."""
        return array("q", self.seqs), list(self.packed)

    def tidy(self):
        """Drop stale entries from ``seqs`` and ``packed`` once they outnumber the live ones."""
        if self.stale > len(self.ids) + 1024:
            live = [p is not None for p in self.packed]
            self.seqs = array("q", compress(self.seqs, live))
            self.packed = list(compress(self.packed, live))
            self.stale = 0

    def conflict_ids_for_version(self, doc_id, rev):
        return [cid for cid in self.conflicts_of.get(doc_id, ())
                if self.conflicts[cid].get("rev") == rev]


def _check_document(seq, doc):
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str) or not doc["id"]:
        raise StoreError(f"document {seq} has no id")
    if not isinstance(doc.get("type"), (str, type(None))):
        raise StoreError(f"document {doc['id']} has a type that is not text")


def _index_keys(doc):
    """What a document is indexed by: its type, and its inspection id if that is text."""
    inspection_id = doc.get("inspection_id")
    return doc.get("type"), inspection_id if isinstance(inspection_id, str) else None


def _discard(table, key, seq):
    """Remove ``seq`` from the ascending array ``table[key]`` (dropping the key once empty)."""
    seqs = table[key]
    del seqs[bisect_left(seqs, seq)]
    if not seqs:
        del table[key]


def _with_seq(seq, packed):
    doc = unpack(packed)
    doc["_seq"] = seq
    return doc


class IndexedStore(Store):
    """A ``Store`` over a ``DocumentIndex``; subclasses make committed operations durable.

    Reads take what they need from the index under the lock and decode it after releasing
    it: packed documents never change, so a long ``find`` does not hold up writers.
    """

    def __init__(self):
        self._lock = threading.RLock()
        self._index = DocumentIndex()
        self._depth = 0       # nesting of transaction() in the thread holding the lock
        self._pending = []    # journal records of the open transaction: JSON text or op dicts
        self._undo = []       # their undo functions (same length as _pending)
        self._closed = False

    # --- durability hooks ----------------------------------------------------------------

    def _commit(self, records):
        """Make the operations of one finished transaction durable (all or none); each
        record is an operation's JSON text or its dict."""

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
                    self._commit(self._pending)
                except BaseException:
                    self._rollback(0)
                    raise
                self._pending, self._undo = [], []
                self._index.tidy()
                self._after_commit()

    def _rollback(self, mark):
        while len(self._undo) > mark:
            self._undo.pop()()
            self._pending.pop()

    def _applied(self, undo, record):
        """Remember an operation applied inside the current transaction: its undo, and its
        journal record (JSON text, or the op dict to encode at commit)."""
        self._undo.append(undo)
        self._pending.append(record)

    def _apply(self, op):
        self._applied(self._index.apply(op), op)

    # --- writes --------------------------------------------------------------------------

    def write(self, doc):
        with self.transaction():
            if not isinstance(doc, dict) or not isinstance(doc.get("id"), str) or not doc["id"]:
                raise StoreError("A document needs a non-empty text id to be stored.")
            if not isinstance(doc.get("type"), (str, type(None))):
                raise StoreError(f"Document {doc['id']} has a type that is not text.")
            text = to_json({k: v for k, v in doc.items() if k != "_seq"}, f"Document {doc['id']}")
            seq = self._index.last_seq + 1
            # The id, type and inspection id are read from ``doc`` as ``text`` holds them.
            undo = self._index.put(seq, doc["id"], doc.get("type"), doc.get("inspection_id"),
                                   pack(text))
            self._applied(undo, f'{{"op":"put","seq":{seq},"doc":{text}}}')
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
            found = self._index.current(doc_id)
        if found is None:
            return None
        seq, doc = found
        doc["_seq"] = seq
        return doc

    def find(self, type=None, **equals):
        with self._lock:
            self._check_open()
            index = self._index
            inspection_id = equals.get("inspection_id")
            if type is None:
                seqs, packed = index.changed_since(0)
                candidates = zip(seqs, packed)
            else:
                candidates = index.matching(
                    type, inspection_id if isinstance(inspection_id, str) else None)
        found = (_with_seq(seq, packed) for seq, packed in candidates)
        return [doc for doc in found
                if all(doc.get(field) == value for field, value in equals.items())]

    def changes(self, since=0, limit=500):
        with self._lock:
            self._check_open()
            if limit is not None and limit <= 0:
                return []
            seqs, packed = self._index.changed_since(since or 0, limit)
        return [_with_seq(seq, doc) for seq, doc in zip(seqs, packed)]

    def iter_changes(self, since=0):
        """Like ``changes(since, None)``, one document at a time: the same consistent picture
        of the store (taken now), decoded only as the caller goes, never all at once."""
        with self._lock:
            self._check_open()
            seqs, packed = self._index.changed_since(since or 0)
        return (_with_seq(seq, doc) for seq, doc in zip(seqs, packed))

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

