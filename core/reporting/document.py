"""The document model every renderer reads: header, title, body blocks, recipients, signature.

Report data is JSON-like (``renderers`` get nothing else). Body blocks:

- ``{"type": "heading", "level": 1|2|3, "text"}`` — "I- ...", "1. ...", "a) ...";
- ``{"type": "paragraph", "runs": [{"text", "bold"?, "italic"?}], "indent": bool,
  "align": "justify"|"center"|"left"|"right"}``;
- ``{"type": "bullet", "text"}`` — a "- ..." line;
- ``{"type": "table", "columns": [...], "rows": [[...]], "widths_cm": [...],
  "numeric": [column indexes], "caption"?}`` — numbers stay numbers;
- ``{"type": "photo", "sha256", "caption", "media_type"}`` — the image bytes travel beside
  the data in ``report["_images"][sha256]`` (keys starting with "_" are not data: the JSON
  renderer leaves them out);
- ``{"type": "chart", "svg", "caption"}`` — an SVG drawn by ``charts.py`` (HTML only).
"""

from datetime import date

from ..text import nfc_tree
from .layout import resolve_layout
from .text import place_date


def heading(level, text):
    return {"type": "heading", "level": level, "text": text}


def paragraph(*runs, indent=True, align="justify"):
    """A paragraph of runs: strings, or dicts ``{"text", "bold", "italic"}``."""
    return {"type": "paragraph", "indent": indent, "align": align,
            "runs": [{"text": run} if isinstance(run, str) else run for run in runs if run]}


def bold(text):
    return {"text": text, "bold": True}


def italic(text):
    return {"text": text, "italic": True}


def bullet(text):
    return {"type": "bullet", "text": text}


def table(columns, rows, widths_cm=None, numeric=(), caption=None):
    return {"type": "table", "columns": list(columns), "rows": [list(r) for r in rows],
            "widths_cm": list(widths_cm) if widths_cm else None, "numeric": list(numeric),
            "caption": caption}


def photo(sha256, caption, media_type="image/jpeg"):
    return {"type": "photo", "sha256": sha256, "caption": caption, "media_type": media_type}


def document_number(layout, kind, number=None):
    """``"Số 12-BC/BCĐTW"``, or with room for the number when it is not given yet."""
    spec = layout["number"]
    shown = str(number).strip() if number not in (None, "") else spec["blank"]
    return spec["format"].format(number=shown, symbol=spec["symbols"][kind])


def frame(kind, layout=None, number=None, issued_on=None, recipients_values=None,
          signer=None):
    """The parts every issued document shares: the layout, the header blocks, the
    recipients and the signature. ``signer``: ``{"name", "capacity": [...]}`` overrides."""
    layout = resolve_layout(layout)
    issued_on = issued_on or date.today()
    values = recipients_values or {}
    signature = dict(layout["signature"])
    if signer:
        signature.update({k: v for k, v in signer.items() if v})
    header = layout["header"]
    return {
        "kind": kind,
        "format_version": 1,
        "layout": layout,
        "issued_on": issued_on.isoformat(),
        "header": {
            "superior": header["superior"], "issuer": list(header["issuer"]),
            "star": header["star"], "party": header["party"],
            "number": document_number(layout, kind, number),
            "place_date": place_date(layout["place"], issued_on),
        },
        "doc_type": layout["doc_type"][kind],
        "recipients": {
            "label": layout["recipients"]["label"],
            "lines": ["- " + line.format(**values) for line in layout["recipients"][kind]],
        },
        "signature": {"capacity": list(signature["capacity"]), "name": signature["name"]},
        "verification": None,
    }


def finish(report):
    """NFC every text of the report data (binary attachments untouched)."""
    images = report.pop("_images", None)
    report = nfc_tree(report)
    if images is not None:
        report["_images"] = images
    return report


def plain_text(report):
    """Every text of a report's body in order, one line per block (for tests and search)."""
    lines = [report.get("doc_type", ""), report.get("subject", "")]
    for block in report.get("blocks", []) + report.get("appendix", []):
        if block["type"] == "paragraph":
            lines.append("".join(run["text"] for run in block["runs"]))
        elif block["type"] in ("heading", "bullet"):
            lines.append(block["text"])
        elif block["type"] == "table":
            lines.append(" | ".join(map(str, block["columns"])))
            lines.extend(" | ".join("" if c is None else str(c) for c in row)
                         for row in block["rows"])
        elif block["type"] == "photo":
            lines.append(block.get("caption") or "")
    return "\n".join(lines)
