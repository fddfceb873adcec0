"""HQ reports in the web app: download buttons' routes, the public verification page and the
dashboard (server-side SVG charts; no script, nothing from a CDN).

Register with ``init_app(app)`` (or ``app.register_blueprint(bp)``). What the blueprint needs
from the app, found at request time:

- the services: ``app.extensions["fieldkit"]``, a dict with ``store`` (the HQ ``SQLStore``),
  ``blobs`` (``BlobStore``), ``pm`` (plugin manager), ``units``, ``checklists`` and optionally
  ``public_url``; or else the HQ app's own ``app.extensions["fieldkit.hq"]`` (``HQContext``);
- HQ's public address for the QR codes: ``app.config["FIELDKIT_PUBLIC_URL"]``, else the
  services' ``public_url``, else the request's host;
- sign-in: every route except ``/verify/…`` and the stylesheet goes through
  ``login_required`` (a view decorator given to ``init_app``; by default the HQ UI's
  ``signed_in``).

Routes: ``GET /dashboard``; ``GET /reports/inspections/<id>.<docx|html|json>``;
``GET /reports/summary.<docx|xlsx|html|json>?period=…``; ``GET /reports/export.<csv|xlsx|json>``;
``GET /verify/<id>[?sha256=…]`` and ``POST /verify/<id>`` (a file to check) — public.
"""

import hashlib
from types import SimpleNamespace

from flask import (Blueprint, Response, current_app, jsonify, render_template_string, request,
                   url_for)
from jinja2 import TemplateNotFound

from ...core.errors import FieldkitError, NotFound, UsageError
from ...core.reporting import issue as issuing
from ...core.reporting.dashboard import build_dashboard, parse_filters
from ...core.reporting.export import build_export
from ...core.reporting.filters import Filters, parse_period
from ...core.reporting.inspection import build_inspection_report
from ...core.reporting.summary import build_summary_report
from ...core.reporting.text import STATUS_WORDS, score_text, short_date

bp = Blueprint("reports", __name__)
EXTENSION = "fieldkit.reports"
PUBLIC_ENDPOINTS = frozenset({"reports.verify", "reports.verify_file", "reports.stylesheet"})
# The print view carries its own styles inline: it may use them, and nothing else.
PRINT_VIEW_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def init_app(app, login_required=None, services=None):
    """Register the blueprint. ``login_required``: a view decorator guarding every route but
    verification (default: the HQ UI's ``signed_in``); ``services``: the dict described in the
    module docstring, if the app does not already hold one."""
    if services is not None:
        app.extensions["fieldkit"] = services
    app.extensions[EXTENSION] = {"login_required": login_required}
    app.register_blueprint(bp)


def services():
    extensions = current_app.extensions
    given = extensions.get("fieldkit")
    if isinstance(given, dict):
        return SimpleNamespace(**{"blobs": None, "units": None, "checklists": None,
                                  "public_url": None, **given})
    hq = extensions.get("fieldkit.hq")
    if hq is None:
        raise FieldkitError("The HQ services are not configured (app.extensions['fieldkit']).")
    return SimpleNamespace(store=hq.store, blobs=hq.blobs, pm=hq.pm, units=hq.units,
                           checklists=hq.checklists, public_url=hq.public_url)


def public_url():
    return (current_app.config.get("FIELDKIT_PUBLIC_URL") or services().public_url
            or request.host_url).rstrip("/")


@bp.before_request
def _guard():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    guard = (current_app.extensions.get(EXTENSION) or {}).get("login_required")
    if guard is None:
        try:
            from .ui import signed_in as guard
        except ImportError:
            return _page("Cần đăng nhập", "<p>Trang này cần đăng nhập.</p>", 401)
    return guard(lambda: None)()


@bp.errorhandler(FieldkitError)
def _fieldkit_error(exc):
    status = 404 if isinstance(exc, NotFound) else 400
    return _page("Không thực hiện được", "<p class=\"error\">{{ message }}</p>", status,
                 message=str(exc))


# --- downloads -----------------------------------------------------------------------------

def _send(issued, inline=False):
    response = Response(issued.data, mimetype=issued.media_type)
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{issued.filename}"'
    response.headers["Cache-Control"] = "no-store"
    if issued.media_type.startswith("text/html"):
        response.headers["Content-Security-Policy"] = PRINT_VIEW_CSP
    if issued.record:
        response.headers["X-Report-Id"] = issued.record["id"]
        response.headers["X-Report-SHA256"] = issued.record["sha256"]
    return response


def _signer():
    name = (request.args.get("signer") or "").strip()[:120]
    return {"name": name} if name else None


@bp.get("/reports/inspections/<inspection_id>.<fmt>")
def inspection_report(inspection_id, fmt):
    s = services()
    report = build_inspection_report(s.store, inspection_id, s.units, s.checklists, s.pm,
                                     s.blobs, number=request.args.get("number") or None,
                                     signer=_signer())
    issued = issuing.issue(s.store, s.pm, report, fmt, public_url(), issued_by="HQ")
    return _send(issued, inline=request.args.get("view") == "1")


def _filters(require_period=False):
    args = request.args
    if require_period and not args.get("period"):
        raise UsageError("Chọn kỳ báo cáo (ví dụ 2024-H1 hoặc 2024).")
    period = parse_period(args["period"]) if args.get("period") else None
    province = (args.get("province") or "").strip() or None
    return Filters(period=period, campaign=(args.get("campaign") or "").strip() or None,
                   province=province.zfill(2) if province else None)


@bp.get("/reports/summary.<fmt>")
def summary_report(fmt):
    s = services()
    report = build_summary_report(s.store, s.units, _filters(require_period=True), s.checklists,
                                  number=request.args.get("number") or None, signer=_signer())
    issued = issuing.issue(s.store, s.pm, report, fmt, public_url(), issued_by="HQ")
    return _send(issued, inline=request.args.get("view") == "1")


@bp.get("/reports/export.<fmt>")
def export(fmt):
    s = services()
    report = build_export(s.store, s.units, _filters(), s.checklists)
    return _send(issuing.issue(s.store, s.pm, report, fmt))


# --- verification (public) -----------------------------------------------------------------

def _wants_json():
    return request.args.get("format") == "json" or (
        request.accept_mimetypes.best == "application/json")


def _verification(report_id, sha256=None, checked_file=None):
    record = issuing.lookup(services().store, report_id)
    if record is None:
        if _wants_json():
            return jsonify({"id": report_id, "known": False}), 404
        return _page("Không tìm thấy văn bản", VERIFY_UNKNOWN, 404, report_id=report_id)
    view = issuing.public_view(record)
    match = None if sha256 is None else issuing.matches(record, sha256)
    if sha256 is not None and match is None:
        message = "Mã SHA-256 phải gồm 64 ký tự thập lục phân (0–9, a–f)."
        if _wants_json():
            return jsonify({"id": report_id, "known": True, "error": message}), 400
        return _page("Kiểm tra văn bản", VERIFY_PAGE, 400, r=view, sha256=sha256, match=None,
                     error=message, checked_file=checked_file, date_text=_date_text(view))
    if _wants_json():
        body = {"id": report_id, "known": True, **{k: view[k] for k in (
            "title", "unit", "date", "sha256")}}
        if match is not None:
            body["match"] = match
        return jsonify(body)
    return _page("Kiểm tra văn bản", VERIFY_PAGE, 200, r=view, sha256=sha256, match=match,
                 error=None, checked_file=checked_file, date_text=_date_text(view))


def _date_text(view):
    return short_date(view.get("issued_on") or view.get("date"))


@bp.get("/verify/<report_id>")
def verify(report_id):
    sha256 = request.args.get("sha256")
    return _verification(report_id, sha256.strip() if sha256 is not None else None)


@bp.post("/verify/<report_id>")
def verify_file(report_id):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _verification(report_id)
    digest = hashlib.sha256()
    for chunk in iter(lambda: upload.stream.read(1 << 20), b""):
        digest.update(chunk)
    return _verification(report_id, digest.hexdigest(), checked_file=upload.filename)


# --- the dashboard -------------------------------------------------------------------------

@bp.get("/dashboard")
def dashboard():
    s = services()
    filters, messages = parse_filters(request.args)
    data = build_dashboard(s.store, s.units, filters, s.checklists)
    query = {k: v for k, v in data["filters"].items() if v and k != "theme"}
    downloads = []
    period = data["filters"]["period"] or str(data["latest_year"])
    for fmt, label in (("docx", "Báo cáo tổng hợp (Word)"), ("xlsx", "Bảng số liệu (Excel)"),
                       ("html", "Bản in (HTML)")):
        downloads.append((label, url_for("reports.summary_report", fmt=fmt,
                                         **{**query, "period": period})))
    for fmt, label in (("csv", "Dữ liệu chi tiết (CSV)"), ("xlsx", "Dữ liệu chi tiết (Excel)")):
        downloads.append((label, url_for("reports.export", fmt=fmt, **query)))
    return _page("Tổng hợp kết quả kiểm tra", DASHBOARD, 200, d=data, messages=messages,
                 downloads=downloads, period=period, score_text=score_text,
                 status_words=STATUS_WORDS, short_date=short_date)


@bp.get("/reports/dashboard.css")
def stylesheet():
    return Response(DASHBOARD_CSS, mimetype="text/css",
                    headers={"Cache-Control": "public, max-age=3600"})


# --- pages ---------------------------------------------------------------------------------

def _base():
    """The HQ UI's base template when the app has it, else a plain page of our own."""
    try:
        return current_app.jinja_env.get_template("hq/base.html")
    except TemplateNotFound:
        return current_app.jinja_env.from_string(FALLBACK_BASE)


def _page(title, body, status=200, **context):
    source = ("{% extends base %}{% block title %}{{ page_title }}{% endblock %}"
              "{% block main %}<link rel=\"stylesheet\" href=\"{{ url_for('reports.stylesheet') }}\">"
              + body + "{% endblock %}")
    return render_template_string(source, base=_base(), page_title=title, **context), status


FALLBACK_BASE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %} — fieldkit HQ</title></head>
<body><header class="top"><strong>fieldkit · Trụ sở (HQ)</strong></header>
<main>{% block main %}{% endblock %}</main></body></html>"""

VERIFY_UNKNOWN = """
<section class="verify unknown" data-result="unknown">
  <h1>Không tìm thấy văn bản</h1>
  <p class="verdict bad">Mã <code>{{ report_id }}</code> không có trong sổ văn bản do Ban Chỉ đạo
  Trung ương phát hành qua hệ thống này.</p>
  <p>Văn bản mang mã này <strong>không được xác thực</strong>: có thể mã bị in sai, hoặc văn
  bản không do Ban Chỉ đạo Trung ương phát hành.</p>
</section>"""

VERIFY_PAGE = """
<section class="verify" data-result="{{ 'match' if match else ('mismatch' if match is sameas false else 'known') }}">
  <h1>Văn bản do Ban Chỉ đạo Trung ương phát hành</h1>
  {% if match %}<p class="verdict good">Tệp{% if checked_file %} <em>{{ checked_file }}</em>{% endif %} <strong>KHỚP</strong> với văn bản đã phát hành.</p>
  {% elif match is sameas false %}<p class="verdict bad">Tệp{% if checked_file %} <em>{{ checked_file }}</em>{% endif %} <strong>KHÔNG KHỚP</strong> với văn bản đã phát hành: nội dung đã bị thay đổi, hoặc đây là văn bản khác.</p>
  {% elif error %}<p class="verdict bad">{{ error }}</p>{% endif %}
  <dl class="record">
    <dt>Mã văn bản</dt><dd><code>{{ r.id }}</code></dd>
    <dt>Tiêu đề</dt><dd>{{ r.title }}</dd>
    <dt>Đơn vị</dt><dd>{{ r.unit or "—" }}</dd>
    <dt>Ngày ban hành</dt><dd>{{ date_text }}</dd>
    <dt>Mã SHA-256 của tệp</dt><dd><code class="hash">{{ r.sha256 }}</code></dd>
    {% if sha256 and match is not none %}<dt>Mã SHA-256 được kiểm tra</dt><dd><code class="hash">{{ sha256 }}</code></dd>{% endif %}
  </dl>
  <form method="post" enctype="multipart/form-data" class="verify-file">
    <label>Đối chiếu một tệp đã nhận: <input type="file" name="file" required></label>
    <button type="submit">Kiểm tra tệp</button>
  </form>
  <form method="get" class="verify-hash">
    <label>hoặc dán mã SHA-256: <input name="sha256" size="66" maxlength="64" pattern="[0-9a-fA-F]{64}" value="{{ sha256 or '' }}"></label>
    <button type="submit">Kiểm tra mã</button>
  </form>
</section>"""

DASHBOARD = """
<div class="dash">
<h1>Tổng hợp kết quả kiểm tra</h1>
<form method="get" class="filters" action="{{ url_for('reports.dashboard') }}">
  <label>Đợt kiểm tra <select name="campaign"><option value="">Tất cả</option>
    {% for c in d.options.campaigns %}<option value="{{ c.id }}"{% if c.id == d.filters.campaign %} selected{% endif %}>{{ c.label }}</option>{% endfor %}</select></label>
  <label>Tỉnh <select name="province"><option value="">Tất cả</option>
    {% for p in d.options.provinces %}<option value="{{ p.code }}"{% if p.code == d.filters.province %} selected{% endif %}>{{ p.label }}</option>{% endfor %}</select></label>
  <label>Kỳ <select name="period"><option value="">Toàn bộ</option>
    {% for p in d.options.periods %}<option value="{{ p }}"{% if p == d.filters.period %} selected{% endif %}>{{ p }}</option>{% endfor %}</select></label>
  <label>Nội dung <select name="theme"><option value="">Tất cả</option>
    {% for t in d.options.themes %}<option value="{{ t.code }}"{% if t.code == d.filters.theme %} selected{% endif %}>{{ t.label }}</option>{% endfor %}</select></label>
  <button type="submit">Lọc</button> <a href="{{ url_for('reports.dashboard') }}">Bỏ lọc</a>
</form>
{% for m in messages %}<p class="error">{{ m }}</p>{% endfor %}
<div class="cards">
  <div class="card"><span class="n" data-card="inspections">{{ d.cards.inspections }}</span><span>cuộc kiểm tra</span></div>
  <div class="card"><span class="n" data-card="units">{{ d.cards.units }}</span><span>đơn vị được kiểm tra</span></div>
  <div class="card"><span class="n" data-card="score">{{ score_text(d.cards.score) }}</span><span>điểm chung bình quân</span></div>
  <div class="card warn"><span class="n" data-card="flagged">{{ d.cards.flagged }}</span><span>lượt nội dung hạn chế</span></div>
  <div class="card bad"><span class="n" data-card="overdue">{{ d.cards.overdue }}</span><span>kiến nghị quá hạn</span></div>
</div>
<div class="charts">
  <figure id="chart-inspections">{{ d.charts.inspections | safe }}</figure>
  <figure id="chart-scores">{{ d.charts.scores | safe }}</figure>
  <figure id="chart-flags">{{ d.charts.flags | safe }}</figure>
  <figure id="chart-recommendations">{{ d.charts.recommendations | safe }}</figure>
</div>
<section class="downloads">
  <h2>Tải báo cáo — kỳ {{ period }}</h2>
  <ul>{% for label, href in downloads %}<li><a class="button" href="{{ href }}">{{ label }}</a></li>{% endfor %}</ul>
</section>
<section>
  <h2>Kiến nghị quá hạn (tính đến {{ short_date(d.as_of) }})</h2>
  {% if not d.overdue %}<p>Không có kiến nghị quá hạn.</p>{% else %}
  <table class="overdue"><thead><tr><th>Tỉnh</th><th>Đơn vị</th><th>Kiến nghị</th><th>Chịu trách nhiệm</th><th>Thời hạn</th><th>Tình trạng</th></tr></thead><tbody>
  {% for r in d.overdue %}<tr><td>{{ r.province }}</td><td>{{ r.unit }}</td><td>{{ r.text }}</td><td>{{ r.responsible or "" }}</td><td>{{ short_date(r.due) }}</td><td>{{ "Đang thực hiện" if r.status == "in_progress" else "Chưa thực hiện" }}</td></tr>{% endfor %}
  </tbody></table>{% endif %}
</section>
<p class="note">Số cuộc kiểm tra gồm mọi trạng thái (cả bản nháp); điểm, hạn chế và kiến nghị tính trên các cuộc đã nộp.
{% if d.missing_checklists %} Chưa có định nghĩa bảng kiểm: {{ d.missing_checklists | join(", ") }} — các kết quả này chưa được tính điểm.{% endif %}</p>
</div>"""

DASHBOARD_CSS = """
.dash h1 { margin: .2rem 0 1rem; }
.dash .filters { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: end; background: #fff;
  padding: .7rem 1rem; border: 1px solid #dcdcde; margin-bottom: 1rem; }
.dash .filters label { display: flex; flex-direction: column; font-size: .85rem; color: #50575e; }
.dash .filters select { min-width: 11rem; padding: .25rem; }
.dash .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: .8rem; margin-bottom: 1rem; }
.dash .card { background: #fff; border: 1px solid #dcdcde; border-left: 4px solid #2f6690; padding: .6rem .8rem; display: flex; flex-direction: column; }
.dash .card.warn { border-left-color: #ef8a17; } .dash .card.bad { border-left-color: #c0392b; }
.dash .card .n { font-size: 1.7rem; font-weight: 700; }
.dash .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(30rem, 1fr)); gap: 1rem; align-items: start; }
.dash figure { background: #fff; border: 1px solid #dcdcde; margin: 0; padding: .6rem; overflow-x: auto; }
.dash figure svg { max-width: 100%; height: auto; }
.dash .downloads ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .5rem; }
.dash a.button { display: inline-block; padding: .4rem .8rem; background: #7a1f1f; color: #fff; text-decoration: none; border-radius: .3rem; }
.dash .note { color: #50575e; font-size: .85rem; }
.verify { background: #fff; border: 1px solid #dcdcde; padding: 1rem 1.2rem; max-width: 52rem; }
.verify .verdict { font-size: 1.1rem; padding: .6rem .8rem; border-radius: .3rem; }
.verify .verdict.good { background: #d7f5dd; } .verify .verdict.bad { background: #fde2e1; }
.verify dl.record { display: grid; grid-template-columns: 12rem 1fr; gap: .3rem 1rem; }
.verify dt { color: #50575e; } .verify dd { margin: 0; }
.verify code.hash { word-break: break-all; }
.verify form { margin-top: .8rem; }
"""
