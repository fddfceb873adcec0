"""The join link and its QR code, made locally (qrcode library; no service is contacted)."""

import io
import ipaddress
from urllib.parse import urlsplit

import qrcode
import qrcode.image.svg

from ..common.security import lan_addresses


def _is_loopback(host):
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url(configured, request_host_url, port=None):
    """Where tablets reach the station: the configured base URL, else the address the
    browser used when it is not loopback, else this machine's first LAN address."""
    if configured:
        return configured.rstrip("/")
    parts = urlsplit(request_host_url)
    if parts.hostname and not _is_loopback(parts.hostname):
        return f"{parts.scheme}://{parts.netloc}"
    addresses = lan_addresses()
    host = addresses[0] if addresses else "127.0.0.1"
    port = port or parts.port or 80
    return f"http://{host}:{port}"


def join_url(base, token):
    return f"{base}/join?token={token}"


def qr_svg(text):
    """The QR code of ``text`` as SVG markup (no script, no external reference)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=12,
                        border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode("utf-8")
    return svg[svg.index("<svg"):]  # drop the XML declaration: it is inlined in HTML


def qr_terminal(text, out):
    """Print the QR code of ``text`` with text characters, for the lead's terminal."""
    code = qrcode.QRCode(border=1)
    code.add_data(text)
    code.make(fit=True)
    code.print_ascii(out=out, invert=True)
