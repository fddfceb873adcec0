"""Built-in plugin: the province packs of the 2024 program (item 6: Ninh Bình, Hòa Bình, Kiên Giang).

Each pack, ``data/checklists/province-<name>-<version>.json``, adds a few items to the national
commune checklist for the communes of one legacy province; the checklist registry also applies
it after 01/07/2025 to the successor province's communes that came from that province.
"""

from fieldkit.core.hookspecs import hookimpl
from fieldkit.plugins.baseline import DATA, load_data


@hookimpl
def fieldkit_checklists():
    """Every province pack shipped in ``data/checklists``."""
    names = sorted(entry.name for entry in DATA.iterdir()
                   if entry.name.startswith("province-") and entry.name.endswith(".json"))
    return [load_data(name) for name in names]
