"""The Store interface shared by the field (TinyDB) and headquarters (SQL) backends.

A store holds documents (see ``fieldkit.core.documents``) keyed by id, keeps a monotonic
change sequence (every write gets the next ``seq``), keeps losing versions of conflicts, and
small metadata values (checkpoints, device identity, settings). Sync is written against this
interface only, so the same rules run at both ends.
"""

from abc import ABC, abstractmethod
from contextlib import contextmanager

from ..documents import new_id, next_rev, now_iso
from ..errors import ConflictError, NotFound


class Store(ABC):
    """Documents by id, a change feed, conflicts and metadata. Thread-safe per instance."""

    # --- primitives each backend implements ----------------------------------------------

    @abstractmethod
    def get(self, doc_id):
        """The current version of a document (dict with ``_seq``), or None."""

    @abstractmethod
    def write(self, doc):
        """Store ``doc`` exactly as given (rev and all) as the current version; give it the
        next sequence number, durably, and return that number. The one write primitive."""

    @abstractmethod
    def find(self, type=None, **equals):
        """Current documents of a type whose top-level fields equal ``equals`` (tombstones
        included: callers filter ``deleted``)."""

    @abstractmethod
    def changes(self, since=0, limit=500):
        """Up to ``limit`` current documents whose ``_seq`` > ``since``, in ``_seq`` order."""

    def iter_changes(self, since=0, batch=500):
        """Every current document whose ``_seq`` > ``since``, in ``_seq`` order, one at a
        time (read ``batch`` at a time here; stores that can do better override this), for
        callers that must not hold them all at once."""
        while True:
            page = self.changes(since, batch)
            yield from page
            if len(page) < batch:
                return
            since = page[-1]["_seq"]

    @abstractmethod
    def last_seq(self):
        """The highest sequence number given so far (0 for an empty store)."""

    @abstractmethod
    def add_conflict(self, doc):
        """Keep a losing version of a document (never dropped) for a reviewer to resolve.
        Adding the same version (same id and rev) again keeps one copy: sync retries."""

    @abstractmethod
    def conflicts(self, doc_id=None):
        """Kept losing versions, all or for one document id."""

    @abstractmethod
    def resolve_conflicts(self, doc_id):
        """Forget the kept losing versions of a document (after a reviewer decided)."""

    @abstractmethod
    def get_meta(self, key, default=None):
        """A metadata value (JSON-able)."""

    @abstractmethod
    def set_meta(self, key, value):
        """Set a metadata value durably."""

    @abstractmethod
    def close(self):
        """Flush and release files and connections."""

    @contextmanager
    def transaction(self):
        """Group writes: all or nothing where the backend supports it; one lock held."""
        yield self

    # --- local edits, built on the primitives --------------------------------------------

    def save(self, doc, device=None, author=None, expected_rev=None):
        """Save a local edit: new id if none, ``base_rev`` = the current rev, new ``rev``.

        ``expected_rev`` guards against lost updates: if given and the stored rev differs,
        ``ConflictError`` is raised and nothing is written. Returns the stored document.
        """
        with self.transaction():
            doc = {k: v for k, v in doc.items() if not k.startswith("_")}
            doc.setdefault("id", new_id())
            doc.setdefault("deleted", False)
            current = self.get(doc["id"])
            current_rev = current["rev"] if current else None
            if expected_rev is not None and expected_rev != current_rev:
                raise ConflictError(
                    f"{doc.get('type', 'document')} {doc['id']} was changed meanwhile "
                    f"(expected revision {expected_rev}, found {current_rev})")
            if device is not None:
                doc["device"] = device
            if author is not None:
                doc["author"] = author
            doc.setdefault("device", None)
            doc.setdefault("author", None)
            doc["base_rev"] = current_rev
            doc["updated_at"] = now_iso()
            doc["rev"] = next_rev(doc, current_rev)
            seq = self.write(doc)
            return {**doc, "_seq": seq}

    def delete(self, doc_id, device=None, author=None):
        """Tombstone a document (``deleted: true``); sync carries the tombstone."""
        with self.transaction():  # read and write as one step: no edit lost in between
            current = self.get(doc_id)
            if current is None:
                raise NotFound(f"No document with id {doc_id}.")
            return self.save({**current, "deleted": True}, device=device, author=author)

    def require(self, doc_id, type=None):
        """The document, or ``NotFound`` with a sentence naming what was looked for."""
        doc = self.get(doc_id)
        if doc is None or (type is not None and doc.get("type") != type):
            raise NotFound(f"No {type or 'document'} with id {doc_id}.")
        return doc


def open_store(location, **options):
    """Open a store from a location: ``memory:``, a directory (field), or a database URL (HQ)."""
    location = str(location)
    if location == "memory:":
        from .memory import MemoryStore
        return MemoryStore(**options)
    if "://" in location:
        from .sql import SQLStore
        return SQLStore(location, **options)
    from .field import FieldStore
    return FieldStore(location, **options)
