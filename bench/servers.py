"""Server processes for the sync cases: the real HQ server (``fieldkit hq serve``, or
gunicorn over ``fieldkit.web.hq.wsgi:app`` with several workers), the discard endpoint served
the same way, and ``pouchdb-server``. Each runs in its own process group and is stopped by
its id when the block ends."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

from .common import REPO, NotMeasured, child_env, log

HEALTH = "/api/v1/openapi.json"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url, process, timeout=120.0, log_path=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-800:] if log_path else ""
            raise RuntimeError(f"server exited ({process.returncode}): {tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not come up in {timeout:.0f} s")


@contextmanager
def process(command, health_url, log_path, env=None, cwd=REPO, timeout=120.0):
    """Start ``command``, wait for ``health_url``, yield the ``Popen``; stop it after."""
    with open(log_path, "ab") as output:
        proc = subprocess.Popen(command, cwd=cwd, env=env or child_env(), stdout=output,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_up(health_url, proc, timeout, log_path)
        yield proc
    finally:
        stop(proc)


def stop(proc):
    """Stop a server we started (its process group: gunicorn's workers too)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def ensure_gunicorn():
    """gunicorn (from PyPI) in this environment: installed with pip when absent."""
    import importlib.util
    if importlib.util.find_spec("gunicorn") is not None:
        return
    log("installing gunicorn into this environment (pip install gunicorn) …")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "gunicorn"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise NotMeasured("gunicorn could not be installed: "
                          + (done.stderr.strip().splitlines() or ["pip failed"])[-1])


def gunicorn_version():
    try:
        import gunicorn
        return gunicorn.__version__
    except ImportError:
        return None


def init_hq_database(db_url, blobs):
    """Create the HQ schema and publish checklists once, before workers start (so several
    workers do not race to do it)."""
    done = subprocess.run([sys.executable, "-m", "fieldkit.cli", "hq", "init", "--db", db_url,
                           "--blobs", str(blobs), "--json"], cwd=REPO, env=child_env(),
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"fieldkit hq init failed: {done.stderr.strip()[-400:]}")


@contextmanager
def hq_server(db_url, blobs, log_path, kind="werkzeug", workers=1):
    """The HQ server on ``db_url``; yields its base URL. ``kind``: ``werkzeug``
    (``fieldkit hq serve``: one process, threaded) or ``gunicorn`` (``workers`` processes)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    init_hq_database(db_url, blobs)
    if kind == "werkzeug":
        command = [sys.executable, "-m", "fieldkit.cli", "hq", "serve", "--db", db_url,
                   "--blobs", str(blobs), "--port", str(port), "--public-url", base]
        env = child_env()
    else:
        command = gunicorn_command("fieldkit.web.hq.wsgi:app", port, workers)
        env = child_env(FIELDKIT_HQ_DB=db_url, FIELDKIT_HQ_BLOBS=blobs,
                        FIELDKIT_HQ_PUBLIC_URL=base)
    with process(command, base + HEALTH, log_path, env=env):
        yield base


def gunicorn_command(app, port, workers):
    return [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
            f"127.0.0.1:{port}", "--timeout", "300", "--log-level", "warning", app]


@contextmanager
def discard_server(log_path, kind="werkzeug", workers=1):
    """The discard endpoint (``bench.discard``), served like the HQ server; yields its URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    if kind == "werkzeug":
        command = [sys.executable, "-m", "bench.discard", "--port", str(port)]
    else:
        command = gunicorn_command("bench.discard:app", port, workers)
    with process(command, base + HEALTH, log_path):
        yield base


def post_batches(base, bodies, token="discard", path="/api/v1/push"):
    """POST prepared JSON bodies one after another, as the sync client sends push batches
    (same library, same headers); returns the seconds taken."""
    from fieldkit.sync.client import USER_AGENT
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT,
               "Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    started = time.perf_counter()
    for body in bodies:
        request = urllib.request.Request(base + path, data=body, headers=headers,
                                         method="POST")
        with urllib.request.urlopen(request, timeout=300) as response:
            json.loads(response.read())
    return time.perf_counter() - started
