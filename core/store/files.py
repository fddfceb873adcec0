"""Small file helpers for durable stores: fsync that means it, and atomic whole-file writes."""

import os
import uuid
from pathlib import Path

# fdatasync skips metadata that does not matter for reading the data back (timestamps).
sync_file = getattr(os, "fdatasync", os.fsync)


def fsync_directory(directory):
    """Make a rename or a new file in ``directory`` durable (no-op where unsupported)."""
    if os.name == "nt":  # Windows cannot open a directory; NTFS journals the rename itself
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(path):
    """A unique temporary name beside ``path`` (same directory, so ``os.replace`` is atomic)."""
    path = Path(path)
    return path.with_name(f"{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:12]}")


def atomic_write(path, chunks, fsync=True):
    """Write ``path`` from an iterable of bytes so that it is either the old or the new file:
    write a temporary file, fsync it, ``os.replace`` it over ``path``, fsync the directory."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        with open(tmp, "xb", buffering=1 << 20) as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            if fsync:
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if fsync:
        fsync_directory(path.parent)
