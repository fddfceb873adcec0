"""The HQ SQL store on SQLite and PostgreSQL: migrations, durability, ordering under
concurrent writers, all-or-nothing transactions, bulk writes.

On PostgreSQL every test gets its own schema (``search_path``), so runs by other people on
the same server never see each other's tables.
"""

import subprocess
import sys
import threading
import unicodedata
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from fieldkit.core.documents import new_id
from fieldkit.core.errors import ConflictError, StoreError
from fieldkit.core.store import open_store
from fieldkit.core.store.sql import SQLStore, alembic_config, head_revision, metadata


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path):
    """An empty database: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hq.db'}"
        return
    base = sa.engine.make_url(request.getfixturevalue("pg_url"))
    schema = f"fk_sqlstore_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def store(url):
    store = open_store(url)
    if store.dialect == "postgresql":
        store.drop_all_for_tests()
    yield store
    store.close()


def finding(**fields):
    return {"id": new_id(), "type": "finding", "rev": "1-aa", "base_rev": None,
            "deleted": False, **fields}


# --- schema and migrations -----------------------------------------------------------------

def test_migrations_create_the_schema_in_an_empty_database(url):
    store = open_store(url)
    try:
        with store.engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
            context = MigrationContext.configure(connection, opts={
                "compare_type": True,  # other layers' tables (sync) have their own metadata
                "include_name": lambda name, kind, _: kind != "table" or name in metadata.tables})
            current = context.get_current_revision()
            drift = compare_metadata(context, metadata)
        assert {"documents", "conflicts", "meta", "seq_counter", "alembic_version"} <= tables
        assert current == ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert current == head_revision() == store.schema_version()
        assert drift == []  # the code's tables are exactly what the migrations made
        assert store.last_seq() == 0 and store.changes() == []
    finally:
        store.close()


def test_reopening_keeps_documents_sequence_conflicts_and_metadata(url):
    store = open_store(url)
    saved = store.save({"type": "inspection", "province_code": "37", "team": "Đoàn 1"})
    store.add_conflict({**saved, "rev": "1-zz", "note": "the other tablet"})
    store.set_meta("checkpoint", {"device-1": 41})
    store.close()

    store = open_store(url)
    try:
        assert store.get(saved["id"]) == saved
        assert store.last_seq() == saved["_seq"]
        assert [c["note"] for c in store.conflicts(saved["id"])] == ["the other tablet"]
        assert store.get_meta("checkpoint") == {"device-1": 41}
        assert store.write(finding()) == saved["_seq"] + 1
    finally:
        store.close()


def test_a_database_from_a_newer_fieldkit_is_refused(url):
    open_store(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match=r"schema version 9999, which is newer .*Upgrade"):
        open_store(url)


def test_drop_all_for_tests_leaves_an_empty_store_at_the_current_schema(store):
    saved = store.save({"type": "inspection"})
    store.add_conflict({**saved, "rev": "2-bb"})
    store.set_meta("checkpoint", 3)
    store.drop_all_for_tests()
    assert (store.last_seq(), store.changes(), store.conflicts(), store.get_meta("checkpoint")) \
        == (0, [], [], None)
    assert store.schema_version() == head_revision()
    assert store.write(finding()) == 1


def test_without_create_an_empty_database_is_refused(url):
    with pytest.raises(StoreError, match="no fieldkit HQ database"):
        SQLStore(url, create=False)


def test_report_columns_are_computed_as_the_code_describes_them(url):
    """Migration 0004's generated columns: the expressions in the database are the ones
    ``sql_schema`` declares (the drift check above compares names and types only)."""
    from fieldkit.core.store.sql_schema import GENERATED
    store = open_store(url)
    try:
        dialect = store.engine.dialect
        with store.engine.connect() as connection:
            if store.dialect == "postgresql":
                found = {c["name"]: c["computed"]["sqltext"]
                         for c in sa.inspect(connection).get_columns("documents")
                         if c.get("computed")}
            else:
                table_sql = connection.execute(sa.text(
                    "SELECT sql FROM sqlite_master WHERE name = 'documents'")).scalar_one()
        for column in GENERATED:
            declared = str(column.computed.sqltext.compile(dialect=dialect))
            if store.dialect == "postgresql":
                assert found[column.name] == declared
            else:
                assert f"{column.name} {column.type} GENERATED ALWAYS AS ({declared})" \
                    in table_sql
    finally:
        store.close()


def test_report_columns_go_down_and_up_again_with_the_documents_kept(url):
    from alembic import command
    store = open_store(url)
    saved = store.save({"type": "finding", "item": "BA01", "value": 3, "flagged": True})
    store.close()

    def columns():
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                inspector = sa.inspect(connection)
                return ({c["name"] for c in inspector.get_columns("documents")},
                        {i["name"] for i in inspector.get_indexes("documents")})
        finally:
            engine.dispose()

    command.downgrade(alembic_config(url), "0003_hq_security")
    names, indexes = columns()
    assert not {"item", "value_text", "flagged", "date"} & names
    assert "ix_documents_inspection_date" not in indexes
    command.upgrade(alembic_config(url), "head")
    names, indexes = columns()
    assert {"item", "value_text", "flagged", "date"} <= names
    assert "ix_documents_inspection_date" in indexes
    store = open_store(url)
    try:
        assert store.get(saved["id"]) == saved
        with store.connection() as connection:
            row = connection.execute(sa.text(
                "SELECT item, value_text, flagged FROM documents WHERE id = :id"),
                {"id": saved["id"]}).one()
        assert (row.item, row.value_text, bool(row.flagged)) == ("BA01", "3", True)
    finally:
        store.close()


# --- several processes at once ------------------------------------------------------------

WRITER = """
import sys
from fieldkit.core.store import open_store
url, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = open_store(url)
for i in range(count):
    store.write({"id": f"{worker}-{i:04d}", "type": "finding", "rev": "1-aa", "i": i})
store.close()
"""


def test_concurrent_writer_processes_never_let_a_cursor_reader_miss_a_document(url):
    """Four HQ worker processes open an empty database at once (all migrate safely) and
    write 200 documents each, one transaction per write, while this process pulls with a
    cursor as a device would."""
    workers, per_worker = 4, 200
    processes = [subprocess.Popen([sys.executable, "-c", WRITER, url, f"w{n}", str(per_worker)])
                 for n in range(workers)]
    seen, cursor, seen_while_writing = {}, 0, 0
    store = None
    try:
        store = open_store(url)  # migrates too, racing the writers
        while True:
            running = any(process.poll() is None for process in processes)
            batch = store.changes(since=cursor, limit=100)
            for doc in batch:
                assert doc["_seq"] > cursor
                assert doc["id"] not in seen
                seen[doc["id"]] = cursor = doc["_seq"]
            if running:
                seen_while_writing += len(batch)
            elif not batch:
                break
    finally:
        for process in processes:
            process.wait(timeout=60)
    try:
        assert [process.returncode for process in processes] == [0] * workers
        final = store.changes(since=0, limit=10_000)
        seqs = [doc["_seq"] for doc in final]
        assert len(final) == workers * per_worker
        assert len(set(seqs)) == len(seqs) and store.last_seq() == max(seqs)
        assert set(seen) == {doc["id"] for doc in final}  # nothing slipped in behind the cursor
        assert seen_while_writing > 0  # the reader really polled during the writes
    finally:
        store.close()


# --- transactions --------------------------------------------------------------------------

def test_a_transaction_that_fails_midway_writes_nothing(store):
    before = store.write(finding(note="kept"))
    with pytest.raises(RuntimeError):
        with store.transaction():
            for n in range(50):
                store.write(finding(n=n))
            store.set_meta("half-done", True)
            store.add_conflict(finding())
            raise RuntimeError("power cut")
    assert [doc["note"] for doc in store.changes()] == ["kept"]
    assert store.get_meta("half-done") is None and store.conflicts() == []
    assert store.last_seq() == before
    assert store.write(finding()) == before + 1  # no gap left in the sequence


def test_a_refused_save_inside_a_batch_undoes_the_whole_batch(store):
    inspection = store.save({"type": "inspection"})
    with pytest.raises(ConflictError):
        with store.transaction():
            store.save(finding(note="first"))
            store.save(inspection, expected_rev="1-stale")
    assert store.find("finding") == []


def test_a_nested_block_that_fails_undoes_only_its_own_writes(store):
    with store.transaction():
        store.write(finding(id="outer-1"))
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.write(finding(id="inner-1"))
                raise RuntimeError("refused")
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.write(finding(id="inner-2"))
                store.set_meta("inner", True)  # these reach the database inside the block
                store.add_conflict(finding(id="outer-1"))
                with store.transaction():
                    store.write({**store.get("outer-1"), "note": "edited"})
                assert [d["id"] for d in store.find("finding")] == ["inner-2", "outer-1"]
                raise RuntimeError("refused")
        assert store.last_seq() == 1
        store.write(finding(id="outer-2"))
    assert [(d["id"], d["_seq"], d.get("note")) for d in store.changes()] == [
        ("outer-1", 1, None), ("outer-2", 2, None)]
    assert store.get_meta("inner") is None and store.conflicts() == []
    assert store.last_seq() == 2


def test_writes_inside_a_transaction_are_read_back_there_but_hidden_from_other_threads(store):
    outside = {}
    with store.transaction():
        seq = store.write(finding(id="f-1", note="draft"))
        with store.transaction():  # nested: joins the same transaction
            store.write(finding(id="f-2", note="draft"))
        assert store.get("f-1")["_seq"] == seq
        assert store.last_seq() == seq + 1
        assert [doc["id"] for doc in store.find("finding")] == ["f-1", "f-2"]
        reader = threading.Thread(target=lambda: outside.update(
            doc=store.get("f-1"), changes=store.changes()))
        reader.start()
        reader.join(timeout=30)
    assert outside == {"doc": None, "changes": []}
    assert [doc["id"] for doc in store.changes()] == ["f-1", "f-2"]


def test_rewriting_a_document_moves_it_to_the_end_of_the_change_feed(store):
    first, second = finding(note="a"), finding(note="b")
    store.write_many([first, second])
    store.write({**first, "rev": "2-bb", "note": "a2"})
    assert [(doc["id"], doc["note"]) for doc in store.changes()] == [
        (second["id"], "b"), (first["id"], "a2")]
    assert [doc["_seq"] for doc in store.changes()] == [2, 3]


def test_write_many_stores_five_thousand_documents(store):
    inspection_id = new_id()
    docs = [finding(inspection_id=inspection_id, item=f"6.{n}", value=n) for n in range(5000)]
    seqs = store.write_many(docs)
    assert seqs == list(range(1, 5001))
    assert store.last_seq() == 5000
    assert len(store.find("finding", inspection_id=inspection_id)) == 5000
    paged, cursor = [], 0
    while batch := store.changes(since=cursor, limit=500):
        paged += batch
        cursor = batch[-1]["_seq"]
    assert [doc["id"] for doc in paged] == [doc["id"] for doc in docs]


# --- reading -------------------------------------------------------------------------------

def test_find_filters_on_columns_and_on_other_fields_alike(store):
    hoa_binh = finding(province_code="17", team="Đoàn 2", flagged=True, tags=["x"])
    ninh_binh = finding(province_code="37", team="Đoàn 1", flagged=False)
    gone = finding(province_code="37", team="Đoàn 1", deleted=True)
    store.write_many([hoa_binh, ninh_binh, gone, {"id": "c1", "type": "campaign"}])
    assert [d["id"] for d in store.find("finding", province_code="37")] == [
        ninh_binh["id"], gone["id"]]  # tombstones included
    assert [d["id"] for d in store.find("finding", flagged=True)] == [hoa_binh["id"]]
    assert [d["id"] for d in store.find("finding", team="Đoàn 1", deleted=False)] == [
        ninh_binh["id"]]
    assert [d["id"] for d in store.find("finding", tags=["x"])] == [hoa_binh["id"]]
    assert [d["id"] for d in store.find(type="campaign")] == ["c1"]
    assert len(store.find()) == 4


def test_text_is_stored_exactly_as_given(store):
    nfc = "Hòa Bình — kiến nghị"
    nfd = unicodedata.normalize("NFD", nfc)
    store.write({"id": "t1", "type": "recommendation", "text": nfc, "other": nfd})
    doc = store.get("t1")
    assert doc["text"] == nfc and doc["other"] == nfd
    store.set_meta("tên", nfc)
    assert store.get_meta("tên") == nfc


def test_documents_that_are_not_json_are_refused_with_a_store_error(store):
    with pytest.raises(StoreError, match="cannot be stored as JSON"):
        store.write(finding(value=float("nan")))
    with pytest.raises(StoreError, match="needs a non-empty text id"):
        store.write({"type": "finding"})
    assert store.last_seq() == 0
