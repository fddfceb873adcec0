"""Documents shaped like the field workflow's (``core/workflow.py``): an inspection of a
commune with the national baseline checklist pinned, and one finding per answered item, with
the envelope ``Store.save`` gives a first version (``rev`` "1-<hash>", ``base_rev`` None).

Deterministic for a given ``tag`` and ``seed``, so a parent process knows every id a device
will push. Fast: ~50k documents a second (the rev hash dominates).
"""

import random
import uuid
from functools import cache

from fieldkit.core.documents import next_rev
from fieldkit.core.workflow import checklist_doc_id, finding_id

CAMPAIGN = "ctr-72-2024"
# Current-era province codes of the 2024 program's provinces (Ninh Bình 37, Hòa Bình 17 →
# Phú Thọ 25, Kiên Giang 91 → An Giang); a device is enrolled for all three.
PROVINCES = ("37", "25", "91")
CHECKLIST_ID, CHECKLIST_VERSION = "vn.baseline.commune", "1.0.0"
STAMP = "2024-06-01T08:30:00.000+00:00"
NOTES = (
    "Chưa niêm yết công khai dự toán ngân sách xã tại trụ sở UBND và nhà văn hóa thôn.",
    "Biên bản họp thôn thiếu chữ ký của đại diện Ban Thanh tra nhân dân.",
    "Đã tổ chức đối thoại với Nhân dân; còn 2 kiến nghị chưa được trả lời bằng văn bản.",
    None, None, None,
)


@cache
def baseline_checklist():
    """The national baseline checklist for communes, from the installed plugins (as a station
    pins it when an inspection starts)."""
    from fieldkit.core.checklists import load_checklist_registry
    from fieldkit.core.plugins import get_plugin_manager
    from fieldkit.core.units import load_unit_registry
    pm = get_plugin_manager()
    return load_checklist_registry(pm, load_unit_registry(pm)).get(CHECKLIST_ID,
                                                                    version=CHECKLIST_VERSION)


def items():
    return baseline_checklist().items


def _uuid7(rng, millis):
    value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rng.getrandbits(12) << 64
    value |= 0b10 << 62 | rng.getrandbits(62)
    return str(uuid.UUID(int=value))


def _answer(item, rng):
    kind = item["answer"]["type"]
    if kind == "yes_no":
        value = rng.choice(("yes", "yes", "yes", "partial", "no", "na"))
        return value, value == "no"
    if kind == "percent":
        value = rng.randrange(101)
        return value, value < 50
    value = rng.randrange(0, 40) if kind == "count" else rng.randrange(10**6, 10**9)
    return value, value == 0


def envelope(doc, device):
    doc.update({"deleted": False, "device": device, "author": "Nguyễn Văn An",
                "base_rev": None, "updated_at": STAMP})
    doc["rev"] = next_rev(doc, None)
    return doc


def corpus(findings, tag="device-1", seed=0):
    """``findings`` finding documents for a device (plus their inspections and the pinned
    checklist, as the field store holds them), in the order a station would write them."""
    rng = random.Random(f"{tag}/{seed}")
    device = f"bench-{tag}"
    checklist = baseline_checklist()
    pinned = {"id": checklist_doc_id(checklist.id, checklist.version), "type": "checklist",
              "checklist_id": checklist.id, "version": checklist.version,
              "plugin": checklist.plugin, "definition": checklist.data()}
    docs = [envelope(pinned, device)]
    checklist_ref = {"id": checklist.id, "version": checklist.version}
    made, number = 0, 0
    while made < findings:
        number += 1
        province = PROVINCES[number % len(PROVINCES)]
        inspection_id = _uuid7(rng, 1717200000000 + number)
        docs.append(envelope({
            "id": inspection_id, "type": "inspection", "campaign": CAMPAIGN,
            "campaign_id": CAMPAIGN,
            "unit": {"era": "legacy", "code": f"{number % 9000 + 1000:05d}",
                     "name": f"Xã Thử Nghiệm {number}", "level": "commune"},
            "province": {"era": "legacy", "code": province, "name": "Tỉnh"},
            "province_code": province, "unit_kind": "commune", "unit_name": None,
            "checklist": dict(checklist_ref), "self_assessment": False,
            "team": "Đoàn kiểm tra số 1", "inspectors": ["Nguyễn Văn An", "Trần Thị Bình"],
            "date": f"2024-{number % 12 + 1:02d}-{number % 28 + 1:02d}", "status": "draft",
        }, device))
        for item in items():
            if made >= findings:
                break
            value, flagged = _answer(item, rng)
            docs.append(envelope({
                "id": finding_id(inspection_id, item["code"]), "type": "finding",
                "inspection_id": inspection_id, "campaign_id": CAMPAIGN,
                "province_code": province, "item": item["code"], "theme": item["theme"],
                "value": value, "extras": {}, "note": rng.choice(NOTES), "evidence": [],
                "flagged": flagged, "checklist": dict(checklist_ref), "deleted": False,
            }, device))
            made += 1
    return docs


def edited(doc, rng):
    """A local edit of a finding (what ``Workflow.answer`` saves again), without the
    envelope fields ``Store.save`` fills in."""
    changed = {k: v for k, v in doc.items() if not k.startswith("_")
               and k not in ("rev", "base_rev", "updated_at")}
    changed["note"] = f"Đã kiểm tra lại ({rng.randrange(10**6)})"
    return changed


def row(doc, seq):
    """The ``documents`` row ``SQLStore`` writes for ``doc`` (body as JSON text)."""
    from fieldkit.core.store.sql import _TEXT_COLUMNS, _dumps
    values = {column: doc.get(column) if isinstance(doc.get(column), str) else None
              for column in _TEXT_COLUMNS}
    values["deleted"] = bool(doc.get("deleted"))
    values["seq"] = seq
    values["body"] = _dumps(doc)
    return values


def write_store(directory, docs):
    """A field store in ``directory`` holding ``docs`` (built without fsync, then closed,
    which writes its snapshot), as a station that has saved them."""
    from fieldkit.core.store.field import FieldStore
    store = FieldStore(directory, fsync=False, compact_every=10**9, compact_bytes=1 << 40)
    try:
        for start in range(0, len(docs), 5000):
            store.write_many(docs[start:start + 5000])
    finally:
        store.close()
    return directory
