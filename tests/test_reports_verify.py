"""Verification of issued documents: the QR code printed on a report encodes HQ's verify URL
for that report, and the public page confirms what HQ issued — or says plainly that a file
was changed or that an id is unknown.

No QR decoder is installed (zxing, pyzbar, cv2), so the QR is checked honestly another way:
the PNG embedded in the document is sampled module by module and compared with the module
matrix ``qrcode`` makes from the URL the test expects (HQ's address + the issued id)."""

import hashlib
import io
import zipfile

import pytest
import qrcode
from docx import Document
from flask import Flask
from PIL import Image

from fieldkit.core.reporting import issue as issuing
from fieldkit.core.reporting import sample
from fieldkit.web.hq import reports

PUBLIC = "https://hq.example.vn"


@pytest.fixture(scope="module")
def hq(tmp_path_factory):
    seeded = sample.sample_hq(tmp_path_factory.mktemp("verify"))
    ids, store = seeded.pop("ids"), seeded["store"]
    services = seeded
    app = Flask("hq-test")
    app.config["FIELDKIT_PUBLIC_URL"] = PUBLIC
    reports.init_app(app, login_required=lambda view: view, services=services)
    yield {"client": app.test_client(), "ids": ids, **services}
    store.close()


@pytest.fixture(scope="module")
def issued_docx(hq):
    response = hq["client"].get(f"/reports/inspections/{hq['ids'][2]}.docx?number=9")
    assert response.status_code == 200
    return response.headers["X-Report-Id"], response.data


def qr_matrix_from_png(png):
    """The dark/light modules of a QR code image (quiet zone included), read at each
    module's centre. The module size comes from the top-left finder pattern: its top edge is
    a run of 7 dark modules."""
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.width == image.height
    dark = [x for x in range(image.width) if image.getpixel((x, x)) < 128]
    start = dark[0]  # the finder's corner, on the diagonal
    run = 0
    while image.getpixel((start + run, start)) < 128:
        run += 1
    box = run // 7
    assert box * 7 == run and start % box == 0 and image.width % box == 0
    modules = image.width // box
    return [[image.getpixel((c * box + box // 2, r * box + box // 2)) < 128
             for c in range(modules)] for r in range(modules)]


def expected_matrix(url, border=2):
    code = qrcode.QRCode(border=border)
    code.add_data(url)
    code.make(fit=True)
    return code.get_matrix()


def test_the_qr_on_the_docx_encodes_the_verify_url(hq, issued_docx):
    report_id, data = issued_docx
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        pngs = [archive.read(n) for n in archive.namelist()
                if n.startswith("word/media/") and archive.read(n)[:8] == b"\x89PNG\r\n\x1a\n"]
    assert len(pngs) == 1  # the QR (photos are embedded as JPEG)
    url = f"{PUBLIC}/verify/{report_id}"
    matrix = qr_matrix_from_png(pngs[0])
    assert matrix == expected_matrix(url)
    other = report_id[:-1] + ("1" if report_id[-1] == "0" else "0")
    assert matrix != expected_matrix(f"{PUBLIC}/verify/{other}")  # the matrix is specific
    # the same URL is printed under the code, and recorded at HQ
    text = "\n".join(p.text for t in Document(io.BytesIO(data)).tables
                     for c in t._cells for p in c.paragraphs)
    assert f"Kiểm tra tại: {url}" in text
    assert issuing.lookup(hq["store"], report_id)["url"] == url


def test_the_html_print_view_carries_the_same_qr(hq):
    response = hq["client"].get(f"/reports/inspections/{hq['ids'][0]}.html")
    report_id = response.headers["X-Report-Id"]
    html = response.data.decode()
    start = html.index('src="data:image/png;base64,') + len('src="data:image/png;base64,')
    import base64
    png = base64.b64decode(html[start:html.index('"', start)])
    assert qr_matrix_from_png(png) == expected_matrix(f"{PUBLIC}/verify/{report_id}")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_the_record_holds_the_hash_of_the_file(hq, issued_docx):
    report_id, data = issued_docx
    record = issuing.lookup(hq["store"], report_id)
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["unit"] == "phường Thái Bình, tỉnh Hòa Bình (nay thuộc tỉnh Phú Thọ)"
    assert record["number"] == "Số 9-BC/BCĐTW"


def test_verify_page_shows_what_hq_issued_and_nothing_more(hq, issued_docx):
    report_id, data = issued_docx
    response = hq["client"].get(f"/verify/{report_id}")
    page = response.data.decode()
    assert response.status_code == 200
    assert "Văn bản do Ban Chỉ đạo Trung ương phát hành" in page
    assert ("Báo cáo kết quả kiểm tra việc thực hiện dân chủ ở cơ sở tại phường Thái Bình, "
            "tỉnh Hòa Bình (nay thuộc tỉnh Phú Thọ)") in page
    assert hashlib.sha256(data).hexdigest() in page
    assert "9-BC" not in page and "Ninh Nhất" not in page  # title, unit, date, hash only
    body = hq["client"].get(f"/verify/{report_id}?format=json").get_json()
    assert set(body) == {"id", "known", "title", "unit", "date", "sha256"}


def test_the_right_hash_matches_and_a_changed_one_does_not(hq, issued_docx):
    report_id, data = issued_docx
    client = hq["client"]
    good = client.get(f"/verify/{report_id}?sha256={hashlib.sha256(data).hexdigest().upper()}")
    assert 'data-result="match"' in good.data.decode() and "KHỚP" in good.data.decode()
    changed = data[:-1] + bytes([data[-1] ^ 1])
    bad = client.get(f"/verify/{report_id}?sha256={hashlib.sha256(changed).hexdigest()}")
    assert bad.status_code == 200 and 'data-result="mismatch"' in bad.data.decode()
    assert "KHÔNG KHỚP" in bad.data.decode()
    assert client.get(f"/verify/{report_id}?sha256=xyz").status_code == 400
    json_bad = client.get(f"/verify/{report_id}?format=json&sha256={'0' * 64}").get_json()
    assert json_bad["match"] is False


def test_a_file_can_be_checked_by_upload(hq, issued_docx):
    report_id, data = issued_docx
    client = hq["client"]
    same = client.post(f"/verify/{report_id}",
                       data={"file": (io.BytesIO(data), "bao-cao.docx")},
                       content_type="multipart/form-data")
    assert 'data-result="match"' in same.data.decode()
    edited = client.post(f"/verify/{report_id}",
                         data={"file": (io.BytesIO(data + b" "), "bao-cao-sua.docx")},
                         content_type="multipart/form-data")
    assert 'data-result="mismatch"' in edited.data.decode()
    assert "bao-cao-sua.docx" in edited.data.decode()


@pytest.mark.parametrize("report_id", ["01a22222-0000-7000-8000-000000000000", "khong-co",
                                       "'; DROP TABLE meta; --"])
def test_an_unknown_id_is_reported_as_such(hq, report_id):
    response = hq["client"].get(f"/verify/{report_id}")
    assert response.status_code == 404
    page = response.data.decode()
    assert "Không tìm thấy văn bản" in page and "không được xác thực" in page
    assert hq["client"].get(f"/verify/{report_id}?format=json").get_json()["known"] is False


def test_verification_is_public_but_the_rest_needs_sign_in(hq, issued_docx):
    report_id, _data = issued_docx
    app = Flask("hq-guarded")

    def refuse(view):
        return lambda *a, **k: ("sign in first", 401)

    reports.init_app(app, login_required=refuse, services={
        key: hq[key] for key in ("store", "blobs", "pm", "units", "checklists")})
    client = app.test_client()
    assert client.get(f"/verify/{report_id}").status_code == 200
    assert client.get("/reports/dashboard.css").status_code == 200
    for url in ("/dashboard", f"/reports/inspections/{hq['ids'][0]}.docx",
                "/reports/summary.xlsx?period=2024", "/reports/export.csv"):
        assert client.get(url).status_code == 401, url


def test_with_the_hq_app_the_blueprint_uses_its_sign_in(hq, issued_docx, tmp_path):
    hq_app = pytest.importorskip("fieldkit.web.hq")
    report_id, _data = issued_docx
    app = hq_app.create_hq_app({"store": hq["store"], "blobs": str(tmp_path),
                                "public_url": PUBLIC, "publish_checklists": False})
    if "reports" not in app.blueprints:  # create_hq_app registers it when it can
        reports.init_app(app)
    client = app.test_client()
    assert client.get("/dashboard").status_code == 401
    page = client.get(f"/verify/{report_id}")
    assert page.status_code == 200 and "fieldkit · Trụ sở (HQ)" in page.data.decode()
    from fieldkit.web.hq.ui import login_token
    client.get(f"/login?token={login_token(app.config['SECRET_KEY'])}")
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200 and "Tổng hợp kết quả kiểm tra" in dashboard.data.decode()
    issued = client.get(f"/reports/inspections/{hq['ids'][1]}.docx")
    assert issued.status_code == 200
    assert issuing.lookup(hq["store"], issued.headers["X-Report-Id"])["url"].startswith(PUBLIC)
