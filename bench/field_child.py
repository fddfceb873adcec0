"""The field side of the sync cases, run as its own process (a station is one process):

    python -m bench.field_child enroll STORE CODE URL
    python -m bench.field_child push STORE [--ready FILE --go FILE] [--push-only]
    python -m bench.field_child incremental STORE --changes 100 --rounds 5
                                           [--discard URL --baseline-db URL]

Prints one JSON object. ``push`` times ``sync()`` (or, ``--push-only``, the push alone) of
everything the store holds and reports the process's peak RSS (VmHWM) while pushing (the
peak is reset once the store is open, where Linux allows), the peak while opening the store
and the RSS once it is open. ``incremental`` repeats,
interleaved: save ``--changes`` edited findings (``Store.save``, untimed), time ``sync()``,
time a ``sync()`` with nothing to do, and time the baselines for the same documents: the
same push body POSTed to the discard endpoint, and the same rows upserted straight into a
database of the same kind holding the same documents (one transaction, executemany).
"""

import argparse
import json
import os
import random
import sys
import time

from fieldkit.core.documents import public
from fieldkit.core.store.field import FieldStore
from fieldkit.sync.client import client_for, enroll, push, sync
from fieldkit.sync.protocol import BATCH_SIZE

from .common import current_rss_mb, peak_rss_mb, reset_peak_rss


def _open(path):
    return FieldStore(path)


def cmd_enroll(args):
    store = _open(args.store)
    try:
        info = enroll(store, args.code, url=args.url, name="bench")
    finally:
        store.close()
    return {"device_id": info["device_id"]}


def _wait_for(path, timeout=600):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit(f"no go signal after {timeout} s")
        time.sleep(0.002)


def cmd_push(args):
    opened_at = time.perf_counter()
    store = _open(args.store)
    open_seconds = time.perf_counter() - opened_at
    rss_open, peak_open = current_rss_mb(), peak_rss_mb()
    reset = reset_peak_rss()  # from here on, VmHWM is the peak of the push itself
    if args.ready:
        with open(args.ready, "w") as marker:
            marker.write(str(os.getpid()))
        _wait_for(args.go)
    start_wall, started = time.time(), time.perf_counter()
    summary = push(store, client_for(store)) if args.push_only else sync(store)
    seconds = time.perf_counter() - started
    end_wall = time.time()
    peak = peak_rss_mb()
    store.close(compact=False)
    summary.pop("rejections", None)
    return {"seconds": seconds, "start": start_wall, "end": end_wall, "summary": summary,
            "open_seconds": open_seconds, "rss_open_mb": rss_open, "peak_rss_mb": peak,
            "peak_open_mb": peak_open, "peak_is_push_only": reset}


def _push_body(docs):
    return json.dumps({"docs": docs}, ensure_ascii=False, separators=(",", ":")).encode()


def cmd_incremental(args):
    from .direct import Direct
    from .servers import post_batches
    store = _open(args.store)
    rng = random.Random(args.seed)
    findings = [doc["id"] for doc in store.find("finding")]
    baseline = Direct(args.baseline_db) if args.baseline_db else None
    timings = {"sync": [], "noop": [], "discard_post": [], "direct_upsert": []}
    pushed = []
    try:
        next_seq = 10**9  # baseline rows get fresh, increasing sequence numbers
        for _ in range(args.rounds):
            chosen = rng.sample(findings, args.changes)
            saved = [public(store.save(_edit(store.get(doc_id), rng))) for doc_id in chosen]
            started = time.perf_counter()
            summary = sync(store)
            timings["sync"].append(time.perf_counter() - started)
            pushed.append(summary["pushed"])
            started = time.perf_counter()
            sync(store)
            timings["noop"].append(time.perf_counter() - started)
            if args.discard:
                bodies = [_push_body(saved[i:i + BATCH_SIZE])
                          for i in range(0, len(saved), BATCH_SIZE)]
                timings["discard_post"].append(post_batches(args.discard, bodies))
            if baseline is not None:
                next_seq += len(saved)
                timings["direct_upsert"].append(baseline.upsert(saved, next_seq))
    finally:
        if baseline is not None:
            baseline.close()
        store.close(compact=False)
    return {"timings": timings, "pushed": pushed, "peak_rss_mb": peak_rss_mb()}


def _edit(doc, rng):
    from .data import edited
    return edited(doc, rng)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("enroll")
    p.add_argument("store")
    p.add_argument("code")
    p.add_argument("url")
    p = commands.add_parser("push")
    p.add_argument("store")
    p.add_argument("--ready")
    p.add_argument("--go")
    p.add_argument("--push-only", action="store_true",
                   help="time the push alone (no pull of what other devices sent)")
    p = commands.add_parser("incremental")
    p.add_argument("store")
    p.add_argument("--changes", type=int, default=100)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--discard")
    p.add_argument("--baseline-db")
    args = parser.parse_args(argv)
    result = {"enroll": cmd_enroll, "push": cmd_push,
              "incremental": cmd_incremental}[args.command](args)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
