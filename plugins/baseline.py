"""Built-in plugin: the national baseline checklists, one per unit kind.

Each kind has one data file, ``data/checklists/baseline-<kind>-1.0.0.json`` (inspections from
01/07/2023 to 30/06/2025, Law 10/2022/QH15 as passed). Version 2.0.0, for inspections from
01/07/2025 after Law 97/2025/QH15 amended that law for the two-tier reform, is derived from it
by ``baseline-2.0.0-changes.json``: new dates, a note in the description, the citations of the
amended instruments marked unverified, and the few items where the district level is gone
reworded. Same item codes in both versions, so findings stay comparable across the reform.
"""

import copy
import json
from importlib import resources

from fieldkit.core.hookspecs import hookimpl

UNIT_KINDS = ("province", "commune", "agency", "enterprise")
DATA = resources.files("fieldkit.plugins") / "data" / "checklists"


def load_data(name):
    """One JSON file of ``data/checklists``."""
    return json.loads(DATA.joinpath(name).read_text(encoding="utf-8"))


def amend(definition, changes):
    """A new version of ``definition`` with ``changes`` applied; ``definition`` is not modified.

    ``changes``: ``version``; ``applies_to`` keys to replace; ``description_note`` (per language,
    appended); ``amended_instruments`` (a reference starting with a key is rewritten to start
    with its value, and becomes unverified); ``items`` (per code, item keys to replace).
    """
    amended = copy.deepcopy(definition)
    amended["version"] = changes["version"]
    amended["applies_to"].update(changes["applies_to"])
    for language, note in changes["description_note"].items():
        amended["description"][language] += " " + note
    items = [item for section in amended["sections"] for item in section["items"]]
    references = amended.get("sources", []) + [ref for item in items
                                               for ref in item.get("legal_basis", [])]
    for reference in references:
        for old, new in changes["amended_instruments"].items():
            if reference["ref"].startswith(old):
                reference["ref"] = new + reference["ref"][len(old):]
                reference["verified"] = False
                break
    for item in items:
        item.update(copy.deepcopy(changes["items"].get(item["code"], {})))
    return amended


@hookimpl
def fieldkit_checklists():
    """The baseline for each unit kind, versions 1.0.0 and 2.0.0."""
    first = [load_data(f"baseline-{kind}-1.0.0.json") for kind in UNIT_KINDS]
    changes = load_data("baseline-2.0.0-changes.json")
    return first + [amend(definition, changes) for definition in first]
