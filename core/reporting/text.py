"""Vietnamese wording for reports: dates, numbers, answers, unit names in running text."""

import re
import unicodedata
from datetime import date, datetime

from ..text import nfc
from ..units import split_kind

ANSWER_WORDS = {"yes": "Có", "no": "Không", "partial": "Một phần", "na": "Không áp dụng"}
THEME_NAMES = {
    "LD": "Công tác lãnh đạo, chỉ đạo",
    "BI": "Dân biết",
    "BA": "Dân bàn",
    "LA": "Dân làm",
    "KT": "Dân kiểm tra",
    "GS": "Dân giám sát",
    "TH": "Dân thụ hưởng",
}
THEME_ORDER = ("LD", "BI", "BA", "LA", "KT", "GS", "TH")
STATUS_WORDS = {  # as the HQ review UI says them
    "draft": "Nháp", "submitted": "Đã nộp", "resubmitted": "Nộp lại",
    "returned": "Trả lại", "approved": "Đã duyệt",
}
RECOMMENDATION_WORDS = {"open": "Chưa thực hiện", "in_progress": "Đang thực hiện",
                        "done": "Đã thực hiện", "cancelled": "Đã hủy", "overdue": "Quá hạn"}
UNIT_KIND_WORDS = {"province": "tỉnh", "commune": "xã, phường, đặc khu",
                   "agency": "cơ quan, đơn vị", "enterprise": "doanh nghiệp"}

_TONES = "\u0300\u0301\u0303\u0309\u0323"
# Old-style tone placement on oa/oe/uy in an open syllable ("Hoà", "Thuỷ"): the mark moves
# to the first vowel ("Hòa", "Thủy"). Not after q: in "quả", "quý" the u is part of "qu".
_OLD_TONE = re.compile(r"(?<![qQ])([oOuU])([aAeEyY])([" + _TONES + r"])(?![^\W\d_])")


def theme_name(code):
    return THEME_NAMES.get(code, code)


def theme_key(code):
    return (THEME_ORDER.index(code) if code in THEME_ORDER else len(THEME_ORDER), code)


def modern_tones(text):
    """The new-style tone placement used in today's official documents: "Hoà" → "Hòa".

    The official unit lists mix both styles (``Tỉnh Hoà Bình`` beside ``Thành phố Hòa
    Bình``); a report spells one way. NFC in, NFC out.
    """
    if not text:
        return text
    decomposed = unicodedata.normalize("NFD", text)
    moved = _OLD_TONE.sub(lambda m: m.group(1) + m.group(3) + m.group(2), decomposed)
    return unicodedata.normalize("NFC", moved)


def as_date(value):
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def place_date(place, day):
    """``"Hà Nội, ngày 10 tháng 01 năm 2024"`` (36-HD: day and month below 10 with a 0)."""
    day = as_date(day)
    return f"{place}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def short_date(value):
    """``"10/01/2024"``; an empty string for no date."""
    day = as_date(value)
    return f"{day.day:02d}/{day.month:02d}/{day.year}" if day else ""


def number(value, decimals=None):
    """A number the Vietnamese way: ``1.500.000,5`` (dot for thousands, comma for decimals)."""
    if value is None:
        return ""
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 2
    text = f"{float(value):,.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".") if "." in text else text
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def score_text(value):
    """A 0–100 score with one decimal, or "—" when there is none."""
    return "—" if value is None else number(round(value, 1), 1)


def unit_phrase(name):
    """A unit's name inside a sentence: the kind in lower case ("xã Yên Mông", "tỉnh Hòa
    Bình"), tone marks in the new style."""
    if not name:
        return ""
    kind, rest = split_kind(modern_tones(nfc(name)))
    return f"{kind.lower()} {rest}" if kind else modern_tones(nfc(name))


def answer_text(item, value, extras=None):
    """An answer as a reader expects it: "Có", "7", "66,7%", "01/02/2024", a choice label."""
    if value is None:
        return "Chưa trả lời"
    kind = (item or {}).get("answer", {}).get("type") if item else None
    spec = (item or {}).get("answer", {}) if item else {}
    if kind == "yes_no" or (kind is None and value in ANSWER_WORDS):
        text = ANSWER_WORDS.get(value, str(value))
    elif kind == "percent":
        text = f"{number(value)}%"
    elif kind in ("count", "number"):
        text = number(value) + (f" {spec['unit']}" if spec.get("unit") else "")
    elif kind == "date":
        text = short_date(value)
    elif kind == "choice":
        labels = {c["code"]: c["label"]["vi"] for c in spec.get("choices") or []}
        text = labels.get(value, str(value))
    elif kind == "photo":
        count = len(value) if isinstance(value, list) else 1
        text = f"{count} ảnh"
    else:
        text = str(value)
    details = []
    for key, extra in (extras or {}).items():
        if extra in (None, ""):
            continue
        shown = short_date(extra) if key == "date" else (
            number(extra) if isinstance(extra, (int, float)) else str(extra))
        details.append({"date": "ngày", "count": "số lượng", "number": "giá trị",
                        "percent": "tỷ lệ", "text": "ghi chú"}.get(key, key) + " " + shown)
    return text + (f" ({'; '.join(details)})" if details else "")


# Spreadsheet formula injection: a cell whose text starts with one of these is run as a
# formula by Excel/LibreOffice (OWASP "CSV injection"). Exports write such text as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value):
    """Would a spreadsheet read this text as a formula?"""
    return isinstance(value, str) and value.startswith(FORMULA_START)
