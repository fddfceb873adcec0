"""Build ``plugins/data/admin_units.json`` from the data of the ``vietnam-provinces`` wheel.

Usage::

    pip download --no-deps --python-version 3.12 --only-binary=:all: -d /tmp/vnp \\
        'vietnam-provinces>=2026.2.0'
    python tools/build_units.py /tmp/vnp/vietnam_provinces-*.whl      # or an unzipped wheel

The package (GPL-3.0, Python >= 3.12) is never imported or installed: its data modules are
parsed with ``ast`` and only the official facts (statistics-office codes, names, the old→new
conversion table) are copied into our own compact file.

What goes in the file: the 63 legacy and 34 current provinces with the old→new mapping; the
legacy communes of the eight provinces that merged into Ninh Bình 37, Phú Thọ 25 and
An Giang 91, and every current commune of those three, linked both ways.

Names are NFC with tone marks in the new placement ("Tỉnh Hoà Bình" → "Tỉnh Hòa Bình"),
as the 2025 lists mostly spell them; search folds both placements anyway.

The known slip (legacy code 82, Tiền Giang, maps to two provinces): one conversion row tags
legacy ward 27691 (Phường 4 of Thành phố Tân An, legacy Long An 80) with province 82, and
the package derives its province table from those tags. We never trust a row's province tag:
a legacy ward's province is the province of its own district in the legacy lists, a current
ward's province comes from the current lists, and the province mapping is derived from the
corrected rows. Every disagreement with the package is printed and written to ``notes``
(2026.9.0 has a second mis-tagged row, 30781 Xã Tiên Hải of Kiên Giang 91 tagged 89; harmless
for provinces, since both became An Giang 91, but fixed the same way).
"""

import argparse
import ast
import json
import re
import sys
import unicodedata
import zipfile
from collections import defaultdict
from pathlib import Path

from fieldkit.core.text import fold_key

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "plugins" / "data" / "admin_units.json"
FORMAT_VERSION = 1

# The 2024 program's provinces: current code → the legacy codes that merged into it.
PROGRAM_PROVINCES = {"37": ("35", "36", "37"), "25": ("17", "25", "26"), "91": ("89", "91")}
EXPECTED_CURRENT_COMMUNES = {"37": 129, "25": 148, "91": 102}
EXPECTED_PROVINCES = {"legacy": 63, "current": 34}

PACKAGE_FILES = {
    "version": "vietnam_provinces/__init__.py",
    "current_lookup": "vietnam_provinces/_lookup.py",
    "current_codes": "vietnam_provinces/codes.py",
    "current_base": "vietnam_provinces/base.py",
    "legacy_lookup": "vietnam_provinces/legacy/_lookup.py",
    "legacy_codes": "vietnam_provinces/legacy/codes.py",
    "legacy_base": "vietnam_provinces/legacy/base.py",
    "ward_conversion": "vietnam_provinces/_ward_conversion_2025.py",
    "province_conversion": "vietnam_provinces/_province_conversion_2025.py",
}

PROVINCE_KINDS = ("Thành phố", "Tỉnh")
COMMUNE_KINDS = ("Thị trấn", "Đặc khu", "Phường", "Xã")


# --- Reading the package without importing it ---------------------------------------------


def read_package(path):
    """Return ``{key: source text}`` for PACKAGE_FILES from a wheel or an unzipped wheel."""
    path = Path(path)
    texts = {}
    if path.is_file():
        with zipfile.ZipFile(path) as wheel:
            for key, name in PACKAGE_FILES.items():
                texts[key] = wheel.read(name).decode("utf-8")
        return texts
    base = path if (path / "vietnam_provinces").is_dir() else path.parent
    for key, name in PACKAGE_FILES.items():
        texts[key] = (base / name).read_text(encoding="utf-8")
    return texts


def enum_members(source):
    """``{EnumClass: {MEMBER: value}}`` for every class-level ``NAME = constant``."""
    enums = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            members = {}
            for stmt in node.body:
                if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                        and isinstance(stmt.targets[0], ast.Name)
                        and isinstance(stmt.value, ast.Constant)):
                    members[stmt.targets[0].id] = stmt.value.value
            enums[node.name] = members
    return enums


def literal(node, enums):
    """Evaluate a data literal: constants, tuples, dicts, enum members; a call → its args."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(literal(item, enums) for item in node.elts)
    if isinstance(node, ast.Dict):
        return {literal(k, enums): literal(v, enums) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return enums[node.value.id][node.attr]
    if isinstance(node, ast.Call) and not node.keywords:
        return tuple(literal(arg, enums) for arg in node.args)
    raise ValueError(f"unexpected syntax at line {node.lineno}: {ast.dump(node)[:80]}")


def module_constants(source, enums, names):
    """Evaluate the module-level assignments ``names`` of ``source``."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            target, value = node.target.id, node.value
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name)):
            target, value = node.targets[0].id, node.value
        else:
            continue
        if target in names:
            found[target] = literal(value, enums)
    missing = set(names) - set(found)
    if missing:
        raise SystemExit(f"package data lacks {sorted(missing)}: "
                         f"is it vietnam-provinces >= 2026.2.0?")
    return found


def parse_package(texts):
    """Plain Python data from the package's modules."""
    legacy_enums = {**enum_members(texts["legacy_codes"]), **enum_members(texts["legacy_base"])}
    current_enums = {**enum_members(texts["current_codes"]), **enum_members(texts["current_base"])}
    legacy = module_constants(texts["legacy_lookup"], legacy_enums,
                              ("PROVINCE_MAPPING", "DISTRICT_MAPPING", "WARD_MAPPING"))
    current = module_constants(texts["current_lookup"], current_enums,
                               ("PROVINCE_MAPPING", "WARD_MAPPING"))
    wards = module_constants(texts["ward_conversion"], {}, ("OLD_TO_NEW", "NEW_TO_OLD", "SOURCE"))
    provinces = module_constants(texts["province_conversion"], {}, ("OLD_TO_NEW",))
    meta = module_constants(texts["version"], {}, ("__version__", "__data_version__"))
    return legacy, current, wards, provinces, meta


# --- Turning package data into our records -------------------------------------------------


_TONES = "\u0300\u0301\u0303\u0309\u0323"
# Old tone placement on an open syllable (oà, oè, uỷ) → the new one (òa, ỏe, ủy); not after
# q ("Quý" is right in both styles) nor before another mark ("Thuận": the ậ is one vowel).
_OLD_PLACEMENT = re.compile(  # the same rule as fieldkit.core.text.fold_key
    r"(?<![qQ])([oOuU])([aAeEyY])([" + _TONES + r"])(?![a-zA-Z\u0300-\u036f])")


def nfc(text):
    """NFC, with tone marks in the placement the 2025 lists use ("Hoà Bình" → "Hòa Bình").

    The legacy list spells a few names the old way (Tỉnh Hoà Bình beside its own Thành phố
    Hòa Bình); one placement keeps names consistent on screen. Search folds both anyway.
    """
    decomposed = unicodedata.normalize("NFD", text)
    decomposed = _OLD_PLACEMENT.sub(lambda m: m.group(1) + m.group(3) + m.group(2), decomposed)
    return unicodedata.normalize("NFC", decomposed)


def province_code(number):
    return f"{int(number):02d}"


def commune_code(number):
    return f"{int(number):05d}"


def kind_of(name, kinds):
    for kind in kinds:
        if name.startswith(kind + " "):
            return kind
    raise SystemExit(f"cannot tell the kind of {name!r} (expected one of {kinds})")


def short_name(name, kinds):
    return name[len(kind_of(name, kinds)) + 1:]


def build(texts):
    legacy, current, wards, province_table, meta = parse_package(texts)
    notes = []

    def note(text):
        notes.append(text)
        print("note:", text, file=sys.stderr)

    legacy_provinces = {province_code(c): nfc(p[0]) for c, p in legacy["PROVINCE_MAPPING"].items()}
    current_provinces = {province_code(c): nfc(p[0])
                         for c, p in current["PROVINCE_MAPPING"].items()}
    districts = {int(c): (nfc(d[0]), province_code(d[4]))
                 for c, d in legacy["DISTRICT_MAPPING"].items()}
    legacy_wards = {}  # code → (name, district number, province code)
    for code, ward in legacy["WARD_MAPPING"].items():
        district = int(ward[4])
        legacy_wards[commune_code(code)] = (nfc(ward[0]), district, districts[district][1])
    current_wards = {commune_code(c): (nfc(w[0]), province_code(w[4]))
                     for c, w in current["WARD_MAPPING"].items()}

    # Conversion rows: provinces come from the lists, never from the rows' tags (the slip).
    unlisted = defaultdict(list)  # legacy province → conversion rows of unlisted wards
    successors = {}  # legacy ward code → tuple of current ward codes, in the table's order
    for old_number, (old_ref, new_refs) in wards["OLD_TO_NEW"].items():
        old = commune_code(old_number)
        if old not in legacy_wards:
            # A few rows name wards the legacy list lacks (late-2024 changes outside our
            # provinces); their district still tells the province.
            district = int(old_ref[1])
            unlisted[districts[district][1]].append(old)
            legacy_wards[old] = (None, district, districts[district][1])
        name, district, province = legacy_wards[old]
        if province_code(old_ref[2]) != province:
            note(f"conversion row of legacy ward {old} ({name}, {districts[district][0]}) is "
                 f"tagged province {province_code(old_ref[2])}; its district is in legacy "
                 f"province {province} ({legacy_provinces[province]}): used {province}")
        if int(old_ref[1]) != district:
            note(f"conversion row of legacy ward {old} is tagged district {old_ref[1]}; "
                 f"the legacy list says {district}: used {district}")
        news = []
        for new_number, new_province in new_refs:
            new = commune_code(new_number)
            if new not in current_wards:
                raise SystemExit(f"legacy ward {old} converts to unknown current ward {new}")
            if province_code(new_province) != current_wards[new][1]:
                note(f"conversion row of legacy ward {old} tags current ward {new} with "
                     f"province {province_code(new_province)}; the current list says "
                     f"{current_wards[new][1]}: used {current_wards[new][1]}")
            news.append(new)
        successors[old] = tuple(news)

    predecessors = defaultdict(list)
    for old, news in successors.items():
        for new in news:
            predecessors[new].append(old)
    package_predecessors = {commune_code(n): {commune_code(o[0]) for o in olds}
                            for n, (_new_ref, olds) in wards["NEW_TO_OLD"].items()}
    for new in sorted(set(predecessors) | set(package_predecessors)):
        if set(predecessors.get(new, ())) != package_predecessors.get(new, set()):
            note(f"the package's two conversion tables disagree on current ward {new}: "
                 f"used the old→new table")

    legacy_scope = {old for olds in PROGRAM_PROVINCES.values() for old in olds}
    for province in sorted(legacy_scope & set(unlisted)):
        raise SystemExit(f"legacy province {province}: conversion rows for wards missing from "
                         f"the legacy list: {unlisted[province]}")
    if unlisted:
        print(f"ignored: conversion rows of {sum(map(len, unlisted.values()))} wards missing "
              f"from the legacy list, all outside the program's provinces", file=sys.stderr)

    # Province mapping, derived from the corrected ward rows.
    derived = defaultdict(set)
    for old, news in successors.items():
        for new in news:
            derived[legacy_wards[old][2]].add(current_wards[new][1])
    province_successor = {}
    for old in sorted(legacy_provinces):
        targets = derived.get(old, set())
        if len(targets) != 1:
            raise SystemExit(f"legacy province {old} maps to {sorted(targets) or 'nothing'}")
        province_successor[old] = targets.pop()
        package = sorted(province_code(r[0]) for r in province_table["OLD_TO_NEW"][int(old)][1])
        if package != [province_successor[old]]:
            note(f"the package maps legacy province {old} ({legacy_provinces[old]}) to "
                 f"{package}; its wards say {province_successor[old]} only: used "
                 f"{province_successor[old]}")
    province_predecessors = defaultdict(list)
    for old, new in province_successor.items():
        province_predecessors[new].append(old)

    for era, expected in EXPECTED_PROVINCES.items():
        found = len(legacy_provinces if era == "legacy" else current_provinces)
        if found != expected:
            raise SystemExit(f"{found} {era} provinces, expected {expected}")
    for new, olds in PROGRAM_PROVINCES.items():
        if sorted(province_predecessors[new]) != sorted(olds):
            raise SystemExit(f"current province {new} comes from {province_predecessors[new]}, "
                             f"expected {olds}")

    # Communes of the program's provinces, both eras.
    legacy_rows, used_districts = [], {}
    for code in sorted(legacy_wards):
        name, district, province = legacy_wards[code]
        if province not in legacy_scope or name is None:
            continue
        news = successors.get(code, ())
        if not news:
            note(f"legacy ward {code} ({name}) has no conversion row: no successor")
        main = main_successor(code, name, news, current_wards)
        ordered = [main] + [n for n in news if n != main] if main else []
        used_districts.setdefault(str(district), districts[district][0])
        legacy_rows.append([code, name, province, str(district), ordered])
    current_rows = []
    for code in sorted(current_wards):
        name, province = current_wards[code]
        if province not in PROGRAM_PROVINCES:
            continue
        current_rows.append([code, name, province, sorted(predecessors.get(code, ()))])

    counts = defaultdict(int)
    for row in current_rows:
        counts[row[2]] += 1
    for province, expected in EXPECTED_CURRENT_COMMUNES.items():
        if counts[province] != expected:
            raise SystemExit(f"current province {province} has {counts[province]} communes, "
                             f"expected {expected}")
    legacy_codes = {row[0] for row in legacy_rows}
    current_codes = {row[0] for row in current_rows}
    for row in legacy_rows:
        for new in row[4]:
            if new not in current_codes:
                note(f"legacy commune {row[0]} ({row[1]}) has successor {new} outside the "
                     f"included current provinces")
    for row in current_rows:
        for old in row[3]:
            if old not in legacy_codes:
                note(f"current commune {row[0]} ({row[1]}) has predecessor {old} outside "
                     f"the included legacy provinces")

    return {
        "format": FORMAT_VERSION,
        "source": {
            "package": "vietnam-provinces",
            "version": meta["__version__"],
            "data_version": meta["__data_version__"],
            "conversion_table": nfc(wards["SOURCE"]),
            "note": "Official statistics-office codes and names and the 2025 conversion "
                    "table, copied as facts from the package's data (GPL-3.0); no code copied.",
            "spelling": "NFC; tone marks moved to the new placement (Hoà → Hòa, Thuỷ → Thủy)",
            "names_as_of": "the package's data version: current names include renames after "
                           "2025-07-01 (e.g. Thành phố Quảng Ninh)",
        },
        "notes": notes,
        "fields": {
            "legacy_provinces": ["code", "name", "successor"],
            "current_provinces": ["code", "name", "predecessors"],
            "legacy_districts": "district number → legacy district name",
            "legacy_communes": ["code", "name", "parent", "district", "successors (main first)"],
            "current_communes": ["code", "name", "parent", "predecessors"],
        },
        "legacy_provinces": [[c, n, province_successor[c]]
                             for c, n in sorted(legacy_provinces.items())],
        "current_provinces": [[c, n, sorted(province_predecessors[c])]
                              for c, n in sorted(current_provinces.items())],
        "legacy_districts": dict(sorted(used_districts.items(), key=lambda kv: int(kv[0]))),
        "legacy_communes": legacy_rows,
        "current_communes": current_rows,
    }


def main_successor(code, name, news, current_wards):
    """The main successor of a legacy commune split across several current ones.

    The conversion table does not say which part is the largest; we take the current
    commune that kept the legacy commune's code (a merged commune takes the code of one of
    its parts), else the one that kept its name (kind aside), else the table's first.
    """
    if not news:
        return None
    if code in news:
        return code
    own = fold_key(short_name(name, COMMUNE_KINDS))
    for new in news:
        if fold_key(short_name(current_wards[new][0], COMMUNE_KINDS)) == own:
            return new
    return news[0]


def to_json(data):
    """Compact JSON with one row per line, so a diff of the data file stays readable."""
    def dump(value):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    parts = []
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], list):
            rows = ",\n".join(dump(row) for row in value)
            parts.append(f"{dump(key)}:[\n{rows}]")
        else:
            parts.append(f"{dump(key)}:{dump(value)}")
    return "{" + ",\n".join(parts) + "}\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package",
                        help="the vietnam-provinces wheel, or the folder it was unzipped to")
    parser.add_argument("-o", "--output", default=str(DEFAULT_OUTPUT),
                        help="where to write the JSON")
    args = parser.parse_args(argv)
    data = build(read_package(args.package))
    Path(args.output).write_text(to_json(data), encoding="utf-8")
    print(f"wrote {args.output}: {len(data['legacy_provinces'])} legacy and "
          f"{len(data['current_provinces'])} current provinces, {len(data['legacy_communes'])} "
          f"legacy and {len(data['current_communes'])} current communes, "
          f"{Path(args.output).stat().st_size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
