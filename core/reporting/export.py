"""The findings export: one row per finding with its inspection, the unit in both eras, the
checklist version, the item, the value, the flag and the note. Read from SQL in one pass
(rows stream from the database; names across the 2025 reform are looked up once per unit)."""

import json

from ..errors import FieldkitError
from .filters import Filters
from .sql import ReportQueries
from .text import STATUS_WORDS, modern_tones, theme_name

COLUMNS = ["Mã cuộc kiểm tra", "Ngày kiểm tra", "Trạng thái", "Tự đánh giá", "Đợt kiểm tra",
           "Mã tỉnh (hiện nay)", "Tỉnh (hiện nay)", "Tỉnh (khi kiểm tra)", "Mã đơn vị",
           "Đơn vị (khi kiểm tra)", "Đơn vị (hiện nay)", "Loại hình", "Bảng kiểm", "Phiên bản",
           "Mã mục", "Nội dung mục", "Chủ đề", "Giá trị", "Hạn chế", "Ghi chú"]
WIDTHS = [38, 12, 12, 11, 14, 10, 16, 16, 10, 24, 24, 11, 18, 10, 9, 50, 20, 16, 9, 50]


class _Names:
    """Current-era names of units and provinces, looked up once each."""

    def __init__(self, units):
        self.units = units
        self._cache = {}

    def current_unit(self, era, code):
        key = ("unit", era, code)
        if key not in self._cache:
            self._cache[key] = self._current_unit(era, code)
        return self._cache[key]

    def _current_unit(self, era, code):
        if self.units is None or not code:
            return ""
        try:
            unit = self.units.get(code, era=era)
            if era == "legacy":
                unit = self.units.successor(unit) or unit
            return modern_tones(unit.name)
        except FieldkitError:
            return ""

    def province(self, code):
        key = ("province", code)
        if key not in self._cache:
            try:
                self._cache[key] = modern_tones(self.units.get(code, era="current").name)
            except (FieldkitError, AttributeError):
                self._cache[key] = ""
        return self._cache[key]


def _value(value):
    """Numbers and text as they are; lists (photo ids) joined; anything else as JSON."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(value)
    return json.dumps(value, ensure_ascii=False)


def build_export(store, units=None, filters=None, checklists=None):
    """The export as report data (``kind`` "export", one sheet)."""
    filters = filters or Filters()
    queries = ReportQueries(store, checklists)
    rows_of_items, _ = queries.item_rows()
    texts = {(row.cid, row.ver, row.item): row.text for row in rows_of_items}
    names = _Names(units)
    rows = []
    with queries.stream(queries.finding_rows(filters)) as result:
        for row in result:
            rows.append([
                row["id"], row["date"], STATUS_WORDS.get(row["status"], row["status"]),
                bool(row["self_assessment"]), row["campaign_id"], row["province_code"],
                names.province(row["province_code"]), modern_tones(row["province_name"]),
                row["unit_code"], modern_tones(row["unit_name"] or row["unit_label"]),
                names.current_unit(row["unit_era"], row["unit_code"])
                if not row["unit_name"] else "",
                row["unit_kind"], row["checklist_id"], row["checklist_version"], row["item"],
                texts.get((row["checklist_id"], row["checklist_version"], row["item"]), ""),
                theme_name(row["theme"]), _value(row["value"]), bool(row["flagged"]),
                row["note"],
            ])
    label = filters.describe()
    return {"kind": "export", "title": f"Kết quả kiểm tra ({label})", "label": label,
            "count": len(rows),
            "sheets": [{"name": "Kết quả kiểm tra", "columns": COLUMNS, "rows": rows,
                        "widths": WIDTHS}]}
