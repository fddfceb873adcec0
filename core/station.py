"""A field station: the data directory, its store, its evidence blobs, and the workflow.

One process opens a station at a time (the field store holds a lock). The data directory
comes from ``--data``, ``FIELDKIT_DATA``, or the per-user default (XDG data home).

An encrypted station (``keys.json`` in the data directory, see ``store/crypto.py``) opens with
its passphrase: the ``passphrase`` argument, ``FIELDKIT_PASSPHRASE``, or a hidden prompt when
the terminal is interactive. A new station is created encrypted when ``encrypt`` is true, or
when a ``passphrase`` is given (``fieldkit field --encrypt init``).
"""

import os
from functools import cached_property
from pathlib import Path

from .documents import new_id
from .registries import Registries
from .workflow import Workflow

DATA_ENV = "FIELDKIT_DATA"
PASSPHRASE_ENV = "FIELDKIT_PASSPHRASE"


def default_data_dir():
    """``$FIELDKIT_DATA``, else ``$XDG_DATA_HOME/fieldkit``, else ``~/.local/share/fieldkit``."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "fieldkit"


class Station(Registries):
    """Everything a field station needs, opened from one data directory."""

    def __init__(self, data_dir=None, pm=None, plugins_dir=None, store=None, passphrase=None,
                 encrypt=None, ask_passphrase=None):
        """``ask_passphrase(new)`` (a face's prompt) is called when an encrypted station needs
        a passphrase that neither ``passphrase`` nor ``FIELDKIT_PASSPHRASE`` gives."""
        super().__init__(plugins_dir=plugins_dir, pm=pm)
        self.data_dir = Path(data_dir or default_data_dir())
        self._store = store
        self._passphrase = passphrase
        self._encrypt = encrypt
        self._ask_passphrase = ask_passphrase

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
        cipher = self.cipher
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return FieldStore(self.data_dir / "store", cipher=cipher)

    @cached_property
    def blobs(self):
        from .store.blobs import BlobStore
        return BlobStore(self.data_dir, cipher=self.cipher)

    @cached_property
    def cipher(self):
        """The data key's cipher of an encrypted station, None for a plain one. Asked before
        any store file is opened, so a wrong passphrase changes nothing on disk."""
        from .errors import UsageError
        from .store import crypto
        if crypto.keys_path(self.data_dir).exists():
            return crypto.unlock_keys(self.data_dir, self._get_passphrase(new=False))
        encrypt = self._encrypt
        if encrypt is None:
            encrypt = self._passphrase is not None
        if not encrypt:
            return None
        store_dir = self.data_dir / "store"
        if store_dir.is_dir() and any(store_dir.iterdir()):
            raise UsageError(f"The station {self.data_dir} already holds a store that is not "
                             f"encrypted; encrypting an existing store is not supported yet. "
                             f"Create a new station folder to use encryption.")
        return crypto.create_keys(self.data_dir, self._get_passphrase(new=True))

    def _get_passphrase(self, new):
        if self._passphrase is not None:
            return self._passphrase
        if os.environ.get(PASSPHRASE_ENV):
            return os.environ[PASSPHRASE_ENV]
        if self._ask_passphrase is not None:
            answer = self._ask_passphrase(new)
            if answer:
                return answer
        from .errors import AuthError
        what = "A new encrypted station" if new else f"The station {self.data_dir} is encrypted"
        raise AuthError(f"{what}: set {PASSPHRASE_ENV} or run fieldkit in a terminal to type "
                        f"the passphrase.")

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

