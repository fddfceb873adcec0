"""Shared helpers of the sync tests (imported by test_sync_*, test_enrollment, test_bundles,
test_hq_*): HQ databases on SQLite and PostgreSQL, a real HQ server process on loopback,
stations filled through the workflow."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from fieldkit.core.rules import is_shown
from fieldkit.core.station import Station

PHU_THO_COMMUNE = "04795"      # Phường Hòa Bình, current Phú Thọ (25)
NINH_BINH_PROVINCE = "37"
INSPECTION_DATE = date(2025, 9, 1)
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
       b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05"
       b"\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
ANSWERS = {"yes_no": "yes", "number": "1000", "count": "2", "percent": "80",
           "date": "2025-08-01", "text": "ổn"}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(kind, tmp_path, request):
    """An empty HQ database: an SQLite file, or a fresh PostgreSQL schema (dropped after)."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'hq.db'}"
    base = sa.engine.make_url(request.getfixturevalue("pg_url"))
    schema = f"fk_sync_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))

    def drop():
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    request.addfinalizer(drop)
    return base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


@pytest.fixture(params=["sqlite", "postgres"])
def hq_db(request, tmp_path):
    return database_url(request.param, tmp_path, request)


@pytest.fixture
def sqlite_hq_db(tmp_path):
    return f"sqlite:///{tmp_path / 'hq.db'}"


class HQServer:
    """``fieldkit hq serve`` in its own process, on a free loopback port."""

    def __init__(self, db, blobs, port=None):
        self.db, self.blobs = db, blobs
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        env = {**os.environ, "FIELDKIT_HQ_BLOBS": str(self.blobs)}
        self.log = Path(self.blobs).with_name(f"hq-serve-{self.port}.log")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:  # a file, not a pipe: the request log never blocks
            self.process = subprocess.Popen(
                [sys.executable, "-m", "fieldkit.cli", "hq", "serve", "--db", self.db,
                 "--host", "127.0.0.1", "--port", str(self.port), "--public-url", self.url],
                env=env, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("hq serve exited: " + self.log.read_text()[-2000:])
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/openapi.json", timeout=2):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("hq serve did not start within 60 s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def open_station(path):
    station = Station(path)
    station.init(author="Trưởng đoàn")
    return station


def fill_inspection(station, unit=PHU_THO_COMMUNE, on=INSPECTION_DATE, evidence=True,
                    submit=True, team="Đoàn 1"):
    """An inspection of the baseline commune checklist with every shown item answered (one
    with a photo as evidence); submitted unless ``submit`` is False."""
    flow = station.workflow()
    inspection = flow.new_inspection(unit, "commune", "vn.baseline.commune", on=on, team=team,
                                     inspectors=["Nguyễn Văn A"])
    checklist = flow.checklist_of(inspection)
    photo = None
    if evidence:
        photo = flow.add_evidence(inspection["id"], PNG, filename="anh.png", caption="Bảng tin")
    for item in checklist.items:
        if not is_shown(item, flow.answers(inspection["id"])):
            continue
        kind = item["answer"]["type"]
        value = ANSWERS.get(kind)
        if kind == "choice":
            value = item["answer"]["choices"][0]["code"]
        if value is None:
            continue
        ids = [photo["id"]] if photo and item["code"] == "LD02" else ()
        flow.answer(inspection["id"], item["code"], value, evidence=ids)
    if submit:
        flow.submit(inspection["id"])
    return flow.inspection(inspection["id"])


def test_helpers_fill_a_submittable_inspection(tmp_path):
    station = open_station(tmp_path / "station")
    try:
        inspection = fill_inspection(station)
        assert inspection["status"] == "submitted"
        assert inspection["province_code"] == "25"
    finally:
        station.close()


NINH_BINH_COMMUNE = "13285"    # Phường Phủ Lý, current Ninh Bình (37)


class InProcessClient:
    """``sync.client.HQClient`` over Flask's test client (no sockets): same requests, same
    answers, errors turned into the same exceptions."""

    def __init__(self, app, token=None):
        self.app, self.token = app, token
        self.http = app.test_client()

    def request(self, method, path, body=None, data=None, content_type=None):
        import json as _json

        from fieldkit.sync.client import HQClient
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        kwargs = {"json": body} if body is not None else {"data": data,
                                                           "content_type": content_type}
        response = self.http.open("/api/v1" + path, method=method, headers=headers, **kwargs)
        if response.status_code >= 400:
            class _Failure:
                code = response.status_code
                reason = response.status

                @staticmethod
                def read():
                    return response.data
            raise HQClient._refused(None, _Failure)
        return _json.loads(response.data)

    from fieldkit.sync.client import HQClient as _Base
    enroll = _Base.enroll
    device = _Base.device
    push = _Base.push
    push_encoded = _Base.push_encoded
    changes = _Base.changes
    missing_blobs = _Base.missing_blobs
    upload_blob = _Base.upload_blob
    del _Base


def make_hq_app(db_url, tmp_path):
    from fieldkit.core.store.sql import SQLStore
    from fieldkit.web.hq import create_hq_app
    store = SQLStore(db_url)
    app = create_hq_app({"store": store, "blobs": str(tmp_path / "hqdata"),
                         "public_url": "http://hq.test", "secret_key": "test"})
    return app, store


def issue(store, team="Đoàn 1", provinces=("25",), campaign="ctr-72-2024", **options):
    from fieldkit.core.plugins import get_plugin_manager
    from fieldkit.core.units import load_unit_registry
    from fieldkit.sync.enrollment import issue_code
    units = _units_cache.get("units")
    if units is None:
        units = _units_cache["units"] = load_unit_registry(get_plugin_manager())
    return issue_code(store, units, team, list(provinces), campaign_id=campaign,
                      hq_url="http://hq.test", **options)


_units_cache = {}


def enroll_store(app, store, field_store, **options):
    """Enroll a field store through the API; returns a client carrying its token."""
    from fieldkit.sync.client import enroll
    issued = issue(store, **options)
    enroll(field_store, issued["code"], client_factory=lambda url: InProcessClient(app))
    return InProcessClient(app, field_store.get_meta("sync.enrollment")["token"])
