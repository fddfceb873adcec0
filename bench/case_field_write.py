"""Field write: the latency of one durable write (``Store.save`` of a new finding on the
field store, fsync on, default compaction settings) with 1k, 10k and 100k documents already
in the store.

Baselines, interleaved with it block by block, and every size in the same blocks (the order
rotates every block), so a busy disk hits every figure alike:

- ``fsync_append``: the same journal line appended to a plain file and flushed with the same
  call the store uses (fdatasync) — the physical floor of any durable write;
- ``tinydb_jsonstorage``: stock TinyDB with its ``JSONStorage`` holding the same documents,
  ``insert`` of the same finding (it re-reads and rewrites the whole file each time, so only
  a few writes are timed on big stores).

A full run times 6,000 saves per size, so one compaction (every 5,000 journal entries, in a
background thread) falls inside the measurement and shows in p99.
"""

import os
import time

from fieldkit.core.store.field import FieldStore
from fieldkit.core.store.files import sync_file
from fieldkit.core.store.journal import encode_record

from .common import (Figure, check_at_most, human_size, log, median, percentile, ratio)
from .data import corpus, write_store

P50_TARGET = 0.002          # s at 100k
GROWTH_TARGET = 1.5         # p50(100k) / p50(1k)
FLOOR_TARGET = 3.0          # p50 / fsync'd append


def _tinydb_writes(ctx, size):
    if ctx.settings.mode == "smoke":
        return 5
    if size >= 100_000:
        return 5
    if size >= 10_000:
        return ctx.settings.pick(20, 8, 5)
    return 100


def _new_findings(count, tag):
    """New findings as ``Store.save`` takes them, and each one's journal line as the store
    would write it (for the plain append)."""
    full = [doc for doc in corpus(count, tag=tag) if doc["type"] == "finding"][:count]
    edits = [{k: v for k, v in doc.items() if k not in ("rev", "base_rev", "updated_at")}
             for doc in full]
    lines = [encode_record([{"op": "put", "seq": number, "doc": doc}])
             for number, doc in enumerate(full, 1_000_000)]
    return edits, lines


class Subject:
    """One store size: the field store, its plain append file and its stock TinyDB file, and
    the findings still to write to each."""

    def __init__(self, ctx, size, writes, tiny):
        from tinydb import TinyDB
        self.size, self.tag = size, human_size(size)
        log(f"field write {self.tag}: building the stores …")
        existing = corpus(size, tag=f"write-{self.tag}")[:size]
        folder = ctx.ws.path(f"field-write-{self.tag}")
        write_store(folder / "store", existing)
        with TinyDB(folder / "tinydb.json") as db:
            db.insert_multiple(existing)
        del existing
        self.new, self.lines = _new_findings(writes + tiny, f"new-{self.tag}")
        self.writes, self.tiny = writes, tiny
        self.store = FieldStore(folder / "store")
        self.append_fd = os.open(folder / "plain.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                                 0o644)
        self.tinydb = TinyDB(folder / "tinydb.json")
        self.times = {"fieldkit": [], "fsync_append": [], "tinydb_jsonstorage": []}
        self.compactions = 0

    def step(self, kind, block, blocks):
        """Time this block's share of ``kind``'s writes."""
        times = self.times[kind]
        if kind == "fieldkit":
            per = -(-self.writes // blocks)
            before = self.store.last_compaction
            for doc in self.new[block * per:(block + 1) * per]:
                started = time.perf_counter()
                self.store.save(doc)
                times.append(time.perf_counter() - started)
            self.store.wait_for_compaction()  # never into another subject's block
            self.compactions += self.store.last_compaction is not before
        elif kind == "fsync_append":
            per = -(-self.writes // blocks)
            fd = self.append_fd
            for line in self.lines[block * per:(block + 1) * per]:
                started = time.perf_counter()
                os.write(fd, line)
                sync_file(fd)
                times.append(time.perf_counter() - started)
        else:
            per = -(-self.tiny // blocks)
            first = self.writes + block * per
            for doc in self.new[first:self.writes + min(self.tiny, (block + 1) * per)]:
                started = time.perf_counter()
                self.tinydb.insert(doc)
                times.append(time.perf_counter() - started)

    def close(self):
        os.close(self.append_fd)
        self.tinydb.close()
        self.store.close(compact=False)


def measure(ctx, sizes):
    """Every size and every baseline in the same blocks, in an order that rotates from block
    to block, so that disk and CPU contention of a shared machine hit them all alike."""
    s = ctx.settings
    writes = s.pick(6000, 1000, 40)
    blocks = s.pick(12, 4, 2)
    subjects = []
    try:
        for size in sizes:
            subjects.append(Subject(ctx, size, writes, _tinydb_writes(ctx, size)))
        steps = [(subject, kind) for subject in subjects
                 for kind in ("fieldkit", "fsync_append", "tinydb_jsonstorage")]
        for block in range(blocks):
            shift = block * 2 % len(steps)
            for subject, kind in steps[shift:] + steps[:shift]:
                subject.step(kind, block, blocks)
        for subject in subjects:
            t = subject.times
            log(f"field write {subject.tag}: p50 {median(t['fieldkit']) * 1e3:.2f} ms, fsync "
                f"append {median(t['fsync_append']) * 1e3:.2f} ms, TinyDB "
                f"{median(t['tinydb_jsonstorage']) * 1e3:.1f} ms")
        return [(subject.size, subject.times, subject.compactions) for subject in subjects]
    finally:
        for subject in subjects:
            subject.close()


def run(ctx):
    s = ctx.settings
    sizes = s.sizes_for("field_write", s.pick([1000, 10_000, 100_000], [10_000], [50]))
    figures = []
    for size, times, compactions in measure(ctx, sizes):
        mine = times["fieldkit"]
        key = "field_write" if len(sizes) == 1 and s.mode != "full" else \
            f"field_write_{human_size(size)}"
        figure = Figure(key, f"field write, {human_size(size)} docs in store (p50)",
                        median(mine),
                        baselines={"fsync_append": median(times["fsync_append"]),
                                   "tinydb_jsonstorage": median(times["tinydb_jsonstorage"])},
                        stats={"docs": size, "p99": percentile(mine, 0.99),
                               "writes": len(mine), "compactions": compactions,
                               "fsync_append_p99": percentile(times["fsync_append"], 0.99),
                               "tinydb_writes": len(times["tinydb_jsonstorage"])})
        floor = ratio(figure.median, figure.baselines["fsync_append"])
        figure.checks.append(check_at_most(f"≤ {FLOOR_TARGET:g}× fsync'd append", floor,
                                           FLOOR_TARGET, floor and f"{floor:.2f}×"))
        if size >= 100_000:
            figure.checks.append(check_at_most("p50 ≤ 2 ms at 100k", figure.median,
                                               P50_TARGET, f"{figure.median * 1e3:.2f} ms"))
        figures.append(figure)
    if s.mode == "full":
        ctx.notes.append("Field write: 6,000 `Store.save` calls per size in 12 blocks "
                         "interleaved with the baselines and the other sizes (one background "
                         "compaction falls in each size's sample); stock TinyDB writes: 100 at 1k, "
                         "20 at 10k, 5 at 100k.")
    by_size = {f.stats["docs"]: f for f in figures}
    if 1000 in by_size and 100_000 in by_size:
        growth = ratio(by_size[100_000].median, by_size[1000].median)
        by_size[100_000].baselines["same_at_1k"] = by_size[1000].median
        by_size[100_000].checks.append(check_at_most(
            f"p50(100k)/p50(1k) ≤ {GROWTH_TARGET:g}", growth, GROWTH_TARGET,
            growth and f"{growth:.2f}×"))
    return figures
