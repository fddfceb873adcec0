"""Catalogue commands: ``plugins list``, ``checklists list|show|validate``, ``units …``.

Command names, options and the JSON fields they print are a contract scripts rely on.
"""

import importlib.util
import json
import sys
from pathlib import Path

import click

from ..core.errors import NotFound, UsageError, ValidationFailed
from .context import echo_json, json_option, parse_date

UNIT_KIND_CHOICE = click.Choice(["province", "commune", "agency", "enterprise"])


# --- plugins --------------------------------------------------------------------------------

@click.group()
def plugins():
    """Các plugin đã nạp (loaded plugins)."""


@plugins.command("list")
@json_option
@click.pass_obj
def plugins_list(app, as_json):
    """List plugins with their source and status (failed ones with the reason)."""
    app.checklists  # loading content marks plugins whose checklists or units are invalid
    rows = [status.as_dict() for status in app.pm.statuses.values()]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        line = f"{row['name']:<28} {row['source']:<11} {row['status']}"
        if row["version"]:
            line += f"  {row['version']}"
        click.echo(line)
        for error in row["errors"]:
            click.echo(f"    ! {error}")


# --- checklists -----------------------------------------------------------------------------

@click.group()
def checklists():
    """Bảng kiểm (checklists): list, show, validate."""


@checklists.command("list")
@click.option("--province", help="Province code, read in the era of --as-of.")
@click.option("--unit", help="Commune (or province) code: only what applies to that unit.")
@click.option("--unit-kind", type=UNIT_KIND_CHOICE, help="Unit kind.")
@click.option("--as-of", help="Date (YYYY-MM-DD); today by default.")
@click.option("--all-versions", is_flag=True, help="Every version, valid or not on the date.")
@json_option
@click.pass_obj
def checklists_list(app, province, unit, unit_kind, as_of, all_versions, as_json):
    """List the checklists that apply (valid on --as-of, for a province, unit or kind)."""
    day = parse_date(as_of)
    registry = app.checklists
    if all_versions:
        found = sorted(registry, key=lambda c: (c.id, c.version))
    else:
        found = registry.applicable(province=province, unit=unit, unit_kind=unit_kind, as_of=day)
    if not as_json:
        app.warn_failed_plugins()
    rows = [c.summary() for c in found]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("Không có bảng kiểm nào áp dụng (no checklist applies).")
    for row in rows:
        kinds = ",".join(row["applies_to"]["unit_kinds"])
        click.echo(f"{row['id']:<28} {row['version']:<8} {row['items']:>3} mục  [{kinds}]  "
                   f"{row['title']}")


@checklists.command("show")
@click.argument("checklist_id")
@click.option("--version", "version", help="A version; the newest by default.")
@json_option
@click.pass_obj
def checklists_show(app, checklist_id, version, as_json):
    """Show a checklist item by item, with the legal basis of each item.

    With --json, print the definition in the data format that `checklists validate`
    accepts, so that it can be exported, edited and checked again."""
    checklist = app.checklists.get(checklist_id, version=version)
    if as_json:
        echo_json(checklist.data())
        return
    definition = checklist.definition
    click.echo(f"{definition['title']['vi']}")
    if definition["title"].get("en"):
        click.echo(f"({definition['title']['en']})")
    applies = checklist.summary()["applies_to"]
    click.echo(f"{checklist.id} {checklist.version} — plugin {checklist.plugin}; "
               f"áp dụng: {', '.join(applies['unit_kinds'])}; "
               f"hiệu lực {applies['valid_from'] or '…'} → {applies['valid_to'] or '…'}")
    for section in checklist.sections:
        click.echo("")
        click.echo(f"[{section['code']}] {section['title']['vi']}")
        for item in section["items"]:
            required = "*" if item["required"] else " "
            click.echo(f" {required}{item['code']:<6} {item['text']['vi']}")
            extras = f" + {', '.join(item['extras'])}" if item["extras"] else ""
            click.echo(f"         trả lời: {item['answer']['type']}{extras}")
            for basis in item["legal_basis"]:
                mark = "" if basis["verified"] else " (chưa xác minh — unverified)"
                click.echo(f"         căn cứ: {basis['ref']}{mark}")


@checklists.command("validate")
@click.argument("path")
@json_option
@click.pass_obj
def checklists_validate(app, path, as_json):
    """Validate a checklist file (JSON or YAML) or a plugin module (.py file or module name)."""
    from ..core.checklists import ChecklistRegistry
    definitions, source = _read_definitions(path)
    registry = ChecklistRegistry()
    results = []
    for definition in definitions:
        label = definition.get("id", "?") if isinstance(definition, dict) else "?"
        try:
            checklist = registry.add(definition, plugin=source)
            results.append({"source": source, "id": checklist.id,
                            "version": checklist.version, "valid": True,
                            "items": len(checklist.items), "errors": []})
        except ValidationFailed as exc:
            results.append({"source": source, "id": label,
                            "version": definition.get("version") if isinstance(definition, dict)
                            else None, "valid": False, "errors": [str(exc)]})
    if as_json:
        echo_json(results)
    else:
        for result in results:
            if result["valid"]:
                click.echo(f"OK  {result['id']} {result['version']} ({result['items']} mục)")
            else:
                click.echo(f"ERR {result['errors'][0]}")
    if not all(r["valid"] for r in results):
        sys.exit(1)


def _read_definitions(path):
    """Definitions from a data file, a plugin file or an importable module name."""
    target = Path(path)
    is_module_name = (not target.exists() and "/" not in path
                      and target.suffix not in (".json", ".yaml", ".yml"))
    if target.suffix == ".py" or is_module_name:
        module = _import_plugin(target if target.suffix == ".py" else path)
        hook = getattr(module, "fieldkit_checklists", None)
        if hook is None:
            raise ValidationFailed(f"{path} has no fieldkit_checklists hook.")
        try:
            definitions = hook()
        except Exception as exc:  # noqa: BLE001 - a plugin that raises is reported, not fatal
            raise ValidationFailed(f"Plugin {path}: fieldkit_checklists raised "
                                   f"{type(exc).__name__}: {exc}") from None
        return list(definitions or []), str(path)
    if not target.is_file():
        raise NotFound(f"No such file: {path}.")
    text = target.read_text(encoding="utf-8-sig")
    try:
        if target.suffix in (".yaml", ".yml"):
            import yaml
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - json and yaml raise many classes
        raise ValidationFailed(f"{path} is not valid {target.suffix.lstrip('.').upper() or 'JSON'}"
                               f": {str(exc).splitlines()[0]}") from None
    definitions = data if isinstance(data, list) else [data]
    return definitions, target.name


def _import_plugin(target):
    if isinstance(target, Path):
        if not target.is_file():
            raise NotFound(f"No such file: {target}.")
        spec = importlib.util.spec_from_file_location(f"fieldkit_validate_{target.stem}", target)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001
            raise ValidationFailed(f"{target} cannot be imported: {type(exc).__name__}: {exc}") \
                from None
        return module
    try:
        return importlib.import_module(target)
    except Exception as exc:  # noqa: BLE001
        raise ValidationFailed(f"{target} cannot be imported: {type(exc).__name__}: {exc}") \
            from None


# --- administrative units -------------------------------------------------------------------

@click.group()
def units():
    """Đơn vị hành chính (administrative units), before and after the 2025 reform."""


def _print_units(rows, as_json):
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("Không tìm thấy (nothing found).")
    for row in rows:
        era = "trước 2025" if row["era"] == "legacy" else "hiện nay"
        line = f"{row['code']:<6} {row['name']:<34} {row['level']:<9} {era}"
        if row.get("successor"):
            line += f"  → {row['successor']}"
        click.echo(line)


@units.command("search")
@click.argument("text")
@click.option("--as-of", help="Only units in force on this date (both eras by default).")
@json_option
@click.pass_obj
def units_search(app, text, as_of, as_json):
    """Find units by old or new name, with or without diacritics."""
    if not text.strip():
        raise UsageError("Give some text to search for.")
    found = app.units.search(text, as_of=parse_date(as_of))
    _print_units([u.as_dict() for u in found], as_json)


@units.command("show")
@click.argument("code")
@click.option("--as-of", help="The date whose era the code is read in; today by default.")
@json_option
@click.pass_obj
def units_show(app, code, as_of, as_json):
    """Show one unit, read in the era of --as-of."""
    from datetime import date
    unit = app.units.get(code, as_of=parse_date(as_of) or date.today())
    row = unit.as_dict()
    if as_json:
        echo_json(row)
        return
    for key, value in row.items():
        if value not in (None, [], ()):
            click.echo(f"{key:<13} {value if not isinstance(value, (list, tuple)) else ', '.join(value)}")


@units.command("list")
@click.option("--level", type=click.Choice(["province", "commune"]))
@click.option("--parent", help="Province code: its communes.")
@click.option("--as-of", help="Date whose era is listed; today by default.")
@json_option
@click.pass_obj
def units_list(app, level, parent, as_of, as_json):
    """List units of one era (provinces, or the communes of a province)."""
    from datetime import date
    found = app.units.list(level=level, parent=parent, as_of=parse_date(as_of) or date.today())
    _print_units([u.as_dict() for u in found], as_json)
