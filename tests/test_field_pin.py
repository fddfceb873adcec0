"""The station PIN for the team lead: the one-time URL opens a PIN form, only the right PIN
opens the lead session, five wrong ones burn the link; only a scrypt hash is stored; without
a PIN the lead URL works as before."""

import re

import pytest

from cli_helpers import run_cli
from fieldkit.core.station import Station
from fieldkit.web.common.security import SESSION_COOKIE
from fieldkit.web.field import create_field_app, field_web
from fieldkit.web.field.pin import MAX_PIN_TRIES, PIN_META, set_pin, verify_pin
from test_field_web import LOOPBACK, PLUGINS

PIN = "482915"


@pytest.fixture
def station(tmp_path):
    station = Station(tmp_path / "data", plugins_dir=PLUGINS)
    station.init(author="trạm thử")
    yield station
    station.close()


@pytest.fixture
def app(station):
    set_pin(station.store, PIN)
    return create_field_app(station, {"TESTING": True})


def browser(app):
    client = app.test_client()
    client.environ_base.update(LOOPBACK)
    return client


def has_session(client):
    return client.get_cookie(SESSION_COOKIE) is not None


def is_lead(client):
    return client.get("/admin/sessions").status_code == 200


def test_only_a_scrypt_hash_of_the_pin_is_stored(station):
    set_pin(station.store, PIN)
    stored = station.store.get_meta(PIN_META)
    assert stored.startswith("scrypt$") and PIN not in stored
    assert verify_pin(PIN, stored) and not verify_pin("482916", stored)


def test_the_lead_url_asks_for_the_pin_and_the_right_one_opens_a_lead_session(app):
    token = field_web(app).issue_lead_token()
    client = browser(app)
    form = client.get(f"/join?token={token}")
    assert form.status_code == 200 and 'name="pin"' in form.get_data(as_text=True)
    assert not has_session(client)
    assert client.get(f"/join?token={token}").status_code == 200  # showing it uses nothing
    answer = client.post("/join", data={"token": token, "pin": PIN})
    assert answer.status_code == 303 and is_lead(client)
    again = browser(app)  # the token is used up
    assert again.post("/join", data={"token": token, "pin": PIN}).status_code == 401


def test_a_wrong_pin_is_refused_and_counted(app):
    token = field_web(app).issue_lead_token()
    client = browser(app)
    answer = client.post("/join", data={"token": token, "pin": "000000"})
    assert answer.status_code == 401 and not has_session(client)
    assert str(MAX_PIN_TRIES - 1) in answer.get_data(as_text=True)
    assert client.post("/join", data={"token": token, "pin": PIN}).status_code == 303
    assert is_lead(client)


def test_five_wrong_pins_burn_the_lead_token(app):
    token = field_web(app).issue_lead_token()
    client = browser(app)
    for _ in range(MAX_PIN_TRIES):
        answer = client.post("/join", data={"token": token, "pin": "111111"})
        assert answer.status_code == 401
    assert "fieldkit field serve" in answer.get_data(as_text=True)
    assert client.post("/join", data={"token": token, "pin": PIN}).status_code == 401
    assert client.get(f"/join?token={token}").status_code == 401
    assert not has_session(client)


def test_the_pin_does_not_open_a_session_without_a_lead_token(app):
    member_token = field_web(app).issue_join_token()
    client = browser(app)
    assert client.post("/join", data={"token": member_token, "pin": PIN}).status_code == 401
    assert client.post("/join", data={"token": "forged", "pin": PIN}).status_code == 401
    assert not has_session(client)


def test_tablets_join_without_the_pin(app):
    client = browser(app)
    assert client.get(f"/join?token={field_web(app).issue_join_token()}").status_code == 303
    assert has_session(client) and not is_lead(client)


def test_without_a_pin_the_lead_url_works_as_before(station):
    app = create_field_app(station, {"TESTING": True})
    client = browser(app)
    assert client.get(f"/join?token={field_web(app).issue_lead_token()}").status_code == 303
    assert is_lead(client)
    assert client.post("/join", data={"token": "x", "pin": PIN}).status_code == 401


def test_pin_set_and_clear_from_the_command_line(tmp_path, capsys, monkeypatch):
    data = tmp_path / "cli"
    monkeypatch.setenv("FIELDKIT_STATION_PIN", "2468")
    code, _, err = run_cli(capsys, "field", "--data", data, "pin", "set")
    assert code == 0, err
    station = Station(data)
    try:
        stored = station.store.get_meta(PIN_META)
    finally:
        station.close()
    assert verify_pin("2468", stored) and "2468" not in stored
    monkeypatch.setenv("FIELDKIT_STATION_PIN", "12")
    code, _, err = run_cli(capsys, "field", "--data", data, "pin", "set")
    assert code != 0 and "4 to 64 characters" in err
    assert run_cli(capsys, "field", "--data", data, "pin", "clear")[0] == 0
    station = Station(data)
    try:
        assert station.store.get_meta(PIN_META) is None
    finally:
        station.close()


def test_pin_page_renders_in_both_languages(app):
    token = field_web(app).issue_lead_token()
    client = browser(app)
    texts = [client.get(f"/join?token={token}&lang={lang}").get_data(as_text=True)
             for lang in ("vi", "en")]
    assert "Mã PIN" in texts[0] and "Team lead PIN" in texts[1]
    assert all(re.search(r'name="token" value="[^"]+"', text) for text in texts)


def test_serve_pin_stores_the_pin_before_serving(tmp_path, capsys, monkeypatch):
    from fieldkit.web.field import serve as serve_module
    seen = []
    monkeypatch.setattr(serve_module, "serve",
                        lambda station, **options: seen.append(station.store.get_meta(PIN_META)))
    monkeypatch.setenv("FIELDKIT_STATION_PIN", "97531")
    code, _, err = run_cli(capsys, "field", "--data", tmp_path / "s", "serve", "--pin",
                           "--no-browser", "--port", "0")
    assert code == 0, err
    assert len(seen) == 1 and verify_pin("97531", seen[0])
    monkeypatch.delenv("FIELDKIT_STATION_PIN")
    code, _, err = run_cli(capsys, "field", "--data", tmp_path / "s", "serve", "--no-browser")
    assert code == 0, err
    assert verify_pin("97531", seen[1])  # a PIN set before is used without --pin
