"""Helpers of the security tests (and of test_hq_ui): HQ accounts and signing in through
the login form, the way a browser does."""

import re

from fieldkit.web.hq import accounts, hq_context

PASSWORD = "mat-khau-rat-dai-1"


def csrf(page):
    """The CSRF token of a rendered page (bytes or text)."""
    text = page.decode() if isinstance(page, bytes) else page
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def add_account(app, name, role, provinces=None, password=PASSWORD):
    hq = hq_context(app)
    return accounts.add_user(hq.store, hq.units, name, role, password, provinces=provinces)


def sign_in(app, name, password=PASSWORD, role="admin", provinces=None, ip="10.0.0.1"):
    """A test client signed in as ``name`` (the account is made when missing)."""
    hq = hq_context(app)
    try:
        accounts.get_user(hq.store, name)
    except accounts.NotFound:
        add_account(app, name, role, provinces, password)
    browser = app.test_client()
    form = browser.get("/login", environ_base={"REMOTE_ADDR": ip})
    answer = browser.post("/login", data={"name": name, "password": password,
                                          "csrf_token": csrf(form.data)},
                          environ_base={"REMOTE_ADDR": ip})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    return browser


def test_sign_in_helper(tmp_path):
    from test_sync_support import make_hq_app
    app, store = make_hq_app(f"sqlite:///{tmp_path / 'hq.db'}", tmp_path)
    try:
        browser = sign_in(app, "quan.tri")
        assert browser.get("/inspections").status_code == 200
    finally:
        store.close()
