"""The pipelined push (``sync.client.push``): the next batch is prepared while HQ applies the
current one, but HQ still receives the batches in order, one at a time, and a failure leaves
the checkpoint at the last batch HQ answered, so the next sync repeats nothing twice."""

import threading

import pytest

from fieldkit.core.errors import SyncError
from fieldkit.core.store.memory import MemoryStore
from fieldkit.sync.client import push, sync
from fieldkit.sync.local import pending_count, push_checkpoint
from test_sync_support import enroll_store, make_hq_app


def _findings(count):
    return [{"id": f"f-{n:04d}", "type": "finding", "campaign_id": "ctr-72-2024",
             "province_code": "25", "inspection_id": None, "item": "LD01", "value": "yes"}
            for n in range(count)]


class Recording:
    """Wraps a client: records every push (ids, how many were in flight) and fails the
    ``fail_at``-th push (1-based) before sending it."""

    def __init__(self, inner, fail_at=None):
        self.inner, self.fail_at = inner, fail_at
        self.sent, self.in_flight, self.most_in_flight = [], 0, 0
        self.lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def push_encoded(self, payload):
        import json
        ids = [doc["id"] for doc in json.loads(payload)["docs"]]
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.fail_at == len(self.sent) + 1:
                raise SyncError("Headquarters could not be reached (test).")
            self.sent.append(ids)
            return self.inner.push_encoded(payload)
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.fixture
def hq(tmp_path):
    app, store = make_hq_app(f"sqlite:///{tmp_path / 'hq.db'}", tmp_path)
    yield app, store
    store.close()


def _station(hq, count):
    app, store = hq
    field = MemoryStore()
    client = enroll_store(app, store, field)
    for doc in _findings(count):
        field.save(doc)
    return field, client


def test_batches_reach_hq_in_order_one_at_a_time(hq):
    field, client = _station(hq, 23)
    recording = Recording(client)
    summary = push(field, recording, batch=5)
    assert summary["pushed"] == 23 and summary["rejected"] == 0
    assert [ids for batch in recording.sent for ids in batch] == [
        doc["id"] for doc in _findings(23)]
    assert [len(batch) for batch in recording.sent] == [5, 5, 5, 5, 3]
    assert recording.most_in_flight == 1
    assert push_checkpoint(field) == field.last_seq()


def test_a_failed_batch_stops_the_push_at_the_last_answered_one(hq):
    app, store = hq
    field, client = _station(hq, 23)
    recording = Recording(client, fail_at=3)
    with pytest.raises(SyncError):
        push(field, recording, batch=5)
    assert len(recording.sent) == 2  # the 4th batch was never sent
    answered = field.changes(0, 10)[-1]["_seq"]
    assert push_checkpoint(field) == answered
    held = {doc["id"] for doc in store.find("finding")}
    assert held == {doc["id"] for doc in _findings(10)}

    again = sync(field, client=Recording(client))
    assert again["pushed"] == 13 and again["duplicates"] == 0
    assert {doc["id"] for doc in store.find("finding")} == {d["id"] for d in _findings(23)}
    assert pending_count(field) == 0
