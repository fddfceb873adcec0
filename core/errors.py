"""One error hierarchy: every error fieldkit raises on purpose is a ``FieldkitError``.

The CLI turns any of them into one clear sentence on stderr and a non-zero exit.
"""


class FieldkitError(Exception):
    """Base of every deliberate fieldkit error; ``str(err)`` is a sentence for the user."""

    exit_code = 1


class UsageError(FieldkitError):
    """The user asked for something that does not make sense (bad option value, bad date)."""

    exit_code = 2


class NotFound(FieldkitError):
    """A checklist, unit, inspection or other record that was named does not exist."""


class ValidationFailed(FieldkitError):
    """Data failed validation; ``messages`` holds the per-field details (marshmallow style)."""

    def __init__(self, message, messages=None):
        super().__init__(message)
        self.messages = messages or {}


class PluginError(FieldkitError):
    """A plugin failed to load or gave something invalid; names the plugin and the hook."""

    def __init__(self, plugin, hook, reason):
        super().__init__(f"Plugin '{plugin}' for hook '{hook}': {reason}")
        self.plugin = plugin
        self.hook = hook
        self.reason = reason


class StoreError(FieldkitError):
    """The store cannot be opened or written (corrupt file, wrong format version, disk full)."""


class ConflictError(StoreError):
    """A write was based on a revision that is no longer the current one."""


class SyncError(FieldkitError):
    """Sync with headquarters failed (network, refused token, malformed answer)."""


class AuthError(FieldkitError):
    """A code, token, session or password was refused."""
