"""Broken plugins are named with the reason, and never stop the others from loading."""

from pathlib import Path

import pytest

from fieldkit.core.checklists import load_checklist_registry
from fieldkit.core.plugins import get_plugin_manager

BROKEN = Path(__file__).parent / "plugins" / "broken"


@pytest.fixture(scope="module")
def loaded():
    pm = get_plugin_manager(plugins_dir=str(BROKEN), load_entrypoints=False)
    registry = load_checklist_registry(pm)
    return pm, registry


@pytest.mark.parametrize("plugin, message", [
    ("bad_checklist", "checklist 'test.bad': title: Missing data for required field."),
    ("duplicate_codes", "sections[0].items[1] (D01).code: Duplicate item code D01"),
    ("missing_condition", "show_when points at a missing item NOPE"),
    ("misspelt_hook", "hook 'fieldkit_checklist': unknown hook (is it misspelt?)"),
    ("raising_hook", "hook 'fieldkit_checklists' raised RuntimeError: disk on fire"),
    ("import_error", "cannot be imported: ModuleNotFoundError"),
])
def test_broken_plugin_is_named_with_reason(loaded, plugin, message):
    pm, _ = loaded
    status = pm.statuses[plugin]
    assert status.status == "failed"
    assert any(message in error for error in status.errors), status.errors


def test_the_rest_still_load(loaded):
    pm, registry = loaded
    assert pm.statuses["good_neighbour"].status == "ok"
    assert registry.get("test.neighbour").plugin == "good_neighbour"
    assert registry.get("vn.baseline.commune").plugin == "baseline"
    for name in ("bad_checklist", "duplicate_codes", "missing_condition"):
        assert not [c for c in registry if c.plugin == name]


def test_missing_plugins_directory_is_reported(tmp_path):
    pm = get_plugin_manager(plugins_dir=str(tmp_path / "nope"), load_entrypoints=False)
    assert [s.errors for s in pm.failed()] == [["plugins directory does not exist"]]


def test_each_manager_is_fresh():
    first = get_plugin_manager(plugins_dir=str(BROKEN), load_entrypoints=False)
    second = get_plugin_manager(load_entrypoints=False)
    assert "good_neighbour" in first.statuses and "good_neighbour" not in second.statuses
