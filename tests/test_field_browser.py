"""The field station in a real browser (Debian chromium driven by Playwright) at tablet size:
joining, a new inspection, autosave with flags and skip logic, a camera photo, a
recommendation, a refused then accepted submission; screenshots at 768 and 1280 px."""

import io
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from werkzeug.serving import make_server

from fieldkit.core.station import Station
from fieldkit.web.field import create_field_app, field_web

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PLUGINS = Path(__file__).parent / "plugins" / "field_ui"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT = 10_000


@pytest.fixture
def live_station(tmp_path):
    """The field app on a real threaded server on 127.0.0.1, on a free port."""
    station = Station(tmp_path / "data", plugins_dir=PLUGINS)
    station.init()
    app = create_field_app(station)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)
    station.close()


@pytest.fixture
def browser(chromium_path):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def photo_file(tmp_path):
    image = Image.new("RGB", (800, 600), "#2d6a4f")
    draw = ImageDraw.Draw(image)
    draw.rectangle((120, 100, 680, 500), fill="#f1faee")
    draw.text((160, 140), "BANG TIN XA", fill="#1d3557")
    path = tmp_path / "bang-tin.jpg"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def test_a_tablet_fills_and_submits_an_inspection(live_station, browser, tmp_path):
    from playwright.sync_api import expect
    app, base = live_station
    context = browser.new_context(viewport={"width": 768, "height": 1024}, locale="vi-VN")
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    # Script errors and CSP violations ("Refused to ..."); a refused request (401, 422) is
    # logged by the browser as "Failed to load resource" and is part of the scenario.
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load")
            else None)

    # Without a session: refused.
    refused = page.goto(f"{base}/")
    assert refused.status == 401
    expect(page.locator(".error-message")).to_contain_text("chưa tham gia")

    # The team's QR link opens a session.
    page.goto(f"{base}/join?token={field_web(app).issue_join_token()}")
    assert page.url == f"{base}/"
    expect(page.locator("h1")).to_have_text("Các cuộc kiểm tra")

    # A new inspection of a Phú Thọ ward that came from Hòa Bình.
    page.get_by_role("link", name="+ Cuộc kiểm tra mới").click()
    page.fill("#unit", "04792")
    page.fill("#date", "2025-08-01")
    page.get_by_role("button", name="Tìm bảng kiểm áp dụng").click()
    page.locator("input[value='test.field-ui@1.0.0']").check()
    page.fill("#team", "Đoàn kiểm tra số 1")
    page.get_by_role("button", name="Tạo cuộc kiểm tra").click()
    expect(page.locator(".inspection-head h1")).to_contain_text("Phường Tân Hòa")
    counter = page.locator("[data-open-counter]")
    expect(counter).to_contain_text("Còn 5 mục")

    # A yes/no answer autosaves; skip logic reveals B6 (required) after "yes".
    a1 = page.locator("#item-A1")
    a1.locator("label.choice-yes").click()
    expect(a1.locator("[data-status]")).to_have_text("Đã lưu")
    expect(counter).to_contain_text("Còn 5 mục")  # A1 answered, B6 now shown and open

    # A count that triggers a flag: the flag appears as it is saved.
    a2 = page.locator("#item-A2")
    expect(a2.locator("[data-flag]")).to_be_hidden()
    a2.locator("input[name=value]").fill("1")
    a2.locator("input[name=value]").press("Tab")
    expect(a2.locator("[data-status]")).to_have_text("Đã lưu")
    expect(a2.locator("[data-flag]")).to_be_visible()
    expect(page.locator("[data-section-flags='A']")).to_be_visible()

    # A photo from the camera input, shown as a thumbnail served by the station.
    a1.locator("input.camera-input").set_input_files(str(photo_file(tmp_path)))
    thumbnail = a1.locator("[data-thumbs] img")
    expect(thumbnail).to_have_count(1)
    expect(a1.locator("[data-status]")).to_have_text("Đã lưu minh chứng")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=thumbnail.element_handle())
    page.screenshot(path=str(tmp_path / "fill-768.png"), full_page=True)

    # A recommendation.
    page.get_by_role("link", name="Kiến nghị").click()
    page.fill("#rec-text", "Niêm yết dự toán đủ 30 ngày tại nhà văn hóa các thôn.")
    page.fill("#rec-responsible", "UBND phường Tân Hòa")
    page.fill("#rec-due", "2025-12-31")
    page.get_by_role("button", name="Lưu kiến nghị").click()
    expect(page.locator(".recommendation")).to_contain_text("UBND phường Tân Hòa")

    # Submitting too early: refused, with the missing items listed as links.
    page.get_by_role("link", name="Nộp", exact=True).click()
    page.get_by_role("button", name="Nộp cuộc kiểm tra").click()
    expect(page.locator(".error-message")).to_contain_text("Chưa nộp được")
    missing = page.locator("[data-missing] .code")
    expect(missing).to_have_text(["A3", "B2", "B3", "B6"])

    # Answer them, following the links.
    page.locator("[data-missing] a", has_text="A3").click()
    page.locator("#item-A3 label", has_text="Bảng tin").click()
    expect(page.locator("#item-A3 [data-status]")).to_have_text("Đã lưu")
    page.get_by_role("link", name="Phần sau").click()
    b2 = page.locator("#item-B2 input[name=value]")
    b2.fill("80")
    b2.press("Tab")
    expect(page.locator("#item-B2 [data-status]")).to_have_text("Đã lưu")
    page.locator("#item-B3 input[name=value]").fill("2025-07-01")
    expect(page.locator("#item-B3 [data-status]")).to_have_text("Đã lưu")
    page.locator("#item-B6 label.choice-no").click()
    expect(page.locator("#item-B6 [data-status]")).to_have_text("Đã lưu")
    expect(counter).to_contain_text("Còn 0 mục")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(tmp_path / "fill-1280.png"), full_page=True)

    # Now it goes through.
    page.get_by_role("link", name="Kiểm tra và nộp").click()
    expect(page.locator(".ok-message")).to_contain_text("Đã trả lời đủ")
    page.get_by_role("button", name="Nộp cuộc kiểm tra").click()
    expect(page.locator("[data-submitted]")).to_contain_text("Đã nộp")
    assert app.extensions["fieldkit.field"].station.workflow().inspections()[0]["status"] \
        == "submitted"
    assert problems == []
    context.close()
    print(f"screenshots: {tmp_path / 'fill-768.png'} {tmp_path / 'fill-1280.png'}")
