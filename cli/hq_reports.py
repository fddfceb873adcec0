"""``fieldkit hq report …`` and ``fieldkit hq export``: documents and data from the HQ store.

    fieldkit hq report inspection ID --format docx|html --out FILE [--number 12]
    fieldkit hq report summary --period 2024-H1|2024 [--campaign ID] --format docx|xlsx --out FILE
    fieldkit hq export --format csv|xlsx --out FILE [--period 2024] [--campaign ID] [--province 25]

Documents get a verification id and QR code pointing at ``<public URL>/verify/<id>``; the
record (title, unit, date, SHA-256) is kept at HQ. The public URL comes from
``--public-url``, ``FIELDKIT_PUBLIC_URL`` or the one ``fieldkit hq serve --public-url`` stored.
The HQ CLI adds these commands with ``register(hq)``.
"""

from pathlib import Path

import click

from ..core.errors import UsageError
from .context import echo_json, json_option


def _out_option(function):
    return click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
                        help="File to write.")(function)


def _document_options(function):
    function = click.option("--public-url", envvar="FIELDKIT_PUBLIC_URL",
                            help="HQ's public address for the QR code (or FIELDKIT_PUBLIC_URL; "
                                 "by default the one 'hq serve --public-url' stored).")(function)
    function = click.option("--signer", help="Name of the signer (printed under the "
                                             "signature).")(function)
    function = click.option("--number", help="Document number (Số …-BC/BCĐTW); left blank "
                                             "for the clerk by default.")(function)
    return click.option("--layout", "layout_file", type=click.Path(dir_okay=False),
                        help="JSON file overriding the document layout (fonts, sizes, header "
                             "texts).")(function)


def _public_url(store, given):
    if given:
        return given.rstrip("/")
    from ..sync.paths import PUBLIC_URL_META
    stored = store.get_meta(PUBLIC_URL_META)
    if not stored:
        raise UsageError("HQ's public address is not known: pass --public-url (for example "
                         "https://hq.example.vn) or set FIELDKIT_PUBLIC_URL.")
    return stored.rstrip("/")


def _layout(layout_file):
    if not layout_file:
        return None
    from ..core.reporting.layout import load_layout_file
    return load_layout_file(layout_file)


def _write(issued, out, as_json):
    path = Path(out)
    try:
        path.write_bytes(issued.data)
    except OSError as exc:
        raise UsageError(f"Cannot write {out}: {exc.strerror or exc}.") from None
    info = {"file": str(path), "bytes": len(issued.data), "media_type": issued.media_type}
    if issued.record:
        info.update({"id": issued.record["id"], "sha256": issued.record["sha256"],
                     "verify_url": issued.record["url"]})
    if as_json:
        echo_json(info)
    else:
        click.echo(f"Đã ghi (written) {path} ({len(issued.data):,} bytes)")
        if issued.record:
            click.echo(f"Mã xác thực (verification id): {issued.record['id']}")
            click.echo(f"SHA-256: {issued.record['sha256']}")
            click.echo(f"Kiểm tra tại (verify at): {issued.record['url']}")


def _filters(period, campaign, province, need_period):
    from ..core.reporting.filters import Filters, parse_period
    if need_period and not period:
        raise UsageError("--period is required (2024, 2024-H1, 2025-H2 …).")
    return Filters(period=parse_period(period) if period else None, campaign=campaign,
                   province=province.zfill(2) if province else None)


def register(hq_group):
    """Add ``report`` (inspection, summary) and ``export`` to the ``hq`` command group."""
    from .hq import _session, db_option

    @hq_group.group("report")
    def report():
        """Báo cáo (documents): an inspection report, a 6-month or annual summary."""

    @report.command("inspection")
    @click.argument("inspection_id")
    @click.option("--format", "fmt", type=click.Choice(["docx", "html", "json"]),
                  default="docx", show_default=True)
    @_out_option
    @_document_options
    @db_option
    @json_option
    @click.pass_context
    def report_inspection(ctx, inspection_id, fmt, out, layout_file, number, signer, public_url,
                          db, blobs, as_json):
        """Báo cáo kết quả kiểm tra: the results report of one inspection."""
        from ..core.reporting.inspection import build_inspection_report
        from ..core.reporting.issue import issue
        session = _session(ctx, db, blobs)
        app = ctx.find_root().obj
        data = build_inspection_report(
            session.store, inspection_id, app.units, app.checklists, app.pm, session.blobs,
            number=number, layout=_layout(layout_file), signer={"name": signer} if signer else None)
        url = _public_url(session.store, public_url) if fmt != "json" else None
        _write(issue(session.store, app.pm, data, fmt, url, issued_by="cli"), out, as_json)

    @report.command("summary")
    @click.option("--period", required=True, help="2024, 2024-H1, 2025-H2 or 2024-Q3.")
    @click.option("--campaign", help="Only this campaign (e.g. ctr-72-2024).")
    @click.option("--province", help="Only this province (current code, e.g. 25).")
    @click.option("--format", "fmt", type=click.Choice(["docx", "xlsx", "html", "json"]),
                  default="docx", show_default=True)
    @_out_option
    @_document_options
    @db_option
    @json_option
    @click.pass_context
    def report_summary(ctx, period, campaign, province, fmt, out, layout_file, number, signer,
                       public_url, db, blobs, as_json):
        """Sơ kết 6 tháng / tổng kết năm: the periodic summary (figures computed in SQL)."""
        from ..core.reporting.issue import issue
        from ..core.reporting.summary import build_summary_report
        session = _session(ctx, db, blobs)
        app = ctx.find_root().obj
        data = build_summary_report(
            session.store, app.units, _filters(period, campaign, province, True),
            app.checklists, number=number, layout=_layout(layout_file),
            signer={"name": signer} if signer else None)
        url = _public_url(session.store, public_url) if fmt != "json" else None
        _write(issue(session.store, app.pm, data, fmt, url, issued_by="cli"), out, as_json)

    @hq_group.command("export")
    @click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default="csv",
                  show_default=True)
    @_out_option
    @click.option("--period", help="Only inspections of this period (2024, 2024-H1 …).")
    @click.option("--campaign", help="Only this campaign.")
    @click.option("--province", help="Only this province (current code).")
    @db_option
    @json_option
    @click.pass_context
    def export(ctx, fmt, out, period, campaign, province, db, blobs, as_json):
        """Xuất dữ liệu: every finding with its inspection, unit (both eras' names), checklist
        version, item, value, flag and note."""
        from ..core.reporting.export import build_export
        from ..core.reporting.issue import issue
        session = _session(ctx, db, blobs)
        app = ctx.find_root().obj
        data = build_export(session.store, app.units, _filters(period, campaign, province, False),
                            app.checklists)
        _write(issue(session.store, app.pm, data, fmt), out, as_json)

    return hq_group
