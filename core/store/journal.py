"""The field store's append-only journal: one checksummed line per committed transaction.

A line is ``<crc32 of the JSON, 8 hex digits> <JSON>\\n`` and the JSON is
``{"ops": [operation, ...]}`` — every operation of one transaction, so a transaction is
replayed whole or not at all. A line is acknowledged only after it is fsynced.

Journals are numbered (``journal-00000007.log``). Compaction starts a new journal, then writes
a snapshot that names the first journal it does *not* contain; older journals are deleted.
A crash can only tear the last line of the newest journal (it was never acknowledged): it is
dropped on open. A damaged line followed by intact ones is real damage and refuses to open.

In an encrypted store (``cipher`` given, see ``crypto.py``) the JSON of a line is sealed and
base64-encoded: ``<crc32 of the base64 text> <base64(nonce || ciphertext || tag)>\n``. The crc
still tells a torn line from an intact one; the GCM tag then refuses an altered one.
"""

import base64
import binascii
import json
import os
import re
import zlib
from pathlib import Path

from ..errors import StoreError
from .files import sync_file
from .index import to_json

_NAME = re.compile(r"journal-(\d{8})\.log")


def journal_name(generation):
    return f"journal-{generation:08d}.log"


def list_journals(directory):
    """``[(generation, path), ...]`` of the journal files in ``directory``, oldest first."""
    found = []
    for path in Path(directory).iterdir():
        match = _NAME.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


JOURNAL_CONTEXT = b"fieldkit/journal-line"


def encode_record(ops, cipher=None):
    """One journal line holding ``ops`` (operation dicts, or their JSON text)."""
    texts = ",".join(op if isinstance(op, str) else to_json(op, "A store operation")
                     for op in ops)
    payload = f'{{"ops":[{texts}]}}'.encode()
    if cipher is not None:
        payload = base64.b64encode(cipher.seal(payload, JOURNAL_CONTEXT))
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def decode_line(line, cipher=None):
    """The record of one line (without its newline), or None if the line is not intact.
    An intact encrypted line that does not decrypt is a ``StoreError`` (altered, not torn)."""
    if len(line) < 10 or line[8:9] != b" ":
        return None
    payload = line[9:]
    try:
        if int(line[:8], 16) != zlib.crc32(payload):
            return None
        if cipher is not None:
            try:
                sealed = base64.b64decode(payload, validate=True)
            except binascii.Error:
                raise StoreError("A line of the field store journal is not encrypted although "
                                 "the store is; restore the store folder from a backup.") from None
            payload = cipher.open(sealed, JOURNAL_CONTEXT, "A line of the field store journal")
        record = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("ops"), list):
        return None
    return record


class JournalReader:
    """Reads a journal a line at a time: iterating gives ``(line number, record)`` of the
    intact lines, never the whole file at once. Afterwards ``entries`` is how many there were
    and ``intact`` where a torn tail starts (the file length when there is none). A damaged
    line followed by intact ones is a ``StoreError`` (the records before it were given)."""

    def __init__(self, path, cipher=None):
        self.path = Path(path)
        self.cipher = cipher
        self.entries = 0
        self.intact = None

    def __iter__(self):
        damaged, offset = None, 0  # the first line that is not intact: (number, offset)
        with open(self.path, "rb") as journal:
            for number, line in enumerate(journal, 1):
                # A last line without its newline was never acknowledged, even if it decodes.
                record = decode_line(line[:-1], self.cipher) if line.endswith(b"\n") else None
                if record is None:
                    if damaged is None:
                        damaged = (number, offset)
                elif damaged is not None:
                    raise StoreError(
                        f"The field store journal {self.path} is damaged at line {damaged[0]} "
                        f"while later lines are intact, so fieldkit will not guess which "
                        f"changes are lost; restore the store folder from a backup, or move "
                        f"that journal file aside to open the store without the changes it "
                        f"holds.")
                else:
                    self.entries += 1
                    yield number, record
                offset += len(line)
        self.intact = damaged[1] if damaged else offset


class JournalWriter:
    """Appends records to one journal file; ``append`` returns once the line is on disk."""

    def __init__(self, path, generation, fsync=True, entries=0, cipher=None):
        self.path = Path(path)
        self.cipher = cipher
        self.generation = generation
        self.fsync = fsync
        self.entries = entries
        self.broken = None
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.size = os.fstat(self._fd).st_size

    def append(self, ops):
        if self.broken:
            raise StoreError(self.broken)
        data = encode_record(ops, self.cipher)
        start = self.size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
            if self.fsync:
                try:
                    sync_file(self._fd)
                except OSError as exc:
                    # After a failed fsync the kernel's view of the file cannot be trusted.
                    self.broken = (f"The field store journal {self.path} could not be flushed "
                                   f"to disk ({exc}); close and reopen the store.")
                    raise
        except BaseException as exc:
            self._cut_back(start)
            if isinstance(exc, OSError):
                raise StoreError(f"The change was not saved: the field store journal "
                                 f"{self.path} could not be written ({exc}).") from exc
            raise
        self.size += len(data)
        self.entries += 1

    def _cut_back(self, size):
        """Remove a partly written line, so the next one does not follow garbage."""
        try:
            os.ftruncate(self._fd, size)
        except OSError as exc:
            self.broken = (f"The field store journal {self.path} holds a partly written line "
                           f"that could not be removed ({exc}); close and reopen the store.")

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
