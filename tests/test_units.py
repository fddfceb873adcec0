"""The administrative-unit registry: both eras, the links across the 2025 reform, search."""

import json
import unicodedata
from collections import Counter
from datetime import date

import pytest

from fieldkit.core.errors import NotFound, ValidationFailed
from fieldkit.core.plugins import get_plugin_manager
from fieldkit.core.text import ascii_key
from fieldkit.core.units import REFORM_DATE, UnitRegistry, era_of, load_unit_registry

BEFORE = date(2024, 6, 1)
AFTER = date(2026, 1, 1)


@pytest.fixture(scope="module")
def units():
    return load_unit_registry(get_plugin_manager(load_entrypoints=False))


def keys(found):
    return [(unit.era, unit.code) for unit in found]


# --- Eras and codes -----------------------------------------------------------------------


def test_the_reform_date_splits_the_eras():
    assert era_of(date(2025, 6, 30)) == "legacy"
    assert era_of(REFORM_DATE) == "current"


def test_hoa_binh_became_phu_tho(units):
    hoa_binh = units.get("17", era="legacy")
    assert hoa_binh.name == "Tỉnh Hòa Bình"  # one tone placement on screen, whatever the source
    successor = units.successor(hoa_binh)
    assert (successor.era, successor.code, successor.name) == ("current", "25", "Tỉnh Phú Thọ")
    assert sorted(successor.predecessors) == ["17", "25", "26"]


def test_kien_giang_became_an_giang(units):
    successor = units.successor(units.get("91", era="legacy"))
    assert (successor.era, successor.code, successor.name) == ("current", "91", "Tỉnh An Giang")
    assert [p.name for p in units.predecessors(successor)] == ["Tỉnh An Giang", "Tỉnh Kiên Giang"]


def test_code_91_means_a_different_province_in_each_era(units):
    assert units.get("91", as_of=BEFORE).name == "Tỉnh Kiên Giang"
    assert units.get(91, as_of=AFTER).name == "Tỉnh An Giang"
    assert units.get("91").name == "Tỉnh An Giang"  # no date: today's unit


def test_a_legacy_only_code_is_found_without_a_date_but_not_after_the_reform(units):
    assert units.get("17").era == "legacy"
    with pytest.raises(NotFound, match="code 17 in the current era; in the legacy era it is"):
        units.get("17", as_of=AFTER)


def test_a_province_that_kept_its_code_is_still_two_units(units):
    legacy, current = units.get("37", era="legacy"), units.get("37", era="current")
    assert legacy != current and legacy.successor == "37"
    assert legacy.as_dict()["valid_to"] == "2025-06-30"
    assert current.as_dict()["valid_from"] == "2025-07-01"
    json.dumps(current.as_dict())  # serialisable as it is


def test_tien_giang_maps_to_dong_thap_only(units):
    # The package's table also maps legacy 82 to Tây Ninh 80; the build script fixes it.
    assert units.get("82", era="legacy").successors == ("82",)
    assert units.get("80", era="current").predecessors == ("72", "80")


# --- Counts -------------------------------------------------------------------------------


def test_province_counts(units):
    assert len(units.list(level="province", as_of=BEFORE)) == 63
    assert len(units.list(level="province", as_of=AFTER)) == 34


@pytest.mark.parametrize("province, count", [("37", 129), ("25", 148), ("91", 102)])
def test_current_commune_counts(units, province, count):
    assert len(units.list(level="commune", parent=province, as_of=AFTER)) == count


def test_an_giang_has_communes_wards_and_special_zones(units):
    kinds = Counter(u.kind for u in units.list(level="commune", parent="91", era="current"))
    assert kinds == {"Xã": 85, "Phường": 14, "Đặc khu": 3}


def test_legacy_communes_of_the_merged_provinces_are_listed(units):
    assert len(units.list(level="commune", parent="17", as_of=BEFORE)) == 151
    kien_giang = units.list(level="commune", parent="91", as_of=BEFORE)
    assert kien_giang and all(u.era == "legacy" for u in kien_giang)


# --- Across the reform --------------------------------------------------------------------


def test_every_hoa_binh_commune_has_a_successor_in_current_phu_tho(units):
    communes = units.list(level="commune", parent="17", era="legacy")
    for commune in communes:
        successor = units.successor(commune)
        assert successor.era == "current" and units.province_of(successor).code == "25"


def test_a_current_phu_tho_commune_from_hoa_binh_has_origin_province_17(units):
    [mai_chau] = units.search("Xã Mai Châu", as_of=AFTER)
    assert units.province_of(mai_chau).name == "Tỉnh Phú Thọ"
    assert units.origin_provinces(mai_chau) == ("17",)
    assert "Thị trấn Mai Châu" in [p.name for p in units.predecessors(mai_chau)]
    from_hoa_binh = [u for u in units.list(level="commune", parent="25", era="current")
                     if units.origin_provinces(u) == ("17",)]
    assert 0 < len(from_hoa_binh) < 148


def test_a_split_commune_lists_every_successor_main_first(units):
    [vay_nua] = units.search("Vầy Nưa", as_of=BEFORE)
    assert [u.name for u in units.successors(vay_nua)] == ["Xã Tiền Phong", "Phường Thống Nhất"]
    assert units.successor(vay_nua).name == "Xã Tiền Phong"


# --- Search -------------------------------------------------------------------------------


def test_search_finds_a_province_by_its_name_without_the_kind(units):
    assert keys(units.search("Hòa Bình"))[0] == ("legacy", "17")


def test_search_accepts_nfd_input(units):
    nfd = unicodedata.normalize("NFD", "Hòa Bình")
    assert keys(units.search(nfd)) == keys(units.search("Hòa Bình"))


def test_search_folds_tone_mark_placement(units):
    assert keys(units.search("Hoà Bình")) == keys(units.search("Hòa Bình"))
    assert keys(units.search("Thanh Hoá", as_of=AFTER))[0] == ("current", "38")


def test_search_without_diacritics(units):
    found = units.search("hoa binh")
    assert keys(found)[0] == ("legacy", "17")
    assert keys(units.search("kien giang")) == [("legacy", "91")]


def test_ambiguous_search_lists_every_candidate_provinces_first(units):
    found = keys(units.search("Phú Thọ"))
    assert found[:2] == [("current", "25"), ("legacy", "25")]
    assert ("current", "07942") in found  # Phường Phú Thọ
    assert keys(units.search("Phú Thọ", as_of=BEFORE))[0] == ("legacy", "25")
    assert ("current", "25") not in keys(units.search("Phú Thọ", as_of=BEFORE))


def test_search_by_old_or_new_name(units):
    assert keys(units.search("An Giang")) == [("current", "91"), ("legacy", "89")]
    # Quảng Ninh changed kind after the reform: the old full name still finds it.
    assert keys(units.search("Tỉnh Quảng Ninh")) == [("legacy", "22"), ("current", "22")]


def test_search_ranks_exact_before_prefix_before_substring(units):
    def rank(unit, query):
        name = ascii_key(unit.short_name)
        match = 0 if name == query else 1 if name.startswith(query) else 2
        return (match, unit.level != "province")

    for query in ("hoa binh", "giang", "an"):
        ranks = [rank(unit, query) for unit in units.search(query, limit=None)]
        assert ranks == sorted(ranks) and len(set(ranks)) >= 2, query
    assert [u.name for u in units.search("hoa binh")][-1] == "Xã Hòa Bình Thạnh"


def test_search_limit(units):
    assert len(units.search("xa", limit=5)) == 5


# --- Records from plugins -----------------------------------------------------------------

GOOD = {"era": "legacy", "code": "00001", "name": "Phường Phúc Xá", "level": "commune",
        "kind": "Phường", "parent": "01", "district": "Quận Ba Đình", "valid_from": None,
        "valid_to": "2025-06-30"}


@pytest.mark.parametrize("change, message", [
    ({"era": "2024"}, "era: must be 'legacy' or 'current'"),
    ({"level": "district"}, "level: must be 'province' or 'commune'"),
    ({"code": "12ab"}, "code: must be a statistics-office code"),
    ({"name": ""}, "name: must be a non-empty string"),
    ({"kind": "Đặc khu"}, "kind: must be one of Xã, Phường, Thị trấn for a legacy commune"),
    ({"parent": None}, "parent: a commune needs its province code"),
    ({"valid_to": None}, "valid_to: a legacy unit ends by 2025-06-30"),
    ({"valid_to": "30/06/2025"}, "valid_to: must be a date YYYY-MM-DD"),
    ({"predecessors": ["00004"]}, "predecessors: only current units have predecessors"),
])
def test_a_bad_record_is_refused_naming_the_record(change, message):
    province = {"era": "legacy", "code": "01", "name": "Thành phố Hà Nội", "level": "province",
                "kind": "Thành phố", "valid_from": "2008-08-01", "valid_to": "2025-06-30"}
    with pytest.raises(ValidationFailed) as caught:
        UnitRegistry([province, {**GOOD, **change}])
    assert "record #1" in str(caught.value) and message in str(caught.value)


def test_a_commune_needs_its_province_in_the_same_era():
    with pytest.raises(ValidationFailed, match="parent 01 is not a legacy province"):
        UnitRegistry([GOOD])


def test_a_bad_plugin_is_reported_by_name_and_the_others_still_load(tmp_path):
    (tmp_path / "good_units.py").write_text(
        "from fieldkit.core.hookspecs import hookimpl\n"
        f"GOOD = {GOOD!r}\n"
        "@hookimpl\n"
        "def fieldkit_admin_units():\n"
        "    return [GOOD]\n", encoding="utf-8")
    (tmp_path / "bad_units.py").write_text(
        "from fieldkit.core.hookspecs import hookimpl\n"
        "@hookimpl\n"
        "def fieldkit_admin_units():\n"
        "    return [{'era': 'current', 'code': '01', 'name': 'Thành phố Hà Nội',\n"
        "             'level': 'province', 'kind': 'Thành phố'},\n"
        "            {'era': 'current', 'code': '99999', 'name': 'Xã Ma',\n"
        "             'level': 'hamlet', 'kind': 'Xã', 'parent': '01'}]\n", encoding="utf-8")
    pm = get_plugin_manager(plugins_dir=str(tmp_path), load_entrypoints=False)
    registry = load_unit_registry(pm)

    bad = pm.statuses["bad_units"]
    assert bad.status == "failed"
    assert "Plugin 'bad_units'" in bad.errors[0] and "'99999'" in bad.errors[0]
    assert "level: must be 'province' or 'commune'" in bad.errors[0]
    assert pm.statuses["good_units"].status == "ok"
    assert registry.get("00001", era="legacy").name == "Phường Phúc Xá"
    assert len(registry.list(level="province", era="current")) == 34
    with pytest.raises(NotFound):
        registry.get("99999")


def test_the_data_file_is_read_on_first_use_only():
    from fieldkit.plugins import admin_units
    admin_units.unit_records.cache_clear()
    get_plugin_manager(load_entrypoints=False)  # what every command does, `--help` included
    assert admin_units.unit_records.cache_info().currsize == 0
