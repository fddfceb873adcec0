"""The PouchDB peer: the same documents replicated from a local PouchDB (LevelDB) to
``pouchdb-server`` (LevelDB) over loopback HTTP. The npm packages are installed by the bench
itself into ``bench/.cache/npm`` (never committed)."""

import json
import shutil
import subprocess
from functools import cache

from .common import CACHE, REPO, NotMeasured, log
from .servers import free_port, process

NPM_PREFIX = CACHE / "npm"
PACKAGES = ("pouchdb@9", "pouchdb-server@4")
SCRIPT = REPO / "bench" / "pouch_peer.js"


@cache
def ensure_installed():
    """Install ``pouchdb`` and ``pouchdb-server`` with npm if they are not there yet;
    ``NotMeasured`` with the reason if that fails."""
    modules = NPM_PREFIX / "node_modules"
    server = modules / ".bin" / "pouchdb-server"
    if (modules / "pouchdb").is_dir() and server.exists():
        return server
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise NotMeasured("PouchDB not measured: node and npm are not installed")
    NPM_PREFIX.mkdir(parents=True, exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    log(f"installing {' '.join(PACKAGES)} with npm into {NPM_PREFIX} (a few minutes, once) …")
    try:
        done = subprocess.run([npm, "install", "--prefix", str(NPM_PREFIX), "--no-audit",
                               "--no-fund", "--loglevel=error", *PACKAGES],
                              capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        raise NotMeasured("PouchDB not measured: npm install took over 15 minutes") from None
    if done.returncode != 0 or not server.exists():
        reason = (done.stderr.strip().splitlines() or ["npm install failed"])[-1]
        raise NotMeasured(f"PouchDB not measured: npm install failed ({reason[:160]})")
    return server


@cache
def versions():
    found = {}
    for name in ("pouchdb", "pouchdb-server"):
        try:
            package = NPM_PREFIX / "node_modules" / name / "package.json"
            found[name] = json.loads(package.read_text())["version"]
        except (OSError, ValueError, KeyError):
            pass
    node = shutil.which("node")
    if node:
        found["node"] = subprocess.run([node, "--version"], capture_output=True,
                                       text=True).stdout.strip().lstrip("v")
    return found


def write_docs(docs, path):
    """The documents as PouchDB takes them (``_id`` for ``id``), one JSON line each."""
    with open(path, "w", encoding="utf-8") as out:
        for doc in docs:
            body = {k: v for k, v in doc.items() if k != "id"}
            out.write(json.dumps({"_id": doc["id"], **body}, ensure_ascii=False))
            out.write("\n")
    return path


def replicate(ndjson, workdir, batch_size):
    """Start a fresh ``pouchdb-server``, load ``ndjson`` into a local PouchDB (untimed),
    time its replication to the server; returns ``{seconds, docs_written, remote_count}``."""
    server = ensure_installed()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server_dir = workdir / "server"
    server_dir.mkdir()
    command = [str(server), "--port", str(port), "--dir", str(server_dir), "-n",
               "--config", str(server_dir / "config.json")]
    with process(command, base + "/", workdir / "pouchdb-server.log", cwd=server_dir):
        done = subprocess.run(["node", str(SCRIPT), str(ndjson), str(workdir / "local"),
                               f"{base}/bench", str(batch_size)], capture_output=True,
                              text=True, timeout=3600,
                              env={"NODE_PATH": str(NPM_PREFIX / "node_modules"),
                                   "PATH": "/usr/local/bin:/usr/bin:/bin"})
    if done.returncode != 0:
        raise RuntimeError("pouch_peer.js failed: " + done.stderr.strip()[-400:])
    return json.loads(done.stdout.strip().splitlines()[-1])
