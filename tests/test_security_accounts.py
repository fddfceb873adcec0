"""HQ accounts: scrypt passwords, the CLI, the login form, lock-out and throttling held in
the database (so across worker processes), cookie flags, log out everywhere, disabling."""

import io
import sys

import pytest

from fieldkit.sync import audit
from fieldkit.web.hq import accounts, hq_context
from cli_helpers import run_cli, run_json
from test_security_support import PASSWORD, add_account, csrf, sign_in
from test_sync_support import make_hq_app


@pytest.fixture
def hq(tmp_path):
    app, store = make_hq_app(f"sqlite:///{tmp_path / 'hq.db'}", tmp_path)
    yield app, store
    store.close()


def test_passwords_are_salted_scrypt_hashes():
    one, two = accounts.hash_password("mot-mat-khau"), accounts.hash_password("mot-mat-khau")
    assert one.startswith("scrypt$32768$8$1$") and one != two        # a salt per hash
    assert accounts.verify_password("mot-mat-khau", one)
    assert not accounts.verify_password("mot-mat-khaU", one)
    assert not accounts.verify_password("x", "md5$abc")


def test_cli_adds_lists_and_disables_users(tmp_path, capsys, monkeypatch):
    db = f"sqlite:///{tmp_path / 'hq.db'}"
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    made = run_json(capsys, "hq", "user", "add", "ninh.binh", "--reviewer", "--province", "37",
                    "--password-stdin", "--db", db, "--json")
    assert made["role"] == "reviewer" and made["provinces"] == ["37"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    code, _, err = run_cli(capsys, "hq", "user", "add", "x1", "--viewer", "--password-stdin",
                           "--db", db)
    assert code != 0 and "at least 10" in err and "Traceback" not in err
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    code, _, err = run_cli(capsys, "hq", "user", "add", "hb", "--reviewer", "--province", "17",
                           "--password-stdin", "--db", db)
    assert code != 0 and "current-era" in err                 # Hòa Bình (17) is now Phú Thọ
    run_cli(capsys, "hq", "user", "disable", "ninh.binh", "--db", db)
    listed = run_json(capsys, "hq", "user", "list", "--json", "--db", db)
    assert [(u["name"], u["disabled"]) for u in listed] == [("ninh.binh", True)]
    assert "password" not in str(listed)
    code, _, err = run_cli(capsys, "hq", "login-url", "--db", db)
    assert code == 0                                           # no enabled admin yet
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    run_json(capsys, "hq", "user", "add", "admin", "--admin", "--password-stdin", "--db", db,
             "--json")
    code, _, err = run_cli(capsys, "hq", "login-url", "--db", db)
    assert code != 0 and "administrator" in err


def _attempt(app, name, password, ip="10.0.0.9"):
    browser = app.test_client()
    form = browser.get("/login", environ_base={"REMOTE_ADDR": ip})
    return browser.post("/login", data={"name": name, "password": password,
                                        "csrf_token": csrf(form.data)},
                        environ_base={"REMOTE_ADDR": ip})


def test_five_failures_lock_the_account_in_every_worker(hq, tmp_path):
    app, store = hq
    add_account(app, "reviewer1", "reviewer", ["37"])
    for _ in range(accounts.MAX_FAILURES):
        assert _attempt(app, "reviewer1", "wrong-password").status_code == 401
    # another worker process: its own app and engine, the same database
    other, other_store = make_hq_app(f"sqlite:///{tmp_path / 'hq.db'}", tmp_path)
    try:
        locked = _attempt(other, "reviewer1", PASSWORD)
        assert locked.status_code == 429 and "tạm khoá" in locked.get_data(as_text=True)
    finally:
        other_store.close()
    later = accounts.time.time() + accounts.LOCK_SECONDS + 1
    assert accounts.login(store, "reviewer1", PASSWORD, clock=lambda: later).name == "reviewer1"
    outcomes = [r["outcome"] for r in audit.iter_entries(store) if r["action"] == "login"]
    assert outcomes == ["failed"] * 5 + ["locked", "ok"]


def test_an_address_with_many_failures_is_throttled(hq):
    app, store = hq
    add_account(app, "viewer1", "viewer")
    for number in range(accounts.MAX_IP_FAILURES):
        assert _attempt(app, f"guess{number}", "x", ip="10.9.9.9").status_code == 401
    assert _attempt(app, "viewer1", PASSWORD, ip="10.9.9.9").status_code == 429
    assert _attempt(app, "viewer1", PASSWORD, ip="10.1.1.1").status_code == 303


def test_login_needs_the_form_csrf_token(hq):
    app, _ = hq
    add_account(app, "admin", "admin")
    answer = app.test_client().post("/login", data={"name": "admin", "password": PASSWORD})
    assert answer.status_code == 400


def test_session_cookie_flags(hq, tmp_path):
    app, _ = hq
    browser = sign_in(app, "admin")
    cookie = browser.get_cookie("fk_hq_session")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure
    from fieldkit.web.hq import create_hq_app
    secure = create_hq_app({"store": hq[1], "blobs": str(tmp_path / "b"),
                            "public_url": "https://hq.example.org", "secret_key": "t"})
    form = secure.test_client().get("/login", base_url="https://hq.example.org")
    header = form.headers["Set-Cookie"]
    assert header.startswith("__Host-fk_hq_session=") and "Secure" in header \
        and "HttpOnly" in header and "SameSite=Lax" in header
    assert "max-age" in form.headers["Strict-Transport-Security"]


def test_log_out_everywhere_ends_every_session(hq):
    app, store = hq
    laptop, phone = sign_in(app, "admin"), sign_in(app, "admin")
    assert phone.get("/devices").status_code == 200
    page = laptop.get("/inspections")
    assert laptop.post("/logout/everywhere",
                       data={"csrf_token": csrf(page.data)}).status_code == 200
    assert phone.get("/devices").status_code == 401
    assert laptop.get("/devices").status_code == 401


def test_disabling_a_user_ends_its_sessions(hq):
    app, store = hq
    browser = sign_in(app, "viewer2", role="viewer")
    assert browser.get("/inspections").status_code == 200
    accounts.disable_user(store, "viewer2")
    assert browser.get("/inspections").status_code == 401
    assert _attempt(app, "viewer2", PASSWORD).status_code == 401


def test_unknown_and_wrong_passwords_get_the_same_answer(hq):
    app, _ = hq
    add_account(app, "admin", "admin")
    unknown = _attempt(app, "nobody", "whatever-else").get_data(as_text=True)
    wrong = _attempt(app, "admin", "whatever-else").get_data(as_text=True)
    assert "không đúng" in unknown and "không đúng" in wrong
