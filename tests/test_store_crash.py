"""Kill the field store's process at random moments: every acknowledged write must survive.

A child process saves findings in a loop (single saves, transactions, edits) and prints each
id only after ``save()`` (or the transaction) returned. The parent SIGKILLs it at random
moments — often while a snapshot is being written, as the compaction threshold is tiny —
then opens the store and checks every acknowledged write, round after round.
"""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from fieldkit.core.documents import rev_generation
from fieldkit.core.store.field import FieldStore

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")]

ROUNDS = 25
TIME_BUDGET = 25.0  # seconds for all rounds together

WRITER = r"""
import sys
from fieldkit.core.store.field import FieldStore

directory, first = sys.argv[1], int(sys.argv[2])
store = FieldStore(directory, compact_every=30)
print("ready", flush=True)


def ack(doc):
    print(f"ack {doc['id']} {doc['rev']} {doc['n']}", flush=True)


n, latest = first, None
while True:
    if latest is not None and n % 5 == 0:
        with store.transaction():  # two new findings and an edit, all or nothing
            done = [store.save({"type": "finding", "n": n, "note": f"ghi chú {n}"}),
                    store.save({"type": "finding", "n": n + 1, "note": f"ghi chú {n + 1}"}),
                    store.save({**store.get(latest), "value": f"sửa {n}"})]
        for doc in done:
            ack(doc)
        n += 2
    else:
        latest = store.save({"type": "finding", "n": n, "note": f"ghi chú {n}",
                             "value": "yes", "padding": "x" * (n % 300)})["id"]
        ack(store.get(latest))
        n += 1
"""


def run_and_kill(directory, first, delay):
    """Start a writer, kill it ``delay`` seconds after it is ready; its acknowledged lines."""
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(directory), str(first)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready = child.stdout.readline()
        assert ready == b"ready\n", (ready, child.stderr.read().decode())
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, err.decode()
    complete = out.split(b"\n")[:-1]  # a line cut by the kill is not an acknowledgement
    return [line.decode().split() for line in complete]


def test_every_acknowledged_write_survives_sigkill(tmp_path):
    rng = random.Random(20240601)
    acknowledged = {}  # id -> (rev generation, n)
    started = time.monotonic()
    rounds = 0

    for number in range(ROUNDS):
        if time.monotonic() - started > TIME_BUDGET:
            break
        rounds += 1
        for _, doc_id, rev, n in run_and_kill(tmp_path, number * 1_000_000,
                                              rng.uniform(0.0, 0.3)):
            generation = max(rev_generation(rev), acknowledged.get(doc_id, (0, 0))[0])
            acknowledged[doc_id] = (generation, int(n))

        store = FieldStore(tmp_path)  # opens as it is: no repair step
        try:
            for doc_id, (generation, n) in acknowledged.items():
                doc = store.get(doc_id)
                assert doc is not None, f"round {number}: acknowledged {doc_id} is missing"
                assert doc["n"] == n and doc["note"] == f"ghi chú {n}"
                assert rev_generation(doc["rev"]) >= generation
            seqs = [doc["_seq"] for doc in store.changes(0, limit=None)]
            assert seqs == sorted(set(seqs)) and seqs[-1] == store.last_seq()
        finally:
            store.close(compact=False)  # leave the files as the crash left them

    assert rounds >= 10 and len(acknowledged) > 200
    assert not list(tmp_path.glob("*.tmp-*"))
