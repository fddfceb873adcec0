"""The field store's snapshot: a TinyDB database file, written atomically, read a line at a time.

``snapshot.json`` is an ordinary TinyDB JSON database (stock ``TinyDB(path)`` can read it)
with three tables:

- ``meta``: document ``"1"`` is the header ``{"format_version", "last_seq", "journal",
  "next_conflict_id"}`` (``journal``: the first journal generation *not* in the snapshot);
  the others are ``{"key": ..., "value": ...}`` metadata set through ``set_meta``;
- ``conflicts``: kept losing versions, keyed by a conflict number;
- ``docs``: the current version of every document, keyed by its sequence number.

It is written one table entry per line, the tables in that order::

    {"meta":{
    "1":{"format_version":1,"last_seq":2,"journal":3,"next_conflict_id":1},
    "2":{"key":"device_id","value":"…"}
    },"conflicts":{
    },"docs":{
    "1":{"id":"…","type":"inspection",…},
    "2":{"id":"…","type":"finding",…}
    }}

JSON allows the line breaks, so this is still one JSON object; fieldkit reads it a line at a
time, so opening a big store never holds the whole file, nor every document as a dict (100k
findings are ~55 MB of JSON but ~400 MB as dicts). A file that does not begin with the
``{"meta":{`` line (written before this layout, or a plain TinyDB file to import) is read
whole, as before, and the store rewrites it in this layout; a file that begins with it but
then strays from it is read whole too (a damaged one then fails with a clear error).

Format versions: 0 is a plain TinyDB file with a ``docs`` table (how people import data from
elsewhere); 1 is the tables above (the line layout is whitespace, not a new version: older
fieldkits read it). ``migrate`` brings older versions up to date.

In an encrypted store (``cipher`` given, see ``crypto.py``) the file is ``MAGIC``, a nonce, the
AES-256-GCM ciphertext of that same JSON and its tag; stock TinyDB cannot read it. It is
written as a stream, but opened by decrypting it whole (the tag covers the whole file), then
read a line at a time from the plaintext.
"""

import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Optional

from tinydb import Query, TinyDB
from tinydb.storages import Storage

from ..documents import new_id, next_rev, now_iso
from ..errors import StoreError
from .crypto import MAGIC, is_encrypted_file
from .files import atomic_write

FORMAT_VERSION = 1
SNAPSHOT_NAME = "snapshot.json"
SNAPSHOT_CONTEXT = b"fieldkit/snapshot"
HEADER_ID = "1"
TABLES = ("meta", "conflicts", "docs")  # the order they are written in
# Documents serialised per chunk. A compaction in the background also pauses briefly after
# each chunk, so it holds the GIL only in short stretches: a save returning from its fsync then
# gets the GIL at once instead of after the 5 ms switch interval (measured: save p50 at 100k
# docs during a compaction 0.5 ms with pauses, 2 ms without).
_BATCH = 32
BACKGROUND_PAUSE = 0.00005

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


# --- writing -------------------------------------------------------------------------------


class SnapshotStorage(Storage):
    """A TinyDB storage for the snapshot: reads the whole file once, writes it atomically
    (temporary file, fsync, ``os.replace``, fsync of the directory), never in place, one
    table entry per line. An entry may be given as its JSON (``bytes``) to be written as is."""

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


def _serialise(tables, pause=0.0):
    """The JSON bytes of a TinyDB database in the line layout, in chunks of a few dozen
    entries (``bytes`` entries are JSON already)."""
    for number, (name, table) in enumerate(tables.items()):
        yield f'{"}," if number else "{"}{_encode(name)}:{{\n'.encode()
        batch = []
        for key, entry in table.items():
            if not isinstance(entry, bytes):
                entry = _encode(entry).encode()
            batch.append(b'"%s":%s' % (str(key).encode(), entry))
            if len(batch) > _BATCH:
                yield b",\n".join(batch[:-1]) + b",\n"
                del batch[:-1]  # the last one waits: whether a comma follows is not known yet
                if pause:
                    time.sleep(pause)  # let a waiting writer thread take the GIL now
        if batch:
            yield b",\n".join(batch) + b"\n"
    yield b"}}\n" if tables else b"{}\n"


def build_tables(docs, conflicts, meta, last_seq, next_conflict_id, journal):
    """Snapshot tables from the store's state: ``docs`` gives ``(seq, JSON bytes or dict)``
    in seq order, ``conflicts`` is ``{id: doc}``, ``meta`` is ``{key: value}``."""
    header = {"format_version": FORMAT_VERSION, "last_seq": last_seq, "journal": journal,
              "next_conflict_id": next_conflict_id}
    meta_table = {HEADER_ID: header}
    for number, (key, value) in enumerate(meta.items(), int(HEADER_ID) + 1):
        meta_table[str(number)] = {"key": key, "value": value}
    return {"meta": meta_table,
            "conflicts": {str(cid): conflicts[cid] for cid in sorted(conflicts)},
            "docs": _Entries(docs)}


class _Entries:
    """A table given as ``(key, entry)`` pairs, produced as it is written (not held)."""

    def __init__(self, pairs):
        self.pairs = pairs

    def items(self):
        return iter(self.pairs)


def empty_tables():
    return build_tables((), {}, {}, last_seq=0, next_conflict_id=1, journal=1)


def write_snapshot(path, tables, fsync=True, background=False, cipher=None):
    """Write snapshot tables atomically; ``background``: yield the GIL often while at it."""
    SnapshotStorage(path, fsync=fsync, pause=BACKGROUND_PAUSE if background else 0.0,
                    cipher=cipher).write(tables)


# --- opening -------------------------------------------------------------------------------


class NotInLayout(Exception):
    """The snapshot began in the line layout but strays from it: read it whole instead."""


@dataclass
class Snapshot:
    """An open snapshot: ``header``, ``meta`` (key -> value), ``conflicts`` ([(cid, doc)]),
    ``documents``, ``(seq, doc, its JSON bytes or None)`` in seq order, read as they are
    iterated, ``version`` (the format version the file is in) and ``streamed`` (it is in the
    line layout). A context manager: leaving it closes the file."""

    path: Path
    header: dict
    meta: dict
    conflicts: list
    documents: Iterator
    version: int
    streamed: bool
    source: Optional[BinaryIO] = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.source is not None:
            self.source.close()


_FIRST_LINE = b'{"meta":{\n'
_TABLE_LINES = {"conflicts": b'},"conflicts":{\n', "docs": b'},"docs":{\n'}
_LAST_LINE = b"}}\n"


def open_snapshot(path, cipher=None, whole=False):
    """The snapshot at ``path`` as a ``Snapshot``, None when there is none yet. In the line
    layout (unless ``whole``) its documents are read as ``documents`` is iterated, and
    ``NotInLayout`` (now or then) says to open it again ``whole``."""
    path = Path(path)
    source = _open_source(path, cipher)
    if source is None:
        return None
    if not whole and source.read(len(_FIRST_LINE)) == _FIRST_LINE:
        try:
            return _open_streamed(path, source)
        except BaseException:
            source.close()
            raise
    source.seek(0)
    with source:
        raw = source.read()
    return _open_whole(path, raw)


def _open_source(path, cipher):
    """A binary file-like object over the snapshot's JSON (decrypted), None if missing."""
    try:
        source = open(path, "rb")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"The field store snapshot {path} cannot be read ({exc}).") from None
    try:
        head = source.read(len(MAGIC))
        if is_encrypted_file(head):
            if cipher is None:
                raise StoreError(f"The field store {path.parent} is encrypted: open it with its "
                                 f"passphrase (FIELDKIT_PASSPHRASE, or type it when asked); its "
                                 f"key file keys.json must be in the data folder beside it.")
            source.seek(0)
            raw = source.read()
            source.close()
            # A view, not a slice: the file is held once, and once more decrypted.
            return io.BytesIO(cipher.open(memoryview(raw)[len(MAGIC):], SNAPSHOT_CONTEXT,
                                          f"The field store snapshot {path}"))
        if cipher is not None and head:
            raise StoreError(f"The field store snapshot {path} is not encrypted although the "
                             f"station is; it was not written by this station. Restore the "
                             f"store folder from a backup.")
        source.seek(0)
        return source
    except OSError as exc:
        source.close()
        raise StoreError(f"The field store snapshot {path} cannot be read ({exc}).") from None
    except BaseException:
        source.close()
        raise


def _open_streamed(path, source):
    """Read the header, metadata and conflicts of a snapshot in the line layout; the
    documents follow as ``documents`` is iterated."""
    lines = iter(source)
    meta_entries = [(key, _object(value)) for key, value in _entries(lines, "conflicts")]
    conflicts = [(key, _object(value)) for key, value in _entries(lines, "docs")]
    header = next((entry for _, entry in meta_entries if "format_version" in entry), None)
    if header is None:
        raise NotInLayout("no header")
    version = _checked_version(header["format_version"])
    _refuse_newer(version, path)
    meta = {}
    for key, entry in meta_entries:
        if entry is not header:
            try:
                meta[entry["key"]] = entry["value"]
            except (KeyError, TypeError):
                raise NotInLayout(f"metadata entry {key} is malformed") from None
    return Snapshot(path, header, meta, conflicts, _documents(lines), version, streamed=True,
                    source=source)


def _documents(lines):
    for seq, text in _entries(lines, None):
        yield seq, _object(text), text


def _entries(lines, next_table):
    """``(key, JSON bytes)`` of one table's lines, up to the line opening ``next_table`` (or
    the last line, then the end of the file)."""
    closing = _TABLE_LINES[next_table] if next_table else _LAST_LINE
    comma = None  # did the previous entry end with a comma?
    for line in lines:
        if line == closing:
            if comma:
                raise NotInLayout("a comma before the end of a table")
            if next_table is None and any(rest.strip() for rest in lines):
                raise NotInLayout("more after the end")
            return
        if comma is False or line[:1] != b'"' or not line.endswith(b"\n"):
            raise NotInLayout("a line that is not a table entry")
        comma = line.endswith(b",\n")
        colon = line.find(b'":')
        key = line[1:colon]
        if colon < 2 or not key.isdigit():
            raise NotInLayout("an entry without a number")
        yield int(key), line[colon + 2:-2 if comma else -1]
    raise NotInLayout("the file ends early")


def _object(text):
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise NotInLayout(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise NotInLayout("an entry that is not an object")
    return value


def _open_whole(path, raw):
    """A snapshot read whole (not in the line layout): parsed, migrated, ready to load."""
    tables = _parse(path, raw)
    del raw
    if tables is None:
        return None
    tables, version = migrate(tables, path)
    db = TinyDB(storage=_Tables, tables=tables)
    try:
        header = db.table("meta").get(Query().format_version.exists())
        meta = {entry["key"]: entry["value"] for entry in db.table("meta")
                if entry.doc_id != header.doc_id}
        # The big tables straight from the storage: no TinyDB Document wrapper per entry.
        docs, conflicts = (_numbered(tables.get(name, {})) for name in ("docs", "conflicts"))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _damaged(path, f"a table entry is malformed: {exc!r}") from None
    return Snapshot(path, dict(header), meta, conflicts,
                    ((seq, doc, None) for seq, doc in docs), version, streamed=False)


def read_tables(path, cipher=None):
    """The tables of a TinyDB JSON file, or None for a missing or empty file; ``cipher``: the
    file is encrypted (refused if it is not, and an encrypted file is refused without it)."""
    path = Path(path)
    source = _open_source(path, cipher)
    if source is None:
        return None
    with source:
        raw = source.read()
    return _parse(path, raw)


def _parse(path, raw):
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


def _numbered(table):
    """``[(int key, entry), ...]`` of a raw TinyDB table, in key order."""
    entries = [(int(key), entry) for key, entry in table.items()]
    for key, entry in entries:
        if not isinstance(entry, dict):
            raise TypeError(f"entry {key} is not an object")
    entries.sort(key=lambda pair: pair[0])
    return entries


class _Tables(Storage):
    """A read-only TinyDB storage over tables already in memory (a snapshot read whole)."""

    def __init__(self, tables):
        super().__init__()
        self.tables = tables

    def read(self):
        return self.tables

    def write(self, data):
        raise StoreError("This TinyDB view of the field store is read-only.")


# --- format versions -----------------------------------------------------------------------


def format_version(tables):
    """The format version of snapshot tables (0: a plain TinyDB file without our header)."""
    for doc in (tables.get("meta") or {}).values():
        if isinstance(doc, dict) and "format_version" in doc:
            return _checked_version(doc["format_version"])
    return 0


def _checked_version(version):
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StoreError(f"The field store snapshot has an unreadable format version "
                         f"({version!r}).")
    return version


def _refuse_newer(version, path):
    if version > FORMAT_VERSION:
        raise StoreError(f"The field store {path} has format version {version}, newer than "
                         f"this fieldkit understands ({FORMAT_VERSION}); upgrade fieldkit to "
                         f"open it.")


def migrate(tables, path="snapshot.json"):
    """Bring snapshot tables of an older format version up to ``FORMAT_VERSION``.

    Returns ``(tables, version it was in)``. A newer version than this fieldkit knows is a
    ``StoreError``: opening it could lose what the newer version stored.
    """
    version = format_version(tables)
    _refuse_newer(version, path)
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
    return build_tables(sorted(docs.items()), conflicts, {}, last_seq=max(docs, default=0),
                        next_conflict_id=len(conflicts) + 1, journal=1)


MIGRATIONS = {0: _v0_to_v1}
