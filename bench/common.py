"""What every case shares: the run's settings, statistics, result rows, child processes and
throw-away PostgreSQL databases."""

import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "bench" / ".cache"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_PREFIX = "fieldkit_bench_"


class NotMeasured(Exception):
    """A figure that could not be measured here; the sentence goes into the table."""


# --- settings -------------------------------------------------------------------------------

@dataclass
class Settings:
    mode: str = "full"            # full | quick | smoke
    only: tuple = ()              # case names; empty: all of the mode's cases
    sizes: dict = field(default_factory=dict)  # case -> [sizes] overrides (--sizes)
    runs: int | None = None       # --runs: repetitions where a case repeats
    workdir: Path | None = None
    pg_url: str = DEFAULT_PG
    keep: bool = False            # keep work files and databases (debugging)
    verbose: bool = True

    def pick(self, full, quick, smoke):
        return {"full": full, "quick": quick, "smoke": smoke}[self.mode]

    def sizes_for(self, case, default):
        return list(self.sizes.get(case) or self.sizes.get("*") or default)

    def repeat(self, default):
        return self.runs if self.runs else default


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- statistics -----------------------------------------------------------------------------

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def percentile(values, fraction):
    """Nearest-rank percentile (p99 of 100 samples is the largest but one)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def human_size(n):
    """1000 -> 1k, 25000 -> 25k, 1000000 -> 1M, 50 -> 50."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def fmt_seconds(value):
    if value is None:
        return "—"
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.3g} ms"
    return f"{value:.3g} s"


# --- results --------------------------------------------------------------------------------

@dataclass
class Check:
    """A target: its text, whether it holds (None: cannot tell) and the measured value."""

    target: str
    ok: bool | None
    measured: str = ""

    @property
    def verdict(self):
        return {True: "PASS", False: "MISS", None: "—"}[self.ok]


@dataclass
class Figure:
    """One row of the table (and one key of the JSON)."""

    key: str                      # JSON key, e.g. "full_push_10k_sqlite"
    label: str                    # what a reader sees in the table
    median: float | None = None   # seconds (or the figure's unit)
    unit: str = "s"               # "s", "MB", "docs/s"
    stats: dict = field(default_factory=dict)        # p99, runs, docs, ...
    baselines: dict = field(default_factory=dict)    # name -> median (same unit)
    checks: list = field(default_factory=list)
    note: str = ""
    not_measured: str | None = None

    def as_json(self):
        data = {"median": self.median, "baselines": dict(self.baselines)}
        if self.unit != "s":
            data["unit"] = self.unit
        data.update(self.stats)
        if self.checks:
            data["targets"] = {c.target: c.verdict for c in self.checks}
        if self.not_measured:
            data["not_measured"] = self.not_measured
        return data


def not_measured(key, label, reason):
    return Figure(key, label, not_measured=str(reason))


def check_at_most(target, value, limit, shown=None):
    if value is None:
        return Check(target, None, "not measured")
    return Check(target, value <= limit, shown or f"{value:.3g}")


def check_at_least(target, value, limit, shown=None):
    if value is None:
        return Check(target, None, "not measured")
    return Check(target, value >= limit, shown or f"{value:.3g}")


# --- files and processes --------------------------------------------------------------------

class Workspace:
    """A scratch folder for one run (deleted at the end unless ``keep``)."""

    def __init__(self, settings):
        base = settings.workdir
        if base is not None:
            Path(base).mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix="fieldkit-bench-", dir=base))
        self.keep = settings.keep
        self._counter = 0

    def path(self, name):
        self._counter += 1
        path = self.root / f"{self._counter:03d}-{name}"
        path.mkdir(parents=True)
        return path

    def close(self):
        if self.keep:
            log(f"work files kept in {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def child_env(**extra):
    """Environment for child processes: the repo first on the path (``bench`` imports)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.setdefault("PYTHONHASHSEED", "0")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_child(module, *args, timeout=3600, env=None):
    """Run ``python -m module args`` and return the JSON object it prints last on stdout."""
    command = [sys.executable, "-m", module, *map(str, args)]
    done = subprocess.run(command, cwd=REPO, env=env or child_env(), capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"{module} failed ({done.returncode}): " + " | ".join(tail))
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{module} printed no result")
    return json.loads(lines[-1])


def peak_rss_mb():
    """Peak resident set of this process in MB (VmHWM, else ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss():
    """Start measuring the peak RSS afresh (Linux ≥ 4.0: ``clear_refs`` 5 resets VmHWM);
    False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def current_rss_mb():
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


# --- PostgreSQL -----------------------------------------------------------------------------

def _psycopg_dsn(url):
    from sqlalchemy.engine import make_url
    parsed = make_url(url)
    return parsed, parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresDatabases:
    """Creates throw-away databases ``fieldkit_bench_*`` beside the configured one (whose
    content is never touched) and drops them at the end."""

    def __init__(self, url, keep=False):
        self.url = url
        self.keep = keep
        self.created = []
        self._counter = 0
        try:
            import psycopg
            parsed, dsn = _psycopg_dsn(url)
            with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as connection:
                self.version = connection.execute("SHOW server_version").fetchone()[0]
        except Exception as exc:  # noqa: BLE001 - any failure: the PG figures are skipped
            raise NotMeasured(f"PostgreSQL at {url.split('@')[-1]} unreachable "
                              f"({str(exc).splitlines()[0]})") from None
        self.parsed = parsed

    def _admin(self):
        import psycopg
        return psycopg.connect(_psycopg_dsn(self.url)[1], autocommit=True)

    def new(self, tag):
        """A new empty database; returns its SQLAlchemy URL."""
        self._counter += 1
        name = f"{PG_PREFIX}{os.getpid()}_{self._counter}_{tag}"[:63]
        with self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.parsed.set(database=name).render_as_string(hide_password=False)

    def drop(self, url):
        from sqlalchemy.engine import make_url
        name = make_url(url).database
        if self.keep or not name.startswith(PG_PREFIX):
            return
        with self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def close(self):
        for name in list(self.created):
            try:
                self.drop(self.parsed.set(database=name).render_as_string(hide_password=False))
            except Exception as exc:  # noqa: BLE001
                log(f"could not drop database {name}: {exc}")
