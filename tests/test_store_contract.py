"""The Store contract, the same for every backend: memory, field (TinyDB), SQLite, PostgreSQL."""

import unicodedata

import pytest

from fieldkit.core.errors import ConflictError, NotFound, StoreError
from fieldkit.core.store import open_store


@pytest.fixture(params=["memory", "field", "sqlite", "postgres"])
def store(request, tmp_path):
    kind = request.param
    if kind == "memory":
        opened = open_store("memory:")
    elif kind == "field":
        opened = open_store(tmp_path / "field")
    elif kind == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path}/hq.db")
    else:
        opened = open_store(request.getfixturevalue("pg_url"))
        opened.drop_all_for_tests()
    yield opened
    opened.close()


def finding(**fields):
    return {"type": "finding", "inspection": "insp-1", "item": "1.1", "value": "yes", **fields}


# --- documents -----------------------------------------------------------------------------


def test_save_then_get_returns_the_same_document(store):
    saved = store.save(finding(note="Thiếu biên bản họp"), device="laptop-1", author="lan")

    assert saved["id"] and saved["rev"].startswith("1-")
    assert saved["base_rev"] is None and saved["deleted"] is False
    assert saved["device"] == "laptop-1" and saved["author"] == "lan"
    assert store.get(saved["id"]) == saved
    assert store.get("no-such-id") is None


def test_a_given_id_is_kept(store):
    saved = store.save(finding(id="0190c0de-0000-7000-8000-000000000001"))

    assert saved["id"] == "0190c0de-0000-7000-8000-000000000001"
    assert store.require(saved["id"], type="finding")["rev"] == saved["rev"]


def test_each_edit_chains_rev_to_base_rev(store):
    first = store.save(finding())
    second = store.save({**first, "value": "no"})
    third = store.save({**second, "note": "sửa lại"})

    assert second["base_rev"] == first["rev"] and second["rev"].startswith("2-")
    assert third["base_rev"] == second["rev"] and third["rev"].startswith("3-")
    assert store.get(first["id"])["rev"] == third["rev"]


def test_a_stale_expected_rev_is_a_conflict_and_writes_nothing(store):
    first = store.save(finding())
    second = store.save({**first, "value": "no"}, expected_rev=first["rev"])
    seq_before = store.last_seq()

    with pytest.raises(ConflictError, match="changed meanwhile"):
        store.save({**first, "value": "partly"}, expected_rev=first["rev"])

    assert store.get(first["id"]) == second
    assert store.last_seq() == seq_before


def test_delete_leaves_a_tombstone_that_travels(store):
    saved = store.save(finding())
    tombstone = store.delete(saved["id"], author="lan")

    assert tombstone["deleted"] is True and tombstone["base_rev"] == saved["rev"]
    assert store.get(saved["id"])["deleted"] is True
    assert [doc["id"] for doc in store.find("finding")] == [saved["id"]]
    assert store.changes(saved["_seq"])[-1]["deleted"] is True
    with pytest.raises(NotFound):
        store.delete("no-such-id")
    with pytest.raises(NotFound):
        store.require("no-such-id")


def test_write_stores_a_document_exactly_as_given(store):
    doc = {"id": "from-hq", "type": "review", "rev": "4-abc", "base_rev": "3-abb",
           "device": "hq", "author": "tổ thư ký", "updated_at": "2024-06-01T08:00:00+07:00",
           "deleted": False, "decision": "returned"}

    seq = store.write(doc)

    assert seq == store.last_seq()
    assert store.get("from-hq") == {**doc, "_seq": seq}


# --- queries -------------------------------------------------------------------------------


def test_find_by_type_and_top_level_values(store):
    a = store.save(finding(item="1.1", flagged=True))
    store.save(finding(item="1.2", flagged=False))
    c = store.save(finding(item="1.3", flagged=True, inspection="insp-2"))
    store.save({"type": "inspection", "province": "Ninh Bình"})

    assert len(store.find("finding")) == 3
    assert {d["id"] for d in store.find("finding", flagged=True)} == {a["id"], c["id"]}
    assert [d["id"] for d in store.find("finding", flagged=True, inspection="insp-2")] == [c["id"]]
    assert [d["province"] for d in store.find("inspection")] == ["Ninh Bình"]
    assert store.find("recommendation") == []
    assert all("_seq" in d for d in store.find("finding"))


def test_find_sees_a_document_under_its_new_type_only(store):
    doc = store.save({"type": "recommendation", "text": "x"})
    store.save({**doc, "type": "finding"})

    assert store.find("recommendation") == []
    assert [d["id"] for d in store.find("finding")] == [doc["id"]]


def test_changes_come_in_seq_order_each_document_once(store):
    docs = [store.save(finding(item=f"1.{n}")) for n in range(5)]
    edited = store.save({**docs[1], "value": "no"})

    feed = store.changes(0)

    assert [d["_seq"] for d in feed] == sorted(d["_seq"] for d in feed)
    assert [d["id"] for d in feed] == [docs[n]["id"] for n in (0, 2, 3, 4)] + [edited["id"]]
    assert feed[-1]["rev"] == edited["rev"]


def test_changes_page_through_since_and_limit(store):
    for n in range(7):
        store.save(finding(item=f"2.{n}"))

    seen, cursor = [], 0
    while True:
        page = store.changes(since=cursor, limit=3)
        if not page:
            break
        assert len(page) <= 3
        seen += page
        cursor = page[-1]["_seq"]

    assert len(seen) == 7 and cursor == store.last_seq()
    assert store.changes(since=store.last_seq()) == []


def test_iter_changes_gives_what_changes_gives_one_at_a_time(store):
    docs = [store.save(finding(item=f"3.{n}")) for n in range(7)]
    store.save({**docs[2], "value": "no"})
    since = docs[0]["_seq"]
    assert list(store.iter_changes(since)) == store.changes(since, 100)
    assert [d["item"] for d in store.iter_changes(since)] == [
        "3.1", "3.3", "3.4", "3.5", "3.6", "3.2"]
    assert list(store.iter_changes(store.last_seq())) == []
    # The base implementation (pages of ``batch``), which stores may override.
    from fieldkit.core.store.base import Store
    assert list(Store.iter_changes(store, since, batch=2)) == store.changes(since, 100)


def test_last_seq_starts_at_zero_and_only_grows(store):
    assert store.last_seq() == 0
    seqs = []
    doc = store.save(finding())
    for n in range(4):
        doc = store.save({**doc, "value": str(n)})
        seqs.append(store.last_seq())

    assert seqs == sorted(set(seqs))
    assert store.last_seq() == doc["_seq"]


# --- transactions --------------------------------------------------------------------------


def test_a_transaction_that_fails_writes_nothing(store):
    kept = store.save(finding())
    seq = store.last_seq()

    with pytest.raises(RuntimeError):
        with store.transaction():
            store.save(finding(item="9.9"))
            store.save({**kept, "value": "no"})
            raise RuntimeError("interrupted")

    assert store.last_seq() == seq
    assert store.get(kept["id"]) == kept
    assert len(store.find("finding")) == 1


def test_a_transaction_writes_all_of_its_documents(store):
    with store.transaction():
        ids = [store.save(finding(item=f"3.{n}"))["id"] for n in range(3)]

    assert all(store.get(doc_id) for doc_id in ids)


# --- conflicts and metadata ----------------------------------------------------------------


def test_conflicts_are_kept_listed_and_resolved(store):
    mine = store.save(finding())
    theirs = {**mine, "value": "no", "rev": "2-ffff", "device": "tablet-2"}
    other = store.save(finding(item="4.4"))
    other_loser = {**other, "rev": "2-eeee"}

    store.add_conflict(theirs)
    store.add_conflict(theirs)  # a retried sync batch: kept once
    store.add_conflict(other_loser)

    assert [c["rev"] for c in store.conflicts(mine["id"])] == ["2-ffff"]
    assert {c["id"] for c in store.conflicts()} == {mine["id"], other["id"]}
    assert store.conflicts(mine["id"])[0]["device"] == "tablet-2"

    store.resolve_conflicts(mine["id"])

    assert store.conflicts(mine["id"]) == []
    assert [c["rev"] for c in store.conflicts()] == ["2-eeee"]


def test_metadata_values_round_trip(store):
    assert store.get_meta("checkpoint") is None
    assert store.get_meta("checkpoint", 0) == 0

    store.set_meta("checkpoint", 17)
    store.set_meta("device", {"id": "laptop-1", "provinces": ["Hòa Bình", "Kiên Giang"]})
    store.set_meta("checkpoint", 18)

    assert store.get_meta("checkpoint") == 18
    assert store.get_meta("device")["provinces"] == ["Hòa Bình", "Kiên Giang"]


# --- isolation and text --------------------------------------------------------------------


def test_callers_get_copies_not_the_stored_data(store):
    given = finding(evidence=["sha-a"], answer={"choices": ["a"]})
    saved = store.save(given)
    given["evidence"].append("changed-after-save")
    saved["answer"]["choices"].append("changed-result")

    store.get(saved["id"])["evidence"].append("x")
    store.find("finding")[0]["answer"]["choices"].append("y")
    store.changes(0)[0]["evidence"].clear()

    assert store.get(saved["id"])["evidence"] == ["sha-a"]
    assert store.get(saved["id"])["answer"] == {"choices": ["a"]}

    store.add_conflict({**store.get(saved["id"]), "rev": "2-aaaa"})
    store.conflicts()[0]["evidence"].append("z")
    store.set_meta("scope", {"provinces": ["Ninh Bình"]})
    store.get_meta("scope")["provinces"].append("x")

    assert store.conflicts()[0]["evidence"] == ["sha-a"]
    assert store.get_meta("scope") == {"provinces": ["Ninh Bình"]}


def test_vietnamese_text_comes_back_unchanged_in_nfc(store):
    text = "Ủy ban nhân dân xã Hòa Bình — kiến nghị: bổ sung quy chế dân chủ ở cơ sở"
    assert unicodedata.is_normalized("NFC", text)

    saved = store.save(finding(note=text, unit={"tên": "Phường Đông Thành"}))
    store.set_meta("tỉnh", text)

    doc = store.get(saved["id"])
    assert doc["note"] == text and unicodedata.is_normalized("NFC", doc["note"])
    assert doc["unit"] == {"tên": "Phường Đông Thành"}
    assert store.find("finding", note=text)[0]["id"] == saved["id"]
    assert store.get_meta("tỉnh") == text


def test_something_that_is_not_json_is_refused(store):
    with pytest.raises((StoreError, TypeError, ValueError)):
        store.save(finding(when=object()))
    assert store.last_seq() == 0
