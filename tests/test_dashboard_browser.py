"""The HQ dashboard in a real browser (Chromium through Playwright) against a real server
thread: server-drawn SVG charts, Vietnamese text, filters that change the figures."""

import threading

import pytest

from fieldkit.core.reporting import sample
from fieldkit.web.hq import reports

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def build_app(store, blobs, pm, units, checklists, folder):
    """The real HQ app with the reports blueprint, as ``create_hq_app`` will register it;
    a bare Flask app with the blueprint when the HQ app is not there. Returns (app, the
    path that signs a browser in)."""
    try:
        from fieldkit.web.hq import create_hq_app
        from fieldkit.web.hq.ui import login_token
    except ImportError:
        from flask import Flask
        app = Flask("hq-dashboard-test")
        reports.init_app(app, login_required=lambda view: view, services={
            "store": store, "blobs": blobs, "pm": pm, "units": units, "checklists": checklists})
        return app, None
    app = create_hq_app({"store": store, "blobs": str(folder), "publish_checklists": False,
                         "public_url": "http://127.0.0.1"})
    if "reports" not in app.blueprints:  # create_hq_app registers it when it can
        reports.init_app(app)
    return app, f"/login?token={login_token(app.config['SECRET_KEY'])}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from werkzeug.serving import make_server
    folder = tmp_path_factory.mktemp("dashboard")
    seeded = sample.sample_hq(folder)
    store, blobs, pm, units, checklists = (seeded[k] for k in
                                           ("store", "blobs", "pm", "units", "checklists"))
    app, login = build_app(store, blobs, pm, units, checklists, folder)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", login
    httpd.shutdown()
    thread.join(5)
    store.close()


@pytest.fixture(scope="module")
def page(server, chromium_path):
    playwright = pytest.importorskip("playwright.sync_api")
    base, login = server
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
        page = context.new_page()
        page.set_default_timeout(15000)
        if login:
            page.goto(base + login)
        yield base, page
        browser.close()


def cards(page):
    return {name: page.locator(f"[data-card={name}]").inner_text()
            for name in ("inspections", "units", "score", "flagged", "overdue")}


def test_charts_and_vietnamese_text(page, tmp_path):
    base, page = page
    response = page.goto(f"{base}/dashboard?period=2024")
    assert response.status == 200
    assert page.locator("h1", has_text="Tổng hợp kết quả kiểm tra").is_visible()
    charts = page.locator("figure svg.chart")
    assert charts.count() == 4
    for index in range(4):
        box = charts.nth(index).bounding_box()
        assert box["width"] > 300 and box["height"] > 50
    assert page.locator("#chart-inspections svg rect[data-series=approved]").count() == 3
    assert page.locator("#chart-scores svg text", has_text="Dân thụ hưởng").is_visible()
    assert page.get_by_text("Kiến nghị quá hạn (tính đến 31/12/2024)").is_visible()
    assert page.locator("#chart-recommendations").get_by_text("Phú Thọ (Hòa Bình cũ)").count()
    assert cards(page) == {"inspections": "7", "units": "6", "score": "65,4", "flagged": "24",
                           "overdue": "4"}
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    page.screenshot(path="/tmp/fieldkit-dashboard.png", full_page=True)


def test_filters_change_the_figures(page):
    base, page = page
    page.goto(f"{base}/dashboard?period=2024")
    everything = cards(page)
    page.select_option("select[name=province]", "25")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**province=25**")
    phu_tho = cards(page)
    assert phu_tho["inspections"] == "2" and phu_tho["units"] == "2"
    assert phu_tho != everything
    assert page.locator("#chart-inspections svg g.bar").count() == 1
    page.select_option("select[name=period]", "2024-H1")
    page.select_option("select[name=theme]", "BI")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**theme=BI**")
    title = page.locator("#chart-scores svg title").first.text_content()
    assert title == "Điểm bình quân – Dân biết – theo tỉnh (0–100)"
    assert cards(page)["inspections"] == "1"
    bars = page.locator("#chart-scores svg rect")
    assert bars.count() == 1 and bars.first.get_attribute("data-value") == "25.0"
    downloads = page.locator(".downloads a")
    assert "period=2024-H1" in downloads.first.get_attribute("href")
    assert "province=25" in downloads.first.get_attribute("href")


def test_user_text_is_escaped(page):
    base, page = page
    page.goto(f"{base}/dashboard?period=<script>alert(1)</script>&province=x")
    assert page.get_by_text("is not a period").is_visible()
    assert page.locator("script").count() == 0
