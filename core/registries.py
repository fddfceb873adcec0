"""The plugin manager and the registries built from it, each built once, on first use.

The CLI, the field station and HQ all need the same three things; they inherit them from
``Registries`` so that nothing is loaded before it is needed (``fieldkit --help`` stays fast).
"""

from functools import cached_property


class Registries:
    """Lazy ``pm`` (plugins), ``units`` and ``checklists`` for one process or command."""

    def __init__(self, plugins_dir=None, pm=None):
        self.plugins_dir = plugins_dir
        self._pm = pm

    @cached_property
    def pm(self):
        if self._pm is not None:
            return self._pm
        from .plugins import get_plugin_manager
        return get_plugin_manager(plugins_dir=self.plugins_dir)

    @cached_property
    def units(self):
        from .units import load_unit_registry
        return load_unit_registry(self.pm)

    @cached_property
    def checklists(self):
        from .checklists import load_checklist_registry
        return load_checklist_registry(self.pm, self.units)
