"""Documents held compressed in memory: the field store keeps each one as deflated JSON.

A finding is ~550 bytes of compact JSON but ~2.6 KB as Python dicts and strings, so a
station holding 100,000 of them needed ~270 MB. Deflated with a preset dictionary of what
every document repeats (field names, envelope, campaign and checklist references, common
Vietnamese words) one is ~155 bytes, most of them its random ids and revision hash, and
decoding it again costs a few microseconds.

What is packed is the document's compact JSON exactly as the journal writes it, so unpacking
gives back the same text (and any JSON value: big integers, floats, text in either Unicode
normal form). The dictionary lives only in memory: the journal and the snapshot hold plain
JSON, so it may change from one fieldkit version to the next. Strings seen most often go
last (deflate codes nearer matches in fewer bits).
"""

import json
import zlib

# Every pack copies a compressor primed with the dictionary, so its state is kept small: an
# 8 KB window (the ~5 KB dictionary and a typical document fit in it; a longer dictionary
# would be cut to its last 8 KB) and memLevel 6 make that copy ~64 KB instead of ~256 KB at
# zlib's defaults, for ~2 bytes more per document.
_LEVEL = 1      # levels 2–9 save a few bytes per document and take up to twice as long
_WBITS = -13    # raw deflate: no header or checksum (the JSON is parsed anyway)
_MEM_LEVEL = 6

# Words of notes, recommendations and captions (inspectors write in Vietnamese).
_VOCABULARY = (
    "Ủy ban nhân dân UBND xã phường thị trấn huyện tỉnh thôn tổ dân phố khu dân cư "
    "Hội đồng nhân dân Mặt trận Tổ quốc Ban Thanh tra nhân dân Ban Giám sát đầu tư của cộng "
    "đồng Đảng ủy cấp ủy chi bộ bí thư chủ tịch phó chủ tịch cán bộ công chức trưởng thôn "
    "quy chế dân chủ ở cơ sở Luật Thực hiện dân chủ ở cơ sở Nghị định Thông tư Quyết định "
    "Dân biết, dân bàn, dân làm, dân kiểm tra, dân giám sát, dân thụ hưởng "
    "kế hoạch báo cáo biên bản hội nghị họp thôn đối thoại tiếp công dân khiếu nại tố cáo "
    "kiến nghị phản ánh văn bản chữ ký đại diện niêm yết công khai dự toán quyết toán ngân "
    "sách kinh phí công trình dự án đóng góp thủ tục hành chính bảng tin loa truyền thanh "
    "trụ sở nhà văn hóa ảnh chụp tài liệu hồ sơ sổ theo dõi "
    "đã chưa không có còn thiếu đầy đủ đúng quy định kịp thời chậm được trả lời "
    "bổ sung hoàn thiện khắc phục tổ chức thực hiện theo dõi đôn đốc kiểm tra lại "
    "trong năm 2024 2025 tháng quý lần số người hộ gia đình tỷ lệ "
    "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý "
    "Văn Thị Hữu Đức Minh Thanh Thu Hương Lan Hùng Dũng Tuấn Hải Bình An Hoa "
    "Ninh Bình Hòa Bình Kiên Giang Phú Thọ An Giang Hà Nội "
)

# One document of each type the field writes, as the store holds them (envelope included).
_CHECKLIST_REF = {"id": "vn.baseline.commune", "version": "1.0.0"}
_ENVELOPE = {"deleted": False, "device": "", "author": "Nguyễn Văn An", "base_rev": None,
             "updated_at": "2024-06-01T08:30:00.000+00:00",
             "rev": "1-0123456789abcdef0123456789abcdef"}
_SAMPLES = (
    {"id": "ctr-72-2024", "type": "campaign", "code": "72-CTr/BCĐTW",
     "title": "Chương trình công tác năm 2024", "title_en": "", "year": 2024,
     "issued": "2024-01-10", "provinces": [{"era": "legacy", "code": "37"}], **_ENVELOPE},
    {"id": "checklist:vn.baseline.commune@1.0.0", "type": "checklist",
     "checklist_id": "vn.baseline.commune", "version": "1.0.0", "plugin": "fieldkit",
     "definition": {"id": "vn.baseline.commune", "version": "1.0.0",
                    "title": {"vi": "", "en": ""}, "description": {"vi": "", "en": ""},
                    "applies_to": {"unit_kinds": ["commune"], "provinces": [],
                                   "valid_from": "2023-07-01", "valid_to": None},
                    "sources": [{"ref": "Luật số 10/2022/QH15", "verified": True}],
                    "sections": [{"code": "LD", "theme": "LD", "title": {"vi": "", "en": ""},
                                  "items": [{"code": "LD01", "text": {"vi": "", "en": ""},
                                             "answer": {"type": "yes_no"}, "extras": [],
                                             "required": True, "weight": 1,
                                             "flag_when": [{"op": "in",
                                                            "value": ["no", "partial"]}],
                                             "show_when": {"item": "", "op": "ne",
                                                           "value": "no"},
                                             "evidence": ["document", "photo"],
                                             "legal_basis": [{"ref": "Điều",
                                                              "verified": False}],
                                             "guidance": {"vi": "", "en": ""}}]}]},
     **_ENVELOPE},
    {"id": "", "type": "evidence", "inspection_id": "", "campaign_id": "ctr-72-2024",
     "province_code": "37", "item": None, "sha256": "", "size": 0,
     "media_type": "image/jpeg", "filename": "IMG_0001.jpg", "caption": None,
     "taken_at": "2024-06-01T08:30:00.000+00:00", "gps": None, **_ENVELOPE},
    {"id": "", "type": "recommendation", "inspection_id": "", "text": "", "responsible": None,
     "due": None, "status": "open", "campaign_id": "ctr-72-2024", "province_code": "37",
     **_ENVELOPE},
    {"id": "", "type": "inspection", "campaign": "ctr-72-2024", "campaign_id": "ctr-72-2024",
     "unit": {"era": "legacy", "code": "14500", "name": "Xã ", "level": "commune"},
     "province": {"era": "legacy", "code": "37", "name": "Tỉnh Ninh Bình"},
     "province_code": "37", "unit_kind": "commune", "unit_name": None,
     "checklist": _CHECKLIST_REF, "self_assessment": False, "team": "Đoàn kiểm tra số 1",
     "inspectors": ["Nguyễn Văn An", "Trần Thị Bình"], "date": "2024-06-01",
     "status": "draft", "submitted_at": None, **_ENVELOPE},
    {"id": "", "type": "finding", "inspection_id": "", "campaign_id": "ctr-72-2024",
     "province_code": "91", "item": "LD02", "theme": "LD", "value": "yes", "extras": {},
     "note": None, "evidence": [], "flagged": False, "checklist": _CHECKLIST_REF,
     **_ENVELOPE},
    {"id": "", "type": "finding", "inspection_id": "", "campaign_id": "ctr-72-2024",
     "province_code": "25", "item": "BI01", "theme": "BI", "value": "no", "extras": {},
     "note": "Chưa niêm yết", "evidence": [], "flagged": True, "checklist": _CHECKLIST_REF,
     **_ENVELOPE},
)

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
ZDICT = (_VOCABULARY + "".join(_encode(sample) for sample in _SAMPLES)).encode()

_COMPRESSOR = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WBITS, _MEM_LEVEL, zlib.Z_DEFAULT_STRATEGY,
                               ZDICT)
_DECOMPRESSOR = zlib.decompressobj(_WBITS, ZDICT)


def pack(text):
    """The compressed form of a document's JSON (``str`` or UTF-8 ``bytes``)."""
    if isinstance(text, str):
        text = text.encode()
    compressor = _COMPRESSOR.copy()  # a copy starts with the dictionary already loaded
    return compressor.compress(text) + compressor.flush()


def unpack_text(packed):
    """The JSON (UTF-8 bytes) of a packed document."""
    return _DECOMPRESSOR.copy().decompress(packed)


def unpack(packed):
    """A fresh dict (or other JSON value) of a packed document."""
    return json.loads(_DECOMPRESSOR.copy().decompress(packed))
