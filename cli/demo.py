"""``fieldkit demo``: headquarters and a field station on loopback, with the 2024 program.

Starts an HQ (embedded SQLite) and a field station (embedded field store) in one process,
seeds three inspections of communes in Ninh Bình, Hòa Bình and Kiên Giang (program No.
72-CTr/BCĐTW, item 6), enrolls the station with HQ, prints both URLs and the tablets' join
QR, and walks a newcomer through the whole story. Ctrl-C stops both servers cleanly.
"""

import json
import shutil
import signal
import sys
import tempfile
import threading
import webbrowser
from datetime import date
from pathlib import Path

import click

from ..core.errors import UsageError

TEAM = "Đoàn kiểm tra số 1"
DEMO_DATE = date(2024, 6, 18)
PROVINCES = ("37", "17", "91")  # Ninh Bình, Hòa Bình, Kiên Giang before the reform
GUIDE = """\
Hướng dẫn nhanh (guided path):
  1. Trạm hiện trường: mở đường dẫn trưởng đoàn; chọn cuộc kiểm tra ở Ninh Bình.
     (Field station: open the lead's link, pick the Ninh Bình inspection.)
  2. Trả lời các mục, chụp/đính kèm một ảnh, ghi kiến nghị, bấm «Nộp».
     (Answer items, attach a photo, add a recommendation, submit.)
  3. Về trang chính, bấm «Đồng bộ ngay». (Back on the list, press Sync now.)
  4. Trụ sở: mở đường dẫn đăng nhập, duyệt cuộc kiểm tra, tải báo cáo Word.
     (HQ: open the sign-in link, review the inspection, download the Word report.)
"""


class _Late:
    """A WSGI app set after the socket is bound, so the real app can know its own port."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


def _serve(host, port):
    import logging
    from werkzeug.serving import make_server
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    late = _Late()
    try:
        server = make_server(host, port, late, threaded=True)
    except OSError as exc:
        raise UsageError(f"Cannot listen on {host}:{port} ({exc.strerror or exc}); "
                         "choose another port.") from None
    return server, late, f"http://{host}:{server.server_port}"


def seed_field(station):
    """Three draft inspections of 2024, one already half answered; returns their ids."""
    flow = station.workflow(author="Trưởng đoàn")
    ids = []
    for code in PROVINCES:
        commune = station.units.list(level="commune", parent=code, as_of=DEMO_DATE)[0]
        doc = flow.new_inspection(commune.code, "commune", "vn.baseline.commune", on=DEMO_DATE,
                                  team=TEAM, inspectors=("Nguyễn Văn An", "Trần Thị Bình"))
        ids.append(doc["id"])
    first = ids[1]  # Hòa Bình: shows a 2024 unit that is in Phú Thọ today
    flow.answer(first, "LD02", "yes", extras={"date": "2024-01-20"})
    flow.answer(first, "BI03", "partial", note="Chỉ niêm yết tại trụ sở, chưa phát trên loa.")
    flow.answer(first, "KT01", "4", extras={"count": "9"}, note="Thiếu thành viên")
    flow.add_recommendation(first, "Kiện toàn Ban Thanh tra nhân dân đủ thành viên theo Điều 36",
                            responsible="UBND xã, Ủy ban MTTQ xã", due="2024-09-30")
    _complete(flow, ids[2])  # Kiên Giang: submitted, so HQ has something to show at once
    return ids


# Answers of the submitted demo inspection: a mixed picture, with a few breaches flagged.
SAMPLE = {"yes_no": "yes", "count": "6", "number": "120000000", "percent": "72",
          "date": "2024-02-15", "text": "Đã thực hiện"}
BREACHES = {"BI03": "partial", "LA02": "no", "BA03": "45", "BA04": "1"}


def _complete(flow, inspection_id):
    from ..core.rules import is_shown
    checklist = flow.checklist_of(flow.inspection(inspection_id))
    for item in checklist.items:
        if not item["required"] or not is_shown(item, flow.answers(inspection_id)):
            continue
        kind = item["answer"]["type"]
        value = BREACHES.get(item["code"]) or SAMPLE.get(kind) or \
            item["answer"]["choices"][0]["code"]
        flow.answer(inspection_id, item["code"], value)
    flow.add_recommendation(inspection_id, "Công khai thu, chi các khoản đóng góp của Nhân dân "
                            "tại nhà văn hóa các ấp", responsible="UBND xã", due="2024-08-31")
    flow.submit(inspection_id)


def start_demo(data_dir, host="127.0.0.1", hq_port=8765, field_port=5000):
    """Start both servers (in threads); returns a dict of URLs, ids and a ``stop`` function."""
    from ..core.station import Station
    from ..sync.client import enroll
    from ..sync.enrollment import hq_secret, issue_code
    from ..web.field import create_field_app, field_web
    from ..web.field.qr import join_url
    from ..web.hq import create_hq_app, hq_context
    from ..web.hq.ui import login_token

    data_dir = Path(data_dir)
    (data_dir / "hq").mkdir(parents=True, exist_ok=True)
    hq_server, hq_late, hq_url = _serve(host, hq_port)
    field_server, field_late, field_url = _serve(host, field_port)
    station = None
    try:
        hq_late.app = create_hq_app({"db": f"sqlite:///{data_dir / 'hq' / 'hq.db'}",
                                     "blobs": str(data_dir / "hq" / "blobs"),
                                     "public_url": hq_url})
        hq = hq_context(hq_late.app)
        from ..sync.paths import PUBLIC_URL_META
        hq.store.set_meta(PUBLIC_URL_META, hq_url)
        for server in (hq_server, field_server):
            server.serving = True
            threading.Thread(target=server.serve_forever, daemon=True).start()

        station = Station(data_dir / "field")
        station.init(author="Trưởng đoàn")
        current = [station.units.successor(station.units.get(code, as_of=DEMO_DATE)).code
                   for code in PROVINCES]
        issued = issue_code(hq.store, hq.units, TEAM, current, campaign_id="ctr-72-2024",
                            hq_url=hq_url)
        enroll(station.store, issued["code"], name="Máy tính đoàn 1")
        inspections = seed_field(station)
        from ..sync.client import sync_station
        sync_station(station)  # the submitted inspection reaches HQ's dashboard

        field_late.app = create_field_app(station, {"JOIN_BASE_URL": field_url})
        web = field_web(field_late.app)
        info = {
            "data_dir": str(data_dir),
            "hq_url": hq_url,
            "hq_login_url": f"{hq_url}/login?token={login_token(hq_secret(hq.store).decode())}",
            "field_url": field_url,
            "lead_url": f"{field_url}/join?token={web.issue_lead_token()}",
            "join_url": join_url(field_url, web.issue_join_token()),
            "inspections": inspections,
            "device_id": station.device_id,
        }
    except BaseException:
        _shutdown((hq_server, field_server), station)
        raise

    def stop():
        _shutdown((hq_server, field_server), station, hq)

    info["stop"] = stop
    return info


def _shutdown(servers, station=None, hq=None):
    for server in servers:
        if getattr(server, "serving", False):
            server.shutdown()
        server.server_close()
    if station is not None:
        station.close()
    if hq is not None and "store" in hq.__dict__:
        hq.store.close()


@click.command("demo")
@click.option("--data", "data_dir", type=click.Path(file_okay=False),
              help="Keep the demo's data here (a temporary folder, removed on exit, by default).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--hq-port", default=8765, show_default=True, type=int, help="0: any free port.")
@click.option("--field-port", default=5000, show_default=True, type=int,
              help="0: any free port.")
@click.option("--no-browser", is_flag=True, help="Do not open the browser.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the URLs and ids as one JSON line (for scripts), then serve.")
def demo(data_dir, host, hq_port, field_port, no_browser, as_json):
    """Run HQ and a field station on this machine, seeded with the 2024 program."""
    temporary = data_dir is None
    root = Path(tempfile.mkdtemp(prefix="fieldkit-demo-")) if temporary else Path(data_dir)
    stopping = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    info = None
    try:
        info = start_demo(root, host=host, hq_port=hq_port, field_port=field_port)
        public = {k: v for k, v in info.items() if k != "stop"}
        if as_json:
            click.echo(json.dumps(public, ensure_ascii=False))
        else:
            _print_welcome(public)
        sys.stdout.flush()
        if not no_browser:
            webbrowser.open(info["lead_url"])
        try:
            while not stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if info is not None:
            info["stop"]()
        if temporary:
            shutil.rmtree(root, ignore_errors=True)
    click.echo("Đã dừng bản trình diễn (demo stopped).", err=True)


def _print_welcome(info):
    from ..core.qr import qr_terminal
    click.echo("fieldkit — bản trình diễn (demo): Chương trình 72-CTr/BCĐTW năm 2024")
    click.echo(f"  Dữ liệu (data): {info['data_dir']}")
    click.echo(f"  Trạm hiện trường, trưởng đoàn (field station, lead, one-time): "
               f"{info['lead_url']}")
    click.echo(f"  Trụ sở, đăng nhập (HQ sign-in): {info['hq_login_url']}")
    click.echo(f"  Máy tính bảng quét mã (tablets scan): {info['join_url']}")
    try:
        qr_terminal(info["join_url"], sys.stdout)
    except (UnicodeEncodeError, OSError):
        pass
    click.echo(GUIDE)
    click.echo("Ctrl-C để dừng (to stop).")
