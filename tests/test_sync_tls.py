"""Transport security of the field's HQ client, against a real HTTPS server on loopback: the
certificate is always verified (a private CA with ``ca_file`` / ``FIELDKIT_CA_BUNDLE``), and a
code carrying HQ's certificate fingerprint pins it — a different certificate is refused even
when the CA accepts it. Enrollment codes stay backward compatible."""

import datetime
import hashlib
import ipaddress
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

from cli_helpers import run_cli
from fieldkit.core.errors import AuthError, SyncError
from fieldkit.sync import client as sync_client
from fieldkit.sync.enrollment import (certificate_fingerprint, decode_code, encode_code,
                                      parse_fingerprint)
from test_sync_support import fill_inspection, issue, make_hq_app, open_station


def self_signed(directory, name):
    """A self-signed certificate for 127.0.0.1 and localhost; returns (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"fieldkit test {name}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path, certificate.fingerprint(hashes.SHA256())


class HTTPSServer:
    """A WSGI app served over TLS on 127.0.0.1 in a thread; counts the requests it got."""

    def __init__(self, app, cert_path, key_path):
        self.requests = 0

        def counting(environ, start_response):
            self.requests += 1
            return app(environ, start_response)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self.server = make_server("127.0.0.1", 0, counting, threaded=True, ssl_context=context)
        self.url = f"https://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.thread.join(10)
        self.server.server_close()


@pytest.fixture
def certs(tmp_path):
    return {"hq": self_signed(tmp_path, "hq"), "other": self_signed(tmp_path, "other")}


@pytest.fixture
def hq(tmp_path, certs, monkeypatch):
    monkeypatch.delenv("FIELDKIT_CA_BUNDLE", raising=False)
    app, store = make_hq_app(f"sqlite:///{tmp_path / 'hq.db'}", tmp_path)
    cert_path, key_path, _ = certs["hq"]
    server = HTTPSServer(app, cert_path, key_path)
    yield server, store
    server.close()
    store.close()


def test_pinned_right_fingerprint_connects(hq, certs):
    server, _ = hq
    cert_path, _, fingerprint = certs["hq"]
    client = sync_client.HQClient(server.url, ca_file=cert_path, cert_sha256=fingerprint.hex())
    with pytest.raises(AuthError):  # reached HQ: it refuses a missing token
        client.device()
    assert server.requests == 1


def test_wrong_fingerprint_is_refused_even_when_the_ca_accepts(hq, certs):
    server, _ = hq
    cert_path, _, _ = certs["hq"]
    _, _, other = certs["other"]
    client = sync_client.HQClient(server.url, token="fkd_secret", ca_file=cert_path,
                                  cert_sha256=other.hex())
    with pytest.raises(SyncError, match="HQ's certificate does not match the one in the "
                                        "enrollment code"):
        client.device()
    assert server.requests == 0  # not one byte of the request (nor the token) was sent


def test_an_unverifiable_certificate_is_refused_with_a_clear_sentence(hq):
    server, _ = hq
    with pytest.raises(SyncError, match="could not be verified.*--ca-file or "
                                        "FIELDKIT_CA_BUNDLE"):
        sync_client.HQClient(server.url).device()
    assert server.requests == 0


def test_a_certificate_from_another_ca_is_refused(hq, certs):
    server, _ = hq
    other_path, _, _ = certs["other"]
    with pytest.raises(SyncError, match="could not be verified"):
        sync_client.HQClient(server.url, ca_file=other_path).device()


def test_the_ca_bundle_can_come_from_the_environment(hq, certs, monkeypatch):
    server, _ = hq
    monkeypatch.setenv("FIELDKIT_CA_BUNDLE", str(certs["hq"][0]))
    with pytest.raises(AuthError):
        sync_client.HQClient(server.url).device()
    assert server.requests == 1


def test_enroll_with_a_pinned_code_then_sync_over_https(hq, certs, tmp_path):
    server, store = hq
    cert_path, _, fingerprint = certs["hq"]
    issued = issue(store, cert_fingerprint=certificate_fingerprint(cert_path.read_bytes()))
    assert issued["cert_sha256"] == fingerprint.hex()
    station = open_station(tmp_path / "station")
    try:
        info = sync_client.enroll(station.store, issued["code"], url=server.url,
                                  ca_file=cert_path)
        assert info["cert_sha256"] == fingerprint.hex()
        saved = station.store.get_meta("sync.enrollment")
        assert saved["cert_sha256"] == fingerprint.hex() and saved["ca_file"] == str(cert_path)
        fill_inspection(station, evidence=False)
        summary = sync_client.sync_station(station)
        assert summary["pushed"] > 20 and summary["rejected"] == 0

        # A pinned device does not fall back to plain HTTP.
        with pytest.raises(SyncError, match="https:// only"):
            sync_client.client_for(station.store, url="http://127.0.0.1:9")
    finally:
        station.close()


def test_a_pinned_code_is_refused_by_a_server_with_another_certificate(tmp_path, certs,
                                                                         monkeypatch):
    monkeypatch.delenv("FIELDKIT_CA_BUNDLE", raising=False)
    app, store = make_hq_app(f"sqlite:///{tmp_path / 'hq.db'}", tmp_path)
    other_path, other_key, _ = certs["other"]
    server = HTTPSServer(app, other_path, other_key)  # an impostor with a CA-valid cert
    station = open_station(tmp_path / "station")
    try:
        issued = issue(store, cert_fingerprint=certs["hq"][2])
        with pytest.raises(SyncError, match="does not match the one in the enrollment code"):
            sync_client.enroll(station.store, issued["code"], url=server.url,
                               ca_file=other_path)
        assert server.requests == 0 and station.store.get_meta("sync.enrollment") is None
    finally:
        station.close()
        server.close()
        store.close()


# --- the code format ------------------------------------------------------------------------

def test_codes_with_and_without_a_fingerprint_decode():
    secret, code_id, fingerprint = b"s" * 32, bytes(range(8)), hashlib.sha256(b"x").digest()
    old = decode_code(encode_code(secret, code_id, "https://hq.example.org"))
    assert old.fingerprint is None and old.url == "https://hq.example.org"
    new = decode_code(encode_code(secret, code_id, "https://hq.example.org", fingerprint))
    assert new.fingerprint == fingerprint and new.url == "https://hq.example.org"
    assert new.code_id == code_id and new.mac != old.mac  # the MAC covers the fingerprint
    bare = decode_code(encode_code(secret, code_id, None, fingerprint))
    assert bare.url is None and bare.fingerprint == fingerprint


def test_an_altered_fingerprint_is_refused_by_hq(tmp_path):
    from fieldkit.sync.enrollment import _b32decode, _b32encode, redeem_code
    _, store = make_hq_app(f"sqlite:///{tmp_path / 'hq.db'}", tmp_path)
    try:
        issued = issue(store, cert_fingerprint=hashlib.sha256(b"real").digest())
        body = bytearray(_b32decode(issued["code"])[:-2])
        body[19:51] = hashlib.sha256(b"attacker").digest()
        forged = _b32encode(bytes(body) + hashlib.sha256(bytes(body)).digest()[:2])
        with pytest.raises(AuthError, match="not issued by this headquarters"):
            redeem_code(store, forged)
    finally:
        store.close()


@pytest.mark.parametrize("text", [
    "AB" * 32, "ab:" * 31 + "ab", "SHA256:" + "0f" * 32, "sha256/" + " ".join(["0f"] * 32)])
def test_fingerprints_are_read_as_tools_print_them(text):
    assert len(parse_fingerprint(text)) == 32


@pytest.mark.parametrize("text", ["", "abc", "zz" * 32, "ab" * 31])
def test_malformed_fingerprints_are_refused(text):
    with pytest.raises(Exception, match="64 hexadecimal digits"):
        parse_fingerprint(text)


def test_hq_enroll_puts_the_certificate_fingerprint_in_the_code(tmp_path, capsys, certs):
    import json
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    cert_path, _, fingerprint = certs["hq"]
    base = ["hq", "enroll", "--db", db, "--blobs", tmp_path / "b", "--team", "Đoàn 1",
            "--province", "25", "--url", "https://hq.example.org", "--json"]
    code, out, err = run_cli(capsys, *base, "--cert", cert_path)
    assert code == 0, err
    assert decode_code(json.loads(out)["code"]).fingerprint == fingerprint
    code, out, err = run_cli(capsys, *base, "--cert-fingerprint", fingerprint.hex(":"))
    assert code == 0, err
    assert decode_code(json.loads(out)["code"]).fingerprint == fingerprint
    code, _, err = run_cli(capsys, "hq", "enroll", "--db", db, "--team", "T", "--province",
                           "25", "--url", "http://hq.example.org", "--cert-fingerprint",
                           fingerprint.hex())
    assert code != 0 and "https://" in err
