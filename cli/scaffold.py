"""``fieldkit plugin new``: generate an installable checklist plugin package.

The package declares the ``fieldkit`` entry point, keeps its checklist as data (JSON), and
ships one test that the plugin is installed and its checklist is valid — the datasette
plugin template, for fieldkit.
"""

import json
import re
from pathlib import Path
from string import Template

import click

from ..core.errors import UsageError
from ..core.text import ascii_key

PYPROJECT = Template('''\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "$name"
version = "0.1.0"
description = "fieldkit checklist plugin: $title"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["fieldkit"]

[project.optional-dependencies]
test = ["pytest"]

[project.entry-points.fieldkit]
$name = "$module"

[tool.setuptools.packages.find]
where = ["src"]

[tool.setuptools.package-data]
$module = ["*.json"]
''')

MODULE = Template('''\
"""fieldkit plugin $name: provides the checklist in checklist.json."""

import json
from importlib.resources import files

from fieldkit.core.hookspecs import hookimpl


@hookimpl
def fieldkit_checklists():
    """Return this package's checklist definitions (data, validated by fieldkit)."""
    text = files(__package__).joinpath("checklist.json").read_text(encoding="utf-8")
    return [json.loads(text)]
''')

TEST = Template('''\
"""The plugin is installed, loads without error, and its checklist is valid."""

from fieldkit.core.checklists import load_checklist_registry
from fieldkit.core.plugins import get_plugin_manager


def test_plugin_is_installed_and_checklist_loads():
    pm = get_plugin_manager()
    registry = load_checklist_registry(pm)
    status = pm.statuses["$name"]
    assert status.status == "ok", status.errors
    assert registry.get("$checklist_id").plugin == "$name"
''')

README = Template('''\
# $name

A [fieldkit](https://example.org/fieldkit) checklist plugin: **$title**.

## Use

    pip install -e .
    fieldkit plugins list          # shows $name
    fieldkit checklists list --all-versions

Edit `src/$module/checklist.json`, then check it:

    fieldkit checklists validate src/$module/checklist.json

## Test

    pip install -e '.[test]' && pytest
''')


def _checklist(name, province, title):
    applies = {"unit_kinds": ["commune"], "provinces": [], "valid_from": "2025-07-01"}
    if province:
        applies["provinces"] = [{"era": "current", "code": province}]
    return {
        "id": f"custom.{ascii_key(name).replace(' ', '-')}",
        "version": "0.1.0",
        "title": {"vi": title, "en": f"Checklist of {name}"},
        "applies_to": applies,
        "sections": [{
            "code": "BI", "theme": "BI",
            "title": {"vi": "Dân biết", "en": "People know"},
            "items": [{
                "code": "X01",
                "text": {"vi": "Niêm yết công khai tại trụ sở", "en": "Notice posted at the office"},
                "answer": {"type": "yes_no"},
                "required": True, "weight": 1,
                "flag_when": [{"op": "in", "value": ["no"]}],
                "evidence": ["photo"],
                "legal_basis": [{"ref": "Luật số 10/2022/QH15, Điều 12", "verified": True}],
            }],
        }],
    }


def scaffold(name, directory, province=None):
    """Write the package for plugin ``name`` under ``directory``; returns its folder."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,60}", name):
        raise UsageError("A plugin name uses lower-case letters, digits and '-', "
                         f"like fieldkit-hoa-binh; '{name}' does not.")
    if province is not None and not re.fullmatch(r"\d{2}", province):
        raise UsageError(f"--province takes a two-digit province code, not '{province}'.")
    root = Path(directory) / name
    if root.exists():
        raise UsageError(f"{root} already exists; choose another name or --dir.")
    module = name.replace("-", "_")
    title = f"Bảng kiểm bổ sung {name}"
    checklist = _checklist(name, province, title)
    values = {"name": name, "module": module, "title": title, "checklist_id": checklist["id"]}
    files = {
        "pyproject.toml": PYPROJECT.substitute(values),
        "README.md": README.substitute(values),
        f"src/{module}/__init__.py": MODULE.substitute(values),
        f"src/{module}/checklist.json": json.dumps(checklist, ensure_ascii=False, indent=2) + "\n",
        "tests/test_plugin.py": TEST.substitute(values),
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@click.group()
def plugin():
    """Viết plugin (write a plugin)."""


@plugin.command("new")
@click.argument("name")
@click.option("--province", help="Province code (current era) the checklist applies to.")
@click.option("--dir", "directory", default=".", type=click.Path(file_okay=False),
              help="Where to create the package (the current folder by default).")
def plugin_new(name, province, directory):
    """Create an installable checklist plugin package NAME."""
    root = scaffold(name, directory, province)
    click.echo(f"Created {root}")
    click.echo(f"Next: pip install -e {root} && fieldkit plugins list")
