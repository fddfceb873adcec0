"""Sync cases: full push, incremental sync, no-op sync, and the field process's memory.

For each database engine and store size, in rounds (the order of the contestants rotates
from round to round, so drift on a shared machine hits all of them alike):

- **fieldkit**: a fresh HQ database and a real HQ server process (``fieldkit hq serve``), a
  copy of a field store holding the documents, enrolled with a code HQ issued; a child
  process (the station) times ``sync()`` — push, pull, outbox — and reports its peak RSS;
- **direct_insert**: the same rows into a fresh database of the same kind, ``executemany``,
  batches of ``BATCH_SIZE`` rows, one transaction per batch (``direct.py``);
- **discard_post**: the same push bodies POSTed to the discard endpoint, served the same way;
- **pouchdb** (SQLite rounds of a full run): the same documents replicated from a local
  PouchDB to ``pouchdb-server``.

After the last round its HQ server stays up for the incremental case (``field_child
incremental``): 100 findings edited, then ``sync()``; a ``sync()`` with nothing to do; and
baselines for the same 100 documents (discard POST, direct upsert into the direct-insert
database, which holds the same documents).
"""

import json
import shutil
from contextlib import ExitStack
from functools import cache

from fieldkit.sync.protocol import BATCH_SIZE

from . import pouch
from .common import (Figure, NotMeasured, check_at_least, check_at_most, human_size, log,
                     median, not_measured, ratio, run_child)
from .data import CAMPAIGN, PROVINCES, corpus, write_store
from .direct import Direct
from .servers import discard_server, hq_server, post_batches

INCREMENTAL_TARGET = 0.050   # s, 100 changed findings on top of 100k
NOOP_TARGET = 0.015          # s
RSS_TARGET = 100.0           # MB while pushing 100k
PUSH_VS_DIRECT = 3.0
PUSH_VS_POUCH = 10.0


@cache
def _units():
    from fieldkit.core.plugins import get_plugin_manager
    from fieldkit.core.units import load_unit_registry
    return load_unit_registry(get_plugin_manager())


def issue_code(db_url, base, team="Đoàn kiểm tra số 1"):
    """An enrollment code for one device, issued at HQ (as ``fieldkit hq enroll`` does)."""
    from fieldkit.core.store.sql import SQLStore
    from fieldkit.sync.enrollment import issue_code as issue
    store = SQLStore(db_url, create=False)
    try:
        return issue(store, _units(), team, list(PROVINCES), campaign_id=CAMPAIGN,
                     hq_url=base)["code"]
    finally:
        store.close()


def push_bodies(docs):
    """The bodies the sync client sends for ``docs`` (same batches, same JSON)."""
    return [json.dumps({"docs": docs[i:i + BATCH_SIZE]}, ensure_ascii=False,
                       separators=(",", ":")).encode()
            for i in range(0, len(docs), BATCH_SIZE)]


def enrolled_copy(ctx, template, db_url, base, tag):
    field_dir = ctx.ws.path(f"field-{tag}") / "store"
    shutil.copytree(template, field_dir)
    run_child("bench.field_child", "enroll", field_dir, issue_code(db_url, base), base)
    return field_dir


def _push(ctx, engine, size, template, expected, stack):
    """One fieldkit round; the server stays in ``stack``. Returns (result, hq state)."""
    db_url = ctx.new_db(engine, f"hq{human_size(size)}")
    stack.callback(ctx.drop_db, db_url)
    blobs = ctx.ws.path("hq-blobs")
    base = stack.enter_context(hq_server(db_url, blobs, ctx.ws.root / "hq-server.log"))
    field_dir = enrolled_copy(ctx, template, db_url, base, human_size(size))
    result = run_child("bench.field_child", "push", field_dir)
    summary = result["summary"]
    if summary["pushed"] != expected or summary["rejected"]:
        raise RuntimeError(f"the push sent {summary['pushed']} of {expected} documents "
                           f"({summary['rejected']} rejected)")
    return result, {"db": db_url, "base": base, "field": field_dir}


def _direct(ctx, engine, size, docs, stack):
    db_url = ctx.new_db(engine, f"direct{human_size(size)}")
    stack.callback(ctx.drop_db, db_url)
    direct = Direct(db_url, create=True)
    try:
        return direct.insert(docs, BATCH_SIZE), db_url
    finally:
        direct.close()


def session(ctx, engine, size, rounds, with_pouch, incremental):
    """Full push rounds at one size on one engine, then (optionally) incremental syncs."""
    tag = human_size(size)
    log(f"sync {engine} {tag}: generating {size} findings and a field store …")
    docs = corpus(size, tag=f"push-{tag}")
    template = write_store(ctx.ws.path(f"template-{tag}") / "store", docs)
    bodies = push_bodies(docs)
    ndjson = None
    pouch_error = None
    if with_pouch:
        try:
            pouch.ensure_installed()
            ndjson = pouch.write_docs(docs, ctx.ws.root / f"pouch-{tag}.ndjson")
        except NotMeasured as exc:
            pouch_error = str(exc)
    timings = {"fieldkit": [], "direct_insert": [], "discard_post": [], "pouchdb": []}
    peaks, opened, open_peaks = [], [], []
    figures = []
    with ExitStack() as outer:
        discard = outer.enter_context(discard_server(ctx.ws.root / "discard.log"))
        state = baseline_db = None
        for number in range(rounds):
            last = number == rounds - 1
            order = ["fieldkit", "direct_insert", "discard_post"] + (["pouchdb"] if ndjson
                                                                      else [])
            order = order[number % len(order):] + order[:number % len(order)]
            for contestant in order:
                keep = last and incremental  # its server and databases stay up
                with ExitStack() as own:
                    stack = outer if keep else own
                    if contestant == "fieldkit":
                        result, state = _push(ctx, engine, size, template, len(docs), stack)
                        timings["fieldkit"].append(result["seconds"])
                        peaks.append(result["peak_rss_mb"])
                        opened.append(result["rss_open_mb"])
                        open_peaks.append(result["peak_open_mb"])
                        if not keep:
                            state = None
                    elif contestant == "direct_insert":
                        seconds, db_url = _direct(ctx, engine, size, docs, stack)
                        timings["direct_insert"].append(seconds)
                        baseline_db = db_url if keep else None
                    elif contestant == "discard_post":
                        timings["discard_post"].append(post_batches(discard, bodies))
                    else:
                        result = pouch.replicate(ndjson, ctx.ws.path(f"pouch-{tag}"),
                                                 BATCH_SIZE)
                        if result["remote_count"] != len(docs):
                            raise RuntimeError(f"PouchDB replicated {result['remote_count']} "
                                               f"of {len(docs)} documents")
                        timings["pouchdb"].append(result["seconds"])
            log(f"sync {engine} {tag} round {number + 1}/{rounds}: "
                + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in timings.items() if v))
        figures.append(push_figure(ctx, engine, size, docs, timings, peaks, opened,
                                   open_peaks, pouch_error, with_pouch))
        if incremental:
            figures += incremental_figures(ctx, engine, size, state, discard, baseline_db)
    return figures


def push_figure(ctx, engine, size, docs, timings, peaks, opened, open_peaks, pouch_error,
                with_pouch):
    tag = human_size(size)
    fieldkit = median(timings["fieldkit"])
    baselines = {name: median(values) for name, values in timings.items()
                 if name != "fieldkit" and values}
    if with_pouch and pouch_error:
        baselines["pouchdb"] = None
    figure = Figure(f"full_push_{tag}_{engine}",
                    f"full push {tag} findings → HQ ({engine})", fieldkit,
                    baselines=baselines,
                    stats={"docs": len(docs), "runs": len(timings["fieldkit"]),
                           "docs_per_s": round(len(docs) / fieldkit) if fieldkit else None,
                           "peak_rss_mb": round(max(peaks), 1) if peaks else None,
                           "rss_open_mb": round(max(opened), 1) if opened else None,
                           "peak_open_mb": round(max(open_peaks), 1) if open_peaks else None})
    direct = ratio(fieldkit, baselines.get("direct_insert"))
    figure.checks.append(check_at_most(f"≤ {PUSH_VS_DIRECT:g}× direct insert", direct,
                                       PUSH_VS_DIRECT, direct and f"{direct:.1f}×"))
    if with_pouch:
        speedup = ratio(baselines.get("pouchdb"), fieldkit)
        # What the target asks in terms of the direct insert: PouchDB ÷ 10 ÷ direct.
        floor = ratio(ratio(baselines.get("pouchdb"), PUSH_VS_POUCH),
                      baselines.get("direct_insert"))
        measured = speedup and f"{speedup:.2f}×" + (
            f" (the target means ≤ {floor:.2f}× the direct insert)" if floor else "")
        figure.checks.append(check_at_least(f"≥ {PUSH_VS_POUCH:g}× faster than PouchDB",
                                            speedup, PUSH_VS_POUCH, measured))
        if pouch_error:
            figure.note = pouch_error
    return figure


def incremental_figures(ctx, engine, size, state, discard, baseline_db):
    s = ctx.settings
    changes = s.pick(100, 100, 10)
    rounds = s.repeat(s.pick(7, 5, 2))
    tag = human_size(size)
    suffix = "" if engine == "sqlite" else f"_{engine}"
    result = run_child("bench.field_child", "incremental", state["field"], "--changes",
                       changes, "--rounds", rounds, "--discard", discard, "--baseline-db",
                       baseline_db)
    if any(pushed != changes for pushed in result["pushed"]):
        raise RuntimeError(f"incremental sync pushed {result['pushed']}, not {changes} each")
    t = result["timings"]
    log(f"incremental {engine} {tag}: sync {median(t['sync']) * 1e3:.0f} ms, no-op "
        f"{median(t['noop']) * 1e3:.1f} ms, discard POST {median(t['discard_post']) * 1e3:.1f}"
        f" ms, direct upsert {median(t['direct_upsert']) * 1e3:.1f} ms")
    inc = Figure(f"incremental_{changes}_on_{tag}{suffix}",
                 f"incremental sync: {changes} changed on {tag} ({engine})", median(t["sync"]),
                 baselines={"discard_post": median(t["discard_post"]),
                            "direct_upsert": median(t["direct_upsert"])},
                 stats={"runs": len(t["sync"]), "docs": size})
    if size == 100_000:
        inc.checks.append(check_at_most("≤ 50 ms at 100k", inc.median, INCREMENTAL_TARGET,
                                        f"{inc.median * 1000:.0f} ms"))
    noop = Figure(f"noop_sync_on_{tag}{suffix}", f"no-op sync on {tag} ({engine})",
                  median(t["noop"]), stats={"runs": len(t["noop"]), "docs": size})
    noop.checks.append(check_at_most("≤ 15 ms", noop.median, NOOP_TARGET,
                                     f"{noop.median * 1000:.1f} ms"))
    return [inc, noop]


def memory_figure(push):
    """The field process's peak RSS while pushing (from the push figure's child)."""
    size = push.stats["docs"]
    tag = push.key.split("_")[2]
    figure = Figure(f"field_rss_push_{tag}", f"field process peak RSS, pushing {tag} findings",
                    push.stats.get("peak_rss_mb"), unit="MB",
                    stats={"rss_after_open_mb": push.stats.get("rss_open_mb"),
                           "peak_while_opening_mb": push.stats.get("peak_open_mb"),
                           "docs": size})
    figure.note = (f"RSS {push.stats.get('rss_open_mb'):.0f} MB once the store is open, peak "
                   f"{push.stats.get('peak_open_mb'):.0f} MB while opening it")
    if figure.median is not None and size >= 100_000:
        figure.checks.append(check_at_most(f"≤ {RSS_TARGET:g} MB", figure.median, RSS_TARGET,
                                           f"{figure.median:.0f} MB"))
    return figure


def run(ctx, want):
    """``want``: the subset of {"full_push", "incremental", "memory"} asked for."""
    s = ctx.settings
    sizes = s.sizes_for("full_push", s.pick([10_000, 100_000], [10_000], [50]))
    engines = s.pick(("sqlite", "postgres"), ("sqlite",), ("sqlite",))
    figures = []
    for engine in engines:
        if engine == "postgres":
            try:
                ctx.pg()
            except NotMeasured as exc:
                for size in sizes:
                    figures.append(not_measured(f"full_push_{human_size(size)}_postgres",
                                                f"full push {human_size(size)} (postgres)",
                                                exc))
                continue
        for size in sizes:
            if "full_push" in want:
                rounds = s.repeat(s.pick(3 if size <= 20_000 else 1, 3, 2))
            else:
                rounds = 1  # the push only sets up the incremental or memory figures
            with_pouch = "full_push" in want and engine == "sqlite" and s.mode == "full"
            try:
                made = session(ctx, engine, size, rounds, with_pouch,
                               incremental="incremental" in want)
            except NotMeasured as exc:
                figures.append(not_measured(f"full_push_{human_size(size)}_{engine}",
                                            f"full push {human_size(size)} ({engine})", exc))
                continue
            push = made[0]
            if "full_push" in want:
                figures.append(push)
            figures += made[1:]
            if "memory" in want and engine == "sqlite" and size == max(sizes):
                figures.append(memory_figure(push))
    _scaling_checks(figures)
    if s.mode == "full" and "full_push" in want:
        ctx.notes.append(
            "Full push: fieldkit times `sync()` of a freshly enrolled station (push, then pull "
            "of HQ's published checklists) in its own process; direct insert times the "
            "database writes only (rows built beforehand); PouchDB replicates LevelDB → "
            "pouchdb-server (LevelDB, which does not fsync), batch_size 500 like fieldkit. "
            "Pushes of 100k run once per engine (10k: 3 rounds) to keep the suite under ~20 "
            "minutes.")
    return figures


def _scaling_checks(figures):
    """Incremental sync on the larger store vs the smaller one (target: ≤ 1.5×)."""
    by_key = {f.key: f for f in figures}
    for figure in figures:
        if not figure.key.startswith("incremental_") or "_on_100k" not in figure.key:
            continue
        smaller = by_key.get(figure.key.replace("_on_100k", "_on_10k"))
        if smaller is None:
            continue
        growth = ratio(figure.median, smaller.median)
        figure.baselines["same_on_10k"] = smaller.median
        figure.checks.append(check_at_most("≤ 1.5× the same on 10k", growth, 1.5,
                                           growth and f"{growth:.2f}×"))
