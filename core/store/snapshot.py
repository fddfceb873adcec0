"""The field store's snapshot: a TinyDB database file, written atomically, and its versions.

``snapshot.json`` is an ordinary TinyDB JSON database (stock ``TinyDB(path)`` can read it)
with three tables:

- ``docs``: the current version of every document, keyed by its sequence number;
- ``conflicts``: kept losing versions, keyed by a conflict number;
- ``meta``: document ``"1"`` is the header ``{"format_version", "last_seq", "journal",
  "next_conflict_id"}`` (``journal``: the first journal generation *not* in the snapshot);
  the others are ``{"key": ..., "value": ...}`` metadata set through ``set_meta``.

Format versions: 0 is a plain TinyDB file with a ``docs`` table (how people import data from
elsewhere); 1 is the layout above. ``migrate`` brings older versions up to date.

In an encrypted store (``cipher`` given, see ``crypto.py``) the file is ``MAGIC``, a nonce, the
AES-256-GCM ciphertext of that same TinyDB JSON and its tag; stock TinyDB cannot read it.
"""

import json
import time
from pathlib import Path

from tinydb import Query, TinyDB
from tinydb.storages import Storage

from ..documents import new_id, next_rev, now_iso
from ..errors import StoreError
from .crypto import is_encrypted_file
from .files import atomic_write

FORMAT_VERSION = 1
SNAPSHOT_NAME = "snapshot.json"
SNAPSHOT_CONTEXT = b"fieldkit/snapshot"
HEADER_ID = "1"
# Documents serialised per chunk. A compaction in the background also pauses briefly after
# each chunk, so it holds the GIL only in short stretches: a save returning from its fsync then
# gets the GIL at once instead of after the 5 ms switch interval (measured: save p50 at 100k
# docs during a compaction 0.5 ms with pauses, 2 ms without).
_BATCH = 32
BACKGROUND_PAUSE = 0.00005


class SnapshotStorage(Storage):
    """A TinyDB storage for the snapshot: reads the whole file once, writes it atomically
    (temporary file, fsync, ``os.replace``, fsync of the directory), never in place."""

    def __init__(self, path, fsync=True, pause=0.0, cipher=None):
        super().__init__()
        self.path = Path(path)
        self.cipher = cipher
        self.fsync = fsync
        self.pause = pause  # seconds to sleep after each chunk written (background writes)
        self._tables = None

    def read(self):
        if self._tables is None:
            self._tables = read_tables(self.path, self.cipher)
        return self._tables

    def write(self, data):
        chunks = _serialise(data, self.pause)
        if self.cipher is not None:
            chunks = self.cipher.seal_stream(chunks, SNAPSHOT_CONTEXT)
        atomic_write(self.path, chunks, fsync=self.fsync)
        self._tables = None


def read_tables(path, cipher=None):
    """The tables of a TinyDB JSON file, or None for a missing or empty file; ``cipher``: the
    file is encrypted (refused if it is not, and an encrypted file is refused without it)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"The field store snapshot {path} cannot be read ({exc}).") from None
    if is_encrypted_file(raw):
        if cipher is None:
            raise StoreError(f"The field store {path.parent} is encrypted: open it with its "
                             f"passphrase (FIELDKIT_PASSPHRASE, or type it when asked); its key file "
                             f"keys.json must be in the data folder beside it.")
        raw = cipher.open_file(raw, SNAPSHOT_CONTEXT, f"The field store snapshot {path}")
    elif cipher is not None and raw:
        raise StoreError(f"The field store snapshot {path} is not encrypted although the "
                         f"station is; it was not written by this station. Restore the store "
                         f"folder from a backup.")
    if not raw.strip():
        return None
    try:
        tables = json.loads(raw)
    except ValueError as exc:
        raise _damaged(path, f"it is not valid JSON: {exc}") from None
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise _damaged(path, "it is not a TinyDB database (an object of tables)")
    return tables


def _damaged(path, why):
    return StoreError(f"The field store snapshot {path} is damaged ({why}); it was left as it "
                      f"is. Restore the store folder from a backup.")


def _serialise(tables, pause=0.0):
    """The JSON bytes of a TinyDB database, in chunks of a few hundred documents."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                             allow_nan=False).encode
    yield b"{"
    for number, (name, table) in enumerate(tables.items()):
        yield f'{"," if number else ""}{dumps(name)}:{{'.encode()
        batch, first = [], True
        for key, doc in table.items():
            batch.append(f"{dumps(str(key))}:{dumps(doc)}")
            if len(batch) >= _BATCH:
                yield (("" if first else ",") + ",".join(batch)).encode()
                batch, first = [], False
                if pause:
                    time.sleep(pause)  # let a waiting writer thread take the GIL now
        if batch:
            yield (("" if first else ",") + ",".join(batch)).encode()
        yield b"}"
    yield b"}\n"


# --- the layout ----------------------------------------------------------------------------


def build_tables(docs, conflicts, meta, last_seq, next_conflict_id, journal):
    """Snapshot tables from the store's state (``docs``: seq -> doc, ``conflicts``: id -> doc)."""
    header = {"format_version": FORMAT_VERSION, "last_seq": last_seq, "journal": journal,
              "next_conflict_id": next_conflict_id}
    meta_table = {HEADER_ID: header}
    for number, (key, value) in enumerate(meta.items(), int(HEADER_ID) + 1):
        meta_table[str(number)] = {"key": key, "value": value}
    return {"meta": meta_table,
            "conflicts": {str(cid): conflicts[cid] for cid in sorted(conflicts)},
            "docs": _SeqTable(docs)}


class _SeqTable:
    """The ``docs`` table without building a second dict: (str(seq), doc) in seq order."""

    def __init__(self, docs):
        self.docs = docs

    def items(self):
        docs = self.docs
        for seq in sorted(docs):
            yield str(seq), docs[seq]


def empty_tables():
    return build_tables({}, {}, {}, last_seq=0, next_conflict_id=1, journal=1)


def format_version(tables):
    """The format version of snapshot tables (0: a plain TinyDB file without our header)."""
    for doc in (tables.get("meta") or {}).values():
        if isinstance(doc, dict) and "format_version" in doc:
            version = doc["format_version"]
            if not isinstance(version, int) or isinstance(version, bool) or version < 1:
                raise StoreError(f"The field store snapshot has an unreadable format version "
                                 f"({version!r}).")
            return version
    return 0


def migrate(tables, path="snapshot.json"):
    """Bring snapshot tables of an older format version up to ``FORMAT_VERSION``.

    Returns ``(tables, version it was in)``. A newer version than this fieldkit knows is a
    ``StoreError``: opening it could lose what the newer version stored.
    """
    version = format_version(tables)
    if version > FORMAT_VERSION:
        raise StoreError(f"The field store {path} has format version {version}, newer than "
                         f"this fieldkit understands ({FORMAT_VERSION}); upgrade fieldkit to "
                         f"open it.")
    original = version
    while version < FORMAT_VERSION:
        tables = MIGRATIONS[version](tables, path)
        version += 1
    return tables, original


def _v0_to_v1(tables, path):
    """A plain TinyDB file: its ``docs`` table becomes the store's documents, in doc_id order
    (the doc_id becomes the sequence number); envelope fields that are missing are filled in;
    when two documents share an id, the later one is current and the earlier one a conflict."""
    source = tables.get("docs")
    if source is None:
        if any(tables.values()):
            raise StoreError(f"{path} is a TinyDB file without a 'docs' table, so there is "
                             f"nothing fieldkit can import from it (tables: "
                             f"{', '.join(sorted(tables))}).")
        source = {}
    try:
        keys = sorted(source, key=int)
    except ValueError:
        raise _damaged(path, "a document number in the 'docs' table is not a number") from None
    docs, conflicts, seq_of = {}, {}, {}
    for key in keys:
        doc = source[key]
        if not isinstance(doc, dict):
            raise _damaged(path, f"document {key} of the 'docs' table is not an object")
        doc = dict(doc)
        doc["id"] = str(doc["id"]) if doc.get("id") not in (None, "") else new_id()
        for field, default in (("deleted", False), ("device", None), ("author", None),
                               ("base_rev", None)):
            doc.setdefault(field, default)
        doc.setdefault("updated_at", now_iso())
        doc.pop("_seq", None)
        if not doc.get("rev"):
            doc["rev"] = next_rev(doc, doc["base_rev"])
        seq = int(key)
        if doc["id"] in seq_of:
            conflicts[len(conflicts) + 1] = docs.pop(seq_of[doc["id"]])
        docs[seq] = doc
        seq_of[doc["id"]] = seq
    return build_tables(docs, conflicts, {}, last_seq=max(docs, default=0),
                        next_conflict_id=len(conflicts) + 1, journal=1)


MIGRATIONS = {0: _v0_to_v1}


def load_tables(path, cipher=None):
    """Open the snapshot with TinyDB: ``(header, docs, conflicts, meta)`` at the current format,
    and the version the file was in; None when there is no snapshot yet."""
    db = TinyDB(path, storage=SnapshotStorage, cipher=cipher)
    tables = db.storage.read()
    if tables is None:
        return None
    tables, version = migrate(tables, path)
    if version != FORMAT_VERSION:
        db = TinyDB(storage=_Tables, tables=tables)
    try:
        header = db.table("meta").get(Query().format_version.exists())
        meta = {entry["key"]: entry["value"] for entry in db.table("meta")
                if entry.doc_id != header.doc_id}
        # The big tables straight from the storage: no TinyDB Document wrapper per entry.
        docs, conflicts = (_numbered(tables.get(name, {})) for name in ("docs", "conflicts"))
    except (KeyError, TypeError, ValueError) as exc:
        raise _damaged(path, f"a table entry is malformed: {exc!r}") from None
    return dict(header), docs, conflicts, meta, version


def _numbered(table):
    """``[(int key, entry), ...]`` of a raw TinyDB table, in key order."""
    entries = [(int(key), entry) for key, entry in table.items()]
    for key, entry in entries:
        if not isinstance(entry, dict):
            raise TypeError(f"entry {key} is not an object")
    entries.sort(key=lambda pair: pair[0])
    return entries


class _Tables(Storage):
    """A read-only TinyDB storage over tables already in memory (a migrated snapshot)."""

    def __init__(self, tables):
        super().__init__()
        self.tables = tables

    def read(self):
        return self.tables

    def write(self, data):
        raise StoreError("This TinyDB view of the field store is read-only.")


def write_snapshot(path, tables, fsync=True, background=False, cipher=None):
    """Write snapshot tables atomically; ``background``: yield the GIL often while at it."""
    SnapshotStorage(path, fsync=fsync, pause=BACKGROUND_PAUSE if background else 0.0,
                    cipher=cipher).write(tables)
