"""The wheel carries every package folder and the data files the plugins read."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent
FOLDERS = {"core": "fieldkit/core", "core/store": "fieldkit/core/store", "forms": "fieldkit/forms",
           "sync": "fieldkit/sync", "plugins": "fieldkit/plugins", "web": "fieldkit/web",
           "cli": "fieldkit/cli"}


def test_wheel_contains_every_package_folder(tmp_path):
    result = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                             "--outdir", str(tmp_path), str(ROOT)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next(tmp_path.glob("fieldkit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, package in FOLDERS.items():
        for source in (ROOT / folder).glob("*.py"):
            assert f"{package}/{source.name}" in names, f"{source} missing from the wheel"
    for data in (ROOT / "plugins" / "data").rglob("*.json*"):
        relative = data.relative_to(ROOT / "plugins").as_posix()
        assert f"fieldkit/plugins/{relative}" in names, f"{data} missing from the wheel"
    every_package_dir = {p.parent for p in ROOT.glob("*/**/__init__.py")
                         if not {"tests", "bench", "build", "tools"} & set(p.relative_to(ROOT).parts)
                         and "egg-info" not in str(p)}
    for folder in every_package_dir:
        relative = folder.relative_to(ROOT).as_posix()
        assert relative in FOLDERS or relative.startswith(tuple(FOLDERS)), \
            f"package folder {relative} is not mapped in pyproject.toml"
