"""``fieldkit field …``: the field station from the command line (headless use).

Command names, options and JSON fields are a contract scripts rely on.
"""

import csv
import importlib
import io
import json
import sys
from pathlib import Path

import click

from ..core.errors import UsageError
from .context import echo_json, json_option, parse_date


def _station(ctx):
    """The station for this command, opened once and closed when the command ends."""
    from ..core.station import Station
    group = ctx.find_object(dict) or {}
    app = group.get("app")
    station = Station(group.get("data"), plugins_dir=getattr(app, "plugins_dir", None),
                      encrypt=group.get("encrypt") or None, ask_passphrase=_ask_passphrase)
    ctx.call_on_close(station.close)
    return station


def _ask_passphrase(new):
    """Prompt for the station's passphrase when there is a terminal to type it in."""
    if sys.stdin is None or not sys.stdin.isatty():
        return None
    return click.prompt("Mật khẩu mã hoá (passphrase)", hide_input=True,
                        confirmation_prompt=new)


@click.group()
@click.option("--data", type=click.Path(file_okay=False), envvar="FIELDKIT_DATA",
              help="Data directory (or FIELDKIT_DATA; a per-user folder by default).")
@click.option("--encrypt", is_flag=True,
              help="Create a new station encrypted with a passphrase (FIELDKIT_PASSPHRASE, or "
                   "a prompt); opening one always asks for it.")
@click.pass_context
def field(ctx, data, encrypt):
    """Trạm hiện trường (field station): inspections, answers, evidence, sync."""
    ctx.obj = {"data": data, "app": ctx.obj, "encrypt": encrypt}


@field.command("init")
@click.option("--author", help="Default author name for changes made at this station.")
@json_option
@click.pass_context
def field_init(ctx, author, as_json):
    """Create the station's store (if needed) and seed the 2024 program's campaign."""
    station = _station(ctx)
    info = station.init(author=author)
    if as_json:
        echo_json(info)
    else:
        click.echo(f"Trạm đã sẵn sàng (station ready): {info['data_dir']}")
        click.echo(f"Mã thiết bị (device id): {info['device_id']}")


@field.group("inspection")
def inspection():
    """Cuộc kiểm tra (inspections)."""


@inspection.command("new")
@click.option("--unit", "unit_code", required=True, help="Unit code, read in the era of --date.")
@click.option("--unit-kind", required=True,
              type=click.Choice(["province", "commune", "agency", "enterprise"]))
@click.option("--checklist", "checklist_id", required=True, help="Checklist id.")
@click.option("--checklist-version", help="A version; the one valid on --date by default.")
@click.option("--campaign", help="Campaign id (the 2024 program by default).")
@click.option("--date", "on", help="Date of the inspection (YYYY-MM-DD); today by default.")
@click.option("--self-assessment", is_flag=True, help="A unit's own review, not a team visit.")
@click.option("--team", help="Team name.")
@click.option("--inspector", "inspectors", multiple=True, help="An inspector (repeatable).")
@click.option("--unit-name", help="Name of the agency or enterprise inspected.")
@json_option
@click.pass_context
def inspection_new(ctx, unit_code, unit_kind, checklist_id, checklist_version, campaign, on,
                   self_assessment, team, inspectors, unit_name, as_json):
    """Start an inspection and print it (with its id)."""
    station = _station(ctx)
    station.init()
    flow = station.workflow()
    doc = flow.new_inspection(unit_code, unit_kind, checklist_id, campaign=campaign,
                              on=parse_date(on, "--date"), self_assessment=self_assessment,
                              team=team, inspectors=inspectors, unit_name=unit_name,
                              version=checklist_version)
    if as_json:
        echo_json(doc)
    else:
        click.echo(f"{doc['id']}  {doc['unit']['name']} — {doc['checklist']['id']} "
                   f"{doc['checklist']['version']} ({doc['status']})")


@inspection.command("list")
@click.option("--status", help="Only inspections with this status.")
@json_option
@click.pass_context
def inspection_list(ctx, status, as_json):
    """List the station's inspections, newest first."""
    flow = _station(ctx).workflow()
    docs = flow.inspections(status=status)
    if as_json:
        echo_json(docs)
        return
    if not docs:
        click.echo("Chưa có cuộc kiểm tra nào (no inspections yet).")
    for doc in docs:
        click.echo(f"{doc['id']}  {doc['date']}  {doc['status']:<11} {doc['unit']['name']} "
                   f"({doc['checklist']['id']})")


def inspection_details(flow, inspection_id):
    """An inspection with its findings, evidence, recommendations, progress and scores."""
    doc = flow.inspection(inspection_id)
    findings = sorted(flow.findings(inspection_id).values(), key=lambda f: f["item"])
    return {**doc, "findings": findings, "evidence": flow.evidence(inspection_id),
            "recommendations": flow.recommendations(inspection_id),
            "progress": flow.progress(inspection_id), "scores": flow.scores(inspection_id)}


@inspection.command("show")
@click.argument("inspection_id")
@json_option
@click.pass_context
def inspection_show(ctx, inspection_id, as_json):
    """Show an inspection with its findings, progress and flags."""
    flow = _station(ctx).workflow()
    details = inspection_details(flow, inspection_id)
    if as_json:
        echo_json(details)
        return
    progress = details["progress"]
    click.echo(f"{details['unit']['name']} — {details['checklist']['id']} "
               f"{details['checklist']['version']} — {details['status']}")
    click.echo(f"Bắt buộc đã trả lời (required answered): {progress['required_answered']}/"
               f"{progress['required']}; cờ (flags): {', '.join(progress['flagged']) or '-'}")
    for finding in details["findings"]:
        flag = " ⚑" if finding["flagged"] else ""
        click.echo(f"  {finding['item']:<6} {finding['value']}{flag}"
                   + (f"  — {finding['note']}" if finding.get("note") else ""))


def _parse_extras(pairs):
    extras = {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"--extra takes NAME=VALUE, not '{pair}'.")
        name, value = pair.split("=", 1)
        extras[name.strip()] = value
    return extras


@field.command("answer")
@click.argument("inspection_id")
@click.argument("item")
@click.argument("value", required=False)
@click.option("--note", help="A note for this answer.")
@click.option("--evidence", "evidence_files", multiple=True, type=click.Path(dir_okay=False),
              help="A file to attach as evidence (repeatable).")
@click.option("--caption", help="Caption of the attached evidence.")
@click.option("--extra", "extras", multiple=True, help="A secondary value, NAME=VALUE "
              "(e.g. date=2024-05-01).")
@json_option
@click.pass_context
def field_answer(ctx, inspection_id, item, value, note, evidence_files, caption, extras,
                 as_json):
    """Answer ITEM of an inspection: yes, no, partial, na; numbers; YYYY-MM-DD; text."""
    flow = _station(ctx).workflow()
    evidence_ids = []
    with flow.store.transaction():
        for path in evidence_files:
            file = Path(path)
            if not file.is_file():
                raise UsageError(f"No such file: {path}.")
            doc = flow.add_evidence(inspection_id, file.read_bytes(), filename=file.name,
                                    caption=caption, item=item)
            evidence_ids.append(doc["id"])
        finding = flow.answer(inspection_id, item, value, extras=_parse_extras(extras),
                              note=note, evidence=evidence_ids)
    if as_json:
        echo_json(finding)
    else:
        flag = " — bị gắn cờ (flagged)" if finding["flagged"] else ""
        click.echo(f"Đã lưu (saved) {finding['item']} = {finding['value']}{flag}")


@field.command("submit")
@click.argument("inspection_id")
@json_option
@click.pass_context
def field_submit(ctx, inspection_id, as_json):
    """Submit an inspection; refused while required items are unanswered."""
    flow = _station(ctx).workflow()
    doc, progress = flow.submit(inspection_id)
    if as_json:
        echo_json({**doc, "flagged": progress["flagged"]})
    else:
        click.echo(f"Đã nộp (submitted): {doc['id']} ({doc['status']}); "
                   f"cờ (flags): {', '.join(progress['flagged']) or '-'}")


EXPORT_COLUMNS = ("inspection_id", "campaign", "unit_era", "unit_code", "unit_name",
                  "province_code", "unit_kind", "self_assessment", "checklist_id",
                  "checklist_version", "date", "status", "item", "theme", "value", "extras",
                  "flagged", "note", "author", "updated_at")


def export_rows(flow):
    """One row per finding, with its inspection's context (the CSV export's rows)."""
    for doc in flow.inspections():
        for finding in sorted(flow.findings(doc["id"]).values(), key=lambda f: f["item"]):
            yield {
                "inspection_id": doc["id"], "campaign": doc["campaign"],
                "unit_era": doc["unit"]["era"], "unit_code": doc["unit"]["code"],
                "unit_name": doc["unit"]["name"], "province_code": doc["province_code"],
                "unit_kind": doc["unit_kind"], "self_assessment": doc["self_assessment"],
                "checklist_id": doc["checklist"]["id"],
                "checklist_version": doc["checklist"]["version"], "date": doc["date"],
                "status": doc["status"], "item": finding["item"], "theme": finding["theme"],
                "value": json.dumps(finding["value"], ensure_ascii=False)
                if isinstance(finding["value"], list) else finding["value"],
                "extras": json.dumps(finding.get("extras") or {}, ensure_ascii=False),
                "flagged": finding["flagged"], "note": finding.get("note") or "",
                "author": finding.get("author") or "", "updated_at": finding["updated_at"],
            }


@field.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("--out", type=click.Path(dir_okay=False), help="Write to a file (stdout by default).")
@click.pass_context
def field_export(ctx, fmt, out):
    """Export inspections and findings as JSON or CSV (UTF-8, opens in Excel)."""
    flow = _station(ctx).workflow()
    if fmt == "json":
        data = [inspection_details(flow, doc["id"]) for doc in flow.inspections()]
        text = json.dumps(data, ensure_ascii=False, indent=2)
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        for row in export_rows(flow):
            writer.writerow({key: _spreadsheet_safe(value) for key, value in row.items()})
        text = buffer.getvalue()
    if out:
        Path(out).write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        click.echo(f"Đã ghi (written) {out}", err=True)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _spreadsheet_safe(value):
    """A cell that a spreadsheet would read as a formula is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value


@field.command("serve")
@click.option("--host", default="0.0.0.0", show_default=True,
              help="Address to listen on (0.0.0.0: tablets on the LAN can join).")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-browser", is_flag=True, help="Do not open the team lead's browser.")
@click.option("--pin", "ask_pin", is_flag=True,
              help="Set the station PIN first (FIELDKIT_STATION_PIN, else a prompt): the "
              "lead's one-time URL then asks for it. A PIN set before is used without this.")
@click.pass_context
def field_serve(ctx, host, port, no_browser, ask_pin):
    """Start the field station's web UI; prints a one-time URL and the tablets' join QR."""
    from ..web.field.pin import set_pin
    from ..web.field.serve import serve
    station = _station(ctx)
    station.init()
    if ask_pin:
        set_pin(station.store, _read_pin())
    serve(station, host=host, port=port, open_browser=not no_browser)


def _read_pin():
    """The new station PIN: ``FIELDKIT_STATION_PIN``, else asked twice (never an argument)."""
    import os
    pin = os.environ.get("FIELDKIT_STATION_PIN")
    if pin:
        return pin
    return click.prompt("Mã PIN của trạm (station PIN)", hide_input=True,
                        confirmation_prompt=True)


@field.group("pin")
def pin():
    """Mã PIN trưởng đoàn (the team lead's station PIN)."""


@pin.command("set")
@click.pass_context
def pin_set(ctx):
    """Set or change the station PIN (FIELDKIT_STATION_PIN, else a prompt); only its scrypt
    hash is kept. The lead's one-time URL then asks for it."""
    from ..web.field.pin import set_pin
    station = _station(ctx)
    station.init()
    set_pin(station.store, _read_pin())
    click.echo("Đã đặt mã PIN của trạm (station PIN set).")


@pin.command("clear")
@click.pass_context
def pin_clear(ctx):
    """Remove the station PIN: the lead's one-time URL alone opens a lead session again."""
    from ..web.field.pin import clear_pin
    station = _station(ctx)
    station.init()
    clear_pin(station.store)
    click.echo("Đã xoá mã PIN của trạm (station PIN removed).")


# Commands that other modules add to this group (sync, enrollment, bundles).
for _module_name in ("fieldkit.cli.field_sync",):
    try:
        _module = importlib.import_module(_module_name)
    except ModuleNotFoundError as _exc:
        if _exc.name != _module_name:
            raise
        continue
    _module.register(field)
