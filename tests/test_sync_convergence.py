"""Convergence (Hypothesis): random edits and deletions on three devices and at HQ, of the same
and of different documents, synced in random orders; once everyone has synced until nothing
moves, every store holds the same current revision of every document, and every version that
was never edited further is kept somewhere (current, or in HQ's conflicts list).

Two versions with the same content (only who and when differ) are not a conflict: the
higher revision stands for both. So a version counts as kept when its content is current,
in HQ's conflicts list, or was carried on by an edit of a version with that content."""

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.core.documents import public
from fieldkit.core.store.memory import MemoryStore
from fieldkit.sync import client as sync_client
from fieldkit.sync.protocol import same_content
from fieldkit.sync.server import save_at_hq
from test_sync_support import enroll_store, make_hq_app

DEVICES = 3
HQ = DEVICES  # the actor number of headquarters
TEXTS = ("a", "b", "c", "d", "e")


@pytest.fixture(scope="module")
def hq(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("convergence")
    app, store = make_hq_app(f"sqlite:///{tmp / 'hq.db'}", tmp)
    yield app, store
    store.close()


step = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, HQ), st.integers(0, 2), st.sampled_from(TEXTS)),
    st.tuples(st.just("delete"), st.integers(0, HQ), st.integers(0, 2), st.just(None)),
    st.tuples(st.just("sync"), st.integers(0, DEVICES - 1), st.just(0), st.just(None)),
)


def _edit(store, doc_id, text, actor, device_id, delete=False):
    current = store.get(doc_id)
    if delete and current is None:
        return None
    doc = public(current) if current else {
        "id": doc_id, "type": "recommendation", "campaign_id": "ctr-72-2024",
        "province_code": "25", "inspection_id": None}
    doc = {**doc, "text": text if text is not None else doc.get("text"),
           "deleted": bool(delete)}
    if actor == HQ:
        return save_at_hq(store, doc, author="hq")
    return public(store.save(doc, device=device_id, author=f"device {actor}"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=25))
def test_everyone_converges_and_nothing_is_dropped(hq, steps):
    app, store = hq
    prefix = uuid.uuid4().hex[:8]
    ids = [f"{prefix}-{k}" for k in range(3)]
    devices = [MemoryStore() for _ in range(DEVICES)]
    clients = [enroll_store(app, store, device) for device in devices]
    device_ids = [device.get_meta("device_id") for device in devices]
    made = []  # every version anyone saved
    for action, actor, doc_k, text in steps:
        if action == "sync":
            sync_client.sync(devices[actor], client=clients[actor])
            continue
        target = store if actor == HQ else devices[actor]
        saved = _edit(target, ids[doc_k], text, actor, device_ids[actor] if actor < HQ else None,
                      delete=action == "delete")
        if saved is not None:
            made.append(saved)

    for _ in range(10):  # everyone syncs until nothing moves
        moved = 0
        for device, client in zip(devices, clients):
            summary = sync_client.sync(device, client=client)
            moved += summary["pushed"] + summary["pulled"]
        if moved == 0:
            break
    else:
        pytest.fail("sync never became quiet")

    for doc_id in ids:
        at_hq = store.get(doc_id)
        revs = {None if d.get(doc_id) is None else d.get(doc_id)["rev"] for d in devices}
        assert revs == {at_hq and at_hq["rev"]}, doc_id
        # Each version nobody edited further is current or kept in HQ's conflicts list.
        edited_from = {v["base_rev"] for v in made if v["id"] == doc_id}
        leaves = [v for v in made if v["id"] == doc_id and v["rev"] not in edited_from]
        kept = ([at_hq] if at_hq else []) + store.conflicts(doc_id) + [
            v for v in made if v["id"] == doc_id and v["rev"] in edited_from]
        for leaf in leaves:
            assert any(same_content(leaf, version) for version in kept), leaf
