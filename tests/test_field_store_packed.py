"""Documents held packed (deflated JSON) in memory come back exactly as they were saved."""

import tempfile
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.core.errors import StoreError
from fieldkit.core.store.field import FieldStore
from fieldkit.core.store.index import to_json
from fieldkit.core.store.memory import MemoryStore
from fieldkit.core.store.packed import pack, unpack, unpack_text

VIETNAMESE = ["Hòa Bình", "Hoà Bình", "Ủy ban nhân dân", "Uỷ ban nhân dân", "Kiên Giang",
              "Nguyễn Thị Hoà", "kiến nghị: bổ sung quy chế dân chủ ở cơ sở", "Đoàn kiểm tra"]
# The same words in both normal forms: the store keeps what it is given, it does not normalise.
WORDS = st.sampled_from(VIETNAMESE + [unicodedata.normalize("NFD", w) for w in VIETNAMESE])
TEXT = st.one_of(WORDS, st.text(), st.text(alphabet="aăâeêioôơuưy\u0300\u0301\u0303\u0309\u0323"))
SCALARS = st.one_of(
    st.none(), st.booleans(), TEXT,
    st.integers(), st.integers(min_value=-10**40, max_value=10**40),
    st.just(2**63), st.just(-2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5)
                    | st.dictionaries(TEXT, inner, max_size=5), max_leaves=25)


def same(a, b):
    """Equal as JSON data, and of the same Python types (1 is not 1.0, nor True)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


@given(JSON)
def test_any_json_value_round_trips_through_the_codec(value):
    text = to_json(value)
    packed = pack(text)
    assert unpack_text(packed) == text.encode()
    assert same(unpack(packed), value)


@given(WORDS)
def test_vietnamese_text_keeps_its_normal_form(word):
    back = unpack(pack(to_json({"note": word})))["note"]
    assert back == word
    assert unicodedata.is_normalized("NFC", back) == unicodedata.is_normalized("NFC", word)


def test_a_typical_finding_is_held_in_a_fraction_of_its_json():
    finding = {"id": "c7f786c6-4392-51e2-a48e-70d8f32e70e2", "type": "finding",
               "inspection_id": "018fd118-9401-725d-9fbc-4d49ba2d6673",
               "campaign_id": "ctr-72-2024", "province_code": "25", "item": "LD02",
               "theme": "LD", "value": "yes", "extras": {}, "note": "Chưa niêm yết công khai",
               "evidence": [], "flagged": False,
               "checklist": {"id": "vn.baseline.commune", "version": "1.0.0"},
               "deleted": False, "device": "018fd118-9401-725d-9fbc-4d49ba2d0000",
               "author": "Nguyễn Văn An", "base_rev": None,
               "updated_at": "2024-06-01T08:30:00.000+00:00",
               "rev": "1-adc6ab16b8793a1f7ba616a62dc1b592"}
    text = to_json(finding)
    assert len(pack(text)) < len(text.encode()) / 3


def test_text_that_utf8_cannot_carry_is_refused_before_anything_is_stored():
    store = MemoryStore()
    with pytest.raises(StoreError, match="not plain JSON data"):
        store.write({"id": "f-1", "type": "finding", "note": "\ud800"})
    with pytest.raises(StoreError, match="not plain JSON data"):
        store.set_meta("author", "\ud800")
    assert store.last_seq() == 0 and store.get("f-1") is None
    assert store.get_meta("author") is None


DOCUMENTS = st.dictionaries(TEXT.filter(lambda k: k not in ("id", "_seq")), JSON,
                            max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=DOCUMENTS, kind=st.sampled_from(["finding", "evidence", None]))
def test_documents_come_back_unchanged_from_memory_from_the_journal_and_the_snapshot(fields,
                                                                                     kind):
    doc = {"id": "doc-1", "type": kind, **{k: v for k, v in fields.items() if k != "type"}}
    memory = MemoryStore()
    memory.write(doc)
    assert same(memory.get("doc-1"), {**doc, "_seq": 1})

    with tempfile.TemporaryDirectory() as folder:
        store = FieldStore(folder, fsync=False)
        store.write(doc)
        store.close(compact=False)  # in the journal only
        store = FieldStore(folder, fsync=False)
        assert same(store.get("doc-1"), {**doc, "_seq": 1})
        store.close()  # now in the snapshot
        with FieldStore(folder, fsync=False) as store:
            assert same(store.get("doc-1"), {**doc, "_seq": 1})
            assert same(store.changes(0), [{**doc, "_seq": 1}])
