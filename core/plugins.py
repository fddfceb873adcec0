"""The plugin host: a fresh ``PluginManager`` per app or test, built-ins first.

Loading order: built-in plugins, installed packages' entry points (group ``fieldkit``), then
``*.py`` files of a plugins directory. A plugin that fails to import, names an unknown hook,
or raises is recorded as failed with its reason and never stops the others: a field laptop
must not be bricked by one bad package.
"""

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

import pluggy

from . import hookspecs
from .errors import PluginError

BUILTIN_PLUGINS = (
    "fieldkit.plugins.admin_units",
    "fieldkit.plugins.baseline",
    "fieldkit.plugins.provinces",
    "fieldkit.plugins.scoring",
    "fieldkit.plugins.renderers",
)

PLUGINS_DIR_ENV = "FIELDKIT_PLUGINS_DIR"


@dataclass
class PluginStatus:
    """What the host knows of one plugin: where it came from and whether it works."""

    name: str
    source: str  # "builtin" | "entrypoint" | "directory"
    status: str = "ok"  # "ok" | "failed"
    errors: list = field(default_factory=list)
    version: str | None = None

    def fail(self, reason):
        self.status = "failed"
        self.errors.append(reason)

    def as_dict(self):
        return {"name": self.name, "source": self.source, "status": self.status,
                "version": self.version, "errors": list(self.errors)}


class FieldkitPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers each plugin's status and isolates failing hooks."""

    def __init__(self):
        super().__init__(hookspecs.PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self.statuses = {}

    def safe_register(self, plugin, name, source, version=None):
        """Register ``plugin``; on any error record it as failed instead of raising."""
        status = PluginStatus(name=name, source=source, version=version)
        self.statuses[name] = status
        try:
            self.register(plugin, name=name)
            self._check_plugin(plugin, name)
        except Exception as exc:  # noqa: BLE001 - a bad plugin must not stop the others
            if self.is_registered(plugin):
                self.unregister(plugin)
            status.fail(_reason(exc))
        return status

    def _check_plugin(self, plugin, name):
        """Refuse a plugin with misspelt hooks (``check_pending`` per plugin, clear message)."""
        for attr in dir(plugin):
            if not attr.startswith("fieldkit_"):
                continue
            hook = getattr(self.hook, attr, None)
            if hook is None or not hook.has_spec():
                raise PluginError(name, attr, "unknown hook (is it misspelt?)")

    def call_each(self, hook_name, **kwargs):
        """Call a hook plugin by plugin: returns ``[(plugin_name, result)]``.

        A plugin whose implementation raises is marked failed with the reason, and the
        other plugins' results are still returned.
        """
        return list(self._iter_results(hook_name, kwargs))

    def _iter_results(self, hook_name, kwargs):
        hook = getattr(self.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):  # pluggy's call order
            name = impl.plugin_name
            status = self.statuses.get(name)
            if status is not None and status.status == "failed":
                continue
            try:
                result = impl.function(**{k: kwargs[k] for k in impl.argnames})
            except Exception as exc:  # noqa: BLE001
                if status is not None:
                    status.fail(f"hook '{hook_name}' raised {_reason(exc)}")
                continue
            if result is not None:
                yield name, result

    def call_first(self, hook_name, **kwargs):
        """Call a ``firstresult`` hook with the same isolation: the first non-None result of a
        plugin that does not raise, as ``(plugin_name, result)``, or ``(None, None)``."""
        for name, result in self._iter_results(hook_name, kwargs):
            return name, result
        return None, None

    def failed(self):
        return [s for s in self.statuses.values() if s.status == "failed"]


def _reason(exc):
    if isinstance(exc, PluginError):
        return f"hook '{exc.hook}': {exc.reason}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def get_plugin_manager(plugins_dir=None, load_entrypoints=True):
    """Build a fresh plugin manager: built-ins, entry points, then a plugins directory."""
    pm = FieldkitPluginManager()
    for module_name in BUILTIN_PLUGINS:
        short = module_name.rsplit(".", 1)[-1]
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # noqa: BLE001
            pm.statuses[short] = PluginStatus(short, "builtin", "failed", [_reason(exc)])
            continue
        pm.safe_register(module, name=short, source="builtin")
    if load_entrypoints:
        _load_entrypoints(pm)
    plugins_dir = plugins_dir or os.environ.get(PLUGINS_DIR_ENV)
    if plugins_dir:
        _load_directory(pm, Path(plugins_dir))
    pm.check_pending()  # every registered hookimpl has a spec: anything else was refused above
    return pm


def _load_entrypoints(pm):
    for ep in entry_points(group=hookspecs.PROJECT_NAME):
        version = ep.dist.version if ep.dist is not None else None
        name = ep.name
        try:
            plugin = ep.load()
        except Exception as exc:  # noqa: BLE001
            pm.statuses[name] = PluginStatus(name, "entrypoint", "failed",
                                             [f"cannot be imported: {_reason(exc)}"], version)
            continue
        pm.safe_register(plugin, name=name, source="entrypoint", version=version)


def _load_directory(pm, directory):
    if not directory.is_dir():
        pm.statuses[str(directory)] = PluginStatus(
            str(directory), "directory", "failed", ["plugins directory does not exist"])
        return
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        name = path.stem
        module_name = f"fieldkit_dir_plugin_{name}"
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001
            sys.modules.pop(module_name, None)
            pm.statuses[name] = PluginStatus(name, "directory", "failed",
                                             [f"cannot be imported: {_reason(exc)}"])
            continue
        pm.safe_register(module, name=name, source="directory")
