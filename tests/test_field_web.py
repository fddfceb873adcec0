"""The field station's web UI through Flask's test client: joining, sessions, CSRF, the
inspection pages and the autosave API, evidence, recommendations, submission, languages."""

import io
import json
import re
import threading
from pathlib import Path

import pytest
from PIL import Image

from fieldkit.core.station import Station
from fieldkit.web.field import create_field_app, field_web

HERE = Path(__file__).parent
PLUGINS = HERE / "plugins" / "field_ui"
WEB = HERE.parent / "web"
FIELD = WEB / "field"
LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}


class Clock:
    """A clock the test moves forward (no sleeping)."""

    def __init__(self, now=1_750_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def station(tmp_path):
    station = Station(tmp_path / "data", plugins_dir=PLUGINS)
    station.init(author="trạm thử")
    yield station
    station.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(station, clock):
    return create_field_app(station, {"TESTING": True, "CLOCK": clock})


class Tablet:
    """A joined browser: a test client with its session cookie and CSRF token."""

    def __init__(self, app, role="member", user_agent="Mozilla/5.0 (Linux; Android 14) Chrome/126"):
        web = field_web(app)
        token = web.issue_lead_token() if role == "lead" else web.issue_join_token()
        self.client = app.test_client()
        self.client.environ_base.update(LOOPBACK, HTTP_USER_AGENT=user_agent)
        response = self.client.get(f"/join?token={token}")
        assert response.status_code == 303
        page = self.client.get("/").get_data(as_text=True)
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url, data=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf)
        return self.client.post(url, data=data, **kwargs)

    def api(self, method, url, body=None, **kwargs):
        return self.client.open(url, method=method, json=body,
                                headers={"X-CSRF-Token": self.csrf}, **kwargs)

    def answer(self, inspection_id, code, value=None, **fields):
        body = {"value": value, **fields}
        return self.api("PUT", f"/api/inspections/{inspection_id}/items/{code}", body)

    def upload(self, inspection_id, data, filename="photo.png", item=None):
        form = {"file": (io.BytesIO(data), filename)}
        if item:
            form["item"] = item
        return self.client.post(f"/api/inspections/{inspection_id}/evidence", data=form,
                                headers={"X-CSRF-Token": self.csrf},
                                content_type="multipart/form-data")


@pytest.fixture
def tablet(app):
    return Tablet(app)


@pytest.fixture
def lead(app):
    return Tablet(app, role="lead", user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")


def new_inspection(tablet, unit="04792", on="2025-08-01", checklist="test.field-ui@1.0.0"):
    response = tablet.post("/inspections/new", {"unit": unit, "date": on, "unit_kind": "commune",
                                                "checklist": checklist, "team": "Đoàn số 1",
                                                "inspectors": "Nguyễn Văn An\nTrần Thị Bình"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[-1]


@pytest.fixture
def inspection(tablet):
    return new_inspection(tablet)


def png(color="red", size=(640, 480)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def state(tablet, inspection_id):
    response = tablet.get(f"/api/inspections/{inspection_id}/state")
    assert response.status_code == 200
    return response.get_json()


# --- joining, sessions, CSRF -----------------------------------------------------------


@pytest.mark.parametrize("method,url", [
    ("GET", "/"), ("GET", "/inspections/new"), ("GET", "/admin/sessions"),
    ("GET", "/admin/join"), ("GET", "/api/inspections/x/state"),
    ("PUT", "/api/inspections/x/items/A1"), ("POST", "/inspections/new"),
])
def test_no_session_is_refused_even_from_loopback(app, method, url):
    client = app.test_client()
    response = client.open(url, method=method, environ_base=LOOPBACK)
    assert response.status_code == 401
    if url.startswith("/api/"):
        assert "error" in response.get_json()
    else:
        assert "quét mã QR" in response.get_data(as_text=True)


def test_join_with_token_opens_a_session_with_a_strict_cookie(app):
    token = field_web(app).issue_join_token()
    client = app.test_client()
    response = client.get(f"/join?token={token}", environ_base=LOOPBACK)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/").status_code == 200
    # the team's token serves every tablet of the team while it is valid
    other = app.test_client()
    assert other.get(f"/join?token={token}").status_code == 303
    assert other.get("/").status_code == 200


def test_lead_token_is_one_time(app):
    token = field_web(app).issue_lead_token()
    assert app.test_client().get(f"/join?token={token}").status_code == 303
    second = app.test_client()
    assert second.get(f"/join?token={token}").status_code == 401
    assert second.get("/").status_code == 401


def test_unknown_and_expired_tokens_are_refused(app, clock):
    client = app.test_client()
    assert client.get("/join?token=not-a-token").status_code == 401
    assert client.get("/join").status_code == 401
    token = field_web(app).issue_join_token()
    clock.now += app.config["JOIN_TOKEN_TTL"] + 1
    response = client.get(f"/join?token={token}")
    assert response.status_code == 401
    assert "hết hạn" in response.get_data(as_text=True)
    assert client.get("/").status_code == 401


def test_a_fresh_join_code_replaces_the_old_one(lead, app):
    old = field_web(app).issue_join_token()
    page = lead.get("/admin/join").get_data(as_text=True)
    assert "<svg" in page and f"/join?token={old}" in page
    assert lead.post("/admin/join").status_code == 303
    assert app.test_client().get(f"/join?token={old}").status_code == 401
    new = field_web(app).current_join[0]
    assert new != old and app.test_client().get(f"/join?token={new}").status_code == 303


def test_session_ends_after_inactivity(tablet, app, clock):
    assert tablet.get("/").status_code == 200
    clock.now += app.config["SESSION_IDLE_SECONDS"] - 60
    assert tablet.get("/").status_code == 200  # activity keeps it alive
    clock.now += app.config["SESSION_IDLE_SECONDS"] + 1
    assert tablet.get("/").status_code == 401


def test_lead_lists_and_ends_sessions(lead, tablet):
    page = lead.get("/admin/sessions").get_data(as_text=True)
    assert "Android · Chrome" in page and "Linux · Firefox" in page
    member = re.search(r'data-session="([^"]+)">\s*<td>Android', page).group(1)
    assert lead.post(f"/admin/sessions/{member}/end").status_code == 303
    assert tablet.get("/").status_code == 401
    page = lead.get("/admin/sessions").get_data(as_text=True)
    assert "Android" not in page and "Linux · Firefox" in page


def test_members_cannot_use_the_lead_pages(tablet):
    assert tablet.get("/admin/sessions").status_code == 403
    assert tablet.post("/admin/join").status_code == 403


def test_logout_ends_the_session(tablet):
    assert tablet.post("/logout").status_code == 303
    assert tablet.get("/").status_code == 401


def test_state_changes_need_the_csrf_token(tablet, inspection):
    form = {"unit": "04792", "date": "2025-08-01", "unit_kind": "commune",
            "checklist": "test.field-ui@1.0.0"}
    assert tablet.client.post("/inspections/new", data=form).status_code == 403
    assert tablet.client.post("/inspections/new",
                              data={**form, "csrf_token": "forged"}).status_code == 403
    url = f"/api/inspections/{inspection}/items/A1"
    assert tablet.client.put(url, json={"value": "yes"}).status_code == 403
    response = tablet.client.put(url, json={"value": "yes"}, headers={"X-CSRF-Token": "x"})
    assert response.status_code == 403 and "CSRF" in response.get_json()["error"]
    assert "A1" not in state(tablet, inspection)["findings"]
    assert tablet.answer(inspection, "A1", "yes").status_code == 200


def test_security_headers(tablet):
    response = tablet.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


# --- inspections -----------------------------------------------------------------------


def test_new_inspection_of_a_phu_tho_commune_that_came_from_hoa_binh(tablet):
    page = tablet.get("/inspections/new?unit=04792&date=2025-08-01&unit_kind=commune")
    html = page.get_data(as_text=True)
    assert "Phường Tân Hòa" in html
    offered = re.findall(r'name="checklist" value="([^"]+)"', html)
    assert "vn.baseline.commune@2.0.0" in offered
    assert not any(value.endswith("@1.0.0") and "baseline" in value for value in offered)
    inspection_id = new_inspection(tablet, checklist="vn.baseline.commune@2.0.0")
    doc = state(tablet, inspection_id)
    assert doc["status"] == "draft"
    listing = tablet.get("/").get_data(as_text=True)
    assert "Phường Tân Hòa" in listing and "Tỉnh Phú Thọ" in listing
    assert "vn.baseline.commune 2.0.0" in listing


def test_new_inspection_of_a_legacy_hoa_binh_commune_in_2024(tablet):
    html = tablet.get("/inspections/new?unit=04813&date=2024-06-01&unit_kind=commune")\
        .get_data(as_text=True)
    assert "Xã Yên Mông" in html
    assert "vn.baseline.commune@1.0.0" in html and "vn.baseline.commune@2.0.0" not in html
    inspection_id = new_inspection(tablet, unit="04813", on="2024-06-01",
                                   checklist="vn.baseline.commune@1.0.0")
    page = tablet.get(f"/inspections/{inspection_id}").get_data(as_text=True)
    assert "Xã Yên Mông" in page and "Tỉnh Hòa Bình" in page
    assert "chưa xác minh" in page  # LD02's legal basis is not verified


def test_new_inspection_finds_units_by_name_and_reports_bad_codes(tablet):
    html = tablet.get("/inspections/new?unit=Yen+Mong&date=2024-06-01").get_data(as_text=True)
    assert "Xã Yên Mông" in html and "unit=04813" in html
    html = tablet.get("/inspections/new?unit=04813&date=2025-08-01").get_data(as_text=True)
    assert "04813" in html and 'name="checklist"' not in html  # gone after the reform
    response = tablet.post("/inspections/new", {"unit": "04792", "date": "2025-08-01",
                                                "unit_kind": "commune", "checklist": ""})
    assert response.status_code == 400 and "chọn một bảng kiểm" in response.get_data(as_text=True)


def test_fill_page_shows_sections_items_and_inputs(tablet, inspection):
    html = tablet.get(f"/inspections/{inspection}").get_data(as_text=True)
    assert 'data-section-count="A"' in html and 'data-section-count="B"' in html
    assert "Niêm yết công khai dự toán ngân sách xã" in html
    assert "Nghị định 59/2023/NĐ-CP, Điều 5" in html and "chưa xác minh" in html
    assert "Xem bảng tin tại trụ sở." in html
    assert 'type="radio" name="value" value="partial"' in html
    assert 'accept="image/*" capture="environment"' in html
    assert "Còn 5 mục bắt buộc chưa trả lời" in html  # B6 is hidden
    section_b = tablet.get(f"/inspections/{inspection}?section=B").get_data(as_text=True)
    assert 'type="date" name="value"' in section_b and "<textarea name=\"value\"" in section_b
    assert 'id="item-B6"' in section_b and re.search(r'id="item-B6"[^>]*hidden', section_b)


GOOD_AND_BAD = [
    ("A1", "partial", "perhaps", "partial"),
    ("A2", "12", "twelve", 12),
    ("A2", 3, -1, 3),
    ("A3", "radio", "tv", "radio"),
    ("B1", "12,5", 5000, 12.5),
    ("B2", "75%", 120, 75.0),
    ("B3", "2025-07-15", "15/07/2025", "2025-07-15"),
    ("B4", "Người dân đề nghị họp thêm.", "", "Người dân đề nghị họp thêm."),
]


@pytest.mark.parametrize("code,good,bad,stored", GOOD_AND_BAD)
def test_answer_types_good_and_bad(tablet, inspection, code, good, bad, stored):
    refused = tablet.answer(inspection, code, bad)
    assert refused.status_code == 422
    assert code in refused.get_json()["error"]
    assert code not in state(tablet, inspection)["findings"]  # nothing saved
    saved = tablet.answer(inspection, code, good)
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert body["saved"] and body["message"] == "Đã lưu"
    assert state(tablet, inspection)["findings"][code]["value"] == stored


def test_answer_errors_speak_the_users_language(tablet, inspection):
    vi = tablet.answer(inspection, "A2", "abc").get_json()["error"]
    assert vi == "A2: cần một số nguyên, không phải «abc»."
    en = tablet.api("PUT", f"/api/inspections/{inspection}/items/A2?lang=en",
                    {"value": "abc"}).get_json()["error"]
    assert en == "A2: expected a whole number, not “abc”."


def test_extras_and_notes_are_saved(tablet, inspection):
    body = tablet.answer(inspection, "A2", "4", extras={"date": "2025-06-30"},
                         note="Theo biên bản").get_json()
    assert body["finding"]["extras"] == {"date": "2025-06-30"}
    assert body["finding"]["note"] == "Theo biên bản"
    bad = tablet.answer(inspection, "A2", "4", extras={"date": "hôm qua"})
    assert bad.status_code == 422 and "A2" in bad.get_json()["error"]


def test_flags_come_back_with_the_answer(tablet, inspection):
    flagged = tablet.answer(inspection, "A2", 1).get_json()
    assert flagged["flagged"] is True
    assert flagged["state"]["flagged"] == ["A2"]
    section = {s["code"]: s for s in flagged["state"]["sections"]}["A"]
    assert section["flagged"] == 1
    rev = flagged["rev"]
    clean = tablet.answer(inspection, "A2", 5, expected_rev=rev).get_json()
    assert clean["flagged"] is False and clean["state"]["flagged"] == []


def test_skip_logic_hides_and_shows_items(tablet, inspection):
    assert "B6" in state(tablet, inspection)["state"]["hidden"]
    refused = tablet.answer(inspection, "B6", "yes")
    assert refused.status_code == 400 and "B6" in refused.get_json()["error"]
    shown = tablet.answer(inspection, "A1", "yes").get_json()["state"]
    assert "B6" not in shown["hidden"] and "B6" in shown["missing_required"]
    assert tablet.answer(inspection, "B6", "yes").status_code == 200
    rev = state(tablet, inspection)["findings"]["A1"]["rev"]
    hidden = tablet.answer(inspection, "A1", "no", expected_rev=rev).get_json()["state"]
    assert "B6" in hidden["hidden"] and "B6" not in hidden["missing_required"]


def test_clearing_an_answer(tablet, inspection):
    rev = tablet.answer(inspection, "A3", "board").get_json()["rev"]
    cleared = tablet.api("DELETE", f"/api/inspections/{inspection}/items/A3",
                         {"expected_rev": rev})
    assert cleared.status_code == 200 and cleared.get_json()["cleared"]
    assert "A3" not in state(tablet, inspection)["findings"]


def test_unknown_inspection_and_item_are_404(tablet, inspection):
    response = tablet.get("/api/inspections/nope/state")
    assert response.status_code == 404 and "nope" in response.get_json()["error"]
    assert tablet.get("/inspections/nope").status_code == 404
    response = tablet.answer(inspection, "ZZ9", "yes")
    assert response.status_code == 404 and "ZZ9" in response.get_json()["error"]


def test_the_form_fallback_saves_and_shows_errors_next_to_the_item(tablet, inspection):
    saved = tablet.post(f"/inspections/{inspection}/items/A2", {"value": "7", "extra_date": ""})
    assert saved.status_code == 303 and saved.headers["Location"].endswith("#item-A2")
    assert state(tablet, inspection)["findings"]["A2"]["value"] == 7
    refused = tablet.post(f"/inspections/{inspection}/items/A2", {"value": "bảy"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    item = html[html.index('id="item-A2"'):]
    item = item[:item.index("</article>")]
    assert "A2: cần một số nguyên" in item


# --- evidence --------------------------------------------------------------------------


def test_photo_upload_is_linked_and_has_a_thumbnail(tablet, inspection, app):
    response = tablet.upload(inspection, png(), "bảng tin.png", item="B5")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    evidence = body["evidence"]
    assert evidence["media_type"] == "image/png" and evidence["item"] == "B5"
    assert body["finding"]["value"] == [evidence["id"]]  # the photo item is answered
    thumbnail = tablet.get(evidence["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(thumbnail.data))
    assert max(image.size) <= app.config["THUMBNAIL_SIZE"]
    original = tablet.get(evidence["file_url"])
    assert original.status_code == 200 and original.data == png()
    page = tablet.get(f"/inspections/{inspection}?section=B").get_data(as_text=True)
    assert evidence["thumbnail_url"] in page
    assert app.test_client().get(evidence["thumbnail_url"]).status_code == 401


def test_upload_to_an_answered_item_links_it(tablet, inspection):
    tablet.answer(inspection, "A1", "yes")
    body = tablet.upload(inspection, png("blue"), item="A1").get_json()
    assert body["finding"]["evidence"] == [body["evidence"]["id"]]
    assert body["finding"]["value"] == "yes"


def test_executables_and_oversized_uploads_are_refused(tablet, inspection, station, app):
    exe = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
    response = tablet.upload(inspection, exe, "anh.jpg", item="B5")
    assert response.status_code == 415
    assert "PDF" in response.get_json()["error"]
    assert state(tablet, inspection)["findings"] == {}
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    big = tablet.upload(inspection, png(size=(1, 1)) + b"\x00" * 200_000, item="B5")
    assert big.status_code == 413
    assert "quá lớn" in big.get_json()["error"]
    assert tablet.get(f"/api/inspections/{inspection}/evidence").get_json() == []


# --- escaping, recommendations, submission -----------------------------------------------


def test_user_text_is_escaped(tablet, inspection):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    assert tablet.answer(inspection, "A1", "yes", note=payload).status_code == 200
    tablet.post(f"/inspections/{inspection}/recommendations", {"text": payload})
    for url in (f"/inspections/{inspection}", f"/inspections/{inspection}/recommendations"):
        html = tablet.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(" in html


def test_recommendations(tablet, inspection):
    response = tablet.api("POST", f"/api/inspections/{inspection}/recommendations",
                          {"text": "Niêm yết đủ 30 ngày", "responsible": "UBND xã",
                           "due": "2025-12-31"})
    assert response.status_code == 201 and response.get_json()["status"] == "open"
    added = tablet.post(f"/inspections/{inspection}/recommendations",
                        {"text": "Tổ chức hội nghị nhân dân", "responsible": "", "due": ""})
    assert added.status_code == 303
    html = tablet.get(f"/inspections/{inspection}/recommendations").get_data(as_text=True)
    assert "Niêm yết đủ 30 ngày" in html and "UBND xã" in html and "2025-12-31" in html
    assert "Tổ chức hội nghị nhân dân" in html
    listed = tablet.get(f"/api/inspections/{inspection}/recommendations").get_json()
    assert len(listed) == 2
    refused = tablet.post(f"/inspections/{inspection}/recommendations", {"text": ""})
    assert refused.status_code == 422
    bad_date = tablet.post(f"/inspections/{inspection}/recommendations",
                           {"text": "x", "due": "mai"})
    assert bad_date.status_code == 422


def test_submit_is_refused_with_the_missing_items_then_accepted(tablet, inspection):
    tablet.answer(inspection, "A1", "yes")
    refused = tablet.post(f"/inspections/{inspection}/submit")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    for code in ("A2", "A3", "B2", "B3", "B6"):
        assert f"#item-{code}" in html
    assert "Chưa nộp được: còn 5 mục" in html
    for code, value in (("A2", 1), ("A3", "board"), ("B2", 80), ("B3", "2025-07-01"),
                        ("B6", "no")):
        assert tablet.answer(inspection, code, value).status_code == 200
    step = tablet.get(f"/inspections/{inspection}/submit").get_data(as_text=True)
    assert "Đã trả lời đủ các mục bắt buộc" in step and "A2" in step  # the flag is listed
    done = tablet.post(f"/inspections/{inspection}/submit")
    assert done.status_code == 303
    assert state(tablet, inspection)["status"] == "submitted"
    locked = tablet.answer(inspection, "B4", "muộn")
    assert locked.status_code == 400
    assert "disabled" in tablet.get(f"/inspections/{inspection}").get_data(as_text=True)


# --- concurrency -------------------------------------------------------------------------


def test_two_tablets_answer_different_items_at_once(app, inspection):
    first, second = Tablet(app), Tablet(app)
    items = {first: [("A1", "yes"), ("A3", "board"), ("B2", 60)],
             second: [("A2", 4), ("B3", "2025-07-02"), ("B4", "ghi chép")]}
    barrier = threading.Barrier(2)
    results = []

    def work(tablet):
        barrier.wait()
        for code, value in items[tablet]:
            results.append(tablet.answer(inspection, code, value, expected_rev=None).status_code)

    threads = [threading.Thread(target=work, args=(t,)) for t in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 6
    assert set(state(first, inspection)["findings"]) == {"A1", "A2", "A3", "B2", "B3", "B4"}


def test_a_stale_revision_of_the_same_item_is_a_conflict(app, inspection):
    first, second = Tablet(app), Tablet(app)
    rev = first.answer(inspection, "A2", 3, expected_rev=None).get_json()["rev"]
    assert second.answer(inspection, "A2", 9, expected_rev=rev).status_code == 200
    stale = first.answer(inspection, "A2", 4, expected_rev=rev)
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["current"]["value"] == 9 and "A2" in body["error"] and "9" in body["error"]
    both_new = second.answer(inspection, "A3", "board", expected_rev=None)
    assert both_new.status_code == 200
    late = first.answer(inspection, "A3", "radio", expected_rev=None)
    assert late.status_code == 409 and late.get_json()["current"]["value"] == "board"
    assert state(first, inspection)["findings"]["A2"]["value"] == 9


# --- languages, translations, assets -------------------------------------------------------


def test_language_switch(tablet):
    assert "Các cuộc kiểm tra" in tablet.get("/").get_data(as_text=True)
    english = tablet.get("/?lang=en")
    assert "lang=en" in english.headers["Set-Cookie"]
    html = tablet.get("/").get_data(as_text=True)  # remembered by the cookie
    assert "Inspections" in html and "New inspection" in html and 'lang="en"' in html
    assert "Các cuộc kiểm tra" not in html
    assert "Các cuộc kiểm tra" in tablet.get("/?lang=vi").get_data(as_text=True)
    refused = tablet.client.application.test_client().get("/?lang=en")
    assert refused.status_code == 401 and "Scan the QR code" in refused.get_data(as_text=True)


def _catalog(lang):
    return json.loads((FIELD / "translations" / f"{lang}.json").read_text(encoding="utf-8"))


def test_translation_files_have_the_same_keys():
    vi, en = _catalog("vi"), _catalog("en")
    assert set(vi) == set(en)
    assert all(value.strip() for value in [*vi.values(), *en.values()])
    placeholders = re.compile(r"\{(\w+)\}")
    for key in vi:
        assert set(placeholders.findall(vi[key])) == set(placeholders.findall(en[key])), key


def test_every_key_the_code_uses_is_translated(app):
    vi = _catalog("vi")
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}  # url_for('auth.join')
    groups = {key.split(".", 1)[0] for key in vi}
    sources = [p.read_text(encoding="utf-8") for folder in (FIELD, WEB / "common")
               for p in folder.rglob("*") if p.suffix in (".html", ".py")]
    literals = {found for text in sources
                for found in re.findall(r"['\"]([a-z_]+(?:\.[a-z_0-9]+)*\.?)['\"]", text)}
    keys = {key for key in literals if "." in key and key.split(".", 1)[0] in groups
            and not key.endswith((".html", ".css", ".js", ".json"))} - endpoints
    assert len(keys) > 150
    for key in keys:
        if key.endswith("."):  # a prefix completed in the template: t('status.' ~ status)
            assert any(other.startswith(key) for other in vi), key
        else:
            assert key in vi, f"{key} is used but not translated"


def test_no_external_urls_in_templates_and_static_files():
    external = re.compile(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|@import|url\(\s*['\"]?(https?:|//)",
                          re.IGNORECASE)
    files = [p for p in FIELD.rglob("*") if p.suffix in (".html", ".css", ".js")]
    assert len(files) >= 8
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not external.search(text), f"{path.name}: {external.search(text).group(0)}"
        for link in re.findall(r'\b(?:href|src|action)="([^"]*)"', text):
            assert link.startswith(("{{", "#", "data:,")), f"{path.name}: {link}"


def test_pages_render_in_both_languages(tablet, lead, inspection):
    for lang in ("vi", "en"):
        for url in ("/", "/inspections/new?unit=04792&date=2025-08-01",
                    f"/inspections/{inspection}", f"/inspections/{inspection}?section=B",
                    f"/inspections/{inspection}/evidence",
                    f"/inspections/{inspection}/recommendations",
                    f"/inspections/{inspection}/submit"):
            response = tablet.get(f"{url}{'&' if '?' in url else '?'}lang={lang}")
            assert response.status_code == 200, url
        assert lead.get(f"/admin/sessions?lang={lang}").status_code == 200


# --- serving ---------------------------------------------------------------------------


def test_serve_prints_a_one_time_url_and_the_join_code(station):
    import http.client
    from fieldkit.web.field import serve as serve_module
    out = io.StringIO()
    started = threading.Event()
    servers = []

    def ready(server):
        servers.append(server)
        started.set()

    thread = threading.Thread(target=serve_module.serve, args=(station,),
                              kwargs={"host": "127.0.0.1", "port": 0, "open_browser": False,
                                      "out": out, "ready": ready}, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        text = out.getvalue()
        port, token = re.search(r"http://127\.0\.0\.1:(\d+)/join\?token=(\S+)", text).groups()
        statuses = []
        for _ in range(2):
            connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
            connection.request("GET", f"/join?token={token}")
            statuses.append(connection.getresponse().status)
            connection.close()
        assert statuses == [303, 401]  # the lead's URL works once
    finally:
        servers[0].shutdown()
        thread.join(10)
    assert "one-time" in text and text.count("/join?token=") == 2
    assert "█" in text or "#" in text  # the QR code drawn in the terminal


def test_lan_addresses_never_include_loopback():
    from fieldkit.web.common.security import lan_addresses
    assert all(not address.startswith("127.") for address in lan_addresses())
