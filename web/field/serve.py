"""``fieldkit field serve``: run the field station's web UI on the laptop.

Prints a one-time URL for the team lead's own browser (like Jupyter's token URL) and opens
it, prints the LAN URL and shows the tablets' join QR code in the terminal, then serves with
a threaded server until Ctrl-C. Tablets on the laptop's Wi-Fi hotspot scan the QR code.
"""

import ipaddress
import sys
import webbrowser

from werkzeug.serving import make_server

from ...core.errors import UsageError
from . import create_field_app, field_web
from ...core.qr import qr_terminal
from .pin import MAX_PIN_TRIES, stored_pin
from .qr import join_url
from ..common.security import lan_addresses


def _local_host(host):
    """The address the lead's own browser should use for ``host``."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    return "127.0.0.1" if address.is_unspecified else host


def _lan_host(host):
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.is_unspecified:
        found = lan_addresses()
        return found[0] if found else None
    return None if address.is_loopback else host


def serve(station, host="0.0.0.0", port=5000, open_browser=True, out=None, test_config=None,
          ready=None):
    """Serve the station until interrupted. ``ready(server)`` (tests) is called once the
    socket is bound, before serving."""
    out = out or sys.stdout
    app = create_field_app(station, test_config)
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        raise UsageError(f"Cannot listen on {host}:{port} ({exc.strerror or exc}); "
                         "try another --port.") from None
    port = server.server_port
    lan_host = _lan_host(host)
    local = f"http://{_local_host(host)}:{port}"
    if lan_host and not app.config["JOIN_BASE_URL"]:
        app.config["JOIN_BASE_URL"] = f"http://{lan_host}:{port}"
    web = field_web(app)
    lead_url = f"{local}/join?token={web.issue_lead_token()}"
    team_url = join_url(app.config["JOIN_BASE_URL"] or local, web.issue_join_token())

    print("Trạm hiện trường đang chạy (field station running).", file=out)
    print(f"  Trưởng đoàn — mở một lần (team lead, one-time URL): {lead_url}", file=out)
    if stored_pin(station.store):
        print(f"  Liên kết này hỏi mã PIN của trạm; sai {MAX_PIN_TRIES} lần thì hết hiệu lực "
              f"(this URL asks for the station PIN; {MAX_PIN_TRIES} wrong tries burn it).",
              file=out)
    if lan_host:
        print(f"  Địa chỉ trong mạng (LAN URL): http://{lan_host}:{port}/", file=out)
    else:
        print("  Không thấy địa chỉ mạng LAN: máy tính bảng chưa kết nối được "
              "(no LAN address: tablets cannot join; bind --host 0.0.0.0 on the hotspot).",
              file=out)
    minutes = round(app.config["JOIN_TOKEN_TTL"] / 60)
    print(f"  Máy tính bảng quét mã này để tham gia, hiệu lực {minutes} phút "
          f"(tablets scan this to join, valid {minutes} min): {team_url}", file=out)
    try:
        qr_terminal(team_url, out)
    except (UnicodeEncodeError, OSError):
        pass  # a terminal that cannot draw the code still has the URL above
    print("  Mã mới: trang «Mã QR tham gia» (new code: the Join QR page). Ctrl-C để dừng (to stop).",
          file=out, flush=True)
    if ready is not None:
        ready(server)
    if open_browser:
        webbrowser.open(lead_url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Đã dừng trạm (station stopped).", file=out)
    finally:
        server.server_close()
