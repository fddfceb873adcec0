"""The join link and its QR code, made locally (qrcode library; no service is contacted)."""

import ipaddress
from urllib.parse import urlsplit


from ...core.qr import qr_svg as make_svg
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
    """The join QR as inline SVG."""
    return make_svg(text, box_size=12)
