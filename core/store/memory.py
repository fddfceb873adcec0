"""The in-memory store: the reference implementation of ``Store`` (tests, previews, tools).

The same in-memory index as the field store (packed documents, see ``index.py``) behind one
``threading.RLock``; ``transaction()`` holds the lock and undoes its writes if the block
raises. Nothing is kept after the process ends.
"""

from .index import IndexedStore


class MemoryStore(IndexedStore):
    """A ``Store`` kept in dicts. Options given to ``open_store`` for other backends (such as
    ``fsync``) are accepted and ignored, so one call site can open any backend."""

    def __init__(self, **options):
        super().__init__()
        self.options = options

    def __repr__(self):
        return f"<MemoryStore last_seq={self._index.last_seq}>"
