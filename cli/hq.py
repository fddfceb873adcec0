"""``fieldkit hq …``: headquarters from the command line — database, server, enrollment,
devices, review, bundles.

The database comes from ``--db`` or ``FIELDKIT_HQ_DB`` (default: an SQLite file in the
per-user HQ data folder); evidence files from ``--blobs`` or ``FIELDKIT_HQ_BLOBS`` (default:
beside an SQLite file). Command names, options and JSON fields are a contract scripts rely on.
"""

import click

from ..core.errors import UsageError
from .context import echo_json, json_option

DB_HELP = "HQ database URL or SQLite file (or FIELDKIT_HQ_DB; a per-user SQLite file " \
          "by default)."


class HQSession:
    """The HQ database, blobs and registries for one command (opened lazily, closed at the
    end of the command)."""

    def __init__(self, ctx, db, blobs):
        from ..sync.paths import hq_db_url
        self.ctx = ctx
        self.url = hq_db_url(db)
        self.blobs_dir = blobs
        app = ctx.find_root().obj
        self.app = app
        self._store = None

    @property
    def store(self):
        if self._store is None:
            from ..core.store.sql import SQLStore
            self._store = SQLStore(self.url)
            self.ctx.call_on_close(self._store.close)
        return self._store

    @property
    def blobs(self):
        from ..core.store.blobs import BlobStore
        from ..sync.paths import blob_dir
        return BlobStore(self.blobs_dir or blob_dir(self.url))

    def where(self):
        from sqlalchemy.engine import make_url
        return make_url(self.url).render_as_string(hide_password=True)


def _session(ctx, db=None, blobs=None):
    group = ctx.find_object(dict) or {}
    return HQSession(ctx, db or group.get("db"), blobs or group.get("blobs"))


def db_option(function):
    function = click.option("--blobs", type=click.Path(file_okay=False),
                            envvar="FIELDKIT_HQ_BLOBS",
                            help="Folder for evidence files (or FIELDKIT_HQ_BLOBS).")(function)
    return click.option("--db", envvar="FIELDKIT_HQ_DB", help=DB_HELP)(function)


@click.group()
@click.pass_context
def hq(ctx):
    """Trụ sở (headquarters): database, server, devices, users, review, bundles, audit."""
    import getpass

    from ..sync import audit
    ctx.obj = {"app": ctx.obj}
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = None
    # Changes made from the command line are recorded as the operating-system user's.
    token = audit.set_actor(audit.Actor("cli", who))
    ctx.call_on_close(lambda: audit.reset_actor(token))


# --- database and server --------------------------------------------------------------------

@hq.command("init")
@db_option
@json_option
@click.pass_context
def hq_init(ctx, db, blobs, as_json):
    """Create (or upgrade) the HQ database and publish the installed checklists."""
    from ..sync.enrollment import hq_secret
    from ..sync.server import publish_checklists, seed_campaign
    session = _session(ctx, db, blobs)
    store = session.store
    hq_secret(store)
    seed_campaign(store)
    published = publish_checklists(store, ctx.find_root().obj.checklists)
    info = {"db": session.where(), "blobs": str(session.blobs.root),
            "schema": store.schema_version(), "checklists_published": published}
    if as_json:
        echo_json(info)
    else:
        click.echo(f"Cơ sở dữ liệu trụ sở đã sẵn sàng (HQ database ready): {info['db']}")
        click.echo(f"Bảng kiểm mới được phát hành (checklists published): {published}")


def _login_url(store, base):
    """The one-time bootstrap sign-in link, or None when HQ has an administrator."""
    from ..sync.enrollment import hq_secret
    from ..web.hq.accounts import has_admin
    from ..web.hq.ui import login_token
    if has_admin(store):
        return None
    return f"{base.rstrip('/')}/login?token={login_token(hq_secret(store).decode())}"


def _local_base(host, port):
    if host in ("0.0.0.0", "::", ""):
        from ..web.common.security import lan_addresses
        addresses = lan_addresses()
        host = addresses[0] if addresses else "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


@hq.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--public-url", help="The address devices use to reach HQ (put into "
              "enrollment codes), e.g. https://hq.example.org.")
@click.option("--proxy-hops", type=int, default=0, show_default=True,
              envvar="FIELDKIT_HQ_PROXY_HOPS",
              help="Reverse proxies in front of HQ whose X-Forwarded-* headers to believe.")
@click.pass_context
def hq_serve(ctx, db, blobs, host, port, public_url, proxy_hops):
    """Run the HQ server (API and review UI). For several workers, see docs/sync.md."""
    from werkzeug.serving import make_server

    from ..sync.paths import PUBLIC_URL_META
    from ..web.hq import create_hq_app
    session = _session(ctx, db, blobs)
    store = session.store
    base = (public_url or "").rstrip("/") or _local_base(host, port)
    if public_url:
        store.set_meta(PUBLIC_URL_META, base)
    elif not store.get_meta(PUBLIC_URL_META):
        store.set_meta(PUBLIC_URL_META, base)
    app = create_hq_app({"store": store, "db": session.url, "blobs": str(session.blobs.directory),
                         "public_url": public_url, "proxy_hops": proxy_hops,
                         "plugins_dir": getattr(ctx.find_root().obj, "plugins_dir", None)})
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        raise UsageError(f"Cannot listen on {host}:{port} ({exc.strerror or exc}).") from None
    click.echo(f"Trụ sở đang chạy (HQ serving) on http://{host}:{server.port} — database "
               f"{session.where()}", err=True)
    link = _login_url(store, base)
    if link:
        click.echo(f"Chưa có tài khoản quản trị — liên kết dùng một lần để tạo (no admin "
                   f"account yet; one-time link to create one, valid 24 h): {link}", err=True)
    else:
        click.echo(f"Đăng nhập (sign in): {base}/login", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@hq.command("login-url")
@db_option
@click.option("--url", help="HQ's address (the public URL by default).")
@click.pass_context
def hq_login_url(ctx, db, blobs, url):
    """Print a one-time sign-in link to create the first administrator (valid 24 hours;
    only while HQ has no enabled administrator account)."""
    from ..sync.paths import PUBLIC_URL_META
    store = _session(ctx, db, blobs).store
    base = url or store.get_meta(PUBLIC_URL_META) or "http://127.0.0.1:8765"
    link = _login_url(store, base)
    if link is None:
        raise UsageError("HQ has an administrator account: sign in at /login with a user name "
                         "and password (fieldkit hq user add makes accounts).")
    click.echo(link)


# --- enrollment and devices -----------------------------------------------------------------

@hq.command("enroll")
@db_option
@click.option("--team", required=True, help="The team's name.")
@click.option("--province", "provinces", multiple=True, required=True,
              help="A current-era province code the device may work in (repeatable).")
@click.option("--campaign", help="Campaign id (every campaign when omitted).")
@click.option("--expires", default="24h", show_default=True,
              help="How long the code is valid: 30m, 12h, 7d, 2w.")
@click.option("--url", help="HQ's address for the device (the public URL by default).")
@click.option("--qr", "qr_file", type=click.Path(dir_okay=False),
              help="Write the QR code: FILE.png or FILE.svg (both without an extension).")
@click.option("--cert-fingerprint", help="SHA-256 of HQ's TLS certificate (64 hex digits, "
              "colons allowed): the device pins it and refuses any other certificate.")
@click.option("--cert", "cert_file", type=click.Path(dir_okay=False, exists=True),
              help="HQ's TLS certificate (PEM or DER): its SHA-256 goes into the code, as "
              "with --cert-fingerprint.")
@json_option
@click.pass_context
def hq_enroll(ctx, db, blobs, team, provinces, campaign, expires, url, qr_file,
              cert_fingerprint, cert_file, as_json):
    """Issue a one-time enrollment code for a team's device."""
    from pathlib import Path

    from ..sync.enrollment import (certificate_fingerprint, issue_code, parse_duration,
                                   parse_fingerprint, write_qr)
    from ..sync.paths import PUBLIC_URL_META
    if cert_fingerprint and cert_file:
        raise UsageError("Give --cert-fingerprint or --cert, not both.")
    fingerprint = (parse_fingerprint(cert_fingerprint) if cert_fingerprint
                   else certificate_fingerprint(Path(cert_file).read_bytes()) if cert_file
                   else None)
    store = _session(ctx, db, blobs).store
    hq_url = (url or store.get_meta(PUBLIC_URL_META) or "").rstrip("/") or None
    if fingerprint and not (hq_url or "").startswith("https://"):
        raise UsageError("A certificate fingerprint only makes sense with an https:// HQ "
                         "address (--url https://… or hq serve --public-url https://…).")
    issued = issue_code(store, ctx.find_root().obj.units, team, provinces,
                        campaign_id=campaign, expires=parse_duration(expires), hq_url=hq_url,
                        cert_fingerprint=fingerprint)
    issued["qr"] = write_qr(issued["code"], qr_file) if qr_file else []
    if as_json:
        echo_json(issued)
        return
    click.echo(f"Mã đăng ký (enrollment code) for {issued['team']}, provinces "
               f"{', '.join(issued['provinces'])}, valid until {issued['expires_at']}:")
    click.echo(issued["code"])
    if not hq_url:
        click.echo("This code carries no HQ address: the device needs --url.", err=True)
    for path in issued["qr"]:
        click.echo(f"QR: {path}", err=True)


@hq.group("device")
def device():
    """Thiết bị (enrolled devices)."""


@device.command("list")
@db_option
@json_option
@click.pass_context
def device_list(ctx, db, blobs, as_json):
    """List enrolled devices."""
    from ..sync.enrollment import list_devices
    devices = [d.summary() for d in list_devices(_session(ctx, db, blobs).store)]
    if as_json:
        echo_json(devices)
        return
    for d in devices:
        state = "revoked" if d["revoked"] else "active"
        click.echo(f"{d['id']}  {d['team']}  {','.join(d['provinces'])}  {state}  "
                   f"last sync {d['last_seen_at'] or '-'}")


@device.command("revoke")
@click.argument("device_id")
@db_option
@json_option
@click.pass_context
def device_revoke(ctx, device_id, db, blobs, as_json):
    """Revoke a device: its token is refused from now on."""
    from ..sync.enrollment import revoke_device
    revoked = revoke_device(_session(ctx, db, blobs).store, device_id).summary()
    if as_json:
        echo_json(revoked)
    else:
        click.echo(f"Đã thu hồi (revoked) {revoked['id']} ({revoked['team']}).")


# --- review ---------------------------------------------------------------------------------

@hq.group("inspections")
def inspections():
    """Cuộc kiểm tra đã nhận (received inspections)."""


@inspections.command("list")
@db_option
@click.option("--status", help="received (submitted or resubmitted), approved, returned, "
              "draft; all by default.")
@json_option
@click.pass_context
def inspections_list(ctx, db, blobs, status, as_json):
    """List inspections at HQ, newest first."""
    from ..sync.review import list_inspections
    rows = list_inspections(_session(ctx, db, blobs).store, status)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("Không có cuộc kiểm tra nào (no inspections).")
    for r in rows:
        click.echo(f"{r['id']}  {r['date']}  {r['status']:<11} {r['unit']} "
                   f"({r['province_code']})  findings {r['findings']}, flags {r['flagged']}"
                   + ("  CONFLICT" if r["conflict"] else ""))


@hq.command("review")
@click.argument("inspection_id")
@db_option
@click.option("--approve", "decision", flag_value="approve", help="Approve the inspection.")
@click.option("--return", "decision", flag_value="return",
              help="Return it to the team for corrections.")
@click.option("--comment", help="Comments for the team.")
@click.option("--reviewer", default="HQ", show_default=True, help="Reviewer's name.")
@json_option
@click.pass_context
def hq_review(ctx, inspection_id, db, blobs, decision, comment, reviewer, as_json):
    """Approve or return a received inspection (the decision reaches the field on sync)."""
    from ..sync.review import review_inspection
    if not decision:
        raise UsageError("Say --approve or --return.")
    result = review_inspection(_session(ctx, db, blobs).store, inspection_id, decision,
                               comment=comment, reviewer=reviewer)
    if as_json:
        echo_json(result)
    else:
        click.echo(f"{inspection_id}: {result['inspection']['status']}")


@hq.group("conflicts")
def conflicts():
    """Xung đột (kept conflicting versions)."""


@conflicts.command("list")
@db_option
@json_option
@click.pass_context
def conflicts_list(ctx, db, blobs, as_json):
    """List documents with kept conflicting versions."""
    from ..sync.review import list_conflicts
    rows = list_conflicts(_session(ctx, db, blobs).store)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("Không có xung đột (no conflicts).")
    for r in rows:
        click.echo(f"{r['id']}  {r['type']}  current {r['current_rev']}  kept "
                   + ", ".join(v.get("rev") or "?" for v in r["versions"]))


# --- bundles --------------------------------------------------------------------------------

@hq.group("bundle")
def bundle():
    """Gói đồng bộ ngoại tuyến (offline bundles)."""


@bundle.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@db_option
@click.option("--ack-out", type=click.Path(dir_okay=False),
              help="Write the acknowledgement bundle for the device here.")
@json_option
@click.pass_context
def bundle_import(ctx, file, db, blobs, ack_out, as_json):
    """Import a device's bundle (verified first); counts applied, duplicate, conflict."""
    from ..sync.bundle import import_bundle
    session = _session(ctx, db, blobs)
    counts = import_bundle(session.store, session.blobs, file, ack_out=ack_out)
    if as_json:
        echo_json(counts)
    else:
        click.echo(f"applied {counts['applied']}, duplicate {counts['duplicate']}, conflict "
                   f"{counts['conflict']}, rejected {counts['rejected']}, blobs "
                   f"{counts['blobs']}" + (f"; ack written to {ack_out}" if ack_out else ""))


# Accounts and the audit log (``fieldkit hq user …``, ``fieldkit hq audit …``); reports and
# exports (``fieldkit hq report …``, ``fieldkit hq export``).
from .hq_accounts import register as _register_accounts  # noqa: E402
from .hq_reports import register as _register_reports  # noqa: E402

_register_accounts(hq)
_register_reports(hq)
