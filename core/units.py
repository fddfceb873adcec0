"""The administrative-unit registry: provinces and communes before and after the 2025 reform.

Every unit lives in one era: ``legacy`` (the 63 provinces and their communes, up to
30/06/2025) or ``current`` (the 34 provinces and their communes, from 01/07/2025). A code
alone is ambiguous (91 was Kiên Giang and is now An Giang), so units are keyed by
``(era, code)``. Records come from plugins (hook ``fieldkit_admin_units``); the registry
validates them, links old and new units, and searches names in either spelling.
"""

import functools
from dataclasses import dataclass
from datetime import date, datetime

from .errors import NotFound, PluginError, UsageError, ValidationFailed
from .text import ascii_key, fold_key, nfc

REFORM_DATE = date(2025, 7, 1)
LEGACY_END = date(2025, 6, 30)
LEGACY_PROVINCES_FROM = date(2008, 8, 1)

ERAS = ("legacy", "current")
LEVELS = ("province", "commune")
PROVINCE_KINDS = ("Tỉnh", "Thành phố")
COMMUNE_KINDS = {"legacy": ("Xã", "Phường", "Thị trấn"), "current": ("Xã", "Phường", "Đặc khu")}
_ALL_KINDS = ("Thành phố", "Thị trấn", "Đặc khu", "Phường", "Tỉnh", "Xã")  # longest first
_CODE_WIDTH = {"province": 2, "commune": 5}
_ERA_DEFAULTS = {"legacy": (None, LEGACY_END), "current": (REFORM_DATE, None)}
HOOK = "fieldkit_admin_units"


def era_of(as_of):
    """``"legacy"`` before 01/07/2025, ``"current"`` from then on."""
    return "legacy" if _as_date(as_of) < REFORM_DATE else "current"


def split_kind(name):
    """``"Tỉnh Hòa Bình"`` → ``("Tỉnh", "Hòa Bình")``; ``(None, name)`` without a kind prefix."""
    for kind in _ALL_KINDS:
        if name[:len(kind)].casefold() == kind.casefold() and name[len(kind):len(kind) + 1] == " ":
            return kind, name[len(kind) + 1:].strip()
    return None, name


def _as_date(value):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise UsageError(f"{value!r} is not a date (expected YYYY-MM-DD).")


def _code(value, width):
    """A statistics-office code as zero-padded digits, or None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    text = str(value).strip()
    if not text.isdigit() or len(text) > width:
        return None
    return text.zfill(width)


def _lookup_code(value):
    """A code typed by a user: two digits at most is a province, else a commune."""
    text = str(value).strip() if isinstance(value, (int, str)) else ""
    if not text.isdigit() or len(text) > 5:
        raise UsageError(f"{value!r} is not an administrative-unit code (digits, e.g. 17).")
    return text.zfill(2 if len(text) <= 2 else 5)


@dataclass(frozen=True)
class AdminUnit:
    """One province or commune in one era, with its links to the other era."""

    era: str
    code: str
    name: str
    level: str
    kind: str
    parent: str | None = None
    district: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    successor: str | None = None
    successors: tuple = ()
    predecessors: tuple = ()

    @property
    def key(self):
        return (self.era, self.code)

    @property
    def short_name(self):
        """The name without its kind: ``"Hòa Bình"`` for ``"Tỉnh Hòa Bình"``."""
        return split_kind(self.name)[1]

    def in_force_on(self, day):
        """Was the unit in force on ``day``? An unknown start date counts as in force."""
        return ((self.valid_from is None or self.valid_from <= day)
                and (self.valid_to is None or day <= self.valid_to))

    def label(self):
        """``"Tỉnh Hoà Bình (legacy 17)"``: enough to tell two units with one code apart."""
        return f"{self.name} ({self.era} {self.code})"

    def as_dict(self):
        return {
            "era": self.era, "code": self.code, "name": self.name, "level": self.level,
            "kind": self.kind, "parent": self.parent, "district": self.district,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "successor": self.successor, "successors": list(self.successors),
            "predecessors": list(self.predecessors),
        }


# --- Records → units -----------------------------------------------------------------------


def unit_from_record(record, index=None):
    """Validate one record (the hook's format) into an ``AdminUnit``.

    Raises ``ValidationFailed`` naming the record, with per-field ``messages``.
    """
    if not isinstance(record, dict):
        raise ValidationFailed(f"{_record_label(record, index)} is not a mapping but "
                               f"{type(record).__name__}", {"_record": ["must be a mapping"]})
    errors = {}

    def error(field, message):
        errors.setdefault(field, []).append(message)

    era, level = record.get("era"), record.get("level")
    if era not in ERAS:
        error("era", "must be 'legacy' or 'current'")
    if level not in LEVELS:
        error("level", "must be 'province' or 'commune'")
    width = _CODE_WIDTH.get(level, 5)
    parent_width = _CODE_WIDTH["province"]

    code = _code(record.get("code"), width)
    if code is None:
        error("code", f"must be a statistics-office code of at most {width} digits")

    name = record.get("name")
    if not isinstance(name, str) or not name.strip():
        error("name", "must be a non-empty string")
        name = None
    else:
        name = " ".join(nfc(name).split())

    kind = record.get("kind")
    if kind is None and name:
        kind = split_kind(name)[0]  # official names start with their kind
    kind = nfc(kind) if isinstance(kind, str) else kind
    allowed = PROVINCE_KINDS if level == "province" else COMMUNE_KINDS.get(era, ())
    if level in LEVELS and era in ERAS and kind not in allowed:
        error("kind", f"must be one of {', '.join(allowed)} for a {era} {level}")

    parent = record.get("parent")
    if level == "commune":
        parent = _code(parent, parent_width)
        if parent is None:
            error("parent", "a commune needs its province code (same era)")
    elif level == "province":
        if parent is not None:
            error("parent", "a province has no parent")
        parent = None

    district = record.get("district")
    if district is not None and not (isinstance(district, str) and district.strip()):
        error("district", "must be a legacy district name or null")
    district = nfc(district.strip()) if isinstance(district, str) else None
    if district and era == "current":
        error("district", "current units have no district (the level ended on 2025-07-01)")

    default_from, default_to = _ERA_DEFAULTS.get(era, (None, None))
    valid_from = _record_date(record, "valid_from", default_from, error)
    valid_to = _record_date(record, "valid_to", default_to, error)
    if valid_from and valid_to and valid_from > valid_to:
        error("valid_to", "must not be before valid_from")
    if era == "legacy":
        if valid_to is None or valid_to > LEGACY_END:
            error("valid_to", "a legacy unit ends by 2025-06-30")
    elif era == "current" and (valid_from is None or valid_from < REFORM_DATE):
        error("valid_from", "a current unit starts on or after 2025-07-01")

    successor = record.get("successor")
    successors = record.get("successors")
    predecessors = record.get("predecessors")
    if era == "current" and (successor is not None or successors):
        error("successor", "only legacy units have successors")
    if era == "legacy" and predecessors:
        error("predecessors", "only current units have predecessors")
    successor = _code(successor, width) if successor is not None else None
    if record.get("successor") is not None and successor is None:
        error("successor", f"must be a code of at most {width} digits")
    successors = _code_list(successors, width, "successors", error)
    predecessors = _code_list(predecessors, width, "predecessors", error)
    if successor is None and successors:
        successor = successors[0]
    elif successor is not None and not successors:
        successors = (successor,)
    elif successor is not None and successor not in successors:
        error("successors", "must include the main successor")

    if errors:
        details = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in errors.items())
        raise ValidationFailed(f"{_record_label(record, index)} is invalid: {details}", errors)
    return AdminUnit(era=era, code=code, name=name, level=level, kind=kind, parent=parent,
                     district=district, valid_from=valid_from, valid_to=valid_to,
                     successor=successor, successors=successors, predecessors=predecessors)


def _record_label(record, index):
    where = f"#{index} " if index is not None else ""
    if isinstance(record, dict):
        bits = [f"{k} {record.get(k)!r}" for k in ("era", "code", "name") if k in record]
        if bits:
            return f"admin-unit record {where}({', '.join(bits)})"
    return f"admin-unit record {where}".rstrip()


def _record_date(record, field, default, error):
    if field not in record:
        return default
    value = record[field]
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    error(field, "must be a date YYYY-MM-DD or null")
    return None


def _code_list(value, width, field, error):
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        error(field, "must be a list of codes")
        return ()
    codes = tuple(_code(item, width) for item in value)
    if None in codes:
        error(field, f"must be codes of at most {width} digits")
        return ()
    return codes


# --- The registry --------------------------------------------------------------------------


class UnitRegistry:
    """Units by ``(era, code)``, with lookups across the reform and name search."""

    def __init__(self, records=()):
        self._units = {}
        indexes = {}
        for index, record in enumerate(records):
            unit = record if isinstance(record, AdminUnit) else unit_from_record(record, index)
            if unit.key in self._units:
                raise ValidationFailed(
                    f"admin-unit record #{index} ({unit.label()}) repeats the {unit.era} code "
                    f"{unit.code} of {self._units[unit.key].name}", {"code": ["duplicate"]})
            self._units[unit.key] = unit
            indexes[unit.key] = index
        for unit in self._units.values():
            index = indexes[unit.key]
            if unit.level == "commune":
                parent = self._units.get((unit.era, unit.parent))
                if parent is None or parent.level != "province":
                    raise ValidationFailed(
                        f"admin-unit record #{index} ({unit.label()}): its parent "
                        f"{unit.parent} is not a {unit.era} province in the registry",
                        {"parent": ["unknown province"]})

    @functools.cached_property
    def _search_keys(self):
        """Name keys of every unit, built on the first search."""
        return [(unit, _name_keys(unit)) for unit in self._units.values()]

    def __len__(self):
        return len(self._units)

    def __iter__(self):
        return iter(self._units.values())

    # Lookups

    def get(self, code, as_of=None, era=None):
        """The unit with this code in the era of ``as_of`` (or ``era``).

        With neither, the current unit, else the legacy one. Raises ``NotFound``.
        """
        code = _lookup_code(code)
        day = _as_date(as_of) if as_of is not None else None
        if day is not None:
            if era is not None and era != era_of(day):
                raise UsageError(f"{day.isoformat()} is in the {era_of(day)} era, not {era}.")
            era = era_of(day)
        if era is not None and era not in ERAS:
            raise UsageError(f"Unknown era {era!r} (expected legacy or current).")
        for candidate in ((era,) if era else ("current", "legacy")):
            unit = self._units.get((candidate, code))
            if unit is not None:
                if day is not None and not unit.in_force_on(day):
                    raise NotFound(f"{unit.label()} was not in force on {day.isoformat()} "
                                   f"({_span(unit)}).")
                return unit
        message = f"No administrative unit has code {code}"
        if era:
            message += f" in the {era} era"
            other = self._units.get(("legacy" if era == "current" else "current", code))
            if other is not None:
                message += f"; in the {other.era} era it is {other.name}"
        raise NotFound(message + ".")

    def list(self, level=None, parent=None, as_of=None, era=None):
        """Units filtered by level, parent province code and date (or era); both eras when
        neither ``as_of`` nor ``era`` is given. Legacy first, provinces first, by code."""
        if level is not None and level not in LEVELS:
            raise UsageError(f"Unknown level {level!r} (expected province or commune).")
        units = self._filtered(as_of, era)
        if level:
            units = [u for u in units if u.level == level]
        if parent is not None:
            parent = _lookup_code(parent)
            units = [u for u in units if u.parent == parent]
        return sorted(units, key=lambda u: (ERAS.index(u.era), LEVELS.index(u.level), u.code))

    def search(self, text, as_of=None, limit=50, era=None):
        """Units whose old or new name matches ``text``, best first.

        Matches with or without the kind ("Hòa Bình" finds "Tỉnh Hoà Bình"), in NFC or NFD,
        in either tone placement, or without diacritics ("hoa binh"). Every candidate is
        returned (both eras unless ``as_of`` or ``era`` says): exact before prefix before
        substring (from the start of a word), provinces before communes, closer spellings
        first, current era first.
        """
        queries = _query_keys(text)
        if not queries:
            return []
        allowed = {u.key for u in self._filtered(as_of, era)}
        ranked = []
        for unit, keys in self._search_keys:
            if unit.key not in allowed:
                continue
            best = None
            for looseness, (query, names) in enumerate(zip(queries, keys)):
                if not query:
                    continue
                for name in names:
                    match = 0 if name == query else 1 if name.startswith(query) else \
                        2 if " " + query in name else None  # a substring from a word start
                    if match is not None and (best is None or (match, looseness) < best):
                        best = (match, looseness)
            if best is not None:
                ranked.append(((best[0], LEVELS.index(unit.level), best[1],
                                -ERAS.index(unit.era), keys[0][1], keys[0][0], unit.code), unit))
        ranked.sort(key=lambda pair: pair[0])
        units = [unit for _rank, unit in ranked]
        return units[:limit] if limit else units

    # Across the reform

    def successor(self, unit):
        """The current unit a legacy unit became (the main one if it was split), or None."""
        if unit.era != "legacy" or unit.successor is None:
            return None
        return self._linked(unit, unit.successor, "current", "successor")

    def successors(self, unit):
        """Every current unit a legacy unit went into (main first); empty for current units."""
        if unit.era != "legacy":
            return []
        return [self._linked(unit, code, "current", "successor") for code in unit.successors]

    def predecessors(self, unit):
        """The legacy units a current unit was formed from."""
        if unit.era != "current":
            return []
        return [self._linked(unit, code, "legacy", "predecessor") for code in unit.predecessors]

    def origin_provinces(self, unit):
        """Legacy province codes a unit came from: for a current commune, the provinces of
        its predecessor communes; for a current province, its predecessors; for a legacy
        unit, its own province."""
        if unit.era == "legacy":
            return (self.province_of(unit).code,)
        if unit.level == "province":
            return tuple(sorted(unit.predecessors))
        return tuple(sorted({p.parent for p in self.predecessors(unit)}))

    def province_of(self, unit):
        """The province of a commune (same era); a province is its own."""
        if unit.level == "province":
            return unit
        return self._linked(unit, unit.parent, unit.era, "province")

    def _linked(self, unit, code, era, relation):
        linked = self._units.get((era, code))
        if linked is None:
            raise NotFound(f"The {relation} of {unit.label()}, {era} code {code}, is not in "
                           f"the unit registry (no plugin provides it).")
        return linked

    def _filtered(self, as_of, era):
        if as_of is not None:
            day = _as_date(as_of)
            return [u for u in self._units.values()
                    if u.era == era_of(day) and u.in_force_on(day)
                    and (era is None or u.era == era)]
        if era is not None:
            if era not in ERAS:
                raise UsageError(f"Unknown era {era!r} (expected legacy or current).")
            return [u for u in self._units.values() if u.era == era]
        return list(self._units.values())


def _span(unit):
    start = unit.valid_from.isoformat() if unit.valid_from else "an unrecorded date"
    end = unit.valid_to.isoformat() if unit.valid_to else "today"
    return f"in force from {start} to {end}"


def _name_keys(unit):
    """Names to match, loosest last: spelled (full, short), unaccented (full, short), then
    the short name alone, spelled and unaccented, for queries typed with another kind."""
    short = unit.short_name
    return ((fold_key(unit.name), fold_key(short)),
            (ascii_key(unit.name), ascii_key(short)),
            (fold_key(short),),
            (ascii_key(short),))


_KIND_WORDS = tuple(ascii_key(kind).split() for kind in _ALL_KINDS)


def _query_keys(text):
    """The keys of a search text, in the order of ``_name_keys``; None when it is empty.

    A typed kind ("Tỉnh Quảng Ninh", "xa tan thanh") is also dropped, so a unit whose kind
    changed (Tỉnh → Thành phố, Xã → Phường) is still found, ranked after exact kinds.
    """
    text = " ".join(nfc(text or "").split())
    if not text:
        return None
    words = text.split(" ")
    rest = None
    for kind_words in _KIND_WORDS:
        n = len(kind_words)
        if len(words) > n and [ascii_key(w) for w in words[:n]] == kind_words:
            rest = " ".join(words[n:])
            break
    return (fold_key(text), ascii_key(text),
            fold_key(rest) if rest else None, ascii_key(rest) if rest else None)


# --- Loading from plugins ------------------------------------------------------------------


def load_unit_registry(pm):
    """Build the registry from every plugin's ``fieldkit_admin_units``.

    A plugin whose records are invalid (or that repeats another plugin's unit, or names a
    province nobody provides) is marked failed, naming the plugin and the record; the
    other plugins' units still load.
    """
    accepted = []  # [(plugin name, [AdminUnit])], in registration order
    for plugin_name, records in reversed(pm.call_each(HOOK)):
        try:
            if not isinstance(records, (list, tuple)):
                raise ValidationFailed("the hook must return a list of unit records")
            units = [unit_from_record(record, index) for index, record in enumerate(records)]
        except ValidationFailed as exc:
            _fail(pm, plugin_name, str(exc))
            continue
        accepted.append((plugin_name, units))

    while True:  # dropping a plugin can orphan another plugin's communes: check again
        problems = _cross_plugin_problems(accepted)
        if not problems:
            break
        for plugin_name, reason in problems.items():
            _fail(pm, plugin_name, reason)
        accepted = [(name, units) for name, units in accepted if name not in problems]
    unique = {}  # the same unit from two plugins counts once
    for _name, units in accepted:
        for unit in units:
            unique.setdefault(unit.key, unit)
    return UnitRegistry(unique.values())


def _cross_plugin_problems(accepted):
    owners = {}
    problems = {}
    for plugin_name, units in accepted:
        for index, unit in enumerate(units):
            owner = owners.setdefault(unit.key, (plugin_name, unit))
            if owner[0] != plugin_name and owner[1] != unit:
                problems.setdefault(plugin_name, (
                    f"admin-unit record #{index} ({unit.label()}) conflicts with the unit "
                    f"that plugin '{owner[0]}' gives for the same code ({owner[1].name})"))
            elif owner[0] == plugin_name and owner[1] is not unit:
                problems.setdefault(plugin_name, (
                    f"admin-unit record #{index} ({unit.label()}) repeats its {unit.era} code"))
    for plugin_name, units in accepted:
        for index, unit in enumerate(units):
            if unit.level != "commune":
                continue
            parent = owners.get((unit.era, unit.parent))
            if parent is None or parent[1].level != "province":
                problems.setdefault(plugin_name, (
                    f"admin-unit record #{index} ({unit.label()}): its parent {unit.parent} "
                    f"is not a {unit.era} province any plugin provides"))
    return problems


def _fail(pm, plugin_name, reason):
    status = pm.statuses.get(plugin_name)
    message = str(PluginError(plugin_name, HOOK, reason))
    if status is None:
        from .plugins import PluginStatus
        status = pm.statuses[plugin_name] = PluginStatus(plugin_name, "registered")
    status.fail(message)


__all__ = ["REFORM_DATE", "AdminUnit", "UnitRegistry", "era_of", "load_unit_registry",
           "split_kind", "unit_from_record"]
