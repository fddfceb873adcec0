"""``python -m bench``: run the benchmark suite (see bench/README.md).

    python -m bench                      # everything; writes docs/benchmarks.md (~20 min)
    python -m bench --quick --json       # field write, full push 10k (SQLite), incremental
    python -m bench --smoke --json       # the same at toy sizes, seconds (the smoke test)
    python -m bench --only field_write --sizes 1k,10k
"""

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

from .common import (DEFAULT_PG, REPO, NotMeasured, PostgresDatabases, Settings,
                     Workspace, log, not_measured)

CASES = ("startup", "field_write", "full_push", "incremental", "memory", "concurrency",
         "summary")
QUICK_CASES = ("field_write", "full_push", "incremental")
DOCS = REPO / "docs" / "benchmarks.md"


class Context:
    """One run: its settings, scratch folder, databases and the figures so far."""

    def __init__(self, settings):
        self.settings = settings
        self.ws = Workspace(settings)
        self._pg = None
        self._pg_error = None
        self.notes = []

    def pg(self):
        if self._pg is None and self._pg_error is None:
            try:
                self._pg = PostgresDatabases(self.settings.pg_url, keep=self.settings.keep)
            except NotMeasured as exc:
                self._pg_error = exc
        if self._pg_error is not None:
            raise self._pg_error
        return self._pg

    def new_db(self, engine, tag):
        if engine == "sqlite":
            return f"sqlite:///{self.ws.path(f'sqlite-{tag}') / 'hq.db'}"
        return self.pg().new(tag)

    def drop_db(self, url):
        if url.startswith("sqlite:///"):
            if self.settings.keep:
                return
            path = Path(url[len("sqlite:///"):])
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.unlink(f"{path}{suffix}")
                except FileNotFoundError:
                    pass
        else:
            self.pg().drop(url)

    def close(self):
        if self._pg is not None:
            self._pg.close()
        self.ws.close()


def parse_size(text):
    text = text.strip().lower().replace("_", "")
    factor = 1
    if text.endswith("k"):
        factor, text = 1000, text[:-1]
    elif text.endswith("m"):
        factor, text = 1_000_000, text[:-1]
    return int(float(text) * factor)


def parse_sizes(values):
    """``--sizes 1k,10k`` (every case) or ``--sizes full_push=10k,100k`` (one case)."""
    sizes = {}
    for value in values or ():
        case, _, listed = value.rpartition("=")
        sizes[case or "*"] = [parse_size(part) for part in listed.split(",") if part.strip()]
    return sizes


def parser():
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[2:]))
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="field write, full push 10k on SQLite and incremental, reduced "
                           "(about a minute)")
    mode.add_argument("--smoke", action="store_true",
                      help="the quick cases at toy sizes (seconds); checks the harness only")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (case -> median, baselines) on stdout")
    p.add_argument("--only", action="append", metavar="CASE",
                   help=f"run only these cases (repeatable or comma-separated): "
                        f"{', '.join(CASES)}")
    p.add_argument("--sizes", action="append", metavar="[CASE=]N,N",
                   help="document counts, e.g. 1k,10k (every case) or full_push=10k "
                        "(repeatable)")
    p.add_argument("--runs", type=int, help="repetitions for cases that repeat")
    p.add_argument("--out", type=Path,
                   help=f"write the Markdown table here (default: {DOCS.relative_to(REPO)} "
                        "after a full run of every case; otherwise not written)")
    p.add_argument("--pg", default=os.environ.get("FIELDKIT_BENCH_PG", DEFAULT_PG),
                   help="PostgreSQL server URL; the bench makes and drops its own "
                        "fieldkit_bench_* databases there (default: %(default)s)")
    p.add_argument("--workdir", type=Path,
                   help="scratch folder (default: the system temp folder)")
    p.add_argument("--keep", action="store_true", help="keep scratch files and databases")
    return p


def selected_cases(args, mode):
    if args.only:
        chosen = [c.strip() for value in args.only for c in value.split(",") if c.strip()]
        unknown = [c for c in chosen if c not in CASES]
        if unknown:
            raise SystemExit(f"unknown case(s): {', '.join(unknown)}; the cases are "
                             f"{', '.join(CASES)}")
        return [c for c in CASES if c in chosen]
    return list(CASES if mode == "full" else QUICK_CASES)


def run_cases(ctx, cases):
    from . import case_field_write, case_startup, case_sync
    figures = []
    sync_cases = [c for c in ("full_push", "incremental", "memory") if c in cases]
    for case in cases:
        started = time.perf_counter()
        try:
            if case == "startup":
                figures += case_startup.run(ctx)
            elif case == "field_write":
                figures += case_field_write.run(ctx)
            elif case in sync_cases:
                if case == sync_cases[0]:
                    figures += case_sync.run(ctx, set(sync_cases))
            elif case == "concurrency":
                from . import case_concurrency
                figures += case_concurrency.run(ctx)
            elif case == "summary":
                from . import case_summary
                figures += case_summary.run(ctx)
        except NotMeasured as exc:
            figures.append(not_measured(case, case, exc))
        except Exception as exc:  # noqa: BLE001 - one broken case must not lose the others
            import traceback
            traceback.print_exc()
            figures.append(not_measured(case, case, f"failed: {type(exc).__name__}: "
                                        f"{str(exc)[:200]}"))
        log(f"{case}: {time.perf_counter() - started:.0f} s")
    return figures


def main(argv=None):
    args = parser().parse_args(argv)
    mode = "quick" if args.quick else "smoke" if args.smoke else "full"
    settings = Settings(mode=mode, sizes=parse_sizes(args.sizes), runs=args.runs,
                        workdir=args.workdir, pg_url=args.pg, keep=args.keep)
    cases = selected_cases(args, mode)
    settings.only = tuple(cases)
    from . import report
    info = {"machine": report.machine()}
    started = time.perf_counter()
    ctx = Context(settings)
    try:
        figures = run_cases(ctx, cases)
        pg_version = ctx._pg.version if ctx._pg is not None else None
    finally:
        ctx.close()
    seconds = time.perf_counter() - started
    extra = {}
    if any(f.key.startswith("full_push") for f in figures) and mode == "full":
        from .pouch import versions as pouch_versions
        extra = pouch_versions()
    info["versions"] = report.versions(pg_version, extra)
    log(report.summary_line(figures))
    out = args.out
    if out is None and mode == "full" and not args.only and not args.sizes and not args.runs:
        out = DOCS
    if out is not None:
        command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
        notes = ctx.notes
        Path(out).write_text(report.markdown(figures, info, command.strip(), seconds, notes),
                             encoding="utf-8")
        log(f"wrote {out}")
    if args.json:
        result = {figure.key: figure.as_json() for figure in figures}
        result["_run"] = {"mode": mode, "seconds": round(seconds, 1), **info}
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    else:
        for figure in figures:
            print(f"{figure.key}: {figure.median} {figure.unit} {figure.baselines} "
                  f"{[(c.target, c.verdict, c.measured) for c in figure.checks]}"
                  + (f" NOT MEASURED: {figure.not_measured}" if figure.not_measured else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
