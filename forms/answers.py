"""Answers by item type: turn what a person typed (or a JSON value) into the stored value.

``parse_answer(item, raw)`` returns the canonical value or raises ``AnswerError`` with a
sentence that names the item. The same rules serve the CLI (strings as typed: ``yes``,
``12``, ``2024-05-01``), the web form and sync (JSON values).
"""

import math
from datetime import date

from ..core.errors import ValidationFailed
from ..core.text import fold_key, nfc

YES_NO_WORDS = {
    "yes": "yes", "y": "yes", "có": "yes", "co": "yes", "true": "yes",
    "no": "no", "n": "no", "không": "no", "khong": "no", "false": "no",
    "partial": "partial", "một phần": "partial", "mot phan": "partial", "partly": "partial",
    "na": "na", "n/a": "na", "not applicable": "na", "không áp dụng": "na",
    "khong ap dung": "na", "kad": "na",
}
MAX_TEXT = 10_000


class AnswerError(ValidationFailed):
    """An answer that does not fit its item; the message names the item."""


def _fail(item, message):
    raise AnswerError(f"{item['code']}: {message}", {item["code"]: [message]})


def parse_scalar(kind, raw, item, spec=None):
    """Parse one value of answer type ``kind`` (also used for extras)."""
    spec = spec or {}
    if isinstance(raw, str):
        raw = nfc(raw).strip()
    if kind == "yes_no":
        if not isinstance(raw, str) or fold_key(raw) not in YES_NO_WORDS:
            _fail(item, f"answer yes, no, partial or na, not '{raw}'.")
        return YES_NO_WORDS[fold_key(raw)]
    if kind in ("count", "number", "percent"):
        return _parse_number(kind, raw, item, spec)
    if kind == "date":
        if isinstance(raw, date):
            return raw.isoformat()
        try:
            return date.fromisoformat(str(raw)).isoformat()
        except ValueError:
            _fail(item, f"a date is written YYYY-MM-DD, not '{raw}'.")
    if kind == "text":
        if not isinstance(raw, str) or not raw:
            _fail(item, "the text is empty.")
        if len(raw) > MAX_TEXT:
            _fail(item, f"the text is longer than {MAX_TEXT} characters.")
        return raw
    if kind == "choice":
        codes = [choice["code"] for choice in spec.get("choices") or []]
        if raw not in codes:
            _fail(item, f"choose one of {', '.join(codes)}, not '{raw}'.")
        return raw
    if kind == "photo":
        ids = raw if isinstance(raw, list) else [raw] if raw else []
        if not ids or not all(isinstance(i, str) and i for i in ids):
            _fail(item, "attach at least one photo.")
        return ids
    _fail(item, f"unknown answer type {kind}.")


def _parse_number(kind, raw, item, spec):
    if isinstance(raw, bool):
        _fail(item, f"expected a number, not {raw}.")
    if isinstance(raw, str):
        text = raw.replace(" ", "").rstrip("%")
        if kind == "count":
            text = text.replace(".", "").replace(",", "") if text.count(".") > 1 else text
        try:
            value = float(text.replace(",", ".")) if kind != "count" else int(text)
        except ValueError:
            word = "a whole number" if kind == "count" else "a number"
            _fail(item, f"expected {word}, not '{raw}'.")
    elif isinstance(raw, (int, float)):
        value = raw
    else:
        _fail(item, f"expected a number, not {type(raw).__name__}.")
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        _fail(item, "expected a finite number.")
    if kind == "count":
        if isinstance(value, float) and not value.is_integer():
            _fail(item, f"expected a whole number, not {raw}.")
        value = int(value)
        if value < 0:
            _fail(item, "a count cannot be negative.")
    if kind == "percent" and not 0 <= value <= 100:
        _fail(item, f"a percent is between 0 and 100, not {raw}.")
    low, high = spec.get("min"), spec.get("max")
    if low is not None and value < low:
        _fail(item, f"must be at least {low:g}, not {value:g}.")
    if high is not None and value > high:
        _fail(item, f"must be at most {high:g}, not {value:g}.")
    return value


def parse_answer(item, raw, extras=None):
    """Parse an item's main answer and its extras (``{"date": "2024-05-01"}``).

    Returns ``(value, extras)``. Extras not declared by the item are refused.
    """
    value = parse_scalar(item["answer"]["type"], raw, item, item["answer"])
    parsed_extras = {}
    for name, extra_raw in (extras or {}).items():
        if name not in item.get("extras", []):
            _fail(item, f"this item asks no '{name}' (it asks: "
                        f"{', '.join(item.get('extras', [])) or 'nothing more'}).")
        if extra_raw in (None, ""):
            continue
        parsed_extras[name] = parse_scalar(name, extra_raw, item)
    return value, parsed_extras
