"""Built-in plugin: the official administrative units, before and after the 2025 reform.

All 63 legacy and 34 current provinces, and the communes of the 2024 program's provinces
(current Ninh Bình 37, Phú Thọ 25, An Giang 91 and the eight legacy provinces they came
from). The data file is built by ``tools/build_units.py``; it is read on first use only.
"""

import functools
import json
from importlib import resources

from fieldkit.core.hookspecs import hookimpl
from fieldkit.core.units import LEGACY_END, LEGACY_PROVINCES_FROM, REFORM_DATE, split_kind

DATA_FILE = "admin_units.json"


@functools.cache
def unit_records():
    """The data file as hook records (a tuple, parsed once per process)."""
    data_file = resources.files("fieldkit.plugins").joinpath("data", DATA_FILE)
    data = json.loads(data_file.read_text(encoding="utf-8"))
    legacy_end, reform = LEGACY_END.isoformat(), REFORM_DATE.isoformat()
    provinces_from = LEGACY_PROVINCES_FROM.isoformat()
    records = []
    for code, name, successor in data["legacy_provinces"]:
        records.append(_record("legacy", code, name, "province", valid_from=provinces_from,
                               valid_to=legacy_end, successor=successor))
    for code, name, predecessors in data["current_provinces"]:
        records.append(_record("current", code, name, "province", valid_from=reform,
                               predecessors=tuple(predecessors)))
    districts = data["legacy_districts"]
    for code, name, parent, district, successors in data["legacy_communes"]:
        records.append(_record("legacy", code, name, "commune", parent=parent,
                               district=districts[district], valid_to=legacy_end,
                               successor=successors[0] if successors else None,
                               successors=tuple(successors)))
    for code, name, parent, predecessors in data["current_communes"]:
        records.append(_record("current", code, name, "commune", parent=parent,
                               valid_from=reform, predecessors=tuple(predecessors)))
    return tuple(records)


def _record(era, code, name, level, parent=None, district=None, valid_from=None,
            valid_to=None, successor=None, successors=(), predecessors=()):
    return {"era": era, "code": code, "name": name, "level": level,
            "kind": split_kind(name)[0], "parent": parent, "district": district,
            "valid_from": valid_from, "valid_to": valid_to, "successor": successor,
            "successors": successors, "predecessors": predecessors}


@hookimpl
def fieldkit_admin_units():
    """The built-in units (copies: callers may change them without touching the cache)."""
    return [dict(record) for record in unit_records()]
