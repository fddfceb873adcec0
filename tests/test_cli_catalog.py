"""The catalogue commands, their JSON contract and their one-line errors."""

import json
import subprocess
import sys
import unicodedata

import pytest

from cli_helpers import run_cli, run_json


def test_version(capsys):
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.startswith("fieldkit, version ")


def test_plugins_list_json(capsys):
    rows = run_json(capsys, "plugins", "list", "--json")
    by_name = {row["name"]: row for row in rows}
    assert by_name["baseline"]["source"] == "builtin"
    assert all({"name", "source", "status"} <= set(row) for row in rows)
    assert by_name["baseline"]["status"] == "ok"


def test_checklists_for_former_hoa_binh_commune_under_phu_tho(capsys):
    rows = run_json(capsys, "checklists", "list", "--province", "25", "--as-of", "2026-01-01",
                    "--json")
    ids = {row["id"] for row in rows}
    assert "vn.province.hoa-binh" in ids and "vn.baseline.commune" in ids
    for row in rows:
        assert {"id", "version", "title", "plugin", "items", "applies_to"} <= set(row)
        assert isinstance(row["items"], int)


def test_unit_narrows_to_what_applies_to_one_commune(capsys):
    from datetime import date
    from fieldkit.core.plugins import get_plugin_manager
    from fieldkit.core.units import load_unit_registry
    units = load_unit_registry(get_plugin_manager(load_entrypoints=False))
    communes = units.list(level="commune", parent="25", as_of=date(2026, 1, 1))
    from_hoa_binh = next(u for u in communes if set(units.origin_provinces(u)) == {"17"})
    from_vinh_phuc = next(u for u in communes if set(units.origin_provinces(u)) == {"26"})
    ids = {r["id"] for r in run_json(capsys, "checklists", "list", "--unit", from_hoa_binh.code,
                                     "--as-of", "2026-01-01", "--json")}
    assert "vn.province.hoa-binh" in ids and "vn.baseline.commune" in ids
    assert "vn.baseline.province" not in ids
    ids = {r["id"] for r in run_json(capsys, "checklists", "list", "--unit", from_vinh_phuc.code,
                                     "--as-of", "2026-01-01", "--json")}
    assert "vn.province.hoa-binh" not in ids and "vn.baseline.commune" in ids


def test_province_codes_read_in_the_era_of_as_of(capsys):
    before = {r["id"] for r in run_json(capsys, "checklists", "list", "--province", "91",
                                        "--as-of", "2024-06-01", "--json")}
    assert "vn.province.kien-giang" in before
    after = {r["id"] for r in run_json(capsys, "checklists", "list", "--province", "91",
                                       "--as-of", "2026-01-01", "--json")}
    assert "vn.province.kien-giang" in after  # 91 is now An Giang, which took in Kiên Giang
    assert "vn.baseline.commune" in after


def test_show_roundtrips_through_validate(capsys, tmp_path):
    definition = run_json(capsys, "checklists", "show", "vn.baseline.commune", "--json")
    assert definition["id"] == "vn.baseline.commune"
    path = tmp_path / "exported.json"
    path.write_text(json.dumps(definition, ensure_ascii=False), encoding="utf-8")
    code, out, err = run_cli(capsys, "checklists", "validate", path)
    assert code == 0, err
    assert out.startswith("OK  vn.baseline.commune")


def test_show_human_marks_unverified_basis(capsys):
    code, out, _ = run_cli(capsys, "checklists", "show", "vn.baseline.province")
    assert code == 0
    assert "LD01" in out and "chưa xác minh" in out and "căn cứ:" in out


def test_validate_reports_item_path(capsys, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: x.bad\nversion: '1.0'\ntitle: {vi: X}\napplies_to: {unit_kinds: [commune]}\n"
                    "sections:\n- code: BI\n  title: {vi: B}\n  items:\n"
                    "  - {code: A1, text: {vi: t}, answer: {type: percent, max: 120}}\n",
                    encoding="utf-8")
    code, out, _ = run_cli(capsys, "checklists", "validate", path)
    assert code == 1
    assert "version: Must be a semantic version" in out
    assert "sections[0].items[0] (A1).answer.max: A percent bound" in out


def test_validate_a_plugin_module(capsys):
    from pathlib import Path
    plugin = Path(__file__).parent / "plugins" / "broken" / "duplicate_codes.py"
    code, out, _ = run_cli(capsys, "checklists", "validate", plugin)
    assert code == 1 and "Duplicate item code D01" in out
    code, out, _ = run_cli(capsys, "checklists", "validate", "fieldkit.plugins.baseline")
    assert code == 0 and out.count("OK  ") >= 4


@pytest.mark.parametrize("args, message", [
    (["checklists", "show", "no.such"], "Error: No checklist with id no.such."),
    (["checklists", "list", "--as-of", "yesterday"], "--as-of must be a date as YYYY-MM-DD"),
    (["checklists", "list", "--province", "17", "--as-of", "2026-01-01"], "17"),
    (["checklists", "validate", "/nonexistent.json"], "No such file"),
    (["units", "show", "00"], "Error:"),
])
def test_errors_are_one_sentence(capsys, args, message):
    code, out, err = run_cli(capsys, *args)
    assert code != 0
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_malformed_json_file(capsys, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"id": ', encoding="utf-8")
    code, _, err = run_cli(capsys, "checklists", "validate", path)
    assert code != 0 and "is not valid JSON" in err


def test_units_search_and_show(capsys):
    nfd = unicodedata.normalize("NFD", "Hoà Bình")
    rows = run_json(capsys, "units", "search", nfd, "--json")
    legacy = [r for r in rows if r["code"] == "17" and r["level"] == "province"]
    assert legacy and legacy[0]["successor"] == "25" and legacy[0]["valid_to"]
    assert {"code", "name", "level", "valid_from", "valid_to", "successor"} <= set(legacy[0])
    current = run_json(capsys, "units", "show", "91", "--as-of", "2026-01-01", "--json")
    assert "An Giang" in current["name"] and current["valid_to"] is None
    before = run_json(capsys, "units", "show", "91", "--as-of", "2024-01-01", "--json")
    assert "Kiên Giang" in before["name"] and before["successor"] == "91"


def test_units_list(capsys):
    provinces = run_json(capsys, "units", "list", "--level", "province", "--as-of", "2024-01-01",
                         "--json")
    assert len(provinces) == 63
    communes = run_json(capsys, "units", "list", "--parent", "37", "--as-of", "2026-01-01",
                        "--json")
    assert len(communes) == 129


def test_console_script_runs_without_traceback():
    result = subprocess.run([sys.executable, "-m", "fieldkit.cli", "checklists", "show", "nope"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: No checklist with id nope."
