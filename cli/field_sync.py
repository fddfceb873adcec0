"""``fieldkit field enroll | sync | sync-status | bundle …``: the field station's side of sync,
added to the ``field`` group by ``register(field)``."""

import click

from .context import echo_json, json_option


def _station(ctx):
    from .field import _station as open_station
    return open_station(ctx)


ca_file_option = click.option(
    "--ca-file", type=click.Path(dir_okay=False, exists=True), envvar="FIELDKIT_CA_BUNDLE",
    help="Trust HQ's certificate when issued by this private CA (PEM; or FIELDKIT_CA_BUNDLE). "
    "Given at enrollment, it is remembered.")


def register(field):
    """Add the sync commands to the ``field`` group."""
    field.add_command(field_enroll)
    field.add_command(field_sync)
    field.add_command(field_sync_status)
    field.add_command(bundle)


@click.command("enroll")
@click.argument("code")
@click.option("--url", help="HQ's address, when the code does not carry it.")
@click.option("--name", help="A name for this device, shown at HQ.")
@ca_file_option
@json_option
@click.pass_context
def field_enroll(ctx, code, url, name, ca_file, as_json):
    """Enroll this station with HQ using the code HQ issued (text or from its QR)."""
    from ..sync.client import enroll
    station = _station(ctx)
    station.init()
    info = enroll(station.store, code, url=url, name=name, ca_file=ca_file)
    if as_json:
        echo_json(info)
    else:
        scope = info["scope"]
        click.echo(f"Đã đăng ký với trụ sở (enrolled with HQ) {info['hq_url']} as "
                   f"{info['device_id']}; team {info['team']}, provinces "
                   f"{', '.join(scope['provinces'])}.")


@click.command("sync")
@click.option("--url", help="Use this HQ address for this sync (e.g. a new one).")
@ca_file_option
@json_option
@click.pass_context
def field_sync(ctx, url, ca_file, as_json):
    """Push local changes to HQ and pull HQ's (decisions, checklists, teammates' work)."""
    from ..sync.client import sync_station
    summary = sync_station(_station(ctx), url=url, ca_file=ca_file)
    if as_json:
        echo_json(summary)
        return
    click.echo(f"Đã đồng bộ (synced): pushed {summary['pushed']}, pulled {summary['pulled']}, "
               f"conflicts {summary['conflicts']}, files {summary['blobs']}, rejected "
               f"{summary['rejected']}.")
    for rejection in summary["rejections"]:
        click.echo(f"  refused {rejection['id']}: {rejection['reason']}", err=True)


@click.command("sync-status")
@json_option
@click.pass_context
def field_sync_status(ctx, as_json):
    """Show enrollment, last sync and how many changes wait to be sent."""
    from ..sync.client import sync_status
    status = sync_status(_station(ctx))
    if as_json:
        echo_json(status)
        return
    if not status["enrolled"]:
        click.echo("Chưa đăng ký với trụ sở (not enrolled with HQ).")
        return
    click.echo(f"HQ {status['hq_url']} · device {status['device_id']} · last sync "
               f"{status['last_sync'] or '-'} · pending {status['pending']}")


@click.group("bundle")
def bundle():
    """Gói đồng bộ ngoại tuyến (offline bundles for a USB stick)."""


@bundle.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The bundle file to write.")
@click.option("--encrypt/--no-encrypt", default=None,
              help="Seal the bundle so that only HQ can read it (the default when HQ gave "
              "this station its public key at enrollment); --no-encrypt writes it readable.")
@json_option
@click.pass_context
def bundle_export(ctx, out, encrypt, as_json):
    """Write everything HQ has not acknowledged as one signed (and sealed) file."""
    from ..sync.bundle import export_bundle
    station = _station(ctx)
    info = export_bundle(station.store, station.blobs, out, encrypt=encrypt)
    if as_json:
        echo_json(info)
    else:
        sealed = ("sealed for HQ" if info["sealed"]
                  else "NOT encrypted: anyone with the file can read it")
        click.echo(f"Đã ghi (written) {out}: {info['docs']} documents, {info['blobs']} files "
                   f"({sealed}).")


def _import_ack(ctx, file, as_json):
    from ..sync.bundle import import_ack
    result = import_ack(_station(ctx).store, file)
    if as_json:
        echo_json(result)
    else:
        click.echo(f"HQ acknowledged changes up to {result['acknowledged_until']}; received "
                   f"{result['pulled']} documents ({result['conflicts']} conflicts).")


@bundle.command("import-ack")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
@click.pass_context
def bundle_import_ack(ctx, file, as_json):
    """Import HQ's acknowledgement bundle (advances what counts as sent; applies HQ's news)."""
    _import_ack(ctx, file, as_json)


@bundle.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
@click.pass_context
def bundle_import(ctx, file, as_json):
    """Import a bundle from HQ (same as import-ack)."""
    _import_ack(ctx, file, as_json)
