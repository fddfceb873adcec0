"""A tiny checklist with every answer type, skip logic, flags and legal references: keeps the
field station's web and browser tests short. Loaded as a plugins directory."""

from fieldkit.core.hookspecs import hookimpl

CHECKLIST = {
    "id": "test.field-ui",
    "version": "1.0.0",
    "title": {"vi": "Bảng kiểm thử giao diện", "en": "UI test checklist"},
    "applies_to": {"unit_kinds": ["commune"], "valid_from": "2024-01-01"},
    "sections": [
        {"code": "A", "theme": "BI", "title": {"vi": "Công khai thông tin", "en": "Disclosure"},
         "items": [
             {"code": "A1", "text": {"vi": "Niêm yết công khai dự toán ngân sách xã",
                                     "en": "Commune budget estimate posted publicly"},
              "answer": {"type": "yes_no"}, "flag_when": [{"op": "eq", "value": "no"}],
              "legal_basis": [{"ref": "Luật 10/2022/QH15, Điều 11", "verified": True},
                              {"ref": "Nghị định 59/2023/NĐ-CP, Điều 5", "verified": False}],
              "guidance": {"vi": "Xem bảng tin tại trụ sở.", "en": "Look at the notice board."}},
             {"code": "A2", "text": {"vi": "Số hội nghị nhân dân đã tổ chức",
                                     "en": "People's meetings held"},
              "answer": {"type": "count"}, "extras": ["date"],
              "flag_when": [{"op": "lt", "value": 2}]},
             {"code": "A3", "text": {"vi": "Hình thức công khai chủ yếu",
                                     "en": "Main form of disclosure"},
              "answer": {"type": "choice", "choices": [
                  {"code": "board", "label": {"vi": "Bảng tin", "en": "Notice board"}},
                  {"code": "radio", "label": {"vi": "Loa truyền thanh", "en": "Loudspeaker"}},
              ]}},
         ]},
        {"code": "B", "theme": "GS", "title": {"vi": "Giám sát và số liệu", "en": "Oversight"},
         "items": [
             {"code": "B1", "text": {"vi": "Kinh phí giám sát", "en": "Oversight budget"},
              "answer": {"type": "number", "min": 0, "max": 1000, "unit": "triệu đồng"},
              "required": False},
             {"code": "B2", "text": {"vi": "Tỷ lệ hộ tham gia góp ý",
                                     "en": "Households giving comments"},
              "answer": {"type": "percent"}, "flag_when": [{"op": "lt", "value": 50}]},
             {"code": "B3", "text": {"vi": "Ngày họp gần nhất", "en": "Last meeting date"},
              "answer": {"type": "date"}},
             {"code": "B4", "text": {"vi": "Ý kiến của người dân", "en": "Residents' comments"},
              "answer": {"type": "text"}, "required": False},
             {"code": "B5", "text": {"vi": "Ảnh bảng tin", "en": "Photo of the notice board"},
              "answer": {"type": "photo"}, "required": False},
             {"code": "B6", "text": {"vi": "Biên bản niêm yết có chữ ký",
                                     "en": "Signed record of the posting"},
              "answer": {"type": "yes_no"},
              "show_when": {"item": "A1", "op": "eq", "value": "yes"}},
         ]},
    ],
}


@hookimpl
def fieldkit_checklists():
    return [CHECKLIST]
