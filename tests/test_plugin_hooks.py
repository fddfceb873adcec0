"""Every hook works through a real plugin (tests/plugins/good), is tested and is documented."""

import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from fieldkit.core import hookspecs
from fieldkit.core.checklists import load_checklist_registry
from fieldkit.core.plugins import get_plugin_manager
from fieldkit.core.reports import renderer_for

GOOD = Path(__file__).parent / "plugins" / "good"
DOCS = Path(__file__).parent.parent / "docs" / "plugins.md"
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("fieldkit_"))


@pytest.fixture
def pm():
    manager = get_plugin_manager(plugins_dir=str(GOOD), load_entrypoints=False)
    assert manager.statuses["sample_plugin"].status == "ok"
    return manager


def test_hook_fieldkit_checklists(pm):
    registry = load_checklist_registry(pm)
    checklist = registry.get("test.sample")
    assert checklist.plugin == "sample_plugin"
    assert [item["code"] for item in checklist.items] == ["S01", "S02"]
    assert registry.get("vn.baseline.commune")  # built-ins still there


def test_hook_fieldkit_admin_units(pm):
    from fieldkit.core.units import load_unit_registry
    units = load_unit_registry(pm)
    unit = units.get("99999", as_of=date(2026, 1, 1))
    assert unit.name == "Xã Thử Nghiệm" and unit.parent == "25"


def test_hook_fieldkit_validate_finding(pm):
    registry = load_checklist_registry(pm)
    checklist = registry.get("test.sample")
    item = checklist.item("S02")
    results = pm.call_each("fieldkit_validate_finding", checklist=checklist, item=item,
                           finding={"item": "S02", "value": 60}, inspection={})
    assert results == [("sample_plugin", ["S02: quá 50 thành viên (more than 50 members)"])]
    assert pm.call_each("fieldkit_validate_finding", checklist=checklist, item=item,
                        finding={"item": "S02", "value": 7}, inspection={}) == []


def test_hook_fieldkit_score_inspection(pm):
    registry = load_checklist_registry(pm)
    name, scores = pm.call_first("fieldkit_score_inspection",
                                 checklist=registry.get("test.sample"), findings={"S01": "no"})
    assert (name, scores["overall"]) == ("sample_plugin", 42.0)
    # Other checklists fall through to the built-in default scoring.
    baseline = registry.get("vn.baseline.commune")
    name, scores = pm.call_first("fieldkit_score_inspection", checklist=baseline, findings={})
    assert name == "scoring" and scores["overall"] is None


def test_hook_fieldkit_report_renderers(pm):
    renderer = renderer_for(pm, "inspection", "txt")
    assert renderer.render({"title": "Báo cáo"}) == "Báo cáo".encode()
    assert renderer_for(pm, "inspection", "json").media_type == "application/json"


def test_hook_fieldkit_register_commands(pm):
    import click

    @click.group()
    def root():
        pass

    pm.call_each("fieldkit_register_commands", cli=root)
    result = CliRunner().invoke(root, ["sample-hello"])
    assert result.output.strip() == "Xin chào"


def test_every_hook_has_a_test():
    source = Path(__file__).read_text(encoding="utf-8")
    missing = [hook for hook in HOOKS if f"def test_hook_{hook}(" not in source]
    assert not missing, f"hooks without a test_hook_<name> test: {missing}"


def test_every_hook_is_documented():
    headings = set(re.findall(r"^## (fieldkit_\w+)$", DOCS.read_text(encoding="utf-8"), re.M))
    missing = [hook for hook in HOOKS if hook not in headings]
    assert not missing, f"hooks missing from docs/plugins.md: {missing}"
    assert HOOKS, "no hooks found"
