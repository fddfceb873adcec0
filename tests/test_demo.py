"""``fieldkit demo``: the newcomer's scripted path, end to end, through real servers.

Start the demo, fill an inspection through the field station's HTTP API (with a photo and a
recommendation), submit, press Sync, review at HQ, download the report, see the decision
come back to the field, then stop the demo and check it cleaned up."""

import http.cookiejar
import io
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest
from docx import Document
from PIL import Image

from fieldkit.core.plugins import get_plugin_manager
from fieldkit.core.checklists import load_checklist_registry

VALUES = {"yes_no": "yes", "count": "6", "number": "1000", "percent": "80",
          "date": "2024-03-01", "text": "Đầy đủ"}


class Browser:
    """A cookie-keeping HTTP client that sends the session's CSRF token, like the page."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = None

    def open(self, url, data=None, method=None, headers=None):
        request = urllib.request.Request(url if url.startswith("http") else self.base + url,
                                         data=data, method=method, headers=headers or {})
        if self.csrf and method not in (None, "GET"):
            request.add_header("X-CSRF-Token", self.csrf)
        with self.opener.open(request, timeout=60) as response:
            return response.status, response.read()

    def json(self, method, path, body):
        status, data = self.open(path, json.dumps(body).encode(), method,
                                 {"Content-Type": "application/json"})
        return status, json.loads(data)

    def upload(self, path, fields, filename, content):
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                 .encode() for k, v in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'.encode()
                     + content + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        status, data = self.open(path, body, "POST",
                                 {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        return status, json.loads(data)


def fieldkit(*args, env=None):
    result = subprocess.run([sys.executable, "-m", "fieldkit.cli", *args], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def demo(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "fieldkit.cli", "demo", "--no-browser",
                                "--hq-port", "0", "--field-port", "0", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    line = process.stdout.readline()
    if not line:
        process.kill()
        pytest.fail("demo did not start: " + process.stderr.read()[-2000:])
    info = json.loads(line)
    yield info, process
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)


def test_demo_scripted_path(demo, tmp_path):
    info, process = demo
    assert Path(info["data_dir"]).is_dir() and len(info["inspections"]) == 3
    field = Browser(info["field_url"])
    with pytest.raises(urllib.error.HTTPError) as refused:
        field.open("/")
    assert refused.value.code == 401
    status, page = field.open(info["lead_url"])
    assert status == 200
    field.csrf = re.search(rb'name="csrf-token" content="([^"]+)"', page).group(1).decode()

    inspection_id = info["inspections"][0]  # Ninh Bình, untouched
    checklist = load_checklist_registry(get_plugin_manager(load_entrypoints=False)).get(
        "vn.baseline.commune", version="1.0.0")
    photo = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(photo, "PNG")
    status, uploaded = field.upload(f"/api/inspections/{inspection_id}/evidence",
                                    {"item": "BI03", "caption": "Bảng niêm yết"}, "niem-yet.png",
                                    photo.getvalue())
    assert status == 201 and uploaded["evidence"]["media_type"] == "image/png"
    hidden, flagged = set(), set()
    for item in checklist.items:
        if not item["required"] or item["code"] in hidden:
            continue
        value = VALUES.get(item["answer"]["type"]) or item["answer"]["choices"][0]["code"]
        if item["code"] == "KT01":
            value = "3"  # below the legal minimum of 5: flagged
        status, saved = field.json("PUT", f"/api/inspections/{inspection_id}/items/{item['code']}",
                                   {"value": value, "evidence": [uploaded["evidence"]["id"]]
                                    if item["code"] == "BI03" else None})
        assert status == 200 and saved["saved"], saved
        hidden = set(saved["state"]["hidden"])
        if saved["flagged"]:
            flagged.add(item["code"])
    assert "KT01" in flagged
    status, _ = field.json("POST", f"/api/inspections/{inspection_id}/recommendations",
                           {"text": "Bổ sung thành viên Ban Thanh tra nhân dân",
                            "responsible": "UBND xã", "due": "2024-12-31"})
    assert status == 201
    status, _ = field.open(f"/inspections/{inspection_id}/submit",
                           f"csrf_token={field.csrf}".encode(), "POST",
                           {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200

    status, synced = field.json("POST", "/api/sync", {})
    assert status == 200 and synced["pushed"] > 0 and synced["conflicts"] == 0
    assert synced["blobs"] == 1

    db = f"sqlite:///{info['data_dir']}/hq/hq.db"
    received = json.loads(fieldkit("hq", "inspections", "list", "--db", db, "--json"))
    assert {"id": inspection_id, "status": "submitted"}.items() <= \
        next(r for r in received if r["id"] == inspection_id).items()
    fieldkit("hq", "review", inspection_id, "--approve", "--comment", "Đạt yêu cầu", "--db", db)
    report = tmp_path / "bao-cao.docx"
    fieldkit("hq", "report", "inspection", inspection_id, "--format", "docx", "--out",
             str(report), "--db", db)
    document = Document(report)
    text = "\n".join([p.text for p in document.paragraphs] + [
        cell.text for table in document.tables for row in table.rows for cell in row.cells])
    assert "ĐẢNG CỘNG SẢN VIỆT NAM" in text and "Bổ sung thành viên Ban Thanh tra" in text

    status, synced = field.json("POST", "/api/sync", {})
    assert synced["pulled"] > 0
    state = json.loads(field.open(f"/api/inspections/{inspection_id}/state")[1])
    assert state["status"] == "approved"

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert "demo stopped" in process.stderr.read()
    assert not Path(info["data_dir"]).exists()
