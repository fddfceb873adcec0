"""``fieldkit plugin new`` makes a package that installs, lists and passes its own test."""

import json
import subprocess
import sys
import venv

import pytest

from cli_helpers import run_cli


@pytest.fixture(scope="module")
def plugin_venv(tmp_path_factory):
    """A throw-away venv that sees this environment's packages (fieldkit included)."""
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(root)
    return root / "bin" / "python"


def test_generate_install_list_and_test(capsys, tmp_path, plugin_venv):
    code, out, err = run_cli(capsys, "plugin", "new", "fieldkit-phu-tho-extra",
                             "--province", "25", "--dir", tmp_path)
    assert code == 0, err
    root = tmp_path / "fieldkit-phu-tho-extra"
    assert (root / "pyproject.toml").read_text().count("[project.entry-points.fieldkit]") == 1
    data = json.loads((root / "src/fieldkit_phu_tho_extra/checklist.json").read_text("utf-8"))

    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(plugin_venv), "install", "--no-deps",
         "--no-build-isolation", "--no-index", "-q", "-e", str(root)],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr

    def fieldkit(*args):
        result = subprocess.run([str(plugin_venv), "-m", "fieldkit.cli", *args],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    plugins = {p["name"]: p for p in fieldkit("plugins", "list", "--json")}
    assert plugins["fieldkit-phu-tho-extra"]["source"] == "entrypoint"
    assert plugins["fieldkit-phu-tho-extra"]["status"] == "ok"
    listed = fieldkit("checklists", "list", "--province", "25", "--as-of", "2026-01-01", "--json")
    assert data["id"] in {c["id"] for c in listed}

    own_test = subprocess.run([str(plugin_venv), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               str(root / "tests")], capture_output=True, text=True, timeout=300,
                              cwd=root)
    assert own_test.returncode == 0, own_test.stdout + own_test.stderr


@pytest.mark.parametrize("args, message", [
    (["plugin", "new", "Bad Name"], "lower-case letters"),
    (["plugin", "new", "ok-name", "--province", "Hòa Bình"], "two-digit province code"),
])
def test_bad_scaffold_arguments(capsys, tmp_path, args, message):
    code, _, err = run_cli(capsys, *args, "--dir", tmp_path)
    assert code == 2 and message in err


def test_existing_folder_is_not_overwritten(capsys, tmp_path):
    (tmp_path / "fieldkit-x").mkdir()
    code, _, err = run_cli(capsys, "plugin", "new", "fieldkit-x", "--dir", tmp_path)
    assert code == 2 and "already exists" in err
