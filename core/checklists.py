"""The checklist registry: every checklist version that plugins (or HQ) provide.

Checklists are keyed by id **and** version: an inspection pins the version it started with,
so a plugin upgrade never changes an inspection in progress. Which checklists apply to a
province or commune is decided here, across the 2025 reform: a pack written for legacy
Hòa Bình (17) applies after 01/07/2025 to the communes of Phú Thọ (25) that came from it.
"""

import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from .errors import NotFound, ValidationFailed
from .units import era_of

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-(.+))?$")


def version_key(version):
    """Sort key for a semantic version: 1.10.0 > 1.9.0, and 1.0.0 > 1.0.0-rc1."""
    match = _SEMVER.match(version)
    if not match:
        return (0, 0, 0, 0, version)
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre or "")


@dataclass(frozen=True)
class Checklist:
    """One version of one checklist, as validated by ``forms.checklist.ChecklistSchema``."""

    definition: dict
    plugin: str

    @property
    def id(self):
        return self.definition["id"]

    @property
    def version(self):
        return self.definition["version"]

    @property
    def title(self):
        return self.definition["title"]["vi"]

    @property
    def applies_to(self):
        return self.definition["applies_to"]

    @property
    def sections(self):
        return self.definition["sections"]

    @cached_property
    def items(self):
        """Every item in order, each with its section's ``theme`` and ``section`` added."""
        return [{**item, "theme": section.get("theme") or section["code"],
                 "section": section["code"]}
                for section in self.sections for item in section["items"]]

    @cached_property
    def _by_code(self):
        return {item["code"]: item for item in self.items}

    def item(self, code):
        """The item with this code, or ``NotFound`` naming the checklist."""
        try:
            return self._by_code[code]
        except KeyError:
            raise NotFound(f"Checklist {self.id} {self.version} has no item {code}.") from None

    def valid_on(self, day):
        start, end = self.applies_to.get("valid_from"), self.applies_to.get("valid_to")
        return (start is None or start <= day) and (end is None or day <= end)

    def data(self):
        """The definition in the data format (what ``checklists validate`` accepts)."""
        from ..forms.checklist import dump_checklist
        return dump_checklist(self.definition)

    def summary(self):
        """The listing entry: the JSON fields scripts rely on."""
        applies = self.applies_to
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "title_en": self.definition["title"].get("en"),
            "plugin": self.plugin,
            "items": len(self.items),
            "applies_to": {
                "unit_kinds": list(applies["unit_kinds"]),
                "provinces": [dict(ref) for ref in applies.get("provinces") or []],
                "valid_from": _iso(applies.get("valid_from")),
                "valid_to": _iso(applies.get("valid_to")),
            },
        }


def _iso(day):
    return day.isoformat() if day else None


class ChecklistRegistry:
    """Checklist versions by id, and the rules of which apply where and when."""

    def __init__(self, units=None):
        self.units = units
        self._versions = {}  # id -> {version: Checklist}

    def add(self, definition, plugin):
        """Validate and register a definition; raises ``ValidationFailed`` with sentences."""
        from ..forms.checklist import ValidationError, checklist_errors, load_checklist
        try:
            loaded = load_checklist(definition)
        except ValidationError as exc:
            label = definition.get("id", "?") if isinstance(definition, dict) else "?"
            sentences = checklist_errors(exc.messages, definition)
            raise ValidationFailed(f"checklist '{label}': " + "; ".join(sentences),
                                   exc.messages) from None
        checklist = Checklist(loaded, plugin)
        versions = self._versions.setdefault(checklist.id, {})
        if checklist.version in versions:
            other = versions[checklist.version]
            if other.definition != loaded:
                raise ValidationFailed(
                    f"checklist '{checklist.id}' version {checklist.version} is already "
                    f"provided by plugin '{other.plugin}' with different content")
            return other
        versions[checklist.version] = checklist
        return checklist

    def __iter__(self):
        for versions in self._versions.values():
            yield from versions.values()

    def __len__(self):
        return sum(len(v) for v in self._versions.values())

    def versions(self, checklist_id):
        """All versions of a checklist, oldest first."""
        return sorted(self._versions.get(checklist_id, {}).values(),
                      key=lambda c: version_key(c.version))

    def get(self, checklist_id, version=None, as_of=None):
        """A version of a checklist: the one named, else the newest valid on ``as_of``
        (or the newest of all when ``as_of`` is None)."""
        versions = self.versions(checklist_id)
        if not versions:
            raise NotFound(f"No checklist with id {checklist_id}.")
        if version is not None:
            for checklist in versions:
                if checklist.version == version:
                    return checklist
            known = ", ".join(c.version for c in versions)
            raise NotFound(f"Checklist {checklist_id} has no version {version} "
                           f"(known: {known}).")
        if as_of is not None:
            versions = [c for c in versions if c.valid_on(as_of)]
            if not versions:
                raise NotFound(f"No version of checklist {checklist_id} is valid on "
                               f"{as_of.isoformat()}.")
        return versions[-1]

    def applicable(self, province=None, unit=None, unit_kind=None, as_of=None):
        """Checklists valid on ``as_of`` (today by default) for a province code, a unit code
        or a unit kind; codes are read in the era of ``as_of``. Sorted by id, version."""
        as_of = as_of or date.today()
        province_unit = self._unit(province, as_of, "province") if province else None
        unit_record = self._unit(unit, as_of, None) if unit else None
        if unit_record is not None and unit_kind is None:
            unit_kind = unit_record.level
        found = []
        for checklist in self:
            if not checklist.valid_on(as_of):
                continue
            if unit_kind and unit_kind not in checklist.applies_to["unit_kinds"]:
                continue
            if province_unit is not None and not self._covers(checklist, province_unit):
                continue
            if unit_record is not None and not self._covers(checklist, unit_record):
                continue
            found.append(checklist)
        return sorted(found, key=lambda c: (c.id, version_key(c.version)))

    def _unit(self, code, as_of, level):
        if self.units is None:
            raise NotFound("No administrative-unit registry is loaded.")
        unit = self.units.get(code, as_of=as_of)
        if level and unit.level != level:
            raise NotFound(f"{code} is a {unit.level} code, not a {level} code, "
                           f"on {as_of.isoformat()}.")
        return unit

    def _covers(self, checklist, unit):
        """Does a checklist's province list cover this unit (province or commune)?"""
        refs = checklist.applies_to.get("provinces") or []
        if not refs:
            return True
        wanted = {(ref["era"], ref["code"]) for ref in refs}
        return bool(wanted & self._province_keys(unit))

    def _province_keys(self, unit):
        """(era, code) of every province a unit belongs to or came from, in both eras."""
        keys = set()
        province = unit if unit.level == "province" else self.units.province_of(unit)
        keys.add((province.era, province.code))
        if unit.era == "current":
            if unit.level == "province":
                keys.update(("legacy", code) for code in province.predecessors)
            else:
                keys.update(("legacy", code) for code in self.units.origin_provinces(unit))
        elif province.successor:
            keys.add(("current", province.successor))
        return keys


def load_checklist_registry(pm, units=None):
    """Build the registry from every plugin's ``fieldkit_checklists``; a plugin that gives an
    invalid checklist is marked failed (named, with the reason) and the others still load."""
    registry = ChecklistRegistry(units)
    for plugin_name, definitions in pm.call_each("fieldkit_checklists"):
        if not isinstance(definitions, (list, tuple)):
            pm.statuses[plugin_name].fail(
                "hook 'fieldkit_checklists' must return a list of checklist definitions")
            continue
        for definition in definitions:
            try:
                registry.add(definition, plugin_name)
            except ValidationFailed as exc:
                pm.statuses[plugin_name].fail(str(exc))
    return registry


__all__ = ["Checklist", "ChecklistRegistry", "load_checklist_registry", "version_key", "era_of"]
