"""The HQ store's upsert keeps indexed fields out of the SET list when they do not change
(``SQLStore._upsert_statement``); a batch where one document does move (another type,
inspection, campaign or province) must still end with every column right."""

import sqlalchemy as sa

from fieldkit.core.store.sql import SQLStore, documents
from test_sql_store import url  # noqa: F401 - the fixture: SQLite file and PostgreSQL schema


def _doc(n, **fields):
    return {"id": f"d{n}", "type": "finding", "rev": f"1-{n:02x}", "inspection_id": "i1",
            "campaign_id": "c1", "province_code": "25", "value": n, **fields}


def _columns(store, doc_id):
    with store.connection() as connection:
        return connection.execute(
            sa.select(documents.c.type, documents.c.inspection_id, documents.c.campaign_id,
                      documents.c.province_code, documents.c.seq, documents.c.rev)
            .where(documents.c.id == doc_id)).one()._asdict()


def test_a_batch_where_one_document_moves_sets_every_column(url):  # noqa: F811
    store = SQLStore(url)
    try:
        store.write_many([_doc(n) for n in range(5)])
        batch = [_doc(n, rev=f"2-{n:02x}") for n in range(5)]
        batch[3] = _doc(3, rev="2-03", type="recommendation", inspection_id="i2",
                        campaign_id="c2", province_code="37")
        seqs = store.write_many(batch)
        moved = _columns(store, "d3")
        assert moved == {"type": "recommendation", "inspection_id": "i2", "campaign_id": "c2",
                         "province_code": "37", "seq": seqs[3], "rev": "2-03"}
        for n in (0, 1, 2, 4):
            assert _columns(store, f"d{n}") == {
                "type": "finding", "inspection_id": "i1", "campaign_id": "c1",
                "province_code": "25", "seq": seqs[n], "rev": f"2-{n:02x}"}
        assert [d["id"] for d in store.find(type="recommendation")] == ["d3"]
        assert store.get("d3")["value"] == 3 and store.get("d4")["rev"] == "2-04"
        assert [d["id"] for d in store.changes(seqs[0] - 1)] == [f"d{n}" for n in range(5)]
    finally:
        store.close()


def test_an_unchanged_move_is_an_ordinary_update(url):  # noqa: F811
    store = SQLStore(url)
    try:
        store.write(_doc(1, province_code=None))
        store.write(_doc(1, rev="2-01", province_code=None, note="sửa lại"))
        assert _columns(store, "d1")["province_code"] is None
        assert store.get("d1")["note"] == "sửa lại"
        store.write(_doc(1, rev="3-01", province_code="91"))
        assert _columns(store, "d1")["province_code"] == "91"
    finally:
        store.close()
