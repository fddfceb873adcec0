"""Concurrency: 1, 4 and 8 devices (each its own process and field store) pushing 25k
findings each (``sync.client.push``: the push alone — a full ``sync()`` would then pull
every teammate's findings too) at the same moment into one HQ on PostgreSQL, served by
gunicorn with several sync workers (``fieldkit.web.hq.wsgi:app``). Aggregate throughput =
all documents ÷ (last device done − first device started). The 1-device run is the baseline
and runs first and last (its median is used), so drift during the case hits both sides.

Then a check that HQ holds every document exactly once: every pushed id is there (none
lost), HQ's sequence counter advanced by exactly the number of documents (no document was
written twice) and no conflict was recorded. Devices push findings and inspections only:
the pinned checklist every device carries is one shared document, which would blur the count.

Client processes and server share the machine's cores, as they would not in the field.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import sqlalchemy as sa

from .common import (Check, Figure, NotMeasured, REPO, child_env, human_size, log, median,
                     not_measured, ratio, run_child)
from .data import corpus, write_store
from .servers import ensure_gunicorn, hq_server

TARGET = 0.8  # aggregate throughput at 8 devices ÷ 1 device


def _hq_counts(db_url, device_ids):
    from fieldkit.core.store.sql import SQLStore, conflicts, documents, seq_counter
    store = SQLStore(db_url, create=False)
    try:
        with store.connection() as connection:
            seq = connection.execute(sa.select(seq_counter.c.value)).scalar_one()
            if not device_ids:
                return seq, set(), 0
            ids = {r.id for r in connection.execute(
                sa.select(documents.c.id).where(documents.c.device.in_(device_ids)))}
            kept = connection.execute(sa.select(sa.func.count()).select_from(conflicts)
                                      ).scalar_one()
        return seq, ids, kept
    finally:
        store.close()


def push_together(ctx, level, templates, expected, workers):
    """One run: ``level`` devices at once; returns a dict of measurements."""
    from .case_sync import issue_code
    db_url = ctx.new_db("postgres", f"conc{level}")
    try:
        blobs = ctx.ws.path("conc-blobs")
        with hq_server(db_url, blobs, ctx.ws.root / "gunicorn.log", kind="gunicorn",
                       workers=workers) as base:
            folders, device_ids = [], []
            for number in range(level):
                folder = ctx.ws.path(f"conc{level}-dev{number}") / "store"
                shutil.copytree(templates[number], folder)
                code = issue_code(db_url, base, team=f"Đoàn {number + 1}")
                device_ids.append(run_child("bench.field_child", "enroll", folder, code,
                                            base)["device_id"])
                folders.append(folder)
            signal_dir = ctx.ws.path(f"conc{level}-signals")
            go = signal_dir / "go"
            children = []
            for number, folder in enumerate(folders):
                ready = signal_dir / f"ready-{number}"
                children.append((ready, subprocess.Popen(
                    [sys.executable, "-m", "bench.field_child", "push", str(folder),
                     "--ready", str(ready), "--go", str(go), "--push-only"], cwd=REPO,
                    env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
            deadline = time.monotonic() + 600
            while not all(ready.exists() for ready, _ in children):
                if any(p.poll() is not None for _, p in children) or time.monotonic() > deadline:
                    for _, p in children:
                        p.kill()
                    raise RuntimeError("a device process did not get ready")
                time.sleep(0.01)
            seq_before, _, _ = _hq_counts(db_url, [])
            go.write_text("go")
            results = []
            for _, p in children:
                out, err = p.communicate(timeout=3600)
                if p.returncode != 0:
                    raise RuntimeError(f"a device failed: {err.strip()[-300:]}")
                results.append(json.loads(out.strip().splitlines()[-1]))
            seq_after, found, kept = _hq_counts(db_url, device_ids)
    finally:
        ctx.drop_db(db_url)
    wanted = set().union(*expected[:level])
    docs = sum(len(e) for e in expected[:level])
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {"seconds": wall, "docs": docs, "throughput": docs / wall,
            "lost": len(wanted - found), "extra_writes": (seq_after - seq_before) - docs,
            "conflicts": kept, "rejected": sum(r["summary"]["rejected"] for r in results),
            "slowest_device": max(r["seconds"] for r in results)}


def run(ctx):
    s = ctx.settings
    try:
        ctx.pg()
        ensure_gunicorn()
    except NotMeasured as exc:
        return [not_measured("concurrency", "concurrent devices", exc)]
    per_device = s.sizes_for("concurrency", s.pick([25_000], [2_000], [50]))[0]
    levels = s.pick([1, 8, 4, 1], [1, 4, 1], [1, 2, 1])
    workers = s.pick(4, 4, 2)
    most = max(levels)
    log(f"concurrency: {most} device stores of {per_device} findings …")
    templates, expected = [], []
    for number in range(most):
        docs = [d for d in corpus(per_device, tag=f"conc-{number}") if d["type"] != "checklist"]
        templates.append(write_store(ctx.ws.path(f"conc-template-{number}") / "store", docs))
        expected.append({d["id"] for d in docs})
        del docs
    runs = {}
    for level in levels:
        result = push_together(ctx, level, templates, expected, workers)
        runs.setdefault(level, []).append(result)
        log(f"concurrency {level} device(s): {result['throughput']:.0f} docs/s, lost "
            f"{result['lost']}, extra writes {result['extra_writes']}, conflicts "
            f"{result['conflicts']}")
    one = median([r["throughput"] for r in runs[1]])
    ctx.notes.append(f"Concurrency: gunicorn {workers} sync workers on PostgreSQL; device "
                     f"processes and server share the {os.cpu_count()} cores; order of runs "
                     f"{', '.join(map(str, levels))} device(s) (the 1-device figure is the "
                     "median of its runs).")
    figures = []
    for level in sorted(runs):
        result = runs[level][-1]
        throughput = median([r["throughput"] for r in runs[level]])
        figure = Figure(f"concurrency_{level}_devices", f"{level} device(s) × "
                        f"{human_size(per_device)} findings at once → gunicorn ({workers} "
                        "workers) + PostgreSQL, aggregate", throughput, unit="docs/s",
                        stats={"runs": len(runs[level]), "docs": result["docs"],
                               "wall_seconds": round(result["seconds"], 2),
                               "lost": result["lost"], "duplicated": result["extra_writes"],
                               "conflicts": result["conflicts"], "workers": workers})
        if level > 1:
            figure.baselines["one_device"] = one
            share = ratio(throughput, one)
            if level == 8:
                figure.checks.append(Check(f"≥ {TARGET:g}× one device", share >= TARGET,
                                           f"{share:.2f}×"))
        bad = result["lost"] + result["extra_writes"] + result["conflicts"] + result["rejected"]
        figure.checks.append(Check("every doc exactly once", bad == 0,
                                   f"lost {result['lost']}, duplicated "
                                   f"{result['extra_writes']}"))
        figures.append(figure)
    return figures

