"""The layout of the documents HQ issues, in ONE table: fonts, sizes, margins, header texts.

It follows Hướng dẫn 36-HD/VPTW (Party documents; see shared/domain/REPORT-FORMAT.md). When the
2026 guide (05-HD/VPTW) is published, change this table — or override parts of it without
touching code: a JSON file named by ``FIELDKIT_REPORT_LAYOUT`` (deep-merged over the
defaults), a ``layout=`` argument to the builders, or a plugin renderer that calls the
built-in renderer with its own layout (see ``plugins/render_docx.py``). Builders copy the
resolved layout into the report data (``report["layout"]``), so every renderer of one report
uses the same table.
"""

import copy
import json
import os
from pathlib import Path

from ..errors import UsageError

LAYOUT_ENV = "FIELDKIT_REPORT_LAYOUT"

DEFAULT_LAYOUT = {
    "guide": "36-HD/VPTW (2018)",
    "page": {"size": "A4", "width_mm": 210, "height_mm": 297,
             "margins_mm": {"top": 20, "bottom": 20, "left": 30, "right": 15}},
    "font": {"name": "Times New Roman", "language": "vi-VN"},
    "sizes_pt": {
        "body": 14, "party": 15, "superior": 14, "issuer": 14, "number": 14,
        "place_date": 14, "doc_type": 16, "subject": 14, "heading": 14, "table": 12,
        "caption": 12, "recipients_label": 14, "recipients": 12, "signer_capacity": 14,
        "signer_name": 14, "page_number": 14, "verification": 10,
    },
    "body": {"first_line_indent_cm": 1.0, "space_after_pt": 6, "line_spacing": 1.15,
             "justify": True},
    "header": {
        # Left column: the superior body, then the issuing body (bold), then "*".
        "superior": "BAN CHẤP HÀNH TRUNG ƯƠNG",
        "issuer": ["BAN CHỈ ĐẠO TRUNG ƯƠNG", "THỰC HIỆN QUY CHẾ", "DÂN CHỦ Ở CƠ SỞ"],
        "star": "*",
        # Right column: the Party's name (bold, a line under it as long as the text).
        "party": "ĐẢNG CỘNG SẢN VIỆT NAM",
        "party_line": True,
        "left_width_cm": 7.9,
        "right_width_cm": 8.6,
    },
    # "Số 72-CTr/BCĐTW": no colon after "Số", a hyphen after the number, a slash before the
    # body's code. An unnumbered draft leaves room for the clerk to write the number in.
    "number": {"format": "Số {number}-{symbol}", "blank": "      ",
               "symbols": {"inspection": "BC/BCĐTW", "summary": "BC/BCĐTW"}},
    "place": "Hà Nội",
    "doc_type": {"inspection": "BÁO CÁO", "summary": "BÁO CÁO"},
    "signature": {
        "capacity": ["K/T TRƯỞNG BAN", "PHÓ TRƯỞNG BAN"],
        "name": "",
        "blank_lines": 3,
        "left_width_cm": 8.2,
        "right_width_cm": 8.3,
    },
    "recipients": {
        "label": "Nơi nhận:",
        "inspection": ["Thường trực Ban Chỉ đạo Trung ương (để báo cáo),",
                       "Ban Chỉ đạo thực hiện Quy chế dân chủ ở cơ sở {province},",
                       "Cấp ủy, chính quyền {unit},", "Các đồng chí thành viên Đoàn kiểm tra,", "Lưu VT."],
        "summary": ["Ban Bí thư TW Đảng (để báo cáo),", "Các đồng chí thành viên BCĐ TW,",
                    "Ban Chỉ đạo các tỉnh, thành phố trực thuộc Trung ương,",
                    "Các đồng chí Tổ thư ký BCĐ TW,", "Lưu VT."],
    },
    "photo_width_cm": 9.0,
    "qr": {"size_cm": 2.6, "label": "Mã xác thực văn bản", "check_at": "Kiểm tra tại"},
    "colors": {"flag": "9C1C1C", "table_header_fill": "E8E8E8"},
}


def deep_merge(base, override):
    """``base`` with ``override`` merged in (dicts merged key by key; anything else replaced)."""
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_layout_file(path):
    """A layout override from a JSON file (only the keys to change)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"The report layout file {path} cannot be read: {exc}.") from None
    if not isinstance(data, dict):
        raise UsageError(f"The report layout file {path} must hold a JSON object.")
    return data


def resolve_layout(override=None):
    """The layout to use: defaults, then ``$FIELDKIT_REPORT_LAYOUT``, then ``override``."""
    layout = DEFAULT_LAYOUT
    env_file = os.environ.get(LAYOUT_ENV)
    if env_file:
        layout = deep_merge(layout, load_layout_file(env_file))
    return deep_merge(layout, override or {})


def layout_of(report):
    """The layout a report was built with (the defaults for report data without one)."""
    return deep_merge(DEFAULT_LAYOUT, report.get("layout") or {})
