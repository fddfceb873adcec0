"""Connections cut at random points of push and pull, many times, through a TCP proxy on
loopback in front of a real ``fieldkit hq serve``: afterwards HQ holds every document once
with the field's revision, nothing is kept as a spurious conflict, and the field's
checkpoints are right."""

import random
import socket
import threading

import pytest

from fieldkit.core.errors import SyncError
from fieldkit.core.store.memory import MemoryStore
from fieldkit.core.store.sql import SQLStore
from fieldkit.sync import client as sync_client
from fieldkit.sync.local import (PULL_CURSOR, is_from_hq, pending_count, push_checkpoint)
from test_sync_support import HQServer, fill_inspection, free_port, issue, open_station


class CuttingProxy:
    """Relays loopback TCP to HQ; ``cut(skip, direction, after)`` makes the (skip+1)-th next
    connection close abruptly once ``after`` bytes went ``up`` (request) or ``down``."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", free_port()))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.plan = None
        self.cuts = 0
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self, skip, direction, after):
        with self.lock:
            self.plan = [skip, direction, after]

    def _accept(self):
        while not self.closed:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                plan = None
                if self.plan is not None:
                    if self.plan[0] == 0:
                        plan, self.plan = self.plan[1:], None
                    else:
                        self.plan[0] -= 1
            upstream = socket.create_connection(self.target)
            state = {"budget": plan[1] if plan else None, "dir": plan[0] if plan else None}
            for source, sink, direction in ((downstream, upstream, "up"),
                                            (upstream, downstream, "down")):
                threading.Thread(target=self._relay, daemon=True,
                                 args=(source, sink, direction, state,
                                       (downstream, upstream))).start()

    def _relay(self, source, sink, direction, state, both):
        try:
            while True:
                data = source.recv(4096)
                if not data:
                    break
                if state["dir"] == direction:
                    with self.lock:
                        if len(data) >= state["budget"]:
                            sink.sendall(data[:state["budget"]])
                            self.cuts += 1
                            raise ConnectionAbortedError
                        state["budget"] -= len(data)
                sink.sendall(data)
        except OSError:
            pass
        for sock in both:  # shutdown wakes the other relay thread at once
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self):
        self.closed = True
        self.listener.close()


@pytest.fixture
def hq_process(tmp_path):
    db = f"sqlite:///{tmp_path / 'hq.db'}"
    store = SQLStore(db)
    store.close()
    server = HQServer(db, tmp_path / "hqdata").start()
    yield server
    server.stop()


def _enroll(store, server, team="Đoàn 1"):
    hq = SQLStore(server.db)
    try:
        code = issue(hq, team=team)["code"]
    finally:
        hq.close()
    sync_client.enroll(store, code, url=server.url)
    return store.get_meta("sync.enrollment")["token"]


def test_random_cuts_during_push_and_pull_lose_and_double_nothing(hq_process, tmp_path):
    rng = random.Random(20240601)
    proxy = CuttingProxy(hq_process.port)
    station = open_station(tmp_path / "station")
    teammate = MemoryStore()
    try:
        _enroll(station.store, hq_process)
        teammate_token = _enroll(teammate, hq_process, team="Đoàn 1b")
        direct = sync_client.HQClient(hq_process.url, teammate_token)
        inspection = fill_inspection(station, submit=False)
        flow = station.workflow()
        via_proxy = sync_client.HQClient(proxy.url, station.store.get_meta(
            "sync.enrollment")["token"], timeout=10)
        failures = 0
        for round_number in range(40):
            # New work on both sides between attempts: the field edits, a teammate pushes.
            flow.add_recommendation(inspection["id"], f"Kiến nghị {round_number}")
            for n in range(5):
                teammate.save({"type": "recommendation", "inspection_id": inspection["id"],
                               "campaign_id": "ctr-72-2024", "province_code": "25",
                               "text": f"Ý kiến {round_number}.{n}"})
            sync_client.push(teammate, direct)
            proxy.cut(rng.randrange(2), rng.choice(["up", "down"]), rng.randrange(1, 1500))
            try:
                sync_client.sync(station.store, blobs=station.blobs, client=via_proxy,
                                 batch=rng.choice([3, 7, 20]))
            except SyncError:
                failures += 1
        proxy.plan = None
        summary = sync_client.sync(station.store, blobs=station.blobs, client=via_proxy)
        assert summary["conflicts"] == 0 and summary["rejected"] == 0
        assert failures >= 20 and proxy.cuts >= 20, (failures, proxy.cuts)  # cuts happened

        hq = SQLStore(hq_process.db)
        try:
            assert hq.conflicts() == []      # a retried push is a duplicate, never a conflict
            field_docs = [d for d in station.store.changes(0, None) if not is_from_hq(d)]
            for doc in field_docs:           # every field document, once, same revision
                assert hq.get(doc["id"])["rev"] == doc["rev"]
            teammate_docs = teammate.find("recommendation")
            assert len(teammate_docs) == 200
            for doc in teammate_docs:        # everything HQ has in scope reached the field
                assert station.store.get(doc["id"])["rev"] == doc["rev"]
            assert station.store.conflicts() == []
            assert pending_count(station.store) == 0
            checkpoint = push_checkpoint(station.store)   # only HQ's versions after it
            assert all(is_from_hq(d) for d in station.store.changes(checkpoint, None))
            assert station.store.get_meta(PULL_CURSOR) == hq.last_seq()
            evidence = station.workflow().evidence(inspection["id"])[0]
            assert (tmp_path / "hqdata" / "blobs" / evidence["sha256"][:2]
                    / evidence["sha256"][2:]).is_file()
        finally:
            hq.close()
    finally:
        proxy.close()
        station.close()
