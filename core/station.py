"""A field station: the data directory, its store, its evidence blobs, and the workflow.

One process opens a station at a time (the field store holds a lock). The data directory
comes from ``--data``, ``FIELDKIT_DATA``, or the per-user default (XDG data home).
"""

import os
from functools import cached_property
from pathlib import Path

from .documents import new_id
from .registries import Registries
from .workflow import Workflow

DATA_ENV = "FIELDKIT_DATA"


def default_data_dir():
    """``$FIELDKIT_DATA``, else ``$XDG_DATA_HOME/fieldkit``, else ``~/.local/share/fieldkit``."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "fieldkit"


class Station(Registries):
    """Everything a field station needs, opened from one data directory."""

    def __init__(self, data_dir=None, pm=None, plugins_dir=None, store=None):
        super().__init__(plugins_dir=plugins_dir, pm=pm)
        self.data_dir = Path(data_dir or default_data_dir())
        self._store = store

    @cached_property
    def checklists(self):
        registry = super().checklists
        self._add_synced_checklists(registry)
        return registry

    def _add_synced_checklists(self, registry):
        """Checklist versions received from HQ are usable even without their plugin."""
        from .errors import ValidationFailed
        for doc in self.store.find("checklist"):
            if doc.get("deleted") or doc.get("definition") is None:
                continue
            try:
                registry.add(doc["definition"], doc.get("plugin") or "hq")
            except ValidationFailed:
                continue  # the same version from a plugin, with other content: plugin wins

    @cached_property
    def store(self):
        if self._store is not None:
            return self._store
        from .store.field import FieldStore
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return FieldStore(self.data_dir / "store")

    @cached_property
    def blobs(self):
        from .store.blobs import BlobStore
        return BlobStore(self.data_dir)

    @cached_property
    def device_id(self):
        device = self.store.get_meta("device_id")
        if device is None:
            device = new_id()
            self.store.set_meta("device_id", device)
        return device

    def workflow(self, author=None):
        """The workflow for one author (an inspector's name, or the team lead)."""
        flow = Workflow(self.store, self.checklists, self.units, self.pm, blobs=self.blobs,
                        device=self.device_id, author=author or self.store.get_meta("author"))
        return flow

    def init(self, author=None):
        """Create the store if needed, give the station a device id, seed the campaign."""
        if author:
            self.store.set_meta("author", author)
        self.workflow().seed()
        return {"data_dir": str(self.data_dir), "device_id": self.device_id}

    def close(self):
        if "store" in self.__dict__ and self._store is None:
            self.store.close()
