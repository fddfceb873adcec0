"""The inspection workflow: answers by type, skip logic, flags, pinning, submission."""

import copy
from datetime import date

import pytest

from fieldkit.core.errors import NotFound, UsageError, ValidationFailed
from fieldkit.core.station import Station
from fieldkit.core.text import fold_key
from fieldkit.core.store.memory import MemoryStore
from fieldkit.core.workflow import finding_id

ALL_TYPES = {
    "id": "test.types", "version": "1.0.0", "title": {"vi": "Mọi loại câu trả lời"},
    "applies_to": {"unit_kinds": ["commune", "agency"], "valid_from": "2020-01-01"},
    "sections": [{
        "code": "BI", "title": {"vi": "Dân biết"},
        "items": [
            {"code": "YN", "text": {"vi": "Có/không"}, "answer": {"type": "yes_no"},
             "extras": ["date"], "flag_when": [{"op": "in", "value": ["no", "partial"]}]},
            {"code": "CNT", "text": {"vi": "Số thành viên"}, "answer": {"type": "count"},
             "flag_when": [{"op": "lt", "value": 5}],
             "show_when": {"item": "YN", "op": "in", "value": ["yes", "partial"]}},
            {"code": "NUM", "text": {"vi": "Kinh phí"}, "answer": {"type": "number", "unit": "VND"},
             "required": False},
            {"code": "PCT", "text": {"vi": "Tỷ lệ hộ tán thành"}, "answer": {"type": "percent"},
             "flag_when": [{"op": "lt", "value": 50}]},
            {"code": "DT", "text": {"vi": "Ngày ban hành"}, "answer": {"type": "date"},
             "flag_when": [{"op": "gt", "value": "2024-03-31"}]},
            {"code": "TXT", "text": {"vi": "Nội dung còn thiếu"}, "answer": {"type": "text"},
             "required": False},
            {"code": "CH", "text": {"vi": "Hình thức"}, "required": False,
             "answer": {"type": "choice", "choices": [
                 {"code": "meeting", "label": {"vi": "Hội nghị"}},
                 {"code": "ballot", "label": {"vi": "Phát phiếu"}}]}},
            {"code": "PH", "text": {"vi": "Ảnh niêm yết"}, "answer": {"type": "photo"},
             "required": False},
        ]}],
}

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")


@pytest.fixture(params=["memory", "field"])
def station(request, tmp_path):
    store = MemoryStore() if request.param == "memory" else None
    station = Station(tmp_path / "station", store=store)
    station.checklists.add(copy.deepcopy(ALL_TYPES), "test")
    station.init(author="Nguyễn Văn A")
    yield station
    station.close()


@pytest.fixture
def flow(station):
    return station.workflow()


@pytest.fixture
def inspection(flow):
    return flow.new_inspection("17", "province", "vn.baseline.province", on=date(2024, 6, 1))


@pytest.fixture
def commune_inspection(flow, station):
    commune = station.units.list(level="commune", parent="17", as_of=date(2024, 6, 1))[0]
    return flow.new_inspection(commune.code, "commune", "test.types", on=date(2024, 6, 1))


@pytest.mark.parametrize("item, raw, stored", [
    ("YN", "yes", "yes"), ("YN", "Có", "yes"), ("YN", "KHÔNG", "no"), ("YN", "na", "na"),
    ("YN", "partial", "partial"),
    ("NUM", "1500000.5", 1500000.5), ("NUM", "2,5", 2.5),
    ("PCT", "66.7", 66.7), ("PCT", "70%", 70.0), ("DT", "2024-02-01", "2024-02-01"),
    ("TXT", "Thiếu công khai dự toán", "Thiếu công khai dự toán"), ("CH", "ballot", "ballot"),
])
def test_good_answers(flow, commune_inspection, item, raw, stored):
    finding = flow.answer(commune_inspection["id"], item, raw)
    assert finding["value"] == stored
    assert flow.answers(commune_inspection["id"])[item] == stored


@pytest.mark.parametrize("item, raw, message", [
    ("YN", "maybe", "YN: answer yes, no, partial or na"),
    ("NUM", "nhiều", "NUM: expected a number"),
    ("PCT", "120", "PCT: a percent is between 0 and 100"),
    ("DT", "01/02/2024", "DT: a date is written YYYY-MM-DD"),
    ("TXT", "   ", "TXT: the text is empty"),
    ("CH", "online", "CH: choose one of meeting, ballot"),
    ("PH", None, "PH: attach at least one photo"),
    ("NOPE", "yes", "has no item NOPE"),
])
def test_bad_answers_are_refused_and_nothing_saved(flow, commune_inspection, item, raw, message):
    before = flow.store.last_seq()
    with pytest.raises((ValidationFailed, NotFound)) as caught:
        flow.answer(commune_inspection["id"], item, raw)
    assert message in str(caught.value)
    assert flow.store.last_seq() == before


def test_count_answers_and_skip_logic(flow, commune_inspection):
    inspection_id = commune_inspection["id"]
    with pytest.raises(UsageError, match="CNT does not apply: it depends on YN"):
        flow.answer(inspection_id, "CNT", "7")
    flow.answer(inspection_id, "YN", "yes", extras={"date": "2024-01-15"})
    assert flow.answer(inspection_id, "CNT", "7")["flagged"] is False
    assert flow.answer(inspection_id, "CNT", "3")["flagged"] is True
    with pytest.raises(ValidationFailed, match="CNT: a count cannot be negative"):
        flow.answer(inspection_id, "CNT", "-1")
    with pytest.raises(ValidationFailed, match="CNT: expected a whole number"):
        flow.answer(inspection_id, "CNT", "2.5")


def test_flags_follow_the_rules(flow, commune_inspection):
    inspection_id = commune_inspection["id"]
    assert flow.answer(inspection_id, "YN", "partial")["flagged"] is True
    assert flow.answer(inspection_id, "PCT", "49.9")["flagged"] is True
    assert flow.answer(inspection_id, "PCT", "50")["flagged"] is False
    assert flow.answer(inspection_id, "DT", "2024-05-01")["flagged"] is True
    assert flow.progress(inspection_id)["flagged"] == ["YN", "DT"]


def test_extras_are_checked(flow, commune_inspection):
    with pytest.raises(ValidationFailed, match="this item asks no 'count'"):
        flow.answer(commune_inspection["id"], "YN", "yes", extras={"count": "3"})
    with pytest.raises(ValidationFailed, match="YN: a date is written"):
        flow.answer(commune_inspection["id"], "YN", "yes", extras={"date": "hôm qua"})


def test_photo_item_needs_an_image(flow, commune_inspection):
    inspection_id = commune_inspection["id"]
    text = flow.add_evidence(inspection_id, "biên bản".encode(), filename="note.jpg")
    with pytest.raises(ValidationFailed, match="needs a photo"):
        flow.answer(inspection_id, "PH", None, evidence=[text["id"]])
    photo = flow.add_evidence(inspection_id, PNG, filename="../../etc/passwd.png",
                              caption="Bảng niêm yết")
    assert photo["filename"] == "passwd.png" and photo["media_type"] == "image/png"
    finding = flow.answer(inspection_id, "PH", None, evidence=[photo["id"]])
    assert finding["value"] == [photo["id"]]


def test_one_finding_per_item_with_stable_id(flow, commune_inspection):
    inspection_id = commune_inspection["id"]
    first = flow.answer(inspection_id, "YN", "no")
    second = flow.answer(inspection_id, "YN", "yes")
    assert first["id"] == second["id"] == finding_id(inspection_id, "YN")
    assert second["base_rev"] == first["rev"] and second["rev"].startswith("2-")
    assert len(flow.findings(inspection_id)) == 1
    cleared = flow.clear_answer(inspection_id, "YN")
    assert cleared["deleted"] is True and "YN" not in flow.findings(inspection_id)


def test_stale_edit_is_a_conflict(flow, commune_inspection):
    from fieldkit.core.errors import ConflictError
    first = flow.answer(commune_inspection["id"], "YN", "no")
    flow.answer(commune_inspection["id"], "YN", "yes", expected_rev=first["rev"])
    with pytest.raises(ConflictError):
        flow.answer(commune_inspection["id"], "YN", "partial", expected_rev=first["rev"])


def test_pinned_checklist_survives_a_plugin_upgrade(flow, station, commune_inspection):
    upgraded = copy.deepcopy(ALL_TYPES)
    upgraded["version"] = "1.1.0"
    upgraded["sections"][0]["items"] = upgraded["sections"][0]["items"][:1]
    station.checklists.add(upgraded, "test")
    assert station.checklists.get("test.types").version == "1.1.0"
    # The inspection in progress keeps 1.0.0 and all its items.
    assert flow.checklist_of(commune_inspection).version == "1.0.0"
    flow.answer(commune_inspection["id"], "PCT", "80")
    # Even when the plugin no longer provides 1.0.0 at all.
    del station.checklists._versions["test.types"]["1.0.0"]
    assert flow.answer(commune_inspection["id"], "PCT", "81")["value"] == 81.0
    new = flow.new_inspection(commune_inspection["unit"]["code"], "commune", "test.types",
                              on=date(2024, 6, 2))
    assert new["checklist"]["version"] == "1.1.0"


def test_submit_lists_missing_required_then_locks(flow, commune_inspection):
    inspection_id = commune_inspection["id"]
    with pytest.raises(ValidationFailed, match=r"required items still open\): YN, PCT, DT"):
        flow.submit(inspection_id)
    flow.answer(inspection_id, "YN", "no")
    flow.answer(inspection_id, "PCT", "40")
    flow.answer(inspection_id, "DT", "2024-01-10")
    submitted, progress = flow.submit(inspection_id)
    assert submitted["status"] == "submitted" and progress["flagged"] == ["YN", "PCT"]
    with pytest.raises(UsageError, match="submitted and can no longer be edited"):
        flow.answer(inspection_id, "PCT", "90")


def test_scores_by_theme(flow, commune_inspection):
    inspection_id = commune_inspection["id"]
    flow.answer(inspection_id, "YN", "partial")
    flow.answer(inspection_id, "PCT", "40")
    scores = flow.scores(inspection_id)
    assert scores["themes"]["BI"]["score"] == 25.0  # (0.5 + 0) / 2
    assert scores["overall"] == 25.0 and "weighted mean" in scores["method"]


def test_self_assessment_and_units_across_the_reform(flow, station):
    legacy = flow.new_inspection("17", "province", "vn.baseline.province", on=date(2024, 12, 1),
                                 self_assessment=True)
    assert legacy["self_assessment"] is True
    assert legacy["province"]["code"] == "17" and legacy["province_code"] == "25"
    assert fold_key("Hòa Bình") in fold_key(legacy["unit"]["name"])
    current = flow.new_inspection("91", "province", "vn.baseline.province", on=date(2026, 1, 5))
    assert "An Giang" in current["unit"]["name"] and current["checklist"]["version"] == "2.0.0"


def test_unit_kind_must_fit(flow):
    with pytest.raises(UsageError, match="is for province, not for commune"):
        flow.new_inspection("17", "commune", "vn.baseline.province", on=date(2024, 6, 1))


def test_recommendations(flow, commune_inspection):
    rec = flow.add_recommendation(commune_inspection["id"], "Niêm yết dự toán ngân sách",
                                  responsible="UBND xã", due="2024-09-30")
    assert rec["status"] == "open" and rec["due"] == "2024-09-30"
    with pytest.raises(ValidationFailed, match="due"):
        flow.add_recommendation(commune_inspection["id"], "x", due="tháng sau")
    assert len(flow.recommendations(commune_inspection["id"])) == 1
