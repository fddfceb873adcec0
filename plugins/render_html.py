"""HTML print view: the same document as the DOCX (header blocks, body, signature, QR code),
one self-contained file (fonts named, photos and QR code as data: URLs, no script, nothing
fetched from elsewhere) that prints on A4 from any browser. Jinja2 template
``plugins/templates/report.html``; every text is escaped."""

import base64
import functools
from importlib import resources

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from fieldkit.core.reporting.layout import deep_merge, layout_of
from fieldkit.core.reporting.text import number

MEDIA_TYPE = "text/html; charset=utf-8"


def _vn_number(value):
    if value is None or value == "":
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number(value, 0 if float(value).is_integer() else 1)
    return value


def _safe_svg(svg):
    """Charts are drawn by ``core.reporting.charts``, which escapes every text it writes."""
    return Markup(svg) if isinstance(svg, str) and svg.lstrip().startswith("<svg") else ""


@functools.cache
def environment():
    folder = resources.files("fieldkit.plugins").joinpath("templates")
    env = Environment(loader=FileSystemLoader(str(folder)),
                      autoescape=select_autoescape(("html",), default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["vn_number"] = _vn_number
    env.filters["safe_svg"] = _safe_svg
    return env


def data_url(media_type, data):
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def qr_png(url):
    from fieldkit.core.qr import qr_png as make_png
    return make_png(url, box_size=10)


def render_html(report, layout=None):
    layout = deep_merge(layout_of(report), layout or {})
    images = {sha: data_url("image/jpeg", data)
              for sha, data in (report.get("_images") or {}).items()}
    verification = report.get("verification")
    qr = data_url("image/png", qr_png(verification["url"])) if verification else None
    template = environment().get_template("report.html")
    return template.render(report=report, layout=layout, page=layout["page"],
                           m=layout["page"]["margins_mm"], s=layout["sizes_pt"],
                           font=layout["font"]["name"], images=images, qr=qr).encode("utf-8")
