"""The built-in checklists: the national baseline (four unit kinds, versions 1.0.0 and 2.0.0)
and the province packs, checked against the domain source CHECKLIST-BASELINE.md."""

import re
import unicodedata
from pathlib import Path

import pytest

from fieldkit.core.checklists import load_checklist_registry
from fieldkit.core.rules import is_flagged, is_shown
from fieldkit.forms.checklist import THEMES, YES_NO_VALUES, ChecklistSchema
from fieldkit.plugins import baseline, provinces

BASELINE_MD = (Path(__file__).resolve().parents[2] / "shared" / "domain"
               / "CHECKLIST-BASELINE.md")
LEVELS = {"T": "province", "X": "commune", "C": "agency", "D": "enterprise"}
PACK_PROVINCES = {"vn.province.ninh-binh": "37", "vn.province.hoa-binh": "17",
                  "vn.province.kien-giang": "91"}
AMENDED = ("10/2022/QH15", "59/2023/NĐ-CP", "61/2023/NĐ-CP")  # by or with Law 97/2025/QH15

DEFINITIONS = baseline.fieldkit_checklists() + provinces.fieldkit_checklists()
PACKS = [d for d in DEFINITIONS if d["id"] in PACK_PROVINCES]


def label(definition):
    return f"{definition['id']}@{definition['version']}"


def items(definition):
    return [item for section in definition["sections"] for item in section["items"]]


def item(checklist_id, version, code):
    return next(i for i in items(find(checklist_id, version)) if i["code"] == code)


def references(definition):
    return definition.get("sources", []) + [ref for i in items(definition)
                                            for ref in i["legal_basis"]]


def find(checklist_id, version="1.0.0"):
    return next(d for d in DEFINITIONS if d["id"] == checklist_id and d["version"] == version)


@pytest.fixture(scope="module")
def source_items():
    """Code → (unit kinds, basis cell) from the draft-items table of CHECKLIST-BASELINE.md."""
    if not BASELINE_MD.exists():
        pytest.fail(f"{BASELINE_MD} is missing (the shared folder sits beside the project)")
    rows = {}
    for line in BASELINE_MD.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 7 and re.fullmatch(r"[A-Z]{2}\d{2}", cells[0]):
            rows[cells[0]] = ({LEVELS[level] for level in cells[1].split("/")}, cells[6])
    return rows


@pytest.mark.parametrize("definition", DEFINITIONS, ids=label)
def test_every_builtin_checklist_is_valid(definition):
    ChecklistSchema().load(definition)


def test_builtins_load_through_the_plugin_hook(plugin_manager):
    registry = load_checklist_registry(plugin_manager)
    assert not [s.name for s in plugin_manager.failed() if s.name in ("baseline", "provinces")]
    loaded = {(c.id, c.version, c.plugin) for c in registry}
    for kind in LEVELS.values():
        assert {(f"vn.baseline.{kind}", "1.0.0", "baseline"),
                (f"vn.baseline.{kind}", "2.0.0", "baseline")} <= loaded
    assert {(pack, "1.0.0", "provinces") for pack in PACK_PROVINCES} <= loaded


@pytest.mark.parametrize("version", ["1.0.0", "2.0.0"])
def test_baseline_has_exactly_the_33_source_items_at_their_levels(source_items, version):
    assert len(source_items) == 33
    covered = set()
    for kind in LEVELS.values():
        codes = {i["code"] for i in items(find(f"vn.baseline.{kind}", version))}
        assert codes == {code for code, (kinds, _) in source_items.items() if kind in kinds}, kind
        covered |= codes
    assert covered == set(source_items)


@pytest.mark.parametrize("definition", DEFINITIONS, ids=label)
def test_item_codes_are_unique_and_every_item_sits_in_a_theme_section(definition):
    codes = [i["code"] for i in items(definition)]
    assert len(codes) == len(set(codes))
    for section in definition["sections"]:
        assert section["theme"] in THEMES
        if definition["id"].startswith("vn.baseline."):
            assert {i["code"][:2] for i in section["items"]} == {section["theme"]}


def test_shipped_data_files_are_nfc():
    files = [entry for entry in baseline.DATA.iterdir() if entry.name.endswith(".json")]
    assert len(files) >= 8
    for entry in files:
        assert unicodedata.is_normalized("NFC", entry.read_text(encoding="utf-8")), entry.name


def test_what_the_source_marks_unverified_is_never_cited_as_verified(source_items):
    questioned = {code for code, (_, basis) in source_items.items() if "?" in basis}
    assert questioned == {"LD01", "LD02", "LD06"}, "the source changed: update this test"
    # No ✔ at all in the source (only "?", or no legal rule): nothing may be cited as verified.
    unchecked = {code for code, (_, basis) in source_items.items() if "✔" not in basis}
    assert unchecked == {"LD01", "LD02", "GS03", "TH02"}
    for definition in DEFINITIONS:
        for i in items(definition):
            if i["code"] in unchecked:
                assert not [r for r in i["legal_basis"] if r["verified"]], (label(definition),
                                                                           i["code"])
    # LD06: "Đ.64 ✔ (D); NĐ 145/2020 Đ.48 ✔ (D); others ?".
    for version in ("1.0.0", "2.0.0"):
        for kind in ("commune", "agency"):
            basis = item(f"vn.baseline.{kind}", version, "LD06")["legal_basis"]
            assert basis and not [r for r in basis if r["verified"]]
    enterprise = item("vn.baseline.enterprise", "1.0.0", "LD06")["legal_basis"]
    assert enterprise and all(r["verified"] for r in enterprise)
    # The narrative's "Circular 04/2025/TT-BTC: at least 5 million VND per board per year ?".
    circular = [r for d in DEFINITIONS for r in references(d) if "04/2025/TT-BTC" in r["ref"]]
    assert circular and not [r for r in circular if r["verified"]]


@pytest.mark.parametrize("kind", LEVELS.values())
def test_version_2_follows_the_2025_reform(kind):
    before, after = find(f"vn.baseline.{kind}", "1.0.0"), find(f"vn.baseline.{kind}", "2.0.0")
    assert (before["applies_to"]["valid_from"], before["applies_to"]["valid_to"]) == (
        "2023-07-01", "2025-06-30")
    assert (after["applies_to"]["valid_from"], after["applies_to"]["valid_to"]) == (
        "2025-07-01", None)
    assert [i["code"] for i in items(after)] == [i["code"] for i in items(before)]
    assert [r for r in references(before) if "10/2022/QH15" in r["ref"] and r["verified"]]
    for old, new in zip(references(before), references(after)):
        if any(name in old["ref"] for name in AMENDED):
            assert new["verified"] is False, new["ref"]
            if "10/2022/QH15" in old["ref"]:
                assert "97/2025/QH15" in new["ref"]
        else:
            assert new == old
    assert "97/2025/QH15" in after["description"]["vi"]


def test_version_2_drops_the_district_plans():
    for code, clause in (("BI01", "khoản 3 Điều 11"), ("BA05", "khoản 2 Điều 25")):
        assert clause not in item("vn.baseline.commune", "1.0.0", code)["guidance"]["vi"]
        assert clause in item("vn.baseline.commune", "2.0.0", code)["guidance"]["vi"]
    assert "hợp nhất tỉnh" in item("vn.baseline.province", "2.0.0", "LD01")["text"]["vi"]
    assert "hợp nhất tỉnh" not in item("vn.baseline.province", "1.0.0", "LD01")["text"]["vi"]


def test_province_packs_apply_to_communes_of_their_legacy_province():
    assert {d["id"] for d in PACKS} == set(PACK_PROVINCES)
    baseline_codes = {i["code"] for d in DEFINITIONS if d["id"].startswith("vn.baseline.")
                      for i in items(d)}
    for pack in PACKS:
        assert pack["applies_to"] == {
            "unit_kinds": ["commune"], "valid_from": "2024-01-01", "valid_to": None,
            "provinces": [{"era": "legacy", "code": PACK_PROVINCES[pack["id"]]}]}
        codes = {i["code"] for i in items(pack)}
        assert 3 <= len(codes) <= 5
        assert not codes & baseline_codes
        # The pack outlives the amendment of the law: no item reference is claimed as checked.
        assert not [r for i in items(pack) for r in i["legal_basis"] if r["verified"]]
    all_pack_codes = [i["code"] for pack in PACKS for i in items(pack)]
    assert len(all_pack_codes) == len(set(all_pack_codes))


def _fits(predicate, answer):
    """Can ``predicate`` ever hold for an answer of this kind (no typo'd value, no wrong op)?"""
    op, value = predicate["op"], predicate.get("value")
    if op in ("answered", "not_answered"):
        return True
    values = value if op in ("in", "not_in") else [value]
    if answer["type"] in ("count", "number", "percent"):
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if op in ("lt", "lte", "gt", "gte"):
        return False
    allowed = {"yes_no": set(YES_NO_VALUES),
               "choice": {c["code"] for c in answer.get("choices", [])}}.get(answer["type"])
    return allowed is not None and set(values) <= allowed


@pytest.mark.parametrize("definition", DEFINITIONS, ids=label)
def test_flag_and_skip_rules_fit_the_answers_they_test(definition):
    earlier = {}
    for i in items(definition):
        for rule in i["flag_when"]:
            assert _fits(rule, i["answer"]), (i["code"], rule)
        if i.get("show_when"):
            target = earlier.get(i["show_when"]["item"])
            assert target is not None, f"{i['code']} depends on a later or missing item"
            assert _fits(i["show_when"], target["answer"]), i["code"]
        # Scoring gives an answered item that cannot be flagged full marks: only a yes/no
        # answer says anything on its own, so an unflaggable number or text carries no weight.
        if not i["flag_when"] and i["answer"]["type"] != "yes_no":
            assert i["weight"] == 0, i["code"]
        earlier[i["code"]] = i


@pytest.mark.parametrize("checklist_id, code, value, flagged", [
    ("vn.baseline.commune", "KT01", 4, True),     # People's Inspection Board below 5 members
    ("vn.baseline.commune", "KT01", 5, False),
    ("vn.baseline.commune", "BA03", 50, True),    # "more than 50%" is the lowest threshold
    ("vn.baseline.commune", "BA03", 50.5, False),
    ("vn.baseline.commune", "BA04", 1, True),     # one village with an invalid convention
    ("vn.baseline.commune", "BA04", 0, False),
    ("vn.baseline.commune", "LD05", 0, True),     # no budget line
    ("vn.baseline.commune", "BI01", "partial", True),
    ("vn.baseline.commune", "BI01", "na", False),
    ("vn.baseline.enterprise", "BI05", "no", True),
    ("vn.province.kien-giang", "KG04", "none", True),
    ("vn.province.kien-giang", "KG04", "ballot", False),
])
def test_answers_that_show_a_breach_are_flagged(checklist_id, code, value, flagged):
    for definition in DEFINITIONS:
        if definition["id"] == checklist_id:
            assert is_flagged(item(checklist_id, definition["version"], code), value) is flagged


def test_decision_items_are_skipped_when_residents_decided_nothing():
    for code in ("BA02", "BA03"):
        ba = item("vn.baseline.commune", "1.0.0", code)
        assert not is_shown(ba, {"BA01": 0})
        assert is_shown(ba, {"BA01": 2})
