"""The field store: TinyDB documents on the laptop, made durable by an append-only journal.

Stock TinyDB rewrites its whole JSON file on every write, in place (slow, and a crash corrupts
it). Here the state lives in memory (``DocumentIndex``); each committed transaction is one
checksummed, fsynced journal line (see ``journal.py``), and from time to time the whole state
is written as a TinyDB snapshot, atomically (see ``snapshot.py``). Opening loads the snapshot
and replays the journals after it, a line at a time, so it never holds more than one document
unpacked beside the packed ones (see ``packed.py``). One process at a time (a lock file); one
lock around every read-modify-write within the process.

Files in the store folder: ``snapshot.json`` (TinyDB), ``journal-NNNNNNNN.log``, ``store.lock``.
With a ``cipher`` (an encrypted station, see ``crypto.py``) every journal line and the snapshot
are encrypted; the layout and the crash safety are the same.
"""

import logging
import os
import threading
import time
from pathlib import Path

from ..errors import StoreError
from .files import atomic_write, fsync_directory
from .index import DocumentIndex, IndexedStore
from .journal import JournalReader, JournalWriter, journal_name, list_journals
from .packed import unpack_text
from .snapshot import (FORMAT_VERSION, SNAPSHOT_NAME, NotInLayout, build_tables, empty_tables,
                       open_snapshot, write_snapshot)

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

log = logging.getLogger(__name__)

LOCK_NAME = "store.lock"


class FieldStore(IndexedStore):
    """The durable field ``Store`` in a folder.

    ``fsync``: flush every acknowledged write to disk (turn off only for throw-away data).
    The journal is folded into a new snapshot once it holds ``compact_every`` transactions or
    ``compact_bytes`` bytes (in a background thread unless ``background_compaction`` is
    False) and when the store is closed.
    """

    def __init__(self, directory, fsync=True, compact_every=5000, compact_bytes=8 * 1024 * 1024,
                 background_compaction=True, cipher=None):
        super().__init__()
        self.directory = Path(directory)
        self.cipher = cipher
        self.fsync = fsync
        self.compact_every = compact_every
        self.compact_bytes = compact_bytes
        self.background_compaction = background_compaction
        self.last_compaction = None  # {"documents", "seconds", "generation"} of the latest one
        self._writer = None
        self._compactor = None
        self._snapshot_generation = None  # the first journal the snapshot on disk lacks
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"The field store folder {self.directory} cannot be created "
                             f"({exc}).") from None
        self._lock_fd = _lock_directory(self.directory)
        try:
            self._open()
        except BaseException as exc:
            _unlock(self._lock_fd)
            if isinstance(exc, OSError):
                raise StoreError(f"The field store {self.directory} cannot be opened "
                                 f"({exc}).") from exc
            raise

    def __repr__(self):
        return f"<FieldStore {str(self.directory)!r} last_seq={self._index.last_seq}>"

    # --- opening -------------------------------------------------------------------------

    def _open(self):
        snapshot_path = self.directory / SNAPSHOT_NAME
        journals = list_journals(self.directory)
        loaded = self._load_snapshot(snapshot_path)
        if loaded is None:
            if journals:
                raise StoreError(f"The field store {self.directory} has journal files but no "
                                 f"{SNAPSHOT_NAME}; restore the store folder from a backup.")
            first, version, streamed = 1, FORMAT_VERSION, True
        else:
            first, version, streamed = loaded
            if version < FORMAT_VERSION and journals:
                raise StoreError(f"The field store {self.directory} has journal files beside a "
                                 f"version {version} snapshot; they cannot belong together.")

        # Replay every journal the snapshot does not contain, oldest first.
        stale, torn, generation, entries = [], [], first, 0
        for number, path in journals:
            if number < first:
                stale.append(path)
                continue
            reader = JournalReader(path, self.cipher)
            for line, record in reader:
                self._replay(path, line, record)
            generation, entries = number, reader.entries
            if reader.intact < path.stat().st_size:
                torn.append((path, reader.intact))

        # Everything is readable: only now change files.
        for leftover in self.directory.glob("snapshot*.tmp-*"):
            leftover.unlink()
        if loaded is None:
            write_snapshot(snapshot_path, empty_tables(), fsync=self.fsync, cipher=self.cipher)
        elif version < FORMAT_VERSION:
            backup = self.directory / f"snapshot.v{version}.json"
            atomic_write(backup, [snapshot_path.read_bytes()], fsync=self.fsync)
            write_snapshot(snapshot_path, self._tables(first), fsync=self.fsync,
                           cipher=self.cipher)
            log.warning("Migrated the field store %s from format version %s to %s (the old "
                        "file is kept as %s).", self.directory, version, FORMAT_VERSION,
                        backup.name)
        for path, intact in torn:
            log.warning("Dropped an unfinished last write (never acknowledged) from %s.", path)
            os.truncate(path, intact)
        for path in stale:
            path.unlink()
        self._snapshot_generation = first
        self._writer = JournalWriter(self.directory / journal_name(generation), generation,
                                     fsync=self.fsync, entries=entries, cipher=self.cipher)
        if self.fsync:
            fsync_directory(self.directory)
        if not streamed and version == FORMAT_VERSION:
            self._start_compaction(self.background_compaction)  # rewrite it line by line
        elif self._compaction_needed(threshold=True):
            self._start_compaction(self.background_compaction)

    def _load_snapshot(self, path):
        """Fill the index from the snapshot: ``(first journal to replay, the format version
        it is in, whether it is in the line layout)``, or None when there is none yet."""
        try:
            return self._fill(path, open_snapshot(path, self.cipher))
        except NotInLayout:  # it began in the line layout but strays from it: start over
            self._index = DocumentIndex()
            return self._fill(path, open_snapshot(path, self.cipher, whole=True))

    def _fill(self, path, snapshot):
        if snapshot is None:
            return None
        index = self._index
        with snapshot:
            try:
                for seq, doc, text in snapshot.documents:
                    index.load(seq, doc, text)
                for cid, doc in snapshot.conflicts:
                    index.apply({"op": "conflict", "cid": cid, "doc": doc})
                index.meta.update(snapshot.meta)
                header = snapshot.header
                index.last_seq = max(index.last_seq, int(header["last_seq"]))
                index.next_conflict_id = max(index.next_conflict_id,
                                             int(header["next_conflict_id"]))
                return int(header["journal"]), snapshot.version, snapshot.streamed
            except (StoreError, KeyError, TypeError, ValueError) as exc:
                raise StoreError(f"The field store snapshot {path} is damaged ({exc}); it was "
                                 f"left as it is. Restore the store folder from a backup."
                                 ) from None

    def _tables(self, generation):
        """Snapshot tables of the current state (lock held), to write after the lock is
        released: the documents come from copies of the packed lists, unpacked only as they
        are written."""
        index = self._index
        seqs, packed = index.frozen()
        docs = ((seq, unpack_text(doc)) for seq, doc in zip(seqs, packed) if doc is not None)
        return build_tables(docs, index.conflicts, index.meta, index.last_seq,
                            index.next_conflict_id, generation)

    def _replay(self, path, line, record):
        index = self._index
        for op in record["ops"]:
            try:
                if op.get("op") == "put" and op.get("seq") != index.last_seq + 1:
                    raise StoreError(f"sequence number {op.get('seq')} where "
                                     f"{index.last_seq + 1} was expected")
                index.apply(op)
            except (StoreError, KeyError, TypeError, AttributeError) as exc:
                raise StoreError(
                    f"The field store journal {path} cannot be replayed at line {line} "
                    f"({exc}); restore the store folder from a backup.") from None

    # --- durability ----------------------------------------------------------------------

    def _commit(self, records):
        self._writer.append(records)

    def _after_commit(self):
        if self._compaction_needed(threshold=True) and not self._compacting():
            try:
                self._start_compaction(self.background_compaction)
            except Exception:  # noqa: BLE001 - the write itself is already safe on disk
                log.exception("Compacting the field store %s failed; it will be retried.",
                              self.directory)

    # --- compaction ----------------------------------------------------------------------

    def _compaction_needed(self, threshold):
        writer = self._writer
        if threshold:
            return writer.entries >= self.compact_every or writer.size >= self.compact_bytes
        return writer.entries > 0 or self._snapshot_generation < writer.generation

    def _compacting(self):
        return self._compactor is not None and self._compactor.is_alive()

    def _wait_for_compactor(self, timeout=None):
        if self._compactor is not None:
            self._compactor.join(timeout)

    def wait_for_compaction(self, timeout=None):
        """Wait until a compaction running in the background has finished."""
        self._wait_for_compactor(timeout)

    def compact(self):
        """Write a new snapshot of everything now and drop the journals it replaces."""
        with self.transaction():
            if self._depth > 1:
                raise StoreError("The field store cannot be compacted inside a transaction.")
            self._wait_for_compactor()
            if self._compaction_needed(threshold=False):
                self._start_compaction(background=False)

    def _start_compaction(self, background):
        """Start a new journal, then write a snapshot of the state before it (lock held, no
        transaction open). Packed documents, conflicts and metadata values are never
        mutated, so shallow copies suffice."""
        generation = self._writer.generation + 1
        try:
            writer = JournalWriter(self.directory / journal_name(generation), generation,
                                   fsync=self.fsync, cipher=self.cipher)
            if self.fsync:
                fsync_directory(self.directory)
        except OSError as exc:
            raise StoreError(f"The field store could not start a new journal ({exc}); nothing "
                             f"is lost, the current journal still holds every change.") from exc
        self._writer.close()
        self._writer = writer
        tables, count = self._tables(generation), len(self._index.ids)

        def write_out():
            started = time.perf_counter()
            write_snapshot(self.directory / SNAPSHOT_NAME, tables, fsync=self.fsync,
                           background=background, cipher=self.cipher)
            self._snapshot_generation = generation
            for number, path in list_journals(self.directory):
                if number < generation:
                    path.unlink()
            if self.fsync:
                fsync_directory(self.directory)
            self.last_compaction = {"documents": count, "generation": generation,
                                    "seconds": time.perf_counter() - started}

        if not background:
            try:
                write_out()
            except OSError as exc:
                raise StoreError(f"The field store snapshot could not be written ({exc}); "
                                 f"nothing is lost, the journal still holds every change.") from exc
            return

        def run():
            try:
                write_out()
            except Exception:  # noqa: BLE001 - journals still hold everything; retried later
                log.exception("Compacting the field store %s failed; it will be retried.",
                              self.directory)

        self._compactor = threading.Thread(target=run, name="fieldkit-compaction", daemon=True)
        self._compactor.start()

    # --- closing -------------------------------------------------------------------------

    def close(self, compact=True):
        """Write a final snapshot (unless ``compact`` is False) and release the folder."""
        with self._lock:
            if self._closed:
                return
            try:
                self._wait_for_compactor()
                if compact and self._compaction_needed(threshold=False):
                    self._start_compaction(background=False)
            finally:
                self._closed = True
                self._writer.close()
                _unlock(self._lock_fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


# --- one process at a time -----------------------------------------------------------------


def _lock_directory(directory):
    """Take the store folder's lock file, or refuse with the reason."""
    path = directory / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"The field store {directory} cannot be opened ({exc}).") from None
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        holder = _lock_holder(fd)
        os.close(fd)
        if holder == os.getpid():
            raise StoreError(f"The field store {directory} is already open in this "
                             f"process.") from None
        who = f" (process {holder})" if holder else ""
        raise StoreError(f"This field store is in use by another process{who}: {directory}. "
                         f"Close the other fieldkit and try again.") from None
    os.ftruncate(fd, 0)
    if hasattr(os, "pwrite"):  # who holds the lock, for the message a second opener gets
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _lock_holder(fd):
    try:
        return int(os.pread(fd, 32, 0).split()[0])
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _unlock(fd):
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
