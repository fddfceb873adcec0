"""Sample HQ data for demos, tests and benchmarks: a small commune checklist in two versions,
and inspections of 2024 in legacy Ninh Bình, Hòa Bình and Kiên Giang communes made by the
REAL field workflow (so the documents have exactly the shape the field writes), then copied
into an HQ store as sync would. ``synthetic_findings`` makes large data sets fast, cloning
that shape, for the benchmarks.
"""

import io
import random
from datetime import date, timedelta

from ..documents import new_id, next_rev, now_iso
from ..rules import is_flagged

SAMPLE_CHECKLIST_ID = "sample.commune"


def _yes_no(code, text, weight=1.0, **extra):
    return {"code": code, "text": {"vi": text}, "answer": {"type": "yes_no"}, "weight": weight,
            "flag_when": [{"op": "in", "value": ["no", "partial"]}], **extra}


def sample_checklist(version="1.0.0"):
    """The sample commune checklist (version 1.1.0 weighs leadership items double)."""
    heavy = 2.0 if version != "1.0.0" else 1.0
    sections = [
        ("LD", "Công tác lãnh đạo, chỉ đạo", [
            _yes_no("LD01", "Cấp ủy ban hành kế hoạch thực hiện dân chủ ở cơ sở năm 2024",
                    weight=heavy),
            {"code": "LD02", "text": {"vi": "Số hội nghị quán triệt Luật Thực hiện dân chủ ở "
                                            "cơ sở"},
             "answer": {"type": "count"}, "flag_when": [{"op": "lt", "value": 1}]},
        ]),
        ("BI", "Dân biết", [
            _yes_no("BI01", "Niêm yết công khai dự toán, quyết toán ngân sách xã"),
            {"code": "BI02", "text": {"vi": "Tỷ lệ thôn, tổ dân phố được thông báo qua hệ "
                                            "thống truyền thanh"},
             "answer": {"type": "percent"}, "flag_when": [{"op": "lt", "value": 80}]},
        ]),
        ("BA", "Dân bàn", [
            _yes_no("BA01", "Tổ chức hội nghị thôn bàn và quyết định các nội dung theo "
                            "Điều 15"),
            {"code": "BA02", "text": {"vi": "Tỷ lệ hộ gia đình tham dự hội nghị thôn"},
             "answer": {"type": "percent"}, "flag_when": [{"op": "lt", "value": 50}],
             "show_when": {"item": "BA01", "op": "in", "value": ["yes", "partial"]}},
        ]),
        ("LA", "Dân làm", [
            _yes_no("LA01", "Nhân dân đóng góp xây dựng công trình công cộng theo thỏa thuận",
                    weight=heavy),
        ]),
        ("KT", "Dân kiểm tra", [
            _yes_no("KT01", "Ban Thanh tra nhân dân được kiện toàn, hoạt động theo kế hoạch"),
            {"code": "KT02", "text": {"vi": "Số thành viên Ban Thanh tra nhân dân"},
             "answer": {"type": "count"}, "flag_when": [{"op": "lt", "value": 5}],
             "show_when": {"item": "KT01", "op": "ne", "value": "no"}},
        ]),
        ("GS", "Dân giám sát", [
            _yes_no("GS01", "Ban Giám sát đầu tư của cộng đồng giám sát các công trình trên "
                            "địa bàn"),
            {"code": "GS02", "text": {"vi": "Kết quả giám sát"}, "answer": {"type": "text"},
             "required": False, "weight": 0},
        ]),
        ("TH", "Dân thụ hưởng", [
            _yes_no("TH01", "Người dân được thụ hưởng kết quả các công trình, dự án"),
            {"code": "TH02", "text": {"vi": "Ngày công khai kết quả thụ hưởng"},
             "answer": {"type": "date"}, "required": False,
             "flag_when": [{"op": "gt", "value": "2024-06-30"}]},
            {"code": "TH03", "text": {"vi": "Ảnh bảng niêm yết công khai"},
             "answer": {"type": "photo"}, "required": False},
        ]),
    ]
    return {
        "id": SAMPLE_CHECKLIST_ID, "version": version,
        "title": {"vi": "Bảng kiểm mẫu cấp xã (dữ liệu minh họa)",
                  "en": "Sample commune checklist (demo data)"},
        "applies_to": {"unit_kinds": ["commune"], "valid_from": "2020-01-01"},
        "sections": [{"code": code, "title": {"vi": title}, "items": items}
                     for code, title, items in sections],
    }


def sample_registry(units):
    """A checklist registry holding the two sample versions."""
    from ..checklists import ChecklistRegistry
    registry = ChecklistRegistry(units)
    for version in ("1.0.0", "1.1.0"):
        registry.add(sample_checklist(version), "sample")
    return registry


def sample_photo(text="niêm yết", color=(40, 90, 160)):
    """A small PNG (a coloured card) to stand in for an evidence photo."""
    from PIL import Image, ImageDraw
    image = Image.new("RGB", (640, 420), color)
    draw = ImageDraw.Draw(image)
    draw.rectangle((30, 30, 610, 390), outline=(255, 255, 255), width=6)
    draw.text((60, 190), text.encode("ascii", "replace").decode(), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# The answers of the sample inspections: (legacy province, commune index, date, version,
# status, self-assessment, answers, recommendations). Hand-picked so that every rule shows:
# flags, "na", partial, skip logic (a stale BA02 left hidden after BA01 became "no"),
# weights, two checklist versions, H1 and H2, a draft and a self-assessment.
PLAN = [
    ("37", 0, "2024-03-12", "1.0.0", "approved", False,
     {"LD01": "yes", "LD02": 3, "BI01": "yes", "BI02": 92.5, "BA01": "yes", "BA02": 64,
      "LA01": "yes", "KT01": "yes", "KT02": 7, "GS01": "partial", "GS02": "Đã giám sát 3 "
      "công trình", "TH01": "yes", "TH02": "2024-02-01"},
     [("Kiện toàn Ban Giám sát đầu tư của cộng đồng", "UBND xã", "2024-06-30", "done")]),
    ("37", 1, "2024-04-20", "1.0.0", "submitted", False,
     {"LD01": "partial", "LD02": 0, "BI01": "no", "BI02": 55, "BA01": "no", "LA01": "na",
      "KT01": "no", "GS01": "yes", "TH01": "yes"},
     [("Niêm yết công khai dự toán ngân sách năm 2024", "UBND xã", "2024-05-31", "open"),
      ("Tổ chức quán triệt Luật Thực hiện dân chủ ở cơ sở", "Đảng ủy xã", "2024-09-30",
       "in_progress")]),
    ("17", 0, "2024-05-08", "1.0.0", "approved", False,
     {"LD01": "yes", "LD02": 2, "BI01": "partial", "BI02": 70, "BA01": "yes", "BA02": 45,
      "LA01": "no", "KT01": "yes", "KT02": 3, "GS01": "no", "TH01": "partial",
      "TH02": "2024-07-15"},
     [("Bổ sung thành viên Ban Thanh tra nhân dân cho đủ 5 người", "Ủy ban MTTQ xã",
       "2024-08-31", "open"),
      ("Công khai kết quả thụ hưởng đúng hạn", "UBND xã", "2025-03-31", "open")]),
    ("17", 1, "2024-10-02", "1.1.0", "approved", False,
     {"LD01": "no", "LD02": 1, "BI01": "yes", "BI02": 85, "BA01": "yes", "BA02": 30,
      "LA01": "yes", "KT01": "partial", "KT02": 6, "GS01": "yes", "TH01": "yes"},
     [("Ban hành kế hoạch thực hiện dân chủ ở cơ sở", "Đảng ủy xã", "2024-11-30",
       "done")]),
    ("91", 0, "2024-06-14", "1.0.0", "approved", False,
     {"LD01": "yes", "LD02": 4, "BI01": "yes", "BI02": 100, "BA01": "yes", "BA02": 80,
      "LA01": "yes", "KT01": "yes", "KT02": 9, "GS01": "yes", "TH01": "yes",
      "TH02": "2024-05-10"}, []),
    ("91", 1, "2024-11-21", "1.1.0", "resubmitted", False,
     {"LD01": "yes", "LD02": 2, "BI01": "no", "BI02": 60, "BA01": "partial", "BA02": 51,
      "LA01": "partial", "KT01": "no", "GS01": "na", "TH01": "no"},
     [("Khắc phục việc chưa niêm yết công khai quyết toán", "UBND xã", "2024-12-15",
       "cancelled"),
      ("Đối thoại với Nhân dân về các công trình chưa hoàn thành", "UBND xã", "2024-12-20",
       "in_progress")]),
    # A draft (left out of summaries) and self-assessments by two provinces.
    ("91", 2, "2024-12-02", "1.1.0", "draft", False,
     {"LD01": "no", "BI01": "no"}, []),
    ("17", 2, "2024-06-20", "1.0.0", "submitted", True,
     {"LD01": "yes", "LD02": 5, "BI01": "yes", "BI02": 95, "BA01": "yes", "BA02": 70,
      "LA01": "yes", "KT01": "yes", "KT02": 7, "GS01": "yes", "TH01": "yes"}, []),
    ("91", 3, "2024-09-09", "1.1.0", "submitted", True,
     {"LD01": "yes", "LD02": 3, "BI01": "partial", "BI02": 88, "BA01": "yes", "BA02": 66,
      "LA01": "yes", "KT01": "yes", "KT02": 5, "GS01": "yes", "TH01": "partial"}, []),
]

NOTES = {
    "BI01": "Bảng niêm yết đặt trong phòng làm việc, người dân khó tiếp cận.",
    "KT02": "Còn thiếu thành viên ở 2 thôn.",
    "LD01": "=HYPERLINK(\"http://example.invalid\",\"bấm vào\")",  # formula injection probe
    "GS01": "<script>alert('xss')</script> chưa giám sát công trình đường liên thôn",
}


def seed_sample(store, units, blobs=None, pm=None, checklists=None, author="Đoàn kiểm tra số 1"):
    """Run the field workflow for ``PLAN`` on a memory store and copy every document into
    ``store`` (as a sync push would). Returns the ids of the inspections, in PLAN order."""
    from ..plugins import get_plugin_manager
    from ..store.memory import MemoryStore
    from ..workflow import Workflow

    pm = pm or get_plugin_manager(load_entrypoints=False)
    checklists = checklists or sample_registry(units)
    field = MemoryStore()
    flow = Workflow(field, checklists, units, pm, blobs=blobs, device="sample-device",
                    author=author)
    flow.seed()
    ids = []
    for number, (province, index, day, version, status, own, answers, recs) in enumerate(PLAN):
        on = date.fromisoformat(day)
        commune = units.list(level="commune", parent=province, era="legacy")[index * 7]
        inspection = flow.new_inspection(
            commune.code, "commune", SAMPLE_CHECKLIST_ID, on=on, version=version,
            self_assessment=own, team=None if own else f"Đoàn kiểm tra số {number % 3 + 1}",
            inspectors=[] if own else ["Nguyễn Văn An", "Trần Thị Bình"])
        inspection_id = inspection["id"]
        ids.append(inspection_id)
        if answers.get("BA01") == "no":
            flow.answer(inspection_id, "BA01", "yes")
            flow.answer(inspection_id, "BA02", 40)  # then BA01 becomes "no": BA02 hidden
        for code, value in answers.items():
            evidence = ()
            if blobs is not None and code == "BI01" and value != "yes":
                photo = flow.add_evidence(inspection_id, sample_photo("BI01"),
                                          filename="niem-yet.png",
                                          caption="Bảng niêm yết tại trụ sở UBND xã", item=code)
                evidence = (photo["id"],)
            flow.answer(inspection_id, code, value, note=NOTES.get(code), evidence=evidence)
        if blobs is not None and number == 0:
            photo = flow.add_evidence(inspection_id, sample_photo("TH03", (30, 120, 60)),
                                      filename="bang-tin.png", caption="Bảng tin thôn Đông",
                                      item="TH03")
            flow.answer(inspection_id, "TH03", [photo["id"]])
        for text, responsible, due, rec_status in recs:
            flow.add_recommendation(inspection_id, text, responsible=responsible, due=due,
                                    status=rec_status)
        if status != "draft":
            flow.submit(inspection_id)
            if status != "submitted":
                current = flow.inspection(inspection_id)
                field.save({**current, "status": status}, device="hq", author="HQ")
    # A tombstoned inspection: never counted.
    gone = flow.new_inspection(units.list(level="commune", parent="37", era="legacy")[3].code,
                               "commune", SAMPLE_CHECKLIST_ID, on=date(2024, 2, 2),
                               version="1.0.0")
    flow.answer(gone["id"], "LD01", "no")
    field.delete(gone["id"])
    copy_documents(field, store)
    return ids


def sample_hq(folder):
    """An HQ in ``folder`` (SQLite file and blobs) seeded with ``PLAN``: a dict with
    ``store``, ``blobs``, ``pm``, ``units``, ``checklists`` and the inspection ``ids``.
    The caller closes ``store``."""
    from pathlib import Path

    from ..plugins import get_plugin_manager
    from ..store.blobs import BlobStore
    from ..store.sql import SQLStore
    from ..units import load_unit_registry
    folder = Path(folder)
    pm = get_plugin_manager(load_entrypoints=False)
    units = load_unit_registry(pm)
    store = SQLStore(f"sqlite:///{folder / 'hq.db'}")
    blobs = BlobStore(folder)
    checklists = sample_registry(units)
    ids = seed_sample(store, units, blobs=blobs, pm=pm, checklists=checklists)
    return {"store": store, "blobs": blobs, "pm": pm, "units": units,
            "checklists": checklists, "ids": ids}


def copy_documents(source, target):
    """Every document of ``source`` into ``target`` exactly as stored (revisions kept)."""
    docs = [{k: v for k, v in doc.items() if not k.startswith("_")}
            for doc in source.changes(0, limit=10**9)]
    with target.transaction():
        if hasattr(target, "write_many"):
            target.write_many(docs)
        else:
            for doc in docs:
                target.write(doc)
    return len(docs)


def synthetic_documents(units, inspections, year=2024, seed=7, checklist=None):
    """Yield documents for ``inspections`` synthetic inspections (each answering every item of
    the sample checklist) in the field's shape, fast: for benchmarks of large data sets."""
    from ..checklists import Checklist
    from ...forms.checklist import load_checklist
    rng = random.Random(seed)
    checklist = checklist or Checklist(load_checklist(sample_checklist("1.0.0")), "sample")
    communes = {code: units.list(level="commune", parent=code, era="legacy")
                for code in ("37", "17", "91")}
    provinces = {code: units.get(code, era="legacy") for code in communes}
    stamp = now_iso()

    def envelope(doc):
        doc.update({"deleted": False, "device": "bench", "author": "bench", "base_rev": None,
                    "updated_at": stamp})
        doc["rev"] = next_rev(doc, None)
        return doc

    yield envelope({"id": f"checklist:{checklist.id}@{checklist.version}", "type": "checklist",
                    "checklist_id": checklist.id, "version": checklist.version,
                    "plugin": "sample", "definition": checklist.data()})
    for _ in range(inspections):
        code = rng.choice(tuple(communes))
        commune, province = rng.choice(communes[code]), provinces[code]
        day = date(year, 1, 1) + timedelta(days=rng.randrange(360))
        inspection_id = new_id()
        current = units.successor(province).code
        yield envelope({
            "id": inspection_id, "type": "inspection", "campaign": "ctr-72-2024",
            "campaign_id": "ctr-72-2024",
            "unit": {"era": "legacy", "code": commune.code, "name": commune.name,
                     "level": "commune"},
            "province": {"era": "legacy", "code": province.code, "name": province.name},
            "province_code": current, "unit_kind": "commune", "unit_name": None,
            "checklist": {"id": checklist.id, "version": checklist.version},
            "self_assessment": rng.random() < 0.1, "team": "Đoàn kiểm tra", "inspectors": [],
            "date": day.isoformat(), "status": rng.choice(("submitted", "approved")),
        })
        for item in checklist.items:
            kind = item["answer"]["type"]
            value = {"yes_no": lambda: rng.choice(("yes", "yes", "partial", "no", "na")),
                     "count": lambda: rng.randrange(10), "percent": lambda: rng.randrange(101),
                     "text": lambda: "Ghi nhận", "photo": lambda: [],
                     "date": lambda: day.isoformat()}[kind]()
            if kind == "photo":
                continue
            yield envelope({
                "id": new_id(), "type": "finding", "inspection_id": inspection_id,
                "campaign_id": "ctr-72-2024", "province_code": current, "item": item["code"],
                "theme": item["theme"], "value": value, "extras": {}, "note": None,
                "evidence": [], "flagged": is_flagged(item, value),
                "checklist": {"id": checklist.id, "version": checklist.version},
            })
        if rng.random() < 0.3:
            yield envelope({
                "id": new_id(), "type": "recommendation", "inspection_id": inspection_id,
                "campaign_id": "ctr-72-2024", "province_code": current,
                "text": "Khắc phục hạn chế", "responsible": "UBND xã",
                "due": (day + timedelta(days=rng.randrange(30, 200))).isoformat(),
                "status": rng.choice(("open", "in_progress", "done", "cancelled")),
            })
